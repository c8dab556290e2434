"""Request and response bodies of the REST API (these also make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

T = TypeVar("T")

# A decimal may come as a JSON number or as text ("0.6654", exact): as text it is bounded like any
# other text (leading zeros are digits too).
AMOUNT_MAX = 32


def _short_amount(value: object) -> object:
    if isinstance(value, str) and len(value) > AMOUNT_MAX:
        raise ValueError(f"at most {AMOUNT_MAX} characters")
    return value


ShortDecimal = Annotated[
    Decimal,
    BeforeValidator(_short_amount),
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": AMOUNT_MAX}]},
        mode="validation",
    ),
]

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
    has_key: bool = Field(
        default=True, description="false: anyone may connect under this id (security profile 0)"
    )
    key_change: str | None = Field(
        default=None,
        description="a new key waiting beside the current one: Offered, or Accepted by the "
        "station (both valid until it reconnects with the new one)",
    )
    installer_id: int | None = Field(
        default=None, description="the installer organisation looking after the station"
    )


class StationIn(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
    password: str | None = Field(default=None, min_length=16, max_length=40)
    generate_password: bool = False
    lenient: bool = False


class StationCreated(BaseModel):
    station: StationOut
    password: str | None = Field(description="shown once: give it to the station's installer")
    ocpp_url: str


class StationPatch(BaseModel):
    lenient: bool | None = None
    registration: str | None = Field(default=None, pattern=r"^(Accepted|Pending|Rejected)$")
    password: str | None = Field(default=None, min_length=16, max_length=40)


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


class OcmfReadingOut(BaseModel):
    """One reading of an OCMF record (``RD``), omitted fields filled in from the one before."""

    time: str | None = Field(description="TM as written, with its synchronisation state")
    at: datetime | None = Field(description="TM's instant, when it has an offset")
    time_status: str | None = Field(description="TM's state: U, I, S or R")
    transaction: str | None = Field(description="TX: B begin, E/L/R/A/P end, C, X, S, T")
    value: Decimal | None = Field(description="RV with exactly the digits written")
    obis: str | None = Field(description="RI, the OBIS code")
    unit: str | None = Field(description="RU")
    current_type: str | None = Field(description="RT")
    cumulated_loss: Decimal | None = Field(description="CL")
    error_flags: str | None = Field(description="EF")
    status: str | None = Field(description="ST, the meter's state")


class OcmfOut(BaseModel):
    """The OCMF record decoded; its signature is not verified here (a transparency tool does
    that with the meter's public key)."""

    payload_text: str = Field(description="the payload section exactly as signed")
    format_version: str | None = Field(description="FV")
    gateway_id: str | None = Field(description="GI")
    gateway_serial: str | None = Field(description="GS")
    gateway_version: str | None = Field(description="GV")
    pagination: str | None = Field(description="PG")
    meter_vendor: str | None = Field(description="MV")
    meter_model: str | None = Field(description="MM")
    meter_serial: str | None = Field(description="MS")
    meter_firmware: str | None = Field(description="MF")
    identification_status: bool | None = Field(description="IS")
    identification_level: str | None = Field(description="IL")
    identification_flags: list[str] = Field(description="IF")
    identification_type: str | None = Field(description="IT")
    identification_data: str | None = Field(description="ID")
    tariff_text: str | None = Field(description="TT")
    charge_point_id_type: str | None = Field(description="CT")
    charge_point_id: str | None = Field(description="CI")
    readings: list[OcmfReadingOut] = Field(description="RD")
    signature_algorithm: str = Field(description="SA (its default when omitted)")
    signature_encoding: str = Field(description="SE (its default when omitted)")
    signature_mime_type: str = Field(description="SM (its default when omitted)")
    signature_data: str | None = Field(description="SD")
    missing: list[str] = Field(description="mandatory fields the record lacks")


class SignedMeterValueOut(BaseModel):
    """A sampled value in SignedData format, kept exactly as the station sent it."""

    model_config = ConfigDict(extra="ignore")
    id: int
    sampled_at: datetime
    received_at: datetime
    message: str = Field(description="MeterValues or StopTransaction")
    evse_id: int | None
    connector_id: int | None
    format: str
    measurand: str
    context: str | None
    unit: str | None
    phase: str | None
    location: str | None
    data: str = Field(description="the signed block as received")
    encoding: str | None = Field(description="how the OCMF record was wrapped, when found")
    public_key: str | None = Field(description="the meter's key, when the station sent it")
    signing_method: str | None
    note: str | None = Field(description="why it could not be decoded, or what it lacks")
    session_start: bool = Field(description="the session's signed start reading")
    session_end: bool = Field(description="the session's signed end reading")
    ocmf: OcmfOut | None


class SessionDetailOut(SessionOut):
    meter_values: list[MeterValueOut]
    signed_meter_values: list[SignedMeterValueOut]


class XmlResponse(Response):
    media_type = "application/xml"


TRANSPARENCY_FILE = (
    "The XML container of the S.A.F.E. transparency software: each signed value with the "
    "meter's public key when the station sent it, for the tool to verify"
)


def transparency_download(session_id: int) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="session-{session_id}-signed.xml"'}


class TokenIn(BaseModel):
    uid: str = Field(min_length=1, max_length=20)


class TokenOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uid: str
    state: str
    expires_at: datetime | None = None
