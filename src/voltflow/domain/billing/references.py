"""Belgian structured payment references ("OGM", ``+++123/4567/89012+++``): ten digits and two
check digits, the ten modulo 97 (97 when that is 0). Banks refuse a transfer whose reference
fails the check, so a payer's typing error cannot land on another document."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")
_MAX = 10**10


class ReferenceError(ValueError):
    """``reason``: ``form`` (not twelve digits) or ``checksum``."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.reason = reason
        self.value = value


def _check(base: int) -> int:
    return base % 97 or 97


def structured_reference(base: int) -> str:
    """The reference for ``base`` (0 < base < 10¹⁰), written ``+++123/4567/89012+++``."""
    if not 0 < base < _MAX:
        raise ValueError(f"a structured reference holds 1 to {_MAX - 1}, not {base}")
    digits = f"{base:010d}{_check(base):02d}"
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def parse_structured_reference(value: str) -> str:
    """The reference in its written form, from any writing of it (``+++…+++``, ``***…***``, bare
    digits, with or without slashes and spaces); ``ReferenceError`` when it is not twelve
    digits or its check digits are wrong."""
    digits = "".join(_DIGITS.findall(value))
    stripped = value.strip().strip("+*").replace("/", "").replace(" ", "")
    if len(digits) != 12 or stripped != digits:
        raise ReferenceError("form", value)
    base = int(digits[:10])
    if base == 0 or _check(base) != int(digits[10:]):
        raise ReferenceError("checksum", value)
    return structured_reference(base)
