"""Charging sessions, their meter values and signed readings."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    BigInteger,
    Integer,
    Numeric,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement

from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import SessionFilter
from voltflow.domain.records import MeterValue, Session, SignedMeterValue
from voltflow.domain.sessions import (
    ENERGY_REGISTER,
    SIGNED_DATA,
    SUPERSEDED,
    MeterSample,
    SignedSample,
)
from voltflow.store.database import Database
from voltflow.store.licences import licensed_at_station
from voltflow.store.paging import fetch_page, record_of
from voltflow.store.prepared import Tx
from voltflow.store.statements import Statements, dialect_insert, fit_columns
from voltflow.store.tables import (
    cards,
    charging_sessions,
    meter_values,
    signed_meter_values,
    stations,
)
from voltflow.store.types import UTCDateTime
from voltflow.store.whitelists import on_station_whitelist
from voltflow.store.writer import DurableWriter, Write

R = TypeVar("R")

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
# The session a StopTransaction closes, with the facts its type needs from elsewhere (a
# whitelist, a split-billing licence), in one statement. FOR UPDATE on PostgreSQL, where two
# stops of one session may race; SQLite's writer holds the database's write lock already.
_WITH_TYPING_FACTS = select(
    _S,
    on_station_whitelist(_S.c.station_id, _S.c.id_tag).label("on_whitelist"),
    licensed_at_station(_S.c.station_id, _S.c.id_tag, _S.c.started_at).label("licensed"),
)
_SESSION_FOR_UPDATE = _WITH_TYPING_FACTS.where(
    _S.c.id == bindparam("session_id"), _S.c.station_id == bindparam("station_id")
).with_for_update(of=_S)
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
        _S.c.station_id,
        _S.c.evse_id,
        _S.c.connector_id,
        _S.c.id_tag,
        _S.c.started_at,
        _S.c.meter_start_wh,
        _S.c.auth_status,
        on_station_whitelist(_S.c.station_id, _S.c.id_tag).label("on_whitelist"),
        licensed_at_station(_S.c.station_id, _S.c.id_tag, _S.c.started_at).label("licensed"),
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
    upsert = dialect_insert(dialect, _SMV)
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
                fit_columns(
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
        row = tx.one(_INSERT_STARTED, fit_columns(charging_sessions, values))
        return int(row["id"]) if row else None

    @staticmethod
    def get_for_update(tx: Tx, session_id: int, station_id: str) -> dict[str, Any] | None:
        """The session, with ``on_whitelist``: whether a whitelist of its station holds its
        token, and ``licensed``: whether a split-billing licence of its station valid at its
        start holds its token (what its type needs when it stops)."""
        return tx.one(_SESSION_FOR_UPDATE, {"session_id": session_id, "station_id": station_id})

    @staticmethod
    def open_before(
        tx: Tx, station_id: str, evse_id: int, started_at: datetime
    ) -> list[dict[str, Any]]:
        """Sessions still open on the EVSE that began before ``started_at``, oldest first, with
        ``on_whitelist`` and ``licensed`` as :meth:`get_for_update` gives them."""
        return tx.all(
            _OPEN_BEFORE, {"station_id": station_id, "evse_id": evse_id, "started_at": started_at}
        )

    @staticmethod
    def last_energy_reading(tx: Tx, session_id: int) -> tuple[datetime, Decimal] | None:
        row = tx.one(_LAST_ENERGY, {"session_id": session_id})
        return (row["sampled_at"], row["value"]) if row else None

    @staticmethod
    def close(tx: Tx, session_id: int, values: dict[str, Any]) -> None:
        tx.execute(
            _CLOSE_SESSION, {**fit_columns(charging_sessions, values), "session_id": session_id}
        )

    async def get(self, session_id: int) -> dict[str, Any] | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(charging_sessions).where(charging_sessions.c.id == session_id)
                )
            ).first()
        return dict(row._mapping) if row else None

    async def find(self, session_id: int) -> Session | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(_S).where(_S.c.id == session_id))).first()
        return record_of(Session, row._mapping) if row else None

    async def page(
        self,
        filters: SessionFilter,
        page: PageRequest,
        *,
        within: Iterable[int] | None,
        driver_id: int | None = None,
    ) -> Page[Session]:
        """The sessions ``filters`` finds among those visible ``within`` the organisations
        (None: all) and to ``driver_id``, newest first."""
        async with self.db.reading() as conn:
            return await fetch_page(
                conn,
                select(_S).where(*_found(filters, within, driver_id)),
                *_NEWEST_FIRST,
                page=page,
                record=lambda m: record_of(Session, m),
            )

    async def for_correction(self, session_id: int) -> dict[str, Any] | None:
        """The session with the facts its type needs (a whitelist, a licence), as a stop reads
        them, for an operator's correction (inside its unit of work)."""
        query = _WITH_TYPING_FACTS.where(_S.c.id == session_id)
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def correct(self, session_id: int, **values: Any) -> None:
        async with self.db.writing() as conn:
            await conn.execute(update(_S).where(_S.c.id == session_id).values(**values))

    async def count(
        self, filters: SessionFilter, *, within: Iterable[int] | None, driver_id: int | None = None
    ) -> int:
        """How many sessions :meth:`page` finds in all."""
        query = select(func.count()).select_from(_S).where(*_found(filters, within, driver_id))
        async with self.db.reading() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def stream(
        self,
        filters: SessionFilter,
        *,
        within: Iterable[int] | None,
        driver_id: int | None = None,
        batch: int = 2000,
    ) -> AsyncIterator[list[Session]]:
        """Every session :meth:`page` finds, in its order, ``batch`` at a time: one query read
        through a server-side cursor (PostgreSQL) or SQLite's stepping, so that a million
        sessions take the memory of one batch, and the rows are sorted once."""
        query = (
            select(*_SESSION_COLUMNS)
            .where(*_found(filters, within, driver_id))
            .order_by(*_NEWEST_FIRST)
            .execution_options(yield_per=batch)
        )
        async with self.db.engine.connect() as conn:
            result = await conn.stream(query)
            async for rows in result.partitions(batch):
                # By position: a million rows, each made a record without a name lookup.
                yield [Session(*row) for row in rows]

    def csv_lines(
        self,
        filters: SessionFilter,
        *,
        within: Iterable[int] | None,
        driver_id: int | None = None,
        now: datetime,
        batch: int = 2000,
    ) -> AsyncIterator[bytes]:
        """The rows of :meth:`stream` as the sessions export's CSV lines (no header), their
        text made by the database: the columns of ``voltflow.exports.sessions`` in its machine
        formats, a session still charging with its duration at ``now`` and its energy from its
        last meter reading. PostgreSQL writes the file itself (``COPY … TO STDOUT``); SQLite's
        rows, already text, go through the csv module. A row made a record and its cells
        formatted here costs several times more."""
        if self.db.dialect == "postgresql":
            return self._copy_csv(filters, within, driver_id, now)
        return self._sqlite_csv(filters, within, driver_id, now, batch)

    async def _sqlite_csv(
        self,
        filters: SessionFilter,
        within: Iterable[int] | None,
        driver_id: int | None,
        now: datetime,
        batch: int,
    ) -> AsyncIterator[bytes]:
        query = _sqlite_csv_query(_found(filters, within, driver_id), now)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        async with self.db.engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=batch))
            async for rows in result.partitions(batch):
                writer.writerows(rows)
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()

    async def _copy_csv(
        self,
        filters: SessionFilter,
        within: Iterable[int] | None,
        driver_id: int | None,
        now: datetime,
    ) -> AsyncIterator[bytes]:
        query = (
            select(*_csv_columns(now))
            .where(*_found(filters, within, driver_id))
            .order_by(*_NEWEST_FIRST)
        )
        async with self.db.engine.connect() as conn:
            compiled = query.compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            async with raw.cursor() as cursor:
                statement = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)"
                async with cursor.copy(statement, compiled.params) as copy:
                    # The server sends a message a row: sent on in chunks of about 64 KiB.
                    chunk = bytearray()
                    async for block in copy:
                        chunk += block
                        if len(chunk) >= 65536:
                            yield bytes(chunk)
                            chunk.clear()
                    if chunk:
                        yield bytes(chunk)

    async def visible(
        self, session_id: int, *, within: Iterable[int] | None, driver_id: int | None
    ) -> bool:
        """Whether the session is one of those :meth:`page` lists to the same viewer."""
        query = select(_S.c.id).where(_S.c.id == session_id, *_visible(within, driver_id))
        async with self.db.reading() as conn:
            return (await conn.execute(query)).first() is not None

    async def meter_values(self, session_id: int, limit: int = 1000) -> list[MeterValue]:
        return await self._readings(meter_values, MeterValue, session_id, limit)

    async def signed_values(self, session_id: int, limit: int = 1000) -> list[SignedMeterValue]:
        """The session's signed values, in the order they were sampled."""
        return await self._readings(signed_meter_values, SignedMeterValue, session_id, limit)

    async def _readings(self, t: Table, record: type[R], session_id: int, limit: int) -> list[R]:
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(t)
                    .where(t.c.session_id == session_id)
                    .order_by(t.c.sampled_at, t.c.id)
                    .limit(limit)
                )
            ).all()
        return [record_of(record, r._mapping) for r in rows]

    async def latest_energy(self, session_ids: Sequence[int]) -> dict[int, Decimal]:
        """The last energy register per open session, for the live kWh the console shows."""
        if not session_ids:
            return {}
        out: dict[int, Decimal] = {}
        async with self.db.reading() as conn:
            for session_id in session_ids:
                row = (await conn.execute(_LAST_ENERGY, {"session_id": session_id})).first()
                if row is not None:
                    out[session_id] = row.value
        return out


_NEWEST_FIRST = (_S.c.started_at.desc(), _S.c.id.desc())
# The columns of a Session record, in the order of its fields (those the table holds).
_SESSION_COLUMNS = tuple(_S.c[name] for name in Session.__dataclass_fields__ if name in _S.c)


def _sqlite_csv_query(found: list[ColumnElement[bool]], now: datetime) -> Select[Any]:
    """The sessions export's CSV columns as SQLite writes them (see :func:`_csv_columns`).
    SQLite keeps times as text, ``YYYY-MM-DD HH:MM:SS.ffffff``: a duration is the difference
    of two counts of microseconds, cut to whole seconds toward zero as Python's ``int`` cuts;
    kWh are written from the integer Wh, without a float in between."""
    last_energy = (
        select(cast(meter_values.c.value, Integer))
        .where(
            meter_values.c.session_id == _S.c.id,
            meter_values.c.measurand == ENERGY_REGISTER,
        )
        .order_by(meter_values.c.sampled_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    energy = case(
        (_S.c.energy_wh.is_not(None), _S.c.energy_wh),
        (_S.c.stopped_at.is_(None), last_energy - _S.c.meter_start_wh),
        else_=None,
    )
    end = func.coalesce(_S.c.stopped_at, literal(now, UTCDateTime))
    inner = (
        select(
            _S.c.id,
            _S.c.started_at,
            _S.c.stopped_at,
            _S.c.station_id,
            _S.c.evse_id,
            _S.c.id_tag,
            _S.c.stop_reason,
            _S.c.session_type,
            energy.label("energy"),
            end.label("ended"),
        )
        .where(*found)
        .subquery()
    )
    i = inner.c

    def micros(column: Any) -> Any:
        seconds = cast(func.strftime("%s", column), Integer)
        return seconds * 1_000_000 + cast(func.substr(column, 21, 6), Integer)

    def iso(column: Any) -> Any:
        return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)

    whole = func.abs(i.energy)
    kwh = case(
        (i.energy.is_(None), None),
        else_=case((i.energy < 0, "-"), else_="")
        .op("||")(whole.op("/")(1000))
        .op("||")(".")
        .op("||")(func.substr(literal("00").op("||")(whole.op("%")(1000)), -3)),
    )
    return select(
        iso(i.started_at),
        iso(i.stopped_at),
        i.station_id,
        i.evse_id,
        i.id_tag,
        # SQLite's "/" of two integers cuts toward zero.
        (micros(i.ended) - micros(i.started_at)).self_group().op("/")(1_000_000),
        kwh,
        i.stop_reason,
        i.session_type,
    ).order_by(i.started_at.desc(), i.id.desc())


def _csv_columns(now: datetime) -> list[ColumnElement[Any]]:
    """The sessions export's CSV columns as PostgreSQL writes them: what
    ``voltflow.exports.csv_writer`` writes for each kind (times ISO 8601 UTC with ``Z`` to the
    second, durations in whole seconds, kWh with three decimals, empty for none)."""
    iso = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'

    def utc(column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.to_char(func.timezone("UTC", column), iso)

    def text(column: ColumnElement[Any]) -> ColumnElement[Any]:
        # COPY quotes an empty string (to tell it from NULL); the csv module does not.
        return func.nullif(column, "")

    last_energy = (
        select(func.trunc(meter_values.c.value))
        .where(
            meter_values.c.session_id == _S.c.id,
            meter_values.c.measurand == ENERGY_REGISTER,
        )
        .order_by(meter_values.c.sampled_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    energy = case(
        (_S.c.energy_wh.is_not(None), _S.c.energy_wh),
        (_S.c.stopped_at.is_(None), last_energy - _S.c.meter_start_wh),
        else_=None,
    )
    seconds = func.extract("epoch", func.coalesce(_S.c.stopped_at, now) - _S.c.started_at)
    return [
        utc(_S.c.started_at),
        utc(_S.c.stopped_at),
        text(_S.c.station_id),
        _S.c.evse_id,
        text(_S.c.id_tag),
        cast(func.trunc(seconds), BigInteger),
        func.to_char(energy / literal(1000, Numeric), "FM9999999999990.000"),
        text(_S.c.stop_reason),
        text(_S.c.session_type),
    ]


def _found(
    filters: SessionFilter, within: Iterable[int] | None, driver_id: int | None
) -> list[ColumnElement[bool]]:
    """The conditions of the sessions ``filters`` finds that the viewer may see."""
    t = _S
    f = filters
    cond = _visible(within, driver_id)
    if f.station_id:
        cond.append(t.c.station_id == f.station_id)
    if f.id_tag:
        cond.append(t.c.id_tag == f.id_tag)
    if f.active is True:
        cond.append(t.c.stopped_at.is_(None))
    elif f.active is False:
        cond.append(t.c.stopped_at.is_not(None))
    if f.started_from:
        cond.append(t.c.started_at >= f.started_from)
    if f.started_to:
        cond.append(t.c.started_at < f.started_to)
    return cond


def _visible(within: Iterable[int] | None, driver_id: int | None) -> list[ColumnElement[bool]]:
    """Sessions at the organisations' stations (CPO side) and with their cards (mobility side),
    and a driver's own; all when ``within`` is None."""
    if within is None:
        return []
    orgs = list(within)
    own_stations = select(stations.c.id).where(stations.c.organisation_id.in_(orgs))
    card_filter: ColumnElement[bool] = cards.c.organisation_id.in_(orgs)
    if driver_id is not None:
        card_filter = or_(card_filter, cards.c.driver_id == driver_id)
    own_cards = select(cards.c.uid).where(card_filter)
    return [or_(_S.c.station_id.in_(own_stations), _S.c.id_tag.in_(own_cards))]


def _without_nul(text: str | None) -> str | None:
    """PostgreSQL's text cannot hold NUL, which JSON can carry (``\\u0000``): written as JSON
    writes it, on both databases, so that the block is kept rather than its message refused."""
    return text.replace("\x00", "\\u0000") if text and "\x00" in text else text
