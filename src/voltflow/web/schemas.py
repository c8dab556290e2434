"""Request and response bodies of the REST API (these also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class ConnectorOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    info: str | None
    vendor_error_code: str | None
    status_at: datetime


class StationOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    registration: str
    lenient: bool
    online: bool
    connected: bool = False
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    firmware_status: str | None
    diagnostics_status: str | None
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    created_at: datetime
    connectors: list[ConnectorOut] = []


class StationIn(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
    password: str | None = Field(default=None, min_length=8, max_length=40)
    generate_password: bool = False
    lenient: bool = False


class StationCreated(BaseModel):
    station: StationOut
    password: str | None = Field(description="shown once: give it to the station's installer")
    ocpp_url: str


class StationPatch(BaseModel):
    lenient: bool | None = None
    registration: str | None = Field(default=None, pattern=r"^(Accepted|Pending|Rejected)$")
    password: str | None = Field(default=None, min_length=8, max_length=40)


class StatusHistoryOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    info: str | None
    status_at: datetime
    received_at: datetime


class MessageOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    at: datetime
    direction: str
    message_type: int | None
    message_id: str | None
    action: str | None
    payload: str
    note: str | None


class CommandIn(BaseModel):
    payload: dict[str, Any] | None = Field(
        default=None, description="the OCPP payload; omitted: the action's usual default"
    )
    timeout: float | None = Field(default=None, gt=0, le=300)


class CommandOut(BaseModel):
    station_id: str
    action: str
    payload: dict[str, Any]


class MeterValueOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sampled_at: datetime
    measurand: str
    phase: str
    location: str
    context: str
    unit: str
    value: str


class SessionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    station_id: str
    evse_id: int
    connector_id: int
    id_tag: str
    auth_status: str
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: int
    meter_stop_wh: int | None
    energy_wh: int | None
    live_energy_wh: int | None = None
    stop_reason: str | None
    session_type: str | None
    type_reason: str | None


class SessionDetailOut(SessionOut):
    meter_values: list[MeterValueOut]


class TokenIn(BaseModel):
    uid: str = Field(min_length=1, max_length=20)


class TokenOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uid: str
    state: str
    expires_at: datetime | None = None
