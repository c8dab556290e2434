"""Whitelists and discount lists, station groups, and what each station's local list holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, union, update
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import ListFilter
from voltflow.domain.records import (
    CardInvitation,
    ListDetail,
    ListedCard,
    ListInvitation,
    ListRow,
    LocalListState,
    StationGroup,
    StationGroupDetail,
)
from voltflow.store.database import Database
from voltflow.store.paging import record_of
from voltflow.store.prepared import Tx
from voltflow.store.tables import (
    authorization_list_cards,
    authorization_lists,
    cards,
    list_card_invitations,
    memberships,
    organisations,
    station_group_members,
    station_groups,
    station_local_list_entries,
    station_local_lists,
)
from voltflow.store.whitelists import covers_station
from voltflow.store.writer import DurableWriter

L, LC, INV = authorization_lists, authorization_list_cards, list_card_invitations

_STATION: BindParameter[str] = bindparam("station_id")
# Whether a station has anything to do with local lists: it holds one of ours, or a list with
# cards covers it. Most stations have neither, and a booted station that has is synchronised.
_CONCERNED = select(
    or_(
        exists().where(station_local_lists.c.station_id == _STATION),
        exists().where(station_local_list_entries.c.station_id == _STATION),
        exists().where(
            cards.c.uid == LC.c.card_uid, L.c.id == LC.c.list_id, covers_station(_STATION)
        ),
    ).label("concerned")
)


class ListRepository:
    def __init__(self, db: Database, writer: DurableWriter) -> None:
        self.db = db
        self.writer = writer

    # -- station groups ---------------------------------------------------------------------------
    async def add_group(self, organisation_id: int, name: str, now: datetime) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(station_groups)
                .values(organisation_id=organisation_id, name=name, created_at=now)
                .returning(station_groups.c.id)
            )
            return int(result.scalar_one())

    async def get_group(self, group_id: int) -> StationGroupDetail | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(select(station_groups).where(station_groups.c.id == group_id))
            ).first()
            if row is None:
                return None
            members = (
                await conn.execute(
                    select(station_group_members.c.station_id)
                    .where(station_group_members.c.group_id == group_id)
                    .order_by(station_group_members.c.station_id)
                )
            ).scalars()
            return record_of(StationGroupDetail, row._mapping, stations=list(members))

    async def groups(self, within: Iterable[int] | None) -> list[StationGroup]:
        query = select(station_groups).order_by(station_groups.c.name)
        if within is not None:
            query = query.where(station_groups.c.organisation_id.in_(list(within)))
        async with self.db.reading() as conn:
            return [record_of(StationGroup, r._mapping) for r in (await conn.execute(query)).all()]

    async def set_group_members(self, group_id: int, station_ids: Sequence[str]) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                delete(station_group_members).where(station_group_members.c.group_id == group_id)
            )
            if station_ids:
                await conn.execute(
                    insert(station_group_members),
                    [{"group_id": group_id, "station_id": s} for s in station_ids],
                )

    # -- lists -------------------------------------------------------------------------------------
    async def add_list(self, values: dict[str, Any]) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(insert(L).values(**values).returning(L.c.id))
            return int(result.scalar_one())

    async def get_list(self, list_id: int) -> ListDetail | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(L).where(L.c.id == list_id))).first()
            if row is None:
                return None
            entries = (
                await conn.execute(
                    select(LC.c.card_uid, LC.c.added_at, cards.c.printed_number, cards.c.state)
                    .join(cards, cards.c.uid == LC.c.card_uid)
                    .where(LC.c.list_id == list_id)
                    .order_by(cards.c.printed_number, LC.c.card_uid)
                )
            ).all()
            # What the inviter typed, and nothing of the card: it is not theirs to see yet.
            invited = (
                await conn.execute(
                    select(INV.c.card_uid, INV.c.invited_at)
                    .where(INV.c.list_id == list_id)
                    .order_by(INV.c.card_uid)
                )
            ).all()
        return record_of(
            ListDetail,
            row._mapping,
            cards=[record_of(ListedCard, e._mapping) for e in entries],
            invitations=[record_of(ListInvitation, i._mapping) for i in invited],
        )

    async def page(
        self, filters: ListFilter, page: PageRequest, *, within: Iterable[int] | None
    ) -> Page[ListRow]:
        cond: list[Any] = []
        if within is not None:
            cond.append(L.c.organisation_id.in_(list(within)))
        if filters.station_id:
            cond.append(covers_station(filters.station_id))
        where = and_(True, *cond)
        counts = select(LC.c.list_id, func.count().label("cards")).group_by(LC.c.list_id).subquery()
        async with self.db.reading() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(L).where(where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(L, func.coalesce(counts.c.cards, 0).label("card_count"))
                    .outerjoin(counts, counts.c.list_id == L.c.id)
                    .where(where)
                    .order_by(L.c.name, L.c.id)
                    .offset(page.offset)
                    .limit(page.limit)
                )
            ).all()
        items = [record_of(ListRow, r._mapping) for r in rows]
        return Page(items, int(total), page.offset, page.limit)

    async def add_cards(self, list_id: int, uids: Sequence[str], now: datetime) -> list[str]:
        async with self.db.writing() as conn:
            present = set(
                (
                    await conn.execute(
                        select(LC.c.card_uid).where(
                            LC.c.list_id == list_id, LC.c.card_uid.in_(list(uids))
                        )
                    )
                ).scalars()
            )
            new = [u for u in uids if u not in present]
            if new:
                await conn.execute(
                    insert(LC), [{"list_id": list_id, "card_uid": u, "added_at": now} for u in new]
                )
        return new

    async def remove_cards(self, list_id: int, uids: Sequence[str]) -> int:
        """Takes the cards off the list, and withdraws the invitations of those not on it yet."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                delete(LC).where(LC.c.list_id == list_id, LC.c.card_uid.in_(list(uids)))
            )
            withdrawn = await conn.execute(
                delete(INV).where(INV.c.list_id == list_id, INV.c.card_uid.in_(list(uids)))
            )
        return int(result.rowcount or 0) + int(withdrawn.rowcount or 0)

    # -- invitations of guests' cards -------------------------------------------------------------
    async def holders(self, uids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The cards among ``uids`` that exist: their state, organisation and driver."""
        if not uids:
            return {}
        query = select(
            cards.c.uid, cards.c.state, cards.c.organisation_id, cards.c.driver_id
        ).where(cards.c.uid.in_(list(uids)))
        async with self.db.reading() as conn:
            return {r.uid: dict(r._mapping) for r in (await conn.execute(query)).all()}

    async def members(self, organisation_id: int) -> set[int]:
        query = select(memberships.c.user_id).where(
            memberships.c.organisation_id == organisation_id
        )
        async with self.db.reading() as conn:
            return set((await conn.execute(query)).scalars())

    async def invite(self, list_id: int, uids: Sequence[str], now: datetime) -> list[str]:
        """Invitations for the cards neither on the list nor invited to it yet (those are left)."""
        async with self.db.writing() as conn:
            listed = select(LC.c.card_uid).where(
                LC.c.list_id == list_id, LC.c.card_uid.in_(list(uids))
            )
            pending = select(INV.c.card_uid).where(
                INV.c.list_id == list_id, INV.c.card_uid.in_(list(uids))
            )
            present = set((await conn.execute(union(listed, pending))).scalars())
            new = [u for u in uids if u not in present]
            if new:
                await conn.execute(
                    insert(INV),
                    [{"list_id": list_id, "card_uid": u, "invited_at": now} for u in new],
                )
        return new

    async def invitations(
        self, *, within: Iterable[int] | None, driver_id: int | None
    ) -> list[CardInvitation]:
        """Pending invitations of the cards held by ``driver_id`` or by the organisations
        ``within`` (``None``: all cards), with the list and who invites."""
        query = (
            select(
                INV.c.list_id,
                INV.c.card_uid,
                INV.c.invited_at,
                cards.c.printed_number,
                L.c.name.label("list_name"),
                L.c.kind.label("list_kind"),
                L.c.station_id,
                organisations.c.name.label("inviter"),
            )
            .join(cards, cards.c.uid == INV.c.card_uid)
            .join(L, L.c.id == INV.c.list_id)
            .join(organisations, organisations.c.id == L.c.organisation_id)
            .order_by(INV.c.invited_at, INV.c.list_id, INV.c.card_uid)
        )
        if within is not None:
            held: list[ColumnElement[bool]] = [cards.c.organisation_id.in_(list(within))]
            if driver_id is not None:
                held.append(cards.c.driver_id == driver_id)
            query = query.where(or_(*held))
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [record_of(CardInvitation, r._mapping) for r in rows]

    async def invitation(self, list_id: int, uid: str) -> dict[str, Any] | None:
        """The pending invitation, with the card's holder and state, when the uid names a card."""
        query = (
            select(
                INV.c.list_id,
                INV.c.card_uid,
                cards.c.organisation_id,
                cards.c.driver_id,
                cards.c.state,
            )
            .join(cards, cards.c.uid == INV.c.card_uid)
            .where(INV.c.list_id == list_id, INV.c.card_uid == uid)
        )
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def answer_invitation(
        self, list_id: int, uid: str, *, accept: bool, now: datetime
    ) -> bool:
        """Settles the invitation (the card joins the list if accepted); False if none was
        pending, e.g. answered meanwhile."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                delete(INV).where(INV.c.list_id == list_id, INV.c.card_uid == uid)
            )
            if not result.rowcount:
                return False
            if accept:
                listed = (
                    await conn.execute(
                        select(LC.c.card_uid).where(LC.c.list_id == list_id, LC.c.card_uid == uid)
                    )
                ).first()
                if listed is None:
                    await conn.execute(
                        insert(LC).values(list_id=list_id, card_uid=uid, added_at=now)
                    )
        return True

    async def lists_with_cards(self, uids: Sequence[str]) -> list[int]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(LC.c.list_id).where(LC.c.card_uid.in_(list(uids))).distinct()
                )
            ).scalars()
            return list(rows)

    async def remove_everywhere(self, uids: Sequence[str]) -> None:
        async with self.db.writing() as conn:
            await conn.execute(delete(LC).where(LC.c.card_uid.in_(list(uids))))

    async def stations_of_lists(self, list_ids: Sequence[int]) -> set[str]:
        if not list_ids:
            return set()
        direct = select(L.c.station_id.label("station_id")).where(
            L.c.id.in_(list_ids), L.c.station_id.is_not(None)
        )
        grouped = (
            select(station_group_members.c.station_id.label("station_id"))
            .join(L, L.c.group_id == station_group_members.c.group_id)
            .where(L.c.id.in_(list_ids))
        )
        async with self.db.reading() as conn:
            return set((await conn.execute(union(direct, grouped))).scalars())

    async def stations_with_entries(self, uids: Sequence[str]) -> set[str]:
        t = station_local_list_entries
        async with self.db.reading() as conn:
            return set(
                (
                    await conn.execute(
                        select(t.c.station_id).where(t.c.card_uid.in_(list(uids))).distinct()
                    )
                ).scalars()
            )

    async def listed_cards(self, station_id: str, kind: str | None = None) -> dict[str, str]:
        """Cards on the lists that cover this station, with their state."""
        cond = [covers_station(station_id)]
        if kind:
            cond.append(L.c.kind == kind)
        query = (
            select(cards.c.uid, cards.c.state)
            .join(LC, LC.c.card_uid == cards.c.uid)
            .join(L, L.c.id == LC.c.list_id)
            .where(*cond)
            .distinct()
        )
        async with self.db.reading() as conn:
            return {r.uid: r.state for r in (await conn.execute(query)).all()}

    async def card_states(self, uids: Iterable[str]) -> dict[str, str]:
        wanted = list(uids)
        if not wanted:
            return {}
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(cards.c.uid, cards.c.state).where(cards.c.uid.in_(wanted))
                )
            ).all()
        return {r.uid: r.state for r in rows}

    # -- what a station holds --------------------------------------------------------------------
    async def concerned(self, station_id: str) -> bool:
        """Whether the station holds a local list of ours or a list with cards covers it. One
        statement on the writer's connection: after a boot storm every station asks at once."""

        def work(tx: Tx) -> bool:
            row = tx.one(_CONCERNED, {"station_id": station_id})
            return bool(row and row["concerned"])

        return bool(await self.writer.commit((), work))

    async def local_list(self, station_id: str) -> tuple[LocalListState | None, dict[str, str]]:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(station_local_lists).where(
                        station_local_lists.c.station_id == station_id
                    )
                )
            ).first()
            entries = (
                await conn.execute(
                    select(
                        station_local_list_entries.c.card_uid, station_local_list_entries.c.status
                    ).where(station_local_list_entries.c.station_id == station_id)
                )
            ).all()
        stored = record_of(LocalListState, row._mapping) if row else None
        return stored, {e.card_uid: e.status for e in entries}

    async def store_local_list(
        self, station_id: str, version: int, entries: dict[str, str], now: datetime
    ) -> None:
        t, e = station_local_lists, station_local_list_entries
        async with self.db.writing() as conn:
            exists = (
                await conn.execute(select(t.c.station_id).where(t.c.station_id == station_id))
            ).first()
            values = {"version": version, "synced_at": now, "last_error": None}
            if exists:
                await conn.execute(update(t).where(t.c.station_id == station_id).values(**values))
            else:
                await conn.execute(insert(t).values(station_id=station_id, **values))
            await conn.execute(delete(e).where(e.c.station_id == station_id))
            if entries:
                await conn.execute(
                    insert(e),
                    [
                        {"station_id": station_id, "card_uid": u, "status": s}
                        for u, s in entries.items()
                    ],
                )

    async def note_sync_error(self, station_id: str, error: str) -> None:
        t = station_local_lists
        async with self.db.writing() as conn:
            exists = (
                await conn.execute(select(t.c.station_id).where(t.c.station_id == station_id))
            ).first()
            if exists:
                await conn.execute(
                    update(t).where(t.c.station_id == station_id).values(last_error=error[:256])
                )
            else:
                await conn.execute(
                    insert(t).values(station_id=station_id, version=0, last_error=error[:256])
                )
