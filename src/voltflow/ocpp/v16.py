"""OCPP 1.6J: station-initiated CALLs, translated into :class:`StationEvents` calls and answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from voltflow.domain.commands import STATION_ACTIONS
from voltflow.domain.sessions import (
    SIGNED_DATA,
    MeterSample,
    MeterValueError,
    SignedSample,
    normalize_sample,
    signed_sample,
)
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.ocpp.errors import (
    NotImplementedOcpp,
    NotSupported,
    PropertyConstraintViolation,
    SecurityError,
)
from voltflow.ocpp.validation import schemas
from voltflow.services.station_events import BootInfo, StationEvents, StopRequest

Payload = dict[str, Any]
Handler = Callable[[StationEvents, "StationContext", Payload], Awaitable[Payload]]

# Allowed before an operator has claimed an auto-registered station (OCPP 1.6 §4.2): its boot,
# asked again at the interval we answer, and heartbeats, which keep its connection alive. It
# sends anything else only when a TriggerMessage asks for it (``StationContext.permit``).
PENDING_ACTIONS = frozenset({"BootNotification", "Heartbeat"})
# How long a Pending station may send what a TriggerMessage asked for, once it accepted it:
# a status or meter values without a connector come once for each of its connectors.
TRIGGERED_FOR = timedelta(seconds=60)


# Messages that always carry the time of what they report.
_DATED_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})


def says_when(action: str, payload: Payload) -> bool:
    """Whether the message dates what it reports: the same frame again is then the same report
    sent again, not a new one that happens to read the same (a Heartbeat, a BootNotification
    after a reboot, a status without its time)."""
    return action in _DATED_ACTIONS or (action == "StatusNotification" and "timestamp" in payload)


class StationContext:
    """What one connection knows about its station; kept small, there are thousands."""

    __slots__ = ("lenient", "registration", "station_id", "triggered")

    def __init__(self, station_id: str, registration: Registration, lenient: bool) -> None:
        self.station_id = station_id
        self.registration = registration
        self.lenient = lenient
        # What TriggerMessages the station accepted asked for while it was not accepted itself,
        # and until when it may send it.
        self.triggered: dict[str, datetime] | None = None

    def permit(self, action: str, now: datetime) -> None:
        """The station accepted a TriggerMessage for ``action``: while it is Pending, it may
        send that for ``TRIGGERED_FOR`` (OCPP 1.6 §4.2)."""
        if self.triggered is None:
            self.triggered = {}
        self.triggered[action] = now + TRIGGERED_FOR

    def was_asked_for(self, action: str, now: datetime) -> bool:
        until = self.triggered.get(action) if self.triggered is not None else None
        return until is not None and now <= until


def parse_time(value: str, field: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise PropertyConstraintViolation(
            f"{field}: {value!r} is not an ISO 8601 date-time", {"field": field}
        ) from exc
    # A station that omits the offset means UTC: OCPP requires UTC timestamps.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_connector(
    value: int, field: str = "connectorId", *, whole_station: bool = True
) -> ConnectorRef:
    """OCPP 1.6 numbers connectors from 1; 0 is the station itself where the message allows it
    (StatusNotification, MeterValues), never for a transaction."""
    if value < 0 or (value == 0 and not whole_station):
        raise PropertyConstraintViolation(
            f"{field}: {value} is not a connector of this station", {"field": field}
        )
    return ConnectorRef.from_ocpp16(value)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_samples(
    meter_value: list[Payload], field: str = "meterValue"
) -> tuple[list[MeterSample], list[SignedSample]]:
    """The numbers, and the signed data blocks beside them. Numbers are read as numbers (format
    Raw, the default); a SignedData block is kept as received, never read as one. Anything else
    that is not a number is refused, naming it. (A plain tuple: a named one would cost every
    MeterValues more than telling signed values apart does.)"""
    samples: list[MeterSample] = []
    signed: list[SignedSample] = []
    for i, mv in enumerate(meter_value):
        ts = parse_time(mv["timestamp"], f"{field}.{i}.timestamp")
        for j, sv in enumerate(mv["sampledValue"]):
            if sv.get("format") == SIGNED_DATA:
                signed.append(
                    signed_sample(
                        ts,
                        sv["value"],
                        measurand=sv.get("measurand"),
                        context=sv.get("context"),
                        unit=sv.get("unit"),
                        phase=sv.get("phase"),
                        location=sv.get("location"),
                    )
                )
                continue
            try:
                samples.append(
                    normalize_sample(
                        ts,
                        sv["value"],
                        measurand=sv.get("measurand"),
                        unit=sv.get("unit"),
                        phase=sv.get("phase"),
                        location=sv.get("location"),
                        context=sv.get("context"),
                    )
                )
            except MeterValueError as exc:
                where = f"{field}.{i}.sampledValue.{j}.value"
                raise PropertyConstraintViolation(f"{where}: {exc}", {"field": where}) from exc
    return samples, signed


async def boot_notification(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    info = BootInfo(
        vendor=p["chargePointVendor"],
        model=p["chargePointModel"],
        serial_number=p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
        firmware_version=p.get("firmwareVersion"),
        iccid=p.get("iccid"),
        imsi=p.get("imsi"),
        meter_type=p.get("meterType"),
        meter_serial_number=p.get("meterSerialNumber"),
    )
    answer = await ev.boot(ctx.station_id, info, ctx.registration)
    return {
        "status": answer.registration.value,
        "currentTime": _iso(answer.current_time),
        "interval": answer.interval,
    }


async def heartbeat(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    now = await ev.heartbeat(ctx.station_id)
    return {"currentTime": _iso(now)}


async def status_notification(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    ts = p.get("timestamp")
    await ev.status(
        ctx.station_id,
        parse_connector(p["connectorId"]),
        p["status"],
        p["errorCode"],
        info=p.get("info"),
        vendor_error_code=p.get("vendorErrorCode"),
        timestamp=parse_time(ts, "timestamp") if ts else None,
    )
    return {}


async def authorize(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    status = await ev.authorize(ctx.station_id, p["idTag"])
    return {"idTagInfo": {"status": status.value}}


async def start_transaction(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    answer = await ev.start_transaction(
        ctx.station_id,
        parse_connector(p["connectorId"], whole_station=False),
        p["idTag"],
        p["meterStart"],
        parse_time(p["timestamp"], "timestamp"),
        p.get("reservationId"),
    )
    return {"transactionId": answer.transaction_id, "idTagInfo": {"status": answer.status.value}}


async def stop_transaction(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    samples, signed = parse_samples(p.get("transactionData") or [], "transactionData")
    stop = StopRequest(
        transaction_id=p["transactionId"],
        stopped_at=parse_time(p["timestamp"], "timestamp"),
        meter_stop_wh=p["meterStop"],
        reason=p.get("reason"),
        id_tag=p.get("idTag"),
        samples=samples,
        signed=signed,
    )
    status = await ev.stop_transaction(ctx.station_id, stop)
    return {"idTagInfo": {"status": status.value}} if status is not None else {}


async def meter_values(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    samples, signed = parse_samples(p["meterValue"])
    await ev.meter_values(
        ctx.station_id, parse_connector(p["connectorId"]), p.get("transactionId"), samples, signed
    )
    return {}


async def data_transfer(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    status = await ev.data_transfer(
        ctx.station_id, p["vendorId"], p.get("messageId"), p.get("data")
    )
    return {"status": status}


async def diagnostics_status(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    await ev.diagnostics_status(ctx.station_id, p["status"])
    return {}


async def firmware_status(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    await ev.firmware_status(ctx.station_id, p["status"])
    return {}


HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction,
    "StopTransaction": stop_transaction,
    "MeterValues": meter_values,
    "DataTransfer": data_transfer,
    "DiagnosticsStatusNotification": diagnostics_status,
    "FirmwareStatusNotification": firmware_status,
}
assert set(HANDLERS) == STATION_ACTIONS


def handler_for(action: str, ctx: StationContext, now: datetime | None = None) -> Handler:
    """The handler, or the error OCPP names: NotSupported for an OCPP 1.6 action that only the
    central system sends, NotImplemented for anything else (such as a response's name),
    SecurityError for what a station that is not accepted may not send (received at ``now``)."""
    handler = HANDLERS.get(action)
    if handler is None:
        if action in schemas("1.6").actions:
            raise NotSupported(f"{action} is sent by the central system, not by a charge point")
        raise NotImplementedOcpp(f"action {action!r} is not part of OCPP 1.6")
    if (
        ctx.registration is not Registration.ACCEPTED
        and action not in PENDING_ACTIONS
        and not (now is not None and ctx.was_asked_for(action, now))
    ):
        raise SecurityError(
            f"station registration is {ctx.registration.value}: only BootNotification, "
            "Heartbeat and what a TriggerMessage asks for are accepted until an operator "
            "claims it"
        )
    return handler
