"""Whether a token may charge. The card lifecycle refines this; the answers are OCPP's words."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AuthorizationStatus(enum.StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"


class TokenState(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Token:
    uid: str
    state: TokenState
    expires_at: datetime | None = None


def authorize(token: Token | None, now: datetime) -> AuthorizationStatus:
    if token is None:
        return AuthorizationStatus.INVALID
    if token.state is TokenState.BLOCKED:
        return AuthorizationStatus.BLOCKED
    if token.expires_at is not None and token.expires_at <= now:
        return AuthorizationStatus.EXPIRED
    return AuthorizationStatus.ACCEPTED


def normalize_uid(uid: str) -> str:
    """RFID readers disagree on case and separators; the platform stores one form.

    Separators go before the blanks around them, so that ``": 04A2"`` does not keep a blank."""
    return uid.replace(":", "").replace("-", "").strip().upper()


class IdTokenType(enum.StrEnum):
    """How a token identifies its holder (OCPP 2.0.1's IdTokenEnumType)."""

    CENTRAL = "Central"
    EMAID = "eMAID"
    ISO14443 = "ISO14443"
    ISO15693 = "ISO15693"
    KEY_CODE = "KeyCode"
    LOCAL = "Local"
    MAC_ADDRESS = "MacAddress"
    NO_AUTHORIZATION = "NoAuthorization"


@dataclass(frozen=True, slots=True)
class IdToken:
    """A token as a station presents it: its value, and what kind of token it is."""

    value: str
    type: IdTokenType

    @property
    def uid(self) -> str:
        """The value in the one form the platform stores (``normalize_uid``)."""
        return normalize_uid(self.value)
