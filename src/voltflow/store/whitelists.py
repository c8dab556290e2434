"""Which authorization lists cover a station, as expressions a statement can carry: the list
pages and a station's cards filter by it, and a stopping session reads whether a whitelist of
its station holds its card with the session itself, in one statement (see ``repositories``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, exists, or_, select

from voltflow.store.tables import (
    authorization_list_cards,
    authorization_lists,
    station_group_members,
)

L, LC = authorization_lists, authorization_list_cards


def covers_station(station: ColumnElement[str] | str) -> ColumnElement[bool]:
    """The list is ``station``'s own, or one of its groups'."""
    groups = select(station_group_members.c.group_id).where(
        station_group_members.c.station_id == station
    )
    return or_(L.c.station_id == station, L.c.group_id.in_(groups))


def on_station_whitelist(station: ColumnElement[str], uid: ColumnElement[str]) -> Exists:
    """A whitelist of ``station`` (its own, or one of its groups') holds the card ``uid``."""
    return exists().where(
        LC.c.card_uid == uid,
        L.c.id == LC.c.list_id,
        L.c.kind == "whitelist",
        covers_station(station),
    )
