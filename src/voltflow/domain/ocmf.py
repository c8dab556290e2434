"""OCMF, the Open Charge Metering Format of S.A.F.E. e.V.: the signed meter readings German
Eichrecht stations send as OCPP ``SignedData``, ``OCMF|{payload}|{signature}``.

Reading it, not checking it: the signature is not verified here (that takes the meter's public
key, obtained out of band, and is the job of a transparency tool such as the S.A.F.E.
Transparenzsoftware). What is read is kept beside the block exactly as the station sent it, which
is what such a tool needs.

A ``SignedData`` value carries the OCMF text plain, hex-encoded (what OCPP 1.6 §7.46 describes),
base64-encoded, or inside a JSON object shaped like OCPP 2.0.1's SignedMeterValueType
(``signedMeterData``, ``publicKey``, …); :func:`read_signed_value` finds it in any of these and
never raises: what it cannot read it says why in ``note``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from xml.etree import ElementTree

HEADER = "OCMF"
PREFIX = HEADER + "|"

# Table 21 of the specification: the default when a record names no algorithm (nor encoding).
DEFAULT_SIGNATURE_ALGORITHM = "ECDSA-secp256r1-SHA256"
DEFAULT_SIGNATURE_ENCODING = "hex"
DEFAULT_SIGNATURE_MIME_TYPE = "application/x-der"

# Reading reasons (TX): B begins a transaction; E ends it, as do the more precise L (stopped
# locally), R (remotely), A (aborted by an error) and P (power failure).
TX_BEGIN = "B"
TX_END = frozenset({"E", "L", "R", "A", "P"})

# How the OCMF text was wrapped in the value.
PLAIN = "plain"
HEX = "hex"
BASE64 = "base64"

_HEX = re.compile(r"(?:0[xX])?[0-9A-Fa-f]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
# Characters XML 1.0 cannot carry, even escaped.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class OcmfError(ValueError):
    """The text is meant as OCMF but cannot be read as such."""


@dataclass(frozen=True, slots=True)
class OcmfReading:
    """One entry of ``RD``, with what the record left out because the previous reading had it
    filled in (the specification omits repeated fields within a record)."""

    time: str | None  # TM as written: "2018-07-24T13:22:04,000+0200 S"
    at: datetime | None  # TM's instant, when it has one with an offset
    time_status: str | None  # TM's synchronisation state: U, I, S or R
    transaction: str | None  # TX: B, C, X, E, L, R, A, P, S or T
    value: Decimal | None  # RV, with exactly the digits written
    obis: str | None  # RI
    unit: str | None  # RU
    current_type: str | None  # RT
    cumulated_loss: Decimal | None  # CL
    error_flags: str | None  # EF
    status: str | None  # ST


@dataclass(frozen=True, slots=True)
class Ocmf:
    """An OCMF record, its fields by their meaning (the specification's key in each comment)."""

    payload_text: str  # the payload section exactly as signed: what a signature check hashes
    format_version: str | None  # FV
    gateway_id: str | None  # GI
    gateway_serial: str | None  # GS
    gateway_version: str | None  # GV
    pagination: str | None  # PG: "T12" (transaction context) or "F3" (fiscal)
    meter_vendor: str | None  # MV
    meter_model: str | None  # MM
    meter_serial: str | None  # MS
    meter_firmware: str | None  # MF
    identification_status: bool | None  # IS
    identification_level: str | None  # IL
    identification_flags: tuple[str, ...]  # IF
    identification_type: str | None  # IT
    identification_data: str | None  # ID
    tariff_text: str | None  # TT
    charge_point_id_type: str | None  # CT
    charge_point_id: str | None  # CI
    readings: tuple[OcmfReading, ...]  # RD
    signature_algorithm: str  # SA
    signature_encoding: str  # SE
    signature_mime_type: str  # SM
    signature_data: str | None  # SD
    missing: tuple[str, ...]  # mandatory fields the record lacks

    @property
    def transactions(self) -> tuple[str, ...]:
        """The reading reasons (TX) of its readings, in order."""
        return tuple(r.transaction for r in self.readings if r.transaction)


@dataclass(frozen=True, slots=True)
class SignedValue:
    """What one ``SignedData`` value holds, as far as it can be read."""

    encoding: str | None  # how the OCMF text was wrapped: plain, hex, base64 (json+… in a wrapper)
    ocmf: Ocmf | None
    public_key: str | None  # sent with the value (in a wrapper's ``publicKey``)
    signing_method: str | None  # a wrapper's ``signingMethod``
    note: str | None  # why it could not be decoded, or what the record lacks


def read_signed_value(raw: str) -> SignedValue:
    """The OCMF record in a ``SignedData`` value, wherever the station put it. Never raises."""
    text = raw.strip()
    try:
        wrapped = _read_wrapper(text)
        if wrapped is not None:
            return wrapped
        return _read_block(text, prefix="")
    except Exception as exc:
        # Called while a station's message is handled: whatever a hostile value trips over
        # must not fail the message (a StopTransaction would be sent again for ever).
        return SignedValue(
            None,
            None,
            None,
            None,
            f"signed value could not be read ({type(exc).__name__}): kept as received",
        )


def _read_block(
    text: str, *, prefix: str, public_key: str | None = None, signing_method: str | None = None
) -> SignedValue:
    found = unwrap(text)
    if found is None:
        return SignedValue(
            None,
            None,
            public_key,
            signing_method,
            "not an OCMF record (neither plain, hex nor base64): kept as received, undecoded",
        )
    ocmf_text, encoding = found
    try:
        ocmf = parse_ocmf(ocmf_text)
    except OcmfError as exc:
        return SignedValue(
            prefix + encoding,
            None,
            public_key,
            signing_method,
            f"OCMF record could not be decoded ({exc}): kept as received",
        )
    note = f"OCMF record lacks {', '.join(ocmf.missing)}" if ocmf.missing else None
    return SignedValue(prefix + encoding, ocmf, public_key, signing_method, note)


def _wrapper(text: str) -> dict[str, Any] | None:
    """OCPP 2.0.1's SignedMeterValueType as a JSON text, which some 1.6 stations send: the
    record in ``signedMeterData``, the meter's key in ``publicKey``."""
    if not text.startswith("{"):
        return None
    try:
        wrapper = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("signedMeterData"), str):
        return None
    return wrapper


def record_text(raw: str) -> str | None:
    """The OCMF text in a ``SignedData`` value, however it was wrapped; None when it holds
    none."""
    text = raw.strip()
    wrapper = _wrapper(text)
    found = unwrap(wrapper["signedMeterData"] if wrapper else text)
    return found[0] if found else None


def _read_wrapper(text: str) -> SignedValue | None:
    wrapper = _wrapper(text)
    if wrapper is None:
        return None
    key = wrapper.get("publicKey")
    method = wrapper.get("signingMethod")
    return _read_block(
        wrapper["signedMeterData"],
        prefix="json+",
        public_key=key if isinstance(key, str) and key else None,
        signing_method=method if isinstance(method, str) and method else None,
    )


def unwrap(text: str) -> tuple[str, str] | None:
    """The OCMF text in ``text`` and how it was encoded (plain, hex, base64), or None when it
    holds no OCMF record in any of these. Hex is tried before base64: every hex text is also
    made of base64's letters, and the one that yields ``OCMF|`` is the one meant."""
    text = text.strip()
    if _is_ocmf(text):
        return text, PLAIN
    compact = "".join(text.split())
    if _HEX.fullmatch(compact):
        digits = compact[2:] if compact[:2] in ("0x", "0X") else compact
        if len(digits) % 2 == 0:
            decoded = _utf8(bytes.fromhex(digits))
            if decoded is not None and _is_ocmf(decoded):
                return decoded.strip(), HEX
    if _BASE64.fullmatch(compact):
        padded = compact + "=" * (-len(compact) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decode(padded)
            except (binascii.Error, ValueError):
                continue
            decoded = _utf8(raw)
            if decoded is not None and _is_ocmf(decoded):
                return decoded.strip(), BASE64
    return None


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _is_ocmf(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n").startswith(PREFIX)


def _refuse_constant(name: str) -> Any:
    raise OcmfError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def parse_ocmf(text: str) -> Ocmf:
    """``OCMF|{payload}|{signature}`` read. The payload's JSON is read up to its own end, so a
    pipe inside one of its strings does not cut it short; numbers stay exact decimals."""
    text = text.lstrip("\ufeff").strip()
    if not text.startswith(PREFIX):
        raise OcmfError(f"no {PREFIX!r} header")
    rest = text[len(PREFIX) :]
    start = len(rest) - len(rest.lstrip())
    try:
        payload, end = _DECODER.raw_decode(rest, start)
    except json.JSONDecodeError as exc:
        raise OcmfError(f"payload section is not JSON: {exc.msg} at {exc.pos}") from exc
    except ValueError as exc:  # an integer longer than Python reads (4300 digits)
        raise OcmfError(f"payload section holds an unreadable number: {exc}") from exc
    except RecursionError as exc:  # a station's nesting deeper than the parser goes
        raise OcmfError("payload section is nested too deeply") from exc
    if not isinstance(payload, dict):
        raise OcmfError("payload section is not a JSON object")
    pipe = end + (len(rest[end:]) - len(rest[end:].lstrip()))
    if rest[pipe : pipe + 1] != "|":
        raise OcmfError("no signature section after the payload")
    signature_text = rest[pipe + 1 :].strip()
    try:
        signature = _DECODER.decode(signature_text)
    except json.JSONDecodeError as exc:
        raise OcmfError(f"signature section is not JSON: {exc.msg} at {exc.pos}") from exc
    except ValueError as exc:
        raise OcmfError(f"signature section holds an unreadable number: {exc}") from exc
    except RecursionError as exc:
        raise OcmfError("signature section is nested too deeply") from exc
    if not isinstance(signature, dict):
        raise OcmfError("signature section is not a JSON object")
    return _record(rest[:pipe], payload, signature)


def _record(payload_text: str, p: Mapping[str, Any], s: Mapping[str, Any]) -> Ocmf:
    flags = p.get("IF")
    if flags is None:
        flags = []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise OcmfError("IF is not a list of texts")
    status = p.get("IS")
    if status is not None and not isinstance(status, bool):
        raise OcmfError("IS is not true or false")
    readings = p.get("RD")
    missing = [key for key in ("PG", "RD") if key not in p]
    if s.get("SD") is None:
        missing.append("SD")
    return Ocmf(
        payload_text=payload_text,
        format_version=_text(p, "FV"),
        gateway_id=_text(p, "GI"),
        gateway_serial=_text(p, "GS"),
        gateway_version=_text(p, "GV"),
        pagination=_text(p, "PG"),
        meter_vendor=_text(p, "MV"),
        meter_model=_text(p, "MM"),
        meter_serial=_text(p, "MS"),
        meter_firmware=_text(p, "MF"),
        identification_status=status,
        identification_level=_text(p, "IL"),
        identification_flags=tuple(flags),
        identification_type=_text(p, "IT"),
        identification_data=_text(p, "ID"),
        tariff_text=_text(p, "TT"),
        charge_point_id_type=_text(p, "CT"),
        charge_point_id=_text(p, "CI"),
        readings=_readings(readings),
        signature_algorithm=_text(s, "SA") or DEFAULT_SIGNATURE_ALGORITHM,
        signature_encoding=_text(s, "SE") or DEFAULT_SIGNATURE_ENCODING,
        signature_mime_type=_text(s, "SM") or DEFAULT_SIGNATURE_MIME_TYPE,
        signature_data=_text(s, "SD"),
        missing=tuple(missing),
    )


def _readings(raw: Any) -> tuple[OcmfReading, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise OcmfError("RD is not a list of readings")
    readings: list[OcmfReading] = []
    carried: dict[str, Any] = {}
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise OcmfError(f"RD.{i} is not a JSON object")
        # A field the previous reading of the record had is left out when its value is the
        # same. RV excepted: a reading without a value reports an event of the meter, and
        # giving it the previous value would make up a measurement.
        fields = {**carried, **entry}
        carried = {k: v for k, v in fields.items() if k != "RV"}
        where = f"RD.{i}"
        time = _text(fields, "TM", where)
        at, time_status = parse_reading_time(time) if time else (None, None)
        readings.append(
            OcmfReading(
                time=time,
                at=at,
                time_status=time_status,
                transaction=_text(fields, "TX", where),
                value=_number(fields, "RV", where),
                obis=_text(fields, "RI", where),
                unit=_text(fields, "RU", where),
                current_type=_text(fields, "RT", where),
                cumulated_loss=_number(fields, "CL", where),
                error_flags=_text(fields, "EF", where),
                status=_text(fields, "ST", where),
            )
        )
    return tuple(readings)


def parse_reading_time(tm: str) -> tuple[datetime | None, str | None]:
    """TM, ``2018-07-24T13:22:04,000+0200 S``: the instant in UTC (None without an offset, or
    when it cannot be read) and the synchronisation state letter after the space."""
    stamp, _, state = tm.strip().partition(" ")
    try:
        at: datetime | None = datetime.fromisoformat(stamp)
        # In UTC like every time the platform keeps; TM itself keeps the meter's own offset.
        # A time at the edge of the calendar has no UTC instant (year 0 or 10000): none.
        at = at.astimezone(UTC) if at is not None and at.tzinfo is not None else None
    except (ValueError, OverflowError):
        at = None
    return at, state.strip() or None


def _text(fields: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = fields.get(key)
    if value is None or isinstance(value, str):
        return value
    # A serial number or version written as a JSON number is still that text.
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise OcmfError(f"{where + '.' if where else ''}{key} is not a text")


def _number(fields: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise OcmfError(f"{where}.{key} is not a number")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
    raise OcmfError(f"{where}.{key} is not a number")


class TransparencyDataset(NamedTuple):
    """One signed value for the transparency software's file."""

    context: str | None  # the OCPP reading context: the dataset's description there
    transaction_id: int | None
    data: str  # the block as the station sent it
    public_key: str | None


def transparency_xml(datasets: Sequence[TransparencyDataset]) -> str:
    """The XML container the S.A.F.E. transparency software (and tools following it, such as
    Chargy) reads: ``<values>`` of ``<value>``, each a ``<signedData>`` and, when known, the
    meter's ``<publicKey>``. An OCMF record is given as plain text, exactly as it was signed
    (decoding hex or base64 changes no byte of it); a block holding no OCMF record is given as
    received, without a format, for the tool to recognise if it can. Nothing may surround a
    record's text inside its element: the signature covers it as is."""
    root = ElementTree.Element("values")
    for number, dataset in enumerate(datasets, 1):
        value = ElementTree.SubElement(
            root,
            "value",
            {"transactionId": str(number), "context": dataset.context or "Signed value"},
        )
        found = record_text(dataset.data)
        text = found if found is not None else dataset.data.strip()
        attributes = {"format": "OCMF"} if found is not None else {}
        attributes["encoding"] = "plain"
        if _NOT_IN_XML.search(text):
            # What XML cannot hold goes hex-encoded, byte for byte.
            text, attributes["encoding"] = text.encode("utf-8", "surrogatepass").hex(), HEX
        if dataset.transaction_id is not None:
            attributes["transactionId"] = str(dataset.transaction_id)
        signed = ElementTree.SubElement(value, "signedData", attributes)
        signed.text = text
        if dataset.public_key and not _NOT_IN_XML.search(dataset.public_key):
            key = ElementTree.SubElement(
                value, "publicKey", {"encoding": key_encoding(dataset.public_key)}
            )
            key.text = dataset.public_key.strip()
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def key_encoding(key: str) -> str:
    """How a public key is written: hex (as most meters print it) or base64 (as OCPP 2.0.1
    sends it)."""
    return HEX if _HEX.fullmatch("".join(key.split())) else BASE64
