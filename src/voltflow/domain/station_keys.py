"""What a station's key (its HTTP Basic password) must be, and the state of a key change.

OCPP security profiles 1 and 2 bound the key: 16 to 40 characters (1.6 ``AuthorizationKey``,
2.0.1 ``BasicAuthPassword``) of the ``passwordString`` set. A key is changed by a handover
(ChangeConfiguration ``AuthorizationKey``): the new key waits beside the current one, offered
and then accepted by the station, until the station connects with it and it replaces the old.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets

KEY_MIN, KEY_MAX = 16, 40
_KEY = re.compile(r"^[A-Za-z0-9*\-_=:+|@.]*$")
KEY_SYMBOLS = "* - _ = : + | @ ."
KEY_RULE = f"{KEY_MIN}–{KEY_MAX} characters of letters, digits and {KEY_SYMBOLS}"
# The configuration key that carries it in OCPP 1.6 (configuration keys are case-insensitive).
AUTHORIZATION_KEY = "AuthorizationKey"
# What the message log shows in place of a key sent to a station.
REDACTED = "(new key, not logged)"


class KeyChange(enum.StrEnum):
    """Where a new key stands while it waits beside the current one."""

    OFFERED = "Offered"  # stored, sent (or to be set on the station by hand), not yet accepted
    ACCEPTED = "Accepted"  # the station took it: both keys open the door until it uses the new


class KeyFault(enum.Enum):
    """Which of the key's rules a key breaks."""

    NOT_TEXT = "not_text"
    LENGTH = "length"
    CHARACTERS = "characters"


def key_fault(key: object) -> KeyFault | None:
    """The rule ``key`` breaks, or None when it can be a station's key."""
    if not isinstance(key, str):
        return KeyFault.NOT_TEXT
    if not KEY_MIN <= len(key) <= KEY_MAX:
        return KeyFault.LENGTH
    if not _KEY.match(key):
        return KeyFault.CHARACTERS
    return None


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a station's key, in English (logs), or None when it can; people
    read it in their language from :func:`key_fault`."""
    fault = key_fault(key)
    if fault is KeyFault.NOT_TEXT:
        return f"a text of {KEY_RULE}"
    if fault is KeyFault.LENGTH:
        assert isinstance(key, str)
        return f"{len(key)} characters; a station key has {KEY_RULE}"
    if fault is KeyFault.CHARACTERS:
        return f"a station key has {KEY_RULE}"
    return None


def new_key() -> str:
    """A key for a station: 20 random bytes as 40 hexadecimal digits, which reads the same to a
    station that uses the key as it is and to one that takes it as hexadecimal (the 1.6
    security whitepaper's reading)."""
    return secrets.token_hex(20)


def hash_station_password(password: str, salt: str | None = None) -> str:
    """Station keys are long random strings (OCPP security profile 1/2), so a salted SHA-256 is
    enough, and it keeps a connect storm of thousands of stations cheap."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode()).hexdigest()
    return f"sha256${salt}${digest}"


def verify_station_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        _, salt, _digest = stored.split("$", 2)
    except ValueError:
        return False
    return hmac.compare_digest(hash_station_password(password, salt), stored)


def is_authorization_key(name: object) -> bool:
    return isinstance(name, str) and name.lower() == AUTHORIZATION_KEY.lower()
