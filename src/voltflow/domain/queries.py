"""What each list query looks for: a filter an adapter (API, console, CLI) builds from what it
was asked, which the service passes to the store unchanged. Who may see what is no part of a
filter: the service adds it from the acting person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.cards import CardState


@dataclass(frozen=True, slots=True)
class StationFilter:
    q: str | None = None  # within the id, vendor or model
    online: bool | None = None
    organisation_id: int | None = None  # the stations of this organisation


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """A station's message log, newest first; paged backwards by id (``before_id``)."""

    action: str | None = None
    direction: str | None = None  # "in" or "out": the frames sent that way
    message_id: str | None = None
    text: str | None = None  # within a frame or its note: the whole exchange is listed
    before_id: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class SessionFilter:
    station_id: str | None = None
    id_tag: str | None = None
    active: bool | None = None  # True: still charging; False: finished
    started_from: datetime | None = None
    started_to: datetime | None = None  # before this


@dataclass(frozen=True, slots=True)
class CardFilter:
    q: str | None = None  # within the uid, printed number or contract id
    state: CardState | None = None
    organisation_id: int | None = None


@dataclass(frozen=True, slots=True)
class ListFilter:
    station_id: str | None = None  # the lists that cover this station


@dataclass(frozen=True, slots=True)
class OrganisationFilter:
    q: str | None = None  # within the name or VAT number
    kind: OrganisationKind | None = None


@dataclass(frozen=True, slots=True)
class PeopleFilter:
    role: Role | None = None
    q: str | None = None  # within the login, name or e-mail


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity: str | None = None
