"""VAT numbers: the Belgian one's form and check digits (mod 97)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-/]")
_BELGIAN = re.compile(r"^(?:BE)?([01]?\d{9})$")


class VatNumberError(ValueError):
    """``reason``: ``form`` (not BE and ten digits) or ``checksum``."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.reason = reason
        self.value = value


def belgian_vat_number(value: str) -> str:
    """The number in its standard form (``BE0123456749``), from any usual writing of it
    (``BE 0123.456.749``, ``0123456749``, the old nine digits); refuses (``VatNumberError``)
    one whose form or check digits are wrong: the last two digits are 97 minus the first eight
    modulo 97."""
    compact = _SEPARATORS.sub("", value).upper()
    found = _BELGIAN.match(compact)
    if found is None:
        raise VatNumberError("form", value)
    digits = found.group(1).rjust(10, "0")
    if digits[0] not in "01":
        raise VatNumberError("form", value)
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise VatNumberError("checksum", value)
    return f"BE{digits}"
