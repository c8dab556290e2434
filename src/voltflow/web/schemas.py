"""Request and response bodies of the REST API (these also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

# Identifiers are 64-bit integers in the database: a larger number names nothing, and is refused
# before it reaches the database, whose driver cannot take it.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]


class ProblemOut(BaseModel):
    """An error as RFC 9457 problem details (``application/problem+json``); some carry more
    members, such as the ``permission`` refused or a command's ``kind``."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(default=None, description="the input at fault, where there is one")


PROBLEMS = {
    400: "The body cannot be read (not UTF-8, not JSON)",
    401: "No valid API key",
    403: "Not allowed to this person or key",
    404: "No such thing",
    409: "The station is offline",
    413: "The request body is too large",
    422: "Invalid request: ``field`` names the input at fault",
    502: "The station refused the command or failed",
    504: "The station did not answer in time",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for errors answered as problem details."""
    schema = ProblemOut.model_json_schema()
    return {
        status: {
            "description": PROBLEMS[status],
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


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
