"""OCPP 1.6J: station-initiated CALLs, translated into :class:`StationEvents` calls and answers;
and what the server must know of 1.6 around our own calls."""

from __future__ import annotations

from datetime import datetime

from voltflow.domain.station_keys import REDACTED, is_authorization_key
from voltflow.domain.stations import Registration
from voltflow.ocpp.errors import NotImplementedOcpp, NotSupported, SecurityError
from voltflow.ocpp.protocol import Handler, Payload, StationContext
from voltflow.ocpp.v16.actions import PENDING_ACTIONS, STATION_ACTIONS
from voltflow.ocpp.v16.payloads import (
    VERSION,
    id_token,
    iso,
    parse_connector,
    parse_samples,
    parse_time,
    transaction_id_in,
    transaction_id_out,
)
from voltflow.ocpp.validation import schemas
from voltflow.services.station_events import BootInfo, StationEvents, StopRequest

# Messages that always carry the time of what they report.
_DATED_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})


def says_when(action: str, payload: Payload) -> bool:
    """Whether the message dates what it reports: the same frame again is then the same report
    sent again, not a new one that happens to read the same (a Heartbeat, a BootNotification
    after a reboot, a status without its time)."""
    return action in _DATED_ACTIONS or (action == "StatusNotification" and "timestamp" in payload)


async def boot_notification(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    info = BootInfo(
        vendor=p["chargePointVendor"],
        model=p["chargePointModel"],
        ocpp_version=VERSION,
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
        "currentTime": iso(answer.current_time),
        "interval": answer.interval,
    }


async def heartbeat(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    now = await ev.heartbeat(ctx.station_id)
    return {"currentTime": iso(now)}


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
    status = await ev.authorize(ctx.station_id, id_token(p["idTag"]))
    return {"idTagInfo": {"status": status.value}}


async def start_transaction(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    answer = await ev.start_transaction(
        ctx.station_id,
        parse_connector(p["connectorId"], whole_station=False),
        id_token(p["idTag"]),
        p["meterStart"],
        parse_time(p["timestamp"], "timestamp"),
        p.get("reservationId"),
    )
    return {
        "transactionId": transaction_id_out(answer.transaction_id),
        "idTagInfo": {"status": answer.status.value},
    }


async def stop_transaction(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    samples, signed = parse_samples(p.get("transactionData") or [], "transactionData")
    id_tag = p.get("idTag")
    stop = StopRequest(
        transaction_id=transaction_id_in(p["transactionId"]),
        stopped_at=parse_time(p["timestamp"], "timestamp"),
        meter_stop_wh=p["meterStop"],
        reason=p.get("reason"),
        id_token=id_token(id_tag) if id_tag else None,
        samples=samples,
        signed=signed,
    )
    status = await ev.stop_transaction(ctx.station_id, stop)
    return {"idTagInfo": {"status": status.value}} if status is not None else {}


async def meter_values(ev: StationEvents, ctx: StationContext, p: Payload) -> Payload:
    samples, signed = parse_samples(p["meterValue"])
    transaction_id = p.get("transactionId")
    await ev.meter_values(
        ctx.station_id,
        parse_connector(p["connectorId"]),
        None if transaction_id is None else transaction_id_in(transaction_id),
        samples,
        signed,
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
        if action in schemas(VERSION).actions:
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


def answered(
    ctx: StationContext, action: str, payload: Payload, result: Payload | None, now: datetime
) -> None:
    """A station that is not accepted yet may send what a TriggerMessage it accepted asks for
    (OCPP 1.6 §4.2). Permitted as its answer arrives, not once ``call`` returns: the station
    sends the message right after its answer, before that."""
    if (
        action == "TriggerMessage"
        and ctx.registration is not Registration.ACCEPTED
        and result is not None
        and result.get("status") == "Accepted"
    ):
        ctx.permit(str(payload["requestedMessage"]), now)


def loggable(action: str, payload: Payload) -> Payload | None:
    """A station's new key is not written down in clear (the platform keeps keys hashed):
    anyone who reads the log could connect as it."""
    if action == "ChangeConfiguration" and is_authorization_key(payload.get("key")):
        return {**payload, "value": REDACTED}
    return None
