"""OCPP 1.6 payload shapes to and from the platform's version-neutral terms: times, connectors,
meter samples, id tags and transaction ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from voltflow.domain.authorization import IdToken, IdTokenType
from voltflow.domain.sessions import (
    SIGNED_DATA,
    MeterSample,
    MeterValueError,
    SignedSample,
    normalize_sample,
    signed_sample,
)
from voltflow.domain.stations import ConnectorRef
from voltflow.ocpp.errors import PropertyConstraintViolation

# As stored with a station that speaks it.
VERSION = "1.6"

Payload = dict[str, Any]

_INTEGER = re.compile(r"-?[0-9]+")


def parse_time(value: str, field: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise PropertyConstraintViolation(
            f"{field}: {value!r} is not an ISO 8601 date-time", {"field": field}
        ) from exc
    # A station that omits the offset means UTC: OCPP requires UTC timestamps.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def connector_id(ref: ConnectorRef) -> int:
    """The ``connectorId`` of a connector: 1.6 knows one connector per EVSE, and calls the EVSE
    so; ValueError for a second connector of an EVSE, which it cannot name."""
    if ref.connector_id > 1 or (ref.evse_id == 0) != (ref.connector_id == 0):
        raise ValueError(
            f"EVSE {ref.evse_id} connector {ref.connector_id}: OCPP 1.6 names one connector "
            "per EVSE"
        )
    return ref.to_ocpp16()


def id_token(id_tag: str) -> IdToken:
    """A 1.6 ``idTag``: 1.6 says nothing of what kind of token it is; most are RFID cards'
    UIDs, which 2.0.1 calls ISO14443."""
    return IdToken(id_tag, IdTokenType.ISO14443)


def transaction_id_in(value: int) -> str:
    """A 1.6 ``transactionId`` (an integer) as the services take it."""
    return str(value)


def transaction_id_out(value: str) -> int:
    """A transaction id from the services as 1.6 carries it: an integer. ValueError for any
    other: 1.6 has no way to say it, and a station must never be sent something else."""
    if not _INTEGER.fullmatch(value):
        raise ValueError(f"transaction id {value!r} is not an integer: OCPP 1.6 cannot carry it")
    return int(value)


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
