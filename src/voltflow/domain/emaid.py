"""Contract ids (eMAID, ISO 15118-1 / eMI³): ``CC-PPP-IIIIIIIII-D``, country, provider, instance
and a check character that catches single errors and swaps of neighbouring characters."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FORM = re.compile(
    r"^(?P<cc>[A-Z]{2})(?P<s>-?)(?P<pid>[A-Z0-9]{3})(?P=s)(?P<inst>[A-Z0-9]{9})(?:(?P=s)(?P<chk>[A-Z0-9]))?$"
)

# Each character stands for a 2×2 matrix: two bits over GF(2) and two digits over GF(3),
# packed as m11 | m12<<1 | m21<<2 | m22<<4.
_CODES = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [
            0,
            16,
            32,
            4,
            20,
            36,
            8,
            24,
            40,
            2,
            18,
            34,
            6,
            22,
            38,
            10,
            26,
            42,
            1,
            17,
            33,
            5,
            21,
            37,
            9,
            25,
            41,
            3,
            19,
            35,
            7,
            23,
            39,
            11,
            27,
            43,
        ],
        strict=True,
    )
)
_CHARS = {code: ch for ch, code in _CODES.items()}

Matrix = tuple[int, int, int, int]


class EmaidError(ValueError):
    """Why a text is not a contract id: ``reason`` is ``"form"`` (not the shape of one),
    ``"check"`` (a wrong check character: ``expected``, ``given``) or ``"body"``; with
    ``text``, what was given. The message is English; people read it translated from these."""

    def __init__(
        self, message: str, reason: str, text: str, expected: str = "", given: str = ""
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.text = text
        self.expected = expected
        self.given = given


def _mul(a: Matrix, b: Matrix) -> Matrix:
    return (
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
    )


def _powers(m: Matrix, n: int) -> list[Matrix]:
    out = [m]
    while len(out) < n:
        out.append(_mul(out[-1], m))
    return out


_P1 = _powers((0, 1, 1, 1), 14)
_P2 = _powers((0, 1, 1, 2), 14)
_NEG_P2_INV15: Matrix = (0, 2, 2, 1)  # -(P2^-15) over GF(3)


def check_character(body: str) -> str:
    """The check character for the 14 characters of country, provider and instance."""
    body = body.upper()
    if len(body) != 14 or any(ch not in _CODES for ch in body):
        raise EmaidError("an eMAID body is 14 letters or digits", "body", body)
    a1 = a2 = b1 = b2 = 0
    for i, ch in enumerate(body):
        code = _CODES[ch]
        q1, q2, r1, r2 = code & 1, (code >> 1) & 1, (code >> 2) & 3, code >> 4
        p, s = _P1[i], _P2[i]
        a1 += q1 * p[0] + q2 * p[2]
        a2 += q1 * p[1] + q2 * p[3]
        b1 += r1 * s[0] + r2 * s[2]
        b2 += r1 * s[1] + r2 * s[3]
    n = _NEG_P2_INV15
    t1, t2 = b1 * n[0] + b2 * n[2], b1 * n[1] + b2 * n[3]
    return _CHARS[(a1 & 1) | ((a2 & 1) << 1) | ((t1 % 3) << 2) | ((t2 % 3) << 4)]


@dataclass(frozen=True, slots=True)
class Emaid:
    country: str
    provider: str
    instance: str

    @property
    def check(self) -> str:
        return check_character(self.country + self.provider + self.instance)

    def __str__(self) -> str:
        return f"{self.country}-{self.provider}-{self.instance}-{self.check}"

    @property
    def compact(self) -> str:
        """The form without separators that ISO 15118 carries (15 characters)."""
        return f"{self.country}{self.provider}{self.instance}{self.check}"


def parse_emaid(text: str) -> Emaid:
    """Accept ``BE-VFL-C00000123-X``, ``BEVFLC00000123X`` or either without the check character;
    a check character that is given must be the right one."""
    m = _FORM.match(text.strip().upper())
    if m is None:
        raise EmaidError(
            f"{text!r} is not an eMAID: 2-letter country, 3-character provider, "
            "9-character instance, optional check character (e.g. BE-VFL-C00000123-?)",
            "form",
            text,
        )
    emaid = Emaid(m["cc"], m["pid"], m["inst"])
    if m["chk"] and m["chk"] != emaid.check:
        raise EmaidError(
            f"{text!r}: check character should be {emaid.check}, not {m['chk']}",
            "check",
            text,
            expected=emaid.check,
            given=m["chk"],
        )
    return emaid
