"""Price lines of sessions: what pricing reads of a session, and the lines it decides."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import BindParameter

from voltflow.domain.session_prices import Basis, Party, PriceLine, SessionToPrice, cents
from voltflow.domain.session_types import SessionType
from voltflow.domain.tariffs.linear import MAX_WH, TariffSpan
from voltflow.store.database import Database
from voltflow.store.tables import (
    BigId,
    authorization_list_cards,
    authorization_lists,
    charging_sessions,
    session_price_lines,
    station_group_members,
    stations,
    users,
)
from voltflow.store.types import UTCDateTime

s = charging_sessions
lines_t = session_price_lines


def _discount_tariff(station: Any, uid: Any) -> Any:
    """The tariff of the first discount list (by id) that holds the card ``uid`` at ``station``,
    directly or through a station group (columns of a query, or values)."""
    lists, cards, members = authorization_lists, authorization_list_cards, station_group_members
    # Correlated with the query ``station`` comes from, two levels up: left to itself,
    # SQLAlchemy would give the inner query a FROM of its own, and a group's list would then
    # hold at every station.
    groups = (
        select(members.c.group_id).where(members.c.station_id == station).correlate_except(members)
    )
    return (
        select(lists.c.tariff_ref)
        .join(cards, cards.c.list_id == lists.c.id)
        .where(
            lists.c.kind == "discount",
            lists.c.tariff_ref.is_not(None),
            cards.c.card_uid == uid,
            (lists.c.station_id == station) | lists.c.group_id.in_(groups),
        )
        .order_by(lists.c.id)
        .limit(1)
        .scalar_subquery()
    )


class SessionPriceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._to_price = (
            select(
                s.c.id,
                s.c.station_id,
                s.c.id_tag,
                s.c.started_at,
                s.c.stopped_at,
                s.c.energy_wh,
                s.c.session_type,
                stations.c.tariff_id,
                stations.c.host_tariff_id,
                _discount_tariff(s.c.station_id, s.c.id_tag).label("discount_tariff_id"),
            )
            .join(stations, stations.c.id == s.c.station_id)
            .where(s.c.stopped_at.is_not(None), s.c.session_type.is_not(None))
        )

    async def to_price(self, session_ids: Sequence[int]) -> list[SessionToPrice]:
        """The finished sessions among ``session_ids``, as pricing reads them."""
        if not session_ids:
            return []
        async with self.db.reading() as conn:
            rows = (await conn.execute(self._to_price.where(s.c.id.in_(list(session_ids))))).all()
        return [_session(row) for row in rows]

    async def tariffs_for(
        self, station_id: str, uid: str
    ) -> tuple[str | None, str | None, str | None] | None:
        """The public, host and discount-list tariffs a session of the card at the station would
        be priced with; None when there is no such station."""
        discount = _discount_tariff(station_id, uid)
        query = select(stations.c.tariff_id, stations.c.host_tariff_id, discount).where(
            stations.c.id == station_id
        )
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def to_price_after(self, after_id: int, limit: int) -> list[SessionToPrice]:
        """Finished sessions by id, from after ``after_id``: a re-pricing walks them in pages."""
        query = self._to_price.where(s.c.id > after_id).order_by(s.c.id).limit(limit)
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [_session(row) for row in rows]

    async def replace(
        self,
        priced: Sequence[tuple[int, SessionType, Sequence[PriceLine]]],
        now: datetime,
    ) -> None:
        """Each session's lines become its current ones, as a new revision; the earlier stay."""
        if not priced:
            return
        ids = [session_id for session_id, _, _ in priced]
        async with self.db.writing() as conn:
            revisions = dict(
                (
                    await conn.execute(
                        select(lines_t.c.session_id, func.max(lines_t.c.revision))
                        .where(lines_t.c.session_id.in_(ids))
                        .group_by(lines_t.c.session_id)
                    )
                ).all()
            )
            if revisions:
                await conn.execute(
                    update(lines_t)
                    .where(lines_t.c.session_id.in_(list(revisions)), lines_t.c.current)
                    .values(current=False)
                )
            rows = [
                {
                    "session_id": session_id,
                    "revision": int(revisions.get(session_id) or 0) + 1,
                    "current": True,
                    "session_type": str(session_type),
                    "party": str(line.party),
                    "basis": str(line.basis),
                    "currency": line.currency,
                    "excl_vat": line.excl_vat,
                    "incl_vat": line.incl_vat,
                    "tariff_id": line.tariff_id,
                    "tariff_version": line.tariff_version,
                    "rate": line.rate,
                    "priced_at": now,
                }
                for session_id, session_type, lines in priced
                for line in lines
            ]
            if rows:
                await conn.execute(lines_t.insert(), rows)

    async def price_linear(
        self,
        spans: Sequence[TariffSpan],
        run: LinearRun,
        now: datetime,
        *,
        after: int = 0,
        upto: int | None = None,
        ids: Sequence[int] | None = None,
    ) -> tuple[int, list[int]]:
        """Prices in the database the finished sessions with ids in (``after``, ``upto``] (or
        among ``ids``) that linear tariffs price (``spans``: every tariff's, see
        ``domain.tariffs.linear``), storing what ``price_lines`` decides as ``replace`` would:
        each a new revision of current lines. Whitelist and invalid sessions get their zero
        line. The count priced, and the ids of the finished sessions left for the engine."""
        return await _price_linear(self.db, spans, run, now, after=after, upto=upto, ids=ids)

    async def finished_after(self, after_id: int, count: int) -> int | None:
        """The id of the ``count``-th finished session after ``after_id`` (None: fewer left)."""
        query = (
            select(s.c.id)
            .where(s.c.id > after_id, s.c.stopped_at.is_not(None), s.c.session_type.is_not(None))
            .order_by(s.c.id)
            .limit(1)
            .offset(count - 1)
        )
        async with self.db.reading() as conn:
            found = (await conn.execute(query)).scalar()
        return None if found is None else int(found)

    async def current(self, session_ids: Iterable[int]) -> dict[int, tuple[PriceLine, ...]]:
        """Each session's current lines (a session not priced yet is absent)."""
        ids = list(session_ids)
        if not ids:
            return {}
        query = (
            select(lines_t)
            .where(lines_t.c.session_id.in_(ids), lines_t.c.current)
            .order_by(lines_t.c.session_id, lines_t.c.id)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        found: dict[int, list[PriceLine]] = {}
        for row in rows:
            found.setdefault(int(row.session_id), []).append(_line(row))
        return {session_id: tuple(lines) for session_id, lines in found.items()}

    async def history(self, session_id: int) -> list[tuple[int, datetime, tuple[PriceLine, ...]]]:
        """Every revision of a session's lines, the first first: (revision, priced at, lines)."""
        query = (
            select(lines_t)
            .where(lines_t.c.session_id == session_id)
            .order_by(lines_t.c.revision, lines_t.c.id)
        )
        async with self.db.reading() as conn:
            rows = (await conn.execute(query)).all()
        revisions: dict[int, tuple[datetime, list[PriceLine]]] = {}
        for row in rows:
            revisions.setdefault(int(row.revision), (row.priced_at, []))[1].append(_line(row))
        return [(rev, at, tuple(lines)) for rev, (at, lines) in revisions.items()]

    async def station_prices(self, station_id: str) -> StationPriceSettings | None:
        """What the station's sessions are priced with, and its host's login; None when there
        is no such station."""
        query = (
            select(
                stations.c.organisation_id,
                stations.c.tariff_id,
                users.c.username,
                stations.c.host_tariff_id,
            )
            .select_from(stations.outerjoin(users, users.c.id == stations.c.host_user_id))
            .where(stations.c.id == station_id)
        )
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return StationPriceSettings(
            station_id=station_id,
            organisation_id=None if row.organisation_id is None else int(row.organisation_id),
            tariff_id=row.tariff_id,
            host=row.username,
            host_tariff_id=row.host_tariff_id,
        )

    async def set_station_prices(
        self,
        station_id: str,
        *,
        tariff_id: str | None,
        host_user_id: int | None,
        host_tariff_id: str | None,
    ) -> bool:
        """A station's public tariff and its host; False when there is no such station."""
        async with self.db.writing() as conn:
            result = await conn.execute(
                update(stations)
                .where(stations.c.id == station_id)
                .values(
                    tariff_id=tariff_id, host_user_id=host_user_id, host_tariff_id=host_tariff_id
                )
            )
        return bool(result.rowcount)


def _session(row: Any) -> SessionToPrice:
    return SessionToPrice(
        session_id=int(row.id),
        station_id=row.station_id,
        id_tag=row.id_tag,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        energy_wh=int(row.energy_wh or 0),
        session_type=SessionType(row.session_type),
        station_tariff_id=row.tariff_id,
        host_tariff_id=row.host_tariff_id,
        discount_tariff_id=row.discount_tariff_id,
    )


def _line(row: Any) -> PriceLine:
    # PostgreSQL's NUMERIC gives its scale's digits (1.770000): amounts come back to the cent,
    # rates without trailing zeros, as they were written.
    return PriceLine(
        party=Party(row.party),
        basis=Basis(row.basis),
        currency=row.currency,
        excl_vat=cents(row.excl_vat, row.currency),
        incl_vat=cents(row.incl_vat, row.currency),
        tariff_id=row.tariff_id,
        tariff_version=row.tariff_version,
        rate=None if row.rate is None else _plain(row.rate),
    )


def _plain(value: Decimal) -> Decimal:
    """0.665400 → 0.6654, 1.000000 → 1."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


# -- many sessions at once, in the database (``domain.tariffs.linear``) ---------------------------
# Two tables of the connection alone: the tariffs' stretches of time, and each session's amounts
# in cents before they become lines. Not in ``tables.metadata``: no migration makes them.
_scratch = MetaData()
linear_spans = Table(
    "linear_spans",
    _scratch,
    Column("tariff_id", String(36), nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Column("linear", Integer, nullable=False),  # 1: the terms below price it; 0: the engine
    Column("step", BigInteger, nullable=False),
    Column("excl_num", BigInteger, nullable=False),
    Column("excl_den", BigInteger, nullable=False),
    Column("incl_num", BigInteger, nullable=False),
    Column("incl_den", BigInteger, nullable=False),
    Column("flat_excl", BigInteger, nullable=False),
    Column("flat_incl", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)
linear_prices = Table(
    "linear_prices",
    _scratch,
    # On SQLite the rowid itself: the table is read in its order.
    Column("session_id", BigId, primary_key=True, autoincrement=False),
    Column("revision", Integer, nullable=False),
    Column("session_type", String(16), nullable=False),
    Column("driver_basis", String(16), nullable=False),
    Column("driver_tariff", String(36), nullable=True),  # None: the driver's line alone
    Column("driver_version", Integer, nullable=True),
    Column("driver_excl", BigInteger, nullable=False),
    Column("driver_incl", BigInteger, nullable=False),
    Column("host_tariff", String(36), nullable=True),
    Column("host_version", Integer, nullable=True),
    Column("host_excl", BigInteger, nullable=True),
    Column("host_incl", BigInteger, nullable=True),
    Column("margin", BigInteger, nullable=False),  # the eMSP's cents per kWh × kWh, rounded
    prefixes=["TEMPORARY"],
)
_ANY = 2**62  # no upper bound on session ids


@dataclass(frozen=True, slots=True)
class StationPriceSettings:
    """A station's public tariff, its host (a login) and the host's tariff, as stored."""

    station_id: str
    organisation_id: int | None
    tariff_id: str | None
    host: str | None
    host_tariff_id: str | None


@dataclass(frozen=True, slots=True)
class LinearRun:
    """How the sessions are priced: their currency, the eMSP's margin in cents per Wh (an exact
    fraction), and whether their energy is that of their stored charging periods (the platform
    keeps them) or their meter's (``energy_wh``)."""

    currency: str
    margin_num: int
    margin_den: int
    with_periods: bool


def _cents_text(cents: str, dialect: str) -> str:
    """The SQL of a whole number of cents as ``ExactDecimal`` stores the Decimal ``cents()``
    gives: text like '4.84' or '-0.05' on SQLite, NUMERIC on PostgreSQL."""
    if dialect == "postgresql":
        return f"(CAST({cents} AS NUMERIC) / 100)"
    return (
        f"printf('%s%d.%02d', CASE WHEN {cents} < 0 THEN '-' ELSE '' END,"
        f" abs({cents}) / 100, abs({cents}) % 100)"
    )


def _linear_sql(
    dialect: str, run: LinearRun, by_ids: bool, discount: str
) -> tuple[str, str, tuple[str, ...], str]:
    """The statements that price the chosen sessions (ids in (:after, :upto], or in :ids)."""
    least, greatest = ("least", "greatest") if dialect == "postgresql" else ("min", "max")
    chosen = "s.id IN :ids" if by_ids else "s.id > :after AND s.id <= :upto"
    chosen_periods = (
        "p.session_id IN :ids" if by_ids else "p.session_id > :after AND p.session_id <= :upto"
    )
    big = "BIGINT" if dialect == "postgresql" else "INTEGER"
    canonical = ""
    if dialect == "sqlite":
        # Times compare as text on SQLite: only in the one form the platform writes them.
        canonical = (
            " AND length(q.started_at) = 26 AND substr(q.started_at, 11, 1) = ' '"
            " AND length(q.stopped_at) = 26 AND substr(q.stopped_at, 11, 1) = ' '"
        )
    periods_join, periods_ok, wh = "", "", "q.wh"
    if run.with_periods:
        if dialect == "postgresql":
            kwh = "p.energy_kwh * 1000"
            period_wh = (
                f"CASE WHEN p.energy_kwh IS NULL THEN 0 ELSE greatest(CAST({kwh} AS BIGINT), 0) END"
            )
            uneven = f"p.energy_kwh IS NOT NULL AND {kwh} <> trunc({kwh})"
        else:
            period_wh = (
                "CASE WHEN p.energy_kwh IS NULL THEN 0 ELSE"
                " max(CAST(round(CAST(p.energy_kwh AS REAL) * 1000) AS INTEGER), 0) END"
            )
            # Whole Wh only (three decimals at most, no exponent): the REAL is then exact enough.
            uneven = (
                "(p.energy_kwh IS NOT NULL AND (p.energy_kwh LIKE '%e%'"
                " OR (instr(p.energy_kwh, '.') > 0"
                " AND length(p.energy_kwh) - instr(p.energy_kwh, '.') > 3)))"
                # Times compared as text: the one form the platform writes.
                " OR length(p.started_at) <> 26 OR substr(p.started_at, 11, 1) <> ' '"
            )
        periods_join = (
            " LEFT JOIN (SELECT x.session_id,"
            f" CAST(sum(x.wh) AS {big}) AS wh, max(x.uneven) AS uneven,"
            " min(x.started_at) AS first_start, max(x.started_at) AS last_start"
            f" FROM (SELECT p.session_id, p.started_at, {period_wh} AS wh,"
            f" CASE WHEN {uneven} OR lag(p.started_at) OVER"
            " (PARTITION BY p.session_id ORDER BY p.position) > p.started_at THEN 1 ELSE 0 END"
            " AS uneven"
            f" FROM session_charging_periods p WHERE {chosen_periods}) x"
            " GROUP BY x.session_id) cp ON cp.session_id = q.id"
        )
        periods_ok = (
            " AND cp.session_id IS NOT NULL AND cp.uneven = 0 AND cp.wh <= :max_wh"
            " AND cp.first_start >= q.started_at AND cp.last_start <= q.stopped_at"
        )
        wh = "cp.wh"

    def billed(t: str) -> str:
        return (
            f"(CASE WHEN {wh} <= 0 THEN 0 ELSE (({wh} + {t}.step - 1) / {t}.step) * {t}.step END)"
        )

    def cents(t: str, kind: str) -> str:
        return (
            f"{t}.flat_{kind} + (2 * {billed(t)} * {t}.{kind}_num + {t}.{kind}_den)"
            f" / (2 * {t}.{kind}_den)"
        )

    def in_force(t: str, tariff: str) -> str:
        return (
            f" LEFT JOIN linear_spans {t} ON q.session_type = 'normal' AND {t}.tariff_id = {tariff}"
            f" AND {t}.valid_from <= q.started_at"
            f" AND ({t}.valid_until IS NULL OR q.started_at < {t}.valid_until)"
        )

    priced = "q.session_type = 'normal' AND d.tariff_id IS NOT NULL"
    margin = f"CAST(:margin_num AS {big})"
    margin_den = f"CAST(:margin_den AS {big})"
    fill = (
        "INSERT INTO linear_prices (session_id, revision, session_type, driver_basis,"
        " driver_tariff, driver_version, driver_excl, driver_incl, host_tariff, host_version,"
        " host_excl, host_incl, margin)"
        " SELECT q.id, coalesce((SELECT max(l.revision) FROM session_price_lines l"
        " WHERE l.session_id = q.id), 0) + 1, q.session_type,"
        " CASE WHEN q.session_type <> 'normal' THEN q.session_type"
        " WHEN d.tariff_id IS NULL THEN 'no_tariff'"
        " WHEN q.discount IS NOT NULL THEN 'discount_list' ELSE 'public_tariff' END,"
        f" CASE WHEN {priced} THEN d.tariff_id END, CASE WHEN {priced} THEN d.version END,"
        f" CASE WHEN {priced} THEN {cents('d', 'excl')} ELSE 0 END,"
        f" CASE WHEN {priced} THEN {cents('d', 'incl')} ELSE 0 END,"
        f" CASE WHEN {priced} THEN h.tariff_id END, CASE WHEN {priced} THEN h.version END,"
        f" CASE WHEN {priced} AND h.tariff_id IS NOT NULL THEN {cents('h', 'excl')} END,"
        f" CASE WHEN {priced} AND h.tariff_id IS NOT NULL THEN {cents('h', 'incl')} END,"
        f" (2 * q.wh * {margin} + {margin_den}) / (2 * {margin_den})"
        " FROM (SELECT s.id, s.session_type, s.started_at, s.stopped_at,"
        f" CAST(coalesce(s.energy_wh, 0) AS {big}) AS wh,"
        f" nullif({discount}, '') AS discount,"
        " st.tariff_id AS station_tariff, st.host_tariff_id AS host_tariff"
        " FROM charging_sessions s JOIN stations st ON st.id = s.station_id"
        f" WHERE {chosen} AND s.stopped_at IS NOT NULL"
        " AND s.session_type IN ('normal', 'whitelist', 'invalid')) q"
        + in_force("d", "coalesce(q.discount, q.station_tariff)")
        + in_force("h", "q.host_tariff")
        + periods_join
        + " WHERE q.session_type <> 'normal' OR (q.stopped_at >= q.started_at"
        " AND q.wh >= 0 AND q.wh <= :max_wh"
        " AND (d.tariff_id IS NULL OR d.linear = 1) AND (h.tariff_id IS NULL OR h.linear = 1)"
        + canonical
        + periods_ok
        + ")"
    )
    retire = (
        'UPDATE session_price_lines SET "current" = FALSE WHERE "current" AND session_id IN'
        " (SELECT session_id FROM linear_prices WHERE revision > 1)"
    )
    remainder = "(f.driver_excl - coalesce(f.host_excl, 0))"
    emsp = f"{least}(f.margin, {greatest}({remainder}, 0))"
    emsp_text = _cents_text(emsp, dialect)
    if dialect == "sqlite":
        # ``price_lines`` keeps the margin as ``Decimal(0)``, not 0.00, when nothing is left of
        # the price and the margin would be more: its text is then "0".
        emsp_text = f"CASE WHEN {remainder} < 0 AND f.margin > 0 THEN '0' ELSE {emsp_text} END"
    # One statement a party, each through the sessions in order: a session's lines keep the
    # order ``price_lines`` gives them (driver, host, eMSP, CPO) by id, as ``current`` and
    # ``history`` read them, without sorting every line.
    parties = (
        (
            "f.driver_basis",
            "f.driver_excl",
            "f.driver_incl",
            "f.driver_tariff",
            "f.driver_version",
            "'driver'",
            "TRUE",
        ),
        (
            "'host_tariff'",
            "f.host_excl",
            "f.host_incl",
            "f.host_tariff",
            "f.host_version",
            "'host'",
            "f.driver_tariff IS NOT NULL AND f.host_tariff IS NOT NULL",
        ),
        ("'margin'", emsp, emsp, "NULL", "NULL", "'emsp'", "f.driver_tariff IS NOT NULL"),
        (
            "'margin'",
            f"{remainder} - {emsp}",
            f"{remainder} - {emsp}",
            "NULL",
            "NULL",
            "'cpo'",
            "f.driver_tariff IS NOT NULL",
        ),
    )
    writes = []
    for basis, excl, incl, tariff, version, party, which in parties:
        excl_text = emsp_text if party == "'emsp'" else _cents_text(excl, dialect)
        incl_text = emsp_text if party == "'emsp'" else _cents_text(incl, dialect)
        writes.append(
            'INSERT INTO session_price_lines (session_id, revision, "current", session_type,'
            " party, basis, currency, excl_vat, incl_vat, tariff_id, tariff_version, rate,"
            " priced_at)"
            f" SELECT f.session_id, f.revision, TRUE, f.session_type, {party}, {basis},"
            f" :currency, {excl_text}, {incl_text}, {tariff}, {version}, NULL, :now"
            f" FROM linear_prices f WHERE {which} ORDER BY f.session_id"
        )
    left = (
        "SELECT s.id FROM charging_sessions s JOIN stations st ON st.id = s.station_id"
        f" WHERE {chosen} AND s.stopped_at IS NOT NULL AND s.session_type IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM linear_prices f WHERE f.session_id = s.id)"
        " ORDER BY s.id"
    )
    return fill, retire, tuple(writes), left


async def _price_linear(
    db: Database,
    spans: Sequence[TariffSpan],
    run: LinearRun,
    now: datetime,
    *,
    after: int = 0,
    upto: int | None = None,
    ids: Sequence[int] | None = None,
) -> tuple[int, list[int]]:
    dialect = db.dialect
    async with db.writing() as conn:
        discount = str(
            _discount_tariff(literal_column("s.station_id"), literal_column("s.id_tag")).compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
        )
        fill, retire, writes, left = _linear_sql(dialect, run, ids is not None, discount)
        for scratch in (linear_spans, linear_prices):
            await conn.execute(CreateTable(scratch, if_not_exists=True))
            await conn.execute(delete(scratch))
        if spans:
            await conn.execute(insert(linear_spans), [_span_row(span) for span in spans])
        chosen: dict[str, Any] = (
            {"ids": list(ids)} if ids is not None else {"after": after, "upto": upto or _ANY}
        )
        expanding: list[BindParameter[Any]] = (
            [bindparam("ids", expanding=True)] if ids is not None else []
        )
        priced = await conn.execute(
            text(fill).bindparams(*expanding),
            {
                **chosen,
                "max_wh": MAX_WH,
                "margin_num": run.margin_num,
                "margin_den": run.margin_den,
            },
        )
        count = max(priced.rowcount, 0)
        if count:
            await conn.execute(text(retire))
            for write in writes:
                await conn.execute(
                    text(write).bindparams(bindparam("now", type_=UTCDateTime)),
                    {"currency": run.currency, "now": now},
                )
        rest = [
            int(row[0]) for row in await conn.execute(text(left).bindparams(*expanding), chosen)
        ]
        await conn.execute(delete(linear_prices))
    return count, rest


def _span_row(span: TariffSpan) -> dict[str, Any]:
    terms = span.terms
    return {
        "tariff_id": span.tariff_id,
        "valid_from": span.valid_from,
        "valid_until": span.valid_until,
        "version": span.version,
        "linear": 0 if terms is None else 1,
        "step": 1 if terms is None else terms.step_wh,
        "excl_num": 0 if terms is None else terms.excl_num,
        "excl_den": 1 if terms is None else terms.excl_den,
        "incl_num": 0 if terms is None else terms.incl_num,
        "incl_den": 1 if terms is None else terms.incl_den,
        "flat_excl": 0 if terms is None else terms.flat_excl,
        "flat_incl": 0 if terms is None else terms.flat_incl,
    }
