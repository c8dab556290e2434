"""OCMF records as Eichrecht stations send them, for the tests: an AC wallbox's meter signing one
record at the start of a session and one at its end (OCMF's "SR", single reading), and one record
holding both (its "MR"). Field values follow the OCMF specification's tables; the signatures are
DER-shaped ECDSA signatures, not real ones (the platform does not verify them)."""

from __future__ import annotations

import base64
import json
from typing import Any

METER_SERIAL = "EEM35021007731"
PUBLIC_KEY = (
    "3059301306072A8648CE3D020106082A8648CE3D03010703420004"
    "6F1A3C5E9B0D2F4A8C7E1B3D5F7092A4C6E8013579BDF02468ACE13579BDF0246"
    "8ACE02468ACE13579BDF13579BDF02468ACE02468ACE13579BDF13579BDF024"
)
# DER-encoded (r, s) pairs of 32 bytes each, as a secp256r1 meter writes them.
SIGNATURE_BEGIN = (
    "304502202FD57070BC4E4ECD62872371E799019E7A2639B199A3A9CB2003310DB1E4F2C"
    "0022100AFD0D39A8ED77B468C18785501A71244EFE7015F9337BDBFF3D81A0F7AD1FBD4"
)
SIGNATURE_END = (
    "3046022100F5469A37E72E645326092A04F6F7C615F561B9BFF03FE426EBB471B64BEDDE"
    "BE022100DDB13377FA94CB2089B9CFDDF6787E2B5C870D01AE823D24C2F87C1F6447CED8"
)


def payload(
    readings: list[dict[str, Any]], *, pagination: str = "T1742", **extra: Any
) -> dict[str, Any]:
    return {
        "FV": "1.0",
        "GI": "ACME Wallbox Pro 22",
        "GS": "WB2210004417",
        "GV": "2.4.1",
        "PG": pagination,
        "MV": "Phoenix Contact",
        "MM": "EEM-350-D-MCB",
        "MS": METER_SERIAL,
        "MF": "1.3",
        "IS": True,
        "IL": "TRUSTED",
        "IF": ["RFID_PLAIN", "OCPP_AUTH"],
        "IT": "ISO14443",
        "ID": "04A2BC11",
        "CT": "EVSEID",
        "CI": "DE*ACM*E4417*1",
        "RD": readings,
        **extra,
    }


def reading(tm: str, tx: str, rv: str) -> dict[str, Any]:
    """A reading whose value RV is written with exactly the digits given."""
    return {
        "TM": tm,
        "TX": tx,
        "RV": rv,
        "RI": "1-b:1.8.0",
        "RU": "kWh",
        "RT": "AC",
        "EF": "",
        "ST": "G",
    }


def record(body: dict[str, Any], signature: dict[str, Any]) -> str:
    """``OCMF|{payload}|{signature}``, compact, with RV written as the number it spells."""
    text = json.dumps(body, separators=(",", ":"))
    for r in body.get("RD", []):
        if isinstance(r.get("RV"), str):
            text = text.replace(f'"RV":"{r["RV"]}"', f'"RV":{r["RV"]}', 1)
    return f"OCMF|{text}|{json.dumps(signature, separators=(',', ':'))}"


def begin_record(rv: str = "1234.56") -> str:
    return record(
        payload([reading("2025-03-01T13:00:00,000+0100 S", "B", rv)], pagination="T1742"),
        {"SA": "ECDSA-secp256r1-SHA256", "SD": SIGNATURE_BEGIN},
    )


def end_record(rv: str = "1246.06") -> str:
    return record(
        payload([reading("2025-03-01T13:40:00,000+0100 S", "E", rv)], pagination="T1743"),
        {"SA": "ECDSA-secp256r1-SHA256", "SD": SIGNATURE_END},
    )


def both_record() -> str:
    """Start and end in one record; the end reading leaves out what is unchanged."""
    return record(
        payload(
            [
                reading("2025-03-01T13:00:00,000+0100 S", "B", "1234.56"),
                {"TM": "2025-03-01T13:40:00,000+0100 S", "TX": "E", "RV": "1246.06"},
            ],
            pagination="T1744",
        ),
        {"SD": SIGNATURE_END},
    )


def as_hex(text: str) -> str:
    """How OCPP 1.6 describes SignedData: the block hex-encoded (stations write upper case)."""
    return text.encode().hex().upper()


def as_base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def as_wrapper(text: str, public_key: str | None = PUBLIC_KEY) -> str:
    """OCPP 2.0.1's SignedMeterValueType as JSON, which some 1.6 stations send."""
    wrapper: dict[str, Any] = {
        "signedMeterData": as_base64(text),
        "signingMethod": "ECDSA-secp256r1-SHA256",
        "encodingMethod": "OCMF",
    }
    if public_key is not None:
        wrapper["publicKey"] = public_key
    return json.dumps(wrapper)
