"""Stations: what lets one in, its record, its connectors and what it reports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, bindparam, func, insert, null, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import StationFilter
from voltflow.domain.records import Admission, Connector, StationRow, StatusChange

# Re-exported for the station's own use cases (``services.commands``), which read it from here.
from voltflow.domain.records import StationRecord as StationRecord
from voltflow.domain.station_keys import KeyChange, hash_station_password
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.store.database import Database
from voltflow.store.paging import record_of
from voltflow.store.prepared import Tx
from voltflow.store.statements import Statements, fit_columns
from voltflow.store.tables import (
    connector_status_history,
    connectors,
    stations,
)
from voltflow.store.writer import DurableWriter, Work, Write


def station_record(m: RowMapping) -> StationRecord:
    return record_of(
        StationRecord,
        m,
        registration=Registration(m["registration"]),
        lenient=bool(m["lenient"]),
        online=bool(m["online"]),
        key_change=_key_change(m),
    )


def _key_change(m: RowMapping) -> KeyChange | None:
    return KeyChange(m["pending_key_state"]) if m["pending_key_state"] else None


_BOOT = update(stations).where(stations.c.id == bindparam("b_id"))
_ADMISSION = select(
    stations.c.password_hash,
    stations.c.registration,
    stations.c.lenient,
    stations.c.pending_password_hash,
    stations.c.trusted_source,
).where(stations.c.id == bindparam("b_id"))
_PROMOTE_KEY = (
    update(stations)
    .where(
        stations.c.id == bindparam("b_id"),
        stations.c.pending_password_hash == bindparam("b_hash"),
    )
    .values(
        password_hash=stations.c.pending_password_hash,
        pending_password_hash=null(),
        pending_key_state=null(),
    )
)


class StationRepository:
    def __init__(self, db: Database, writer: DurableWriter) -> None:
        self.db = db
        self.writer = writer
        self.sql = Statements(db.dialect)

    async def get(self, station_id: str) -> StationRecord | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(stations).where(stations.c.id == station_id))).first()
        return station_record(row._mapping) if row else None

    async def admission(self, station_id: str) -> Admission | None:
        """The station's key, registration and leniency, read on the writer's connection: in a
        connect storm (every station back after a restart) thousands of handshakes ask at once,
        and there they share a batch at a few microseconds each instead of a millisecond through
        the async engine."""

        def work(tx: Tx) -> Admission | None:
            row = tx.one(_ADMISSION, {"b_id": station_id})
            if row is None:
                return None
            return Admission(
                row["password_hash"],
                Registration(row["registration"]),
                bool(row["lenient"]),
                row["pending_password_hash"],
                row["trusted_source"],
            )

        return await self.writer.commit((), work)

    async def add(
        self,
        station_id: str,
        password: str | None,
        *,
        now: datetime,
        registration: Registration = Registration.ACCEPTED,
        lenient: bool = False,
    ) -> StationRecord:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(stations).values(
                    id=station_id,
                    password_hash=hash_station_password(password) if password else None,
                    registration=registration.value,
                    lenient=lenient,
                    created_at=now,
                )
            )
        record = await self.get(station_id)
        assert record is not None
        return record

    async def update(self, station_id: str, **values: Any) -> bool:
        if "password" in values:
            pw = values.pop("password")
            values["password_hash"] = hash_station_password(pw) if pw else None
            # A key set outright ends any key change under way.
            values["pending_password_hash"] = values["pending_key_state"] = None
        if "registration" in values and isinstance(values["registration"], Registration):
            values["registration"] = values["registration"].value
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(stations).where(stations.c.id == station_id).values(**values)
            )
        return bool(result.rowcount)

    # -- a key change: the new key waits beside the current one ----------------------------
    async def offer_key(
        self, station_id: str, key_hash: str, *, replacing: str | None = None
    ) -> bool:
        """Store ``key_hash`` as the station's new key, offered, beside its current one; only
        while no other key change is under way: none pending, or (``replacing``) the pending
        one is still that key, offered and unanswered. False when another change came first."""
        expected = [stations.c.id == station_id]
        if replacing is None:
            expected.append(stations.c.pending_password_hash.is_(None))
        else:
            expected.append(stations.c.pending_password_hash == replacing)
            expected.append(stations.c.pending_key_state == KeyChange.OFFERED.value)
        return await self._set_key(
            expected, pending_password_hash=key_hash, pending_key_state=KeyChange.OFFERED.value
        )

    async def key_accepted(self, station_id: str, key_hash: str) -> bool:
        """The station took the new key: both open the door until it connects with the new."""
        return await self._set_key(
            self._about(station_id, key_hash), pending_key_state=KeyChange.ACCEPTED.value
        )

    async def withdraw_key(
        self, station_id: str, key_hash: str, *, restore: str | None = None
    ) -> bool:
        """The station refused the new key: only the current one stays, and ``restore`` (the
        unanswered key the refused change replaced, which the station may hold) stays offered."""
        return await self._set_key(
            self._about(station_id, key_hash),
            pending_password_hash=restore,
            pending_key_state=KeyChange.OFFERED.value if restore is not None else None,
        )

    async def promote_key(self, station_id: str, key_hash: str) -> None:
        """The station connected with its new key: it is now the only one. On the writer's
        connection, where the handshake reads the keys."""
        await self.writer.commit([Write(_PROMOTE_KEY, {"b_id": station_id, "b_hash": key_hash})])

    @staticmethod
    def _about(station_id: str, key_hash: str) -> list[ColumnElement[bool]]:
        """Each step names the key it is about, so that a step of an older key change never
        touches a newer one."""
        return [stations.c.id == station_id, stations.c.pending_password_hash == key_hash]

    async def _set_key(self, expected: list[ColumnElement[bool]], **values: Any) -> bool:
        async with self.db.writing() as conn:
            result = await conn.execute(update(stations).where(*expected).values(**values))
        return bool(result.rowcount)

    async def page(
        self, filters: StationFilter, page: PageRequest, *, within: Iterable[int] | None
    ) -> Page[StationRow]:
        """The stations ``filters`` finds among those of the organisations ``within`` (None:
        all); ``filters.organisation_id`` the service has already narrowed ``within`` to."""
        cond: list[ColumnElement[bool]] = []
        if within is not None:
            cond.append(stations.c.organisation_id.in_(list(within)))
        q = filters.q
        if q:
            cond.append(
                or_(
                    stations.c.id.icontains(q, autoescape=True),
                    stations.c.vendor.icontains(q, autoescape=True),
                    stations.c.model.icontains(q, autoescape=True),
                )
            )
        if filters.online is not None:
            cond.append(stations.c.online == filters.online)
        where = and_(True, *cond)
        async with self.db.reading() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(stations).where(where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(stations)
                    .where(where)
                    .order_by(stations.c.id)
                    .offset(page.offset)
                    .limit(page.limit)
                )
            ).all()
            ids = [r.id for r in rows]
            conns = (
                await conn.execute(
                    select(connectors)
                    .where(connectors.c.station_id.in_(ids))
                    .order_by(
                        connectors.c.station_id, connectors.c.evse_id, connectors.c.connector_id
                    )
                )
            ).all()
        by_station: dict[str, list[Connector]] = {}
        for c in conns:
            by_station.setdefault(c.station_id, []).append(record_of(Connector, c._mapping))
        items = [
            record_of(
                StationRow,
                r._mapping,
                registration=Registration(r.registration),
                lenient=bool(r.lenient),
                online=bool(r.online),
                has_key=r.password_hash is not None,
                key_change=_key_change(r._mapping),
                connectors=by_station.get(r.id, []),
            )
            for r in rows
        ]
        return Page(items, int(total), page.offset, page.limit)

    async def connectors(self, station_id: str) -> list[Connector]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(connectors)
                    .where(connectors.c.station_id == station_id)
                    .order_by(connectors.c.evse_id, connectors.c.connector_id)
                )
            ).all()
        return [record_of(Connector, r._mapping) for r in rows]

    async def status_history(self, station_id: str, limit: int = 50) -> list[StatusChange]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(connector_status_history)
                    .where(connector_status_history.c.station_id == station_id)
                    .order_by(connector_status_history.c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [record_of(StatusChange, r._mapping) for r in rows]

    async def mark_all_offline(self) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(stations).where(stations.c.online.is_(True)).values(online=False)
            )

    # -- writes that ride the group commit -------------------------------------------------
    def w_touch(self, station_id: str, now: datetime) -> Write:
        return Write(self.sql.touch_station, {"b_id": station_id, "b_seen": now})

    def w_trusted_source(self, station_id: str, source: str) -> Write:
        return Write(self.sql.trusted_source, {"b_id": station_id, "b_source": source[:64]})

    def w_offline(self, station_id: str) -> Write:
        return Write(self.sql.station_offline, {"b_id": station_id})

    def w_status(
        self,
        station_id: str,
        ref: ConnectorRef,
        status: str,
        error_code: str | None,
        info: str | None,
        vendor_error_code: str | None,
        status_at: datetime,
        received_at: datetime,
    ) -> list[Write]:
        row = fit_columns(
            connectors,
            {
                "station_id": station_id,
                "evse_id": ref.evse_id,
                "connector_id": ref.connector_id,
                "status": status,
                "error_code": error_code,
                "info": info,
                "vendor_error_code": vendor_error_code,
                "status_at": status_at,
            },
        )
        return [
            Write(self.sql.connector_status, row),
            Write(self.sql.status_history, {**row, "received_at": received_at}),
        ]

    def w_field(self, station_id: str, field: str, value: str) -> Write:
        return Write(self.sql.station_field[field], {"b_id": station_id, "b_value": value})

    @staticmethod
    def boot_work(station_id: str, fields: dict[str, Any], now: datetime) -> Work[None]:
        values = {
            **fit_columns(stations, fields),
            "last_boot_at": now,
            "last_seen_at": now,
            "online": True,
            "b_id": station_id,
        }

        def work(tx: Tx) -> None:
            tx.execute(_BOOT, values)

        return work
