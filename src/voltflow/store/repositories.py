"""Queries and writes, one repository per aggregate. The services hold these; nothing else does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, bindparam, func, insert, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement

from voltflow.domain.authorization import Token, TokenState
from voltflow.domain.sessions import (
    ENERGY_REGISTER,
    SIGNED_DATA,
    SUPERSEDED,
    MeterSample,
    SignedSample,
)
from voltflow.domain.station_keys import KeyChange, hash_station_password
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.store.database import Database
from voltflow.store.prepared import Tx
from voltflow.store.tables import (
    api_keys,
    cards,
    charging_sessions,
    connector_status_history,
    connectors,
    meter_values,
    ocpp_messages,
    signed_meter_values,
    stations,
    users,
)
from voltflow.store.whitelists import on_station_whitelist
from voltflow.store.writer import DurableWriter, Work, Write


class Admission(NamedTuple):
    """What the endpoint needs to let a station in, and to read its messages."""

    password_hash: str | None
    registration: Registration
    lenient: bool
    # The new key of a key change under way: it opens the door too, and replaces the current
    # key once the station connects with it.
    pending_password_hash: str | None = None
    # The source it last connected from with its key (``ocpp.throttle``).
    trusted_source: str | None = None


@dataclass(frozen=True, slots=True)
class StationRecord:
    id: str
    password_hash: str | None
    registration: Registration
    lenient: bool
    organisation_id: int | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    firmware_status: str | None
    diagnostics_status: str | None
    online: bool
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    created_at: datetime
    pending_password_hash: str | None = None
    key_change: KeyChange | None = None

    @property
    def has_key(self) -> bool:
        """False: anyone may connect under this station's id (security profile 0)."""
        return self.password_hash is not None

    @classmethod
    def from_row(cls, row: Any) -> StationRecord:
        m = row._mapping
        return cls(
            id=m["id"],
            password_hash=m["password_hash"],
            registration=Registration(m["registration"]),
            lenient=bool(m["lenient"]),
            organisation_id=m["organisation_id"],
            vendor=m["vendor"],
            model=m["model"],
            serial_number=m["serial_number"],
            firmware_version=m["firmware_version"],
            firmware_status=m["firmware_status"],
            diagnostics_status=m["diagnostics_status"],
            online=bool(m["online"]),
            last_seen_at=m["last_seen_at"],
            last_boot_at=m["last_boot_at"],
            created_at=m["created_at"],
            pending_password_hash=m["pending_password_hash"],
            key_change=KeyChange(m["pending_key_state"]) if m["pending_key_state"] else None,
        )


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


async def fetch_page(
    conn: AsyncConnection, query: Select[Any], *order_by: Any, offset: int, limit: int
) -> Page:
    """One page of ``query``'s rows and the number of rows in all."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = (await conn.execute(counted)).scalar_one()
    rows = (await conn.execute(query.order_by(*order_by).offset(offset).limit(limit))).all()
    return Page([dict(r._mapping) for r in rows], int(total), offset, limit)


def _dialect_insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _fit(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every text cut to what its column holds. A lenient station's texts may
    be longer: PostgreSQL would refuse the whole message where SQLite keeps it, so both keep what
    fits (the logged frame keeps the rest)."""
    lengths = _TEXT_LENGTHS.get(table.name)
    if lengths is None:
        lengths = _TEXT_LENGTHS[table.name] = {
            c.key: length
            for c in table.c
            if isinstance(length := getattr(c.type, "length", None), int)
        }
    return {
        key: value[: lengths[key]] if isinstance(value, str) and key in lengths else value
        for key, value in values.items()
    }


_TEXT_LENGTHS: dict[str, dict[str, int]] = {}


class Statements:
    """The hot path's statements, built once per dialect so the writer can batch them."""

    def __init__(self, dialect: str) -> None:
        self.log_message: Executable = insert(ocpp_messages)
        self.touch_station: Executable = (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .values(last_seen_at=bindparam("b_seen"), online=True)
        )
        self.trusted_source: Executable = (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .values(trusted_source=bindparam("b_source"))
        )
        self.station_offline: Executable = (
            update(stations).where(stations.c.id == bindparam("b_id")).values(online=False)
        )
        self.status_history: Executable = insert(connector_status_history)
        upsert = _dialect_insert(dialect, connectors)
        excluded = upsert.excluded
        # A backlog replays old statuses: the current one is the latest by the station's clock.
        self.connector_status: Executable = upsert.on_conflict_do_update(
            index_elements=["station_id", "evse_id", "connector_id"],
            set_={
                "status": excluded.status,
                "error_code": excluded.error_code,
                "info": excluded.info,
                "vendor_error_code": excluded.vendor_error_code,
                "status_at": excluded.status_at,
            },
            where=excluded.status_at >= connectors.c.status_at,
        )
        self.meter_value: Executable = _dialect_insert(
            dialect, meter_values
        ).on_conflict_do_nothing()
        self.station_field: dict[str, Executable] = {}
        for name in ("firmware_status", "diagnostics_status"):
            self.station_field[name] = (
                update(stations)
                .where(stations.c.id == bindparam("b_id"))
                .values({name: bindparam("b_value")})
            )


_S = charging_sessions
# The hot path's reads and single-row writes, built once (see ``prepared``).
_FIND_STARTED = select(_S.c.id).where(
    _S.c.station_id == bindparam("station_id"),
    _S.c.evse_id == bindparam("evse_id"),
    _S.c.started_at == bindparam("started_at"),
    _S.c.meter_start_wh == bindparam("meter_start_wh"),
)
# A retried StartTransaction (same station, connector, time and meter) inserts nothing and gets
# no id back: the common case, a new session, is one statement. PostgreSQL's construct compiles
# alike for SQLite.
_INSERT_STARTED = (
    postgresql.insert(_S)
    .on_conflict_do_nothing(
        index_elements=["station_id", "evse_id", "started_at", "meter_start_wh"]
    )
    .returning(_S.c.id)
)
# The session a StopTransaction closes, with the one fact its type needs from elsewhere, in one
# statement. FOR UPDATE on PostgreSQL, where two stops of one session may race; SQLite's writer
# holds the database's write lock already.
_SESSION_FOR_UPDATE = (
    select(_S, on_station_whitelist(_S.c.station_id, _S.c.id_tag).label("on_whitelist"))
    .where(_S.c.id == bindparam("session_id"), _S.c.station_id == bindparam("station_id"))
    .with_for_update(of=_S)
)
# A stop that comes again (a retry, a late copy) finds the session closed and changes nothing;
# the station's own stop replaces one the platform inferred (``SUPERSEDED``).
_CLOSE_SESSION = update(_S).where(
    _S.c.id == bindparam("session_id"),
    or_(_S.c.stopped_at.is_(None), _S.c.stop_reason == SUPERSEDED),
)
# Sessions still open on an EVSE that began before a new one there: an EVSE runs one
# transaction at a time, so these are sessions their station lost. Read through the partial
# index of open sessions (``ix_sessions_open``): none, almost always, whatever the EVSE's history.
_OPEN_BEFORE = (
    select(
        _S.c.id,
        _S.c.started_at,
        _S.c.meter_start_wh,
        _S.c.auth_status,
        on_station_whitelist(_S.c.station_id, _S.c.id_tag).label("on_whitelist"),
    )
    .where(
        _S.c.station_id == bindparam("station_id"),
        _S.c.evse_id == bindparam("evse_id"),
        _S.c.stopped_at.is_(None),
        _S.c.started_at < bindparam("started_at"),
    )
    .order_by(_S.c.started_at)
    .with_for_update(of=_S)
)
_MV = meter_values
_LAST_ENERGY = (
    select(_MV.c.sampled_at, _MV.c.value)
    .where(_MV.c.session_id == bindparam("session_id"), _MV.c.measurand == ENERGY_REGISTER)
    .order_by(_MV.c.sampled_at.desc())
    .limit(1)
)
_SMV = signed_meter_values


def _signed_insert(dialect: str) -> Executable:
    """A signed block already stored (a retry, or the same block in MeterValues and then in the
    StopTransaction) is the same reading: it is not stored again, but it joins its session when
    it was stored without one (a MeterValues sent before the station knew its transaction)."""
    upsert = _dialect_insert(dialect, _SMV)
    excluded = upsert.excluded
    statement: Executable = upsert.on_conflict_do_update(
        index_elements=["station_id", "data_sha256"],
        set_={
            "session_id": excluded.session_id,
            "evse_id": excluded.evse_id,
            "connector_id": excluded.connector_id,
        },
        where=and_(_SMV.c.session_id.is_(None), excluded.session_id.is_not(None)),
    )
    return statement


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
_SECRETS = frozenset({"password_hash", "pending_password_hash"})


class StationRepository:
    def __init__(self, db: Database, writer: DurableWriter) -> None:
        self.db = db
        self.writer = writer
        self.sql = Statements(db.dialect)

    async def get(self, station_id: str) -> StationRecord | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(stations).where(stations.c.id == station_id))).first()
        return StationRecord.from_row(row) if row else None

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
        async with self.db.writes.begin() as conn:
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
        async with self.db.writes.begin() as conn:
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
        async with self.db.writes.begin() as conn:
            result = await conn.execute(update(stations).where(*expected).values(**values))
        return bool(result.rowcount)

    async def page(
        self,
        *,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        online: bool | None = None,
        within: Iterable[int] | None = None,
    ) -> Page:
        cond: list[ColumnElement[bool]] = []
        if within is not None:
            cond.append(stations.c.organisation_id.in_(list(within)))
        if q:
            cond.append(
                or_(
                    stations.c.id.icontains(q, autoescape=True),
                    stations.c.vendor.icontains(q, autoescape=True),
                    stations.c.model.icontains(q, autoescape=True),
                )
            )
        if online is not None:
            cond.append(stations.c.online == online)
        where = and_(True, *cond)
        async with self.db.engine.connect() as conn:
            total = (
                await conn.execute(select(func.count()).select_from(stations).where(where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    select(stations)
                    .where(where)
                    .order_by(stations.c.id)
                    .offset(offset)
                    .limit(limit)
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
        by_station: dict[str, list[dict[str, Any]]] = {}
        for c in conns:
            by_station.setdefault(c.station_id, []).append(dict(c._mapping))
        items = []
        for r in rows:
            item = {k: v for k, v in r._mapping.items() if k not in _SECRETS}
            item["has_key"] = r.password_hash is not None
            item["connectors"] = by_station.get(r.id, [])
            items.append(item)
        return Page(items, total, offset, limit)

    async def connectors(self, station_id: str) -> list[dict[str, Any]]:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(connectors)
                    .where(connectors.c.station_id == station_id)
                    .order_by(connectors.c.evse_id, connectors.c.connector_id)
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    async def status_history(self, station_id: str, limit: int = 50) -> list[dict[str, Any]]:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(connector_status_history)
                    .where(connector_status_history.c.station_id == station_id)
                    .order_by(connector_status_history.c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    async def mark_all_offline(self) -> None:
        async with self.db.writes.begin() as conn:
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
        row = _fit(
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
            **_fit(stations, fields),
            "last_boot_at": now,
            "last_seen_at": now,
            "online": True,
            "b_id": station_id,
        }

        def work(tx: Tx) -> None:
            tx.execute(_BOOT, values)

        return work


class Answer(NamedTuple):
    """The frame that answered a logged CALL, sent the other way (a tuple: one a message)."""

    raw: str
    message_type: int  # 3 CALLRESULT, 4 CALLERROR
    at: datetime


class MessageLog:
    """Every OCPP frame in and out, per station, searchable.

    Stored an exchange a row (a CALL with its answer), read as frames: :meth:`search` gives
    each frame on its own, the answer after its call, as the station and the platform sent
    them."""

    def __init__(self, db: Database, writer: DurableWriter, statements: Statements) -> None:
        self.db = db
        self.writer = writer
        self.sql = statements

    def w_frame(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> Write:
        """The row of one frame, with the answer it got (if it is a call that was answered)."""
        return Write(
            self.sql.log_message,
            {
                "station_id": station_id,
                "at": at,
                "direction": direction,
                "message_type": message_type,
                # A station may send anything: keep what fits, the raw frame keeps the rest.
                "message_id": message_id[:64] if message_id else None,
                "action": action[:48] if action else None,
                "payload": raw,
                "note": note[:512] if note else None,
                "answer": answer.raw if answer else None,
                "answer_type": answer.message_type if answer else None,
                "answered_at": answer.at if answer else None,
            },
        )

    def record(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> None:
        """The frame's row rides the next commit (``services.ports.FrameLog``)."""
        self.writer.enqueue(
            [
                self.w_frame(
                    station_id, at, direction, raw, message_type, message_id, action, note, answer
                )
            ]
        )

    async def record_now(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> None:
        """The frame's row, committed before this returns (``services.ports.FrameLog``)."""
        await self.writer.commit(
            [
                self.w_frame(
                    station_id, at, direction, raw, message_type, message_id, action, note, answer
                )
            ]
        )

    async def search(
        self,
        station_id: str,
        *,
        action: str | None = None,
        direction: str | None = None,
        message_id: str | None = None,
        text: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """The station's frames, newest first: at least ``limit`` when there are as many, and
        never half an exchange (both frames carry the row's id, which ``before_id`` pages by)."""
        t = ocpp_messages
        cond = [t.c.station_id == station_id]
        if action:
            cond.append(t.c.action == action)
        if direction:
            # The frames sent that way: rows begun that way, or answered that way.
            cond.append(
                or_(
                    t.c.direction == direction,
                    and_(t.c.answer.is_not(None), t.c.direction != direction),
                )
            )
        if message_id:
            cond.append(t.c.message_id == message_id)
        if text:
            cond.append(
                or_(
                    t.c.payload.contains(text, autoescape=True),
                    t.c.note.contains(text, autoescape=True),
                    t.c.answer.contains(text, autoescape=True),
                )
            )
        if before_id:
            cond.append(t.c.id < before_id)
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(select(t).where(*cond).order_by(t.c.id.desc()).limit(limit))
            ).all()
        found: list[dict[str, Any]] = []
        for row in rows:
            for frame in reversed(_frames_of(row._mapping)):
                # A text found in a call or its answer shows the whole exchange.
                if not direction or frame["direction"] == direction:
                    found.append(frame)
            if len(found) >= limit:
                break
        return found


_FRAME_FIELDS = ("id", "station_id", "at", "direction", "message_type", "message_id", "action")


def _frames_of(row: Any) -> list[dict[str, Any]]:
    """A log row as the frames it holds, in the order they were sent."""
    call = {k: row[k] for k in _FRAME_FIELDS}
    call["payload"], call["note"] = row["payload"], row["note"]
    if row["answer"] is None:
        return [call]
    answer = {
        **call,
        "at": row["answered_at"],
        "direction": "out" if row["direction"] == "in" else "in",
        "message_type": row["answer_type"],
        "payload": row["answer"],
        "note": None,
    }
    return [call, answer]


def _without_nul(text: str | None) -> str | None:
    """PostgreSQL's text cannot hold NUL, which JSON can carry (``\\u0000``): written as JSON
    writes it, on both databases, so that the block is kept rather than its message refused."""
    return text.replace("\x00", "\\u0000") if text and "\x00" in text else text


class SignedInfo(NamedTuple):
    """What the platform read in a signed block, stored beside it."""

    encoding: str | None
    public_key: str | None
    note: str | None


class SessionRepository:
    def __init__(self, db: Database, writer: DurableWriter, statements: Statements) -> None:
        self.db = db
        self.writer = writer
        self.sql = statements
        self._signed_insert = _signed_insert(db.dialect)

    def w_signed(
        self,
        station_id: str,
        evse_id: int | None,
        connector_id: int | None,
        session_id: int | None,
        message: str,
        received_at: datetime,
        signed: Sequence[tuple[SignedSample, SignedInfo]],
    ) -> list[Write]:
        return [
            Write(
                self._signed_insert,
                _fit(
                    signed_meter_values,
                    {
                        "station_id": station_id,
                        "evse_id": evse_id,
                        "connector_id": connector_id,
                        "session_id": session_id,
                        "sampled_at": s.timestamp,
                        "received_at": received_at,
                        "message": message,
                        "format": SIGNED_DATA,
                        "measurand": s.measurand,
                        "context": s.context,
                        "unit": s.unit,
                        "phase": s.phase,
                        "location": s.location,
                        "data": _without_nul(s.data),
                        "data_sha256": hashlib.sha256(s.data.encode()).hexdigest(),
                        "encoding": info.encoding,
                        "public_key": _without_nul(info.public_key),
                        "note": info.note,
                    },
                ),
            )
            for s, info in signed
        ]

    def w_samples(
        self, station_id: str, evse_id: int, session_id: int | None, samples: Sequence[MeterSample]
    ) -> list[Write]:
        return [
            Write(
                self.sql.meter_value,
                {
                    "station_id": station_id,
                    "evse_id": evse_id,
                    "session_id": session_id,
                    "sampled_at": s.timestamp,
                    "measurand": s.measurand,
                    "phase": s.phase or "",
                    "location": s.location or "",
                    "context": s.context or "",
                    "unit": s.unit,
                    "value": s.value,
                },
            )
            for s in samples
        ]

    # -- inside a station message's transaction (units of work, see ``writer``) ---------------
    @staticmethod
    def find_started(
        tx: Tx, station_id: str, evse_id: int, started_at: datetime, meter_start: int
    ) -> int | None:
        row = tx.one(
            _FIND_STARTED,
            {
                "station_id": station_id,
                "evse_id": evse_id,
                "started_at": started_at,
                "meter_start_wh": meter_start,
            },
        )
        return int(row["id"]) if row else None

    @staticmethod
    def insert_started(tx: Tx, values: dict[str, Any]) -> int | None:
        """The new session's id; None when the station, connector, start time and meter are
        those of a session already stored (a retried StartTransaction): nothing is inserted."""
        row = tx.one(_INSERT_STARTED, _fit(charging_sessions, values))
        return int(row["id"]) if row else None

    @staticmethod
    def get_for_update(tx: Tx, session_id: int, station_id: str) -> dict[str, Any] | None:
        """The session, with ``on_whitelist``: whether a whitelist of its station holds its
        token (what its type needs when it stops)."""
        return tx.one(_SESSION_FOR_UPDATE, {"session_id": session_id, "station_id": station_id})

    @staticmethod
    def open_before(
        tx: Tx, station_id: str, evse_id: int, started_at: datetime
    ) -> list[dict[str, Any]]:
        """Sessions still open on the EVSE that began before ``started_at``, oldest first, with
        ``on_whitelist`` as :meth:`get_for_update` gives it."""
        return tx.all(
            _OPEN_BEFORE, {"station_id": station_id, "evse_id": evse_id, "started_at": started_at}
        )

    @staticmethod
    def last_energy_reading(tx: Tx, session_id: int) -> tuple[datetime, Decimal] | None:
        row = tx.one(_LAST_ENERGY, {"session_id": session_id})
        return (row["sampled_at"], row["value"]) if row else None

    @staticmethod
    def close(tx: Tx, session_id: int, values: dict[str, Any]) -> None:
        tx.execute(_CLOSE_SESSION, {**_fit(charging_sessions, values), "session_id": session_id})

    async def get(self, session_id: int) -> dict[str, Any] | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(charging_sessions).where(charging_sessions.c.id == session_id)
                )
            ).first()
        return dict(row._mapping) if row else None

    async def open_session(self, station_id: str, evse_id: int) -> dict[str, Any] | None:
        t = charging_sessions
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t)
                    .where(
                        t.c.station_id == station_id,
                        t.c.evse_id == evse_id,
                        t.c.stopped_at.is_(None),
                    )
                    .order_by(t.c.started_at.desc())
                    .limit(1)
                )
            ).first()
        return dict(row._mapping) if row else None

    async def page(
        self,
        *,
        station_id: str | None = None,
        id_tag: str | None = None,
        active: bool | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
        within: Iterable[int] | None = None,
        driver_id: int | None = None,
        session_id: int | None = None,
    ) -> Page:
        t = charging_sessions
        cond: list[Any] = []
        if session_id is not None:
            cond.append(t.c.id == session_id)
        if within is not None:
            # Sessions at the organisation's stations (CPO side) and with its cards (mobility side),
            # and a driver's own.
            orgs = list(within)
            own_stations = select(stations.c.id).where(stations.c.organisation_id.in_(orgs))
            card_filter: ColumnElement[bool] = cards.c.organisation_id.in_(orgs)
            if driver_id is not None:
                card_filter = or_(card_filter, cards.c.driver_id == driver_id)
            own_cards = select(cards.c.uid).where(card_filter)
            cond.append(or_(t.c.station_id.in_(own_stations), t.c.id_tag.in_(own_cards)))
        if station_id:
            cond.append(t.c.station_id == station_id)
        if id_tag:
            cond.append(t.c.id_tag == id_tag)
        if active is True:
            cond.append(t.c.stopped_at.is_(None))
        elif active is False:
            cond.append(t.c.stopped_at.is_not(None))
        if started_from:
            cond.append(t.c.started_at >= started_from)
        if started_to:
            cond.append(t.c.started_at < started_to)
        async with self.db.engine.connect() as conn:
            return await fetch_page(
                conn,
                select(t).where(*cond),
                t.c.started_at.desc(),
                t.c.id.desc(),
                offset=offset,
                limit=limit,
            )

    async def meter_values(self, session_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        t = meter_values
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t)
                    .where(t.c.session_id == session_id)
                    .order_by(t.c.sampled_at, t.c.id)
                    .limit(limit)
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    async def signed_values(self, session_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        """The session's signed values, in the order they were sampled."""
        t = signed_meter_values
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t)
                    .where(t.c.session_id == session_id)
                    .order_by(t.c.sampled_at, t.c.id)
                    .limit(limit)
                )
            ).all()
        return [dict(r._mapping) for r in rows]

    async def latest_energy(self, session_ids: Sequence[int]) -> dict[int, Decimal]:
        """The last energy register per open session, for the live kWh the console shows."""
        if not session_ids:
            return {}
        out: dict[int, Decimal] = {}
        async with self.db.engine.connect() as conn:
            for session_id in session_ids:
                row = (await conn.execute(_LAST_ENERGY, {"session_id": session_id})).first()
                if row is not None:
                    out[session_id] = row.value
        return out


class TokenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, uid: str, now: datetime, expires_at: datetime | None = None) -> Token:
        async with self.db.writes.begin() as conn:
            await conn.execute(
                insert(cards).values(
                    uid=uid,
                    state=TokenState.ACTIVE.value,
                    expires_at=expires_at,
                    created_at=now,
                    updated_at=now,
                )
            )
        return Token(uid, TokenState.ACTIVE, expires_at)

    async def page(self, offset: int = 0, limit: int = 100) -> Page:
        query = select(cards.c.uid, cards.c.state, cards.c.expires_at)
        async with self.db.engine.connect() as conn:
            return await fetch_page(conn, query, cards.c.uid, offset=offset, limit=limit)


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_username(self, username: str) -> dict[str, Any] | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return dict(row._mapping) if row else None

    async def by_id(self, user_id: int) -> dict[str, Any] | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return dict(row._mapping) if row else None

    async def add(
        self,
        username: str,
        password_hash: str,
        role: str,
        now: datetime,
        *,
        full_name: str | None = None,
        email: str | None = None,
    ) -> int:
        async with self.db.writes.begin() as conn:
            result = await conn.execute(
                insert(users)
                .values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    full_name=full_name,
                    email=email,
                    created_at=now,
                )
                .returning(users.c.id)
            )
            return int(result.scalar_one())

    async def update(self, user_id: int, **values: Any) -> None:
        async with self.db.writes.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values(**values))

    async def add_api_key(
        self, user_id: int, key_hash: str, label: str, now: datetime, scopes: str | None = None
    ) -> None:
        async with self.db.writes.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    user_id=user_id, key_hash=key_hash, label=label, scopes=scopes, created_at=now
                )
            )

    async def by_api_key(self, key_hash: str) -> tuple[dict[str, Any], str | None] | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(users, api_keys.c.scopes)
                    .join(api_keys, api_keys.c.user_id == users.c.id)
                    .where(api_keys.c.key_hash == key_hash)
                )
            ).first()
        if row is None:
            return None
        data = dict(row._mapping)
        scopes = data.pop("scopes")
        return data, scopes
