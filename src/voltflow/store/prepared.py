"""Statements compiled once per dialect and run on the driver itself, not through SQLAlchemy.

Executing a Core statement through SQLAlchemy builds its cache key, finds its compiled form, sets
up an execution context and a result, and on aiosqlite makes three trips to the driver's thread:
some hundred microseconds each time, more than the database itself takes for a row. The station
hot path runs a few fixed statements thousands of times a second, so they are compiled here once
per dialect, their parameters and results converted by the very type processors SQLAlchemy would
apply, and run by ``drivers`` inside the group commit's transaction (see ``writer``): on
PostgreSQL with its own ``$n`` placeholders, for libpq.

Statements are keyed by identity: build them once (module level, or once per repository), never
per call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Text, bindparam, cast, column, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.dml import OnConflictDoNothing
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from voltflow.store.drivers import Driver
from voltflow.store.types import ExactDecimal, UTCDateTime

Processor = Callable[[Any], Any] | None

_FROM_ROW: Any = object()


@dataclass(slots=True)
class Plan:
    """One statement for one dialect and one set of parameter names, in the driver's terms."""

    # Parameters by position: sqlite3's "?", libpq's "$n".
    sql: str
    # (parameter name, processor, constant): a constant is a value bound in the statement itself.
    binds: tuple[tuple[str, Processor, Any], ...]
    # (column name, type) of the rows it returns, in order.
    columns: tuple[tuple[str, TypeEngine[Any]], ...]
    dialect: Dialect
    # (column name, processor), from the driver's column types at the first execution (as
    # SQLAlchemy does it: some result processors depend on what the driver reports).
    results: tuple[tuple[str, Processor], ...] | None = None
    # PostgreSQL, a plain INSERT: the same rows as one statement with one parameter (see
    # ``bulk_rows``), where the driver's executemany pays some 25 µs of Python per row.
    bulk_sql: str | None = None
    # ``bulk_rows`` may put the rows in JSON as they come: every value is taken from the row and
    # none needs a processor JSON does not do itself (UTC times, exact decimals).
    bulk_as_is: bool = False
    # The common case, every parameter from the row: the values are taken in one call and only
    # the few that need it converted (thousands of rows a second pass here).
    _names: tuple[str, ...] = field(default=(), init=False)
    _take: Callable[[Mapping[str, Any]], Any] | None = field(default=None, init=False)
    _convert: tuple[tuple[int, Callable[[Any], Any]], ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        self._names = tuple(key for key, _, _ in self.binds)
        every_from_row = all(constant is _FROM_ROW for _, _, constant in self.binds)
        if len(self.binds) > 1 and every_from_row:
            self._take = itemgetter(*self._names)
            self._convert = tuple(
                (i, process) for i, (_, process, _) in enumerate(self.binds) if process is not None
            )

    def learn_results(self, driver_types: Sequence[Any] | None) -> None:
        if driver_types is None:
            driver_types = [None] * len(self.columns)
        self.results = tuple(
            (name, type_.dialect_impl(self.dialect).result_processor(self.dialect, driver_type))
            for (name, type_), driver_type in zip(self.columns, driver_types, strict=True)
        )

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """``values`` (by parameter name) as the driver takes them, in the statement's order."""
        if self._take is not None:
            taken = self._take(values)
            if not self._convert:
                return tuple(taken)
            converted = list(taken)
            for i, convert in self._convert:
                converted[i] = convert(converted[i])
            return tuple(converted)
        out = []
        for key, process, constant in self.binds:
            value = values[key] if constant is _FROM_ROW else constant
            out.append(value if process is None else process(value))
        return tuple(out)

    def many(self, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Any]]:
        """The SQL and the driver's rows for ``rows`` (by parameter name): the bulk form, one
        statement for all, where it holds them; else one driver row each, for executemany."""
        if self.bulk_sql is not None:
            bulk = self.bulk_rows(rows)
            if bulk is not None:
                return self.bulk_sql, [bulk]
        return self.sql, [self.params(r) for r in rows]

    def bulk_rows(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        """The parameters of ``bulk_sql`` for ``rows`` (JSON made in C, read back by the
        server with each column's own type), or None where a value has no exact JSON form."""
        if self.bulk_as_is:
            document: Any = rows
            option = orjson.OPT_PASSTHROUGH_DATETIME
        else:
            names = self._names
            document = [dict(zip(names, self.params(r), strict=True)) for r in rows]
            # Keys may be SQLAlchemy's quoted names, a str subclass orjson takes only when told.
            option = orjson.OPT_NON_STR_KEYS
        try:
            text = orjson.dumps(document, default=_exact_json, option=option).decode()
        except TypeError:
            return None
        return (text,)

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        assert self.results is not None, "learn_results() first"
        return {
            name: value if process is None else process(value)
            for (name, process), value in zip(self.results, raw, strict=True)
        }


def compile_plan(
    statement: Executable, keys: Sequence[str], dialect: Dialect, *, many: bool = False
) -> Plan | None:
    """The driver-level form of ``statement`` given parameters ``keys`` (for an executemany if
    ``many``: no implicit RETURNING of new keys), or None where it needs SQLAlchemy at execution
    time (Python-side defaults, expanding parameters, escaped names)."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
    if not isinstance(compiled, SQLCompiler):
        return None
    # Python-side defaults would have to be computed here (only DML compilations have them).
    # Server-side ones are not fetched back: nothing here reads them.
    if any(
        getattr(compiled, needs, None)
        for needs in (
            "insert_prefetch",
            "update_prefetch",
            "literal_execute_params",
            "post_compile_params",
            "escaped_bind_names",
        )
    ):
        return None
    if compiled.positional:
        if compiled.positiontup is None:
            return None
        names: list[str] = list(compiled.positiontup)
    else:
        names = list(compiled.bind_names.values())
    binds: list[tuple[str, Processor, Any]] = []
    given = set(keys)
    for name in names:
        bind = compiled.binds.get(name)
        if bind is None:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in given:
            binds.append((name, process, _FROM_ROW))
        elif bind.callable is None and bind.value is not None:
            binds.append((name, process, bind.value))
        else:
            return None
    columns = tuple((col.keyname, col.type) for col in compiled._result_columns)
    sql = str(compiled)
    if dialect.name == "postgresql":
        # For libpq (``drivers.LibpqDriver``): psycopg's named placeholders as "$n", each
        # parameter once.
        if compiled.positional:
            return None
        once: dict[str, tuple[str, Processor, Any]] = {}
        for entry in binds:
            once.setdefault(entry[0], entry)
        binds = list(once.values())
        sql = _numbered(sql, [name for name, _, _ in binds])
    elif not compiled.positional:  # the drivers take parameters by position
        return None
    plan = Plan(sql, tuple(binds), columns, dialect)
    if many and dialect.name == "postgresql" and isinstance(statement, Insert):
        bulk_sql = _bulk_insert_sql(statement, [name for name, _, _ in binds], dialect)
        plan.bulk_sql = None if bulk_sql is None else _numbered(bulk_sql, ["rows"])
        plan.bulk_as_is = plan.bulk_sql is not None and all(
            constant is _FROM_ROW
            and (
                process is None or isinstance(compiled.binds[name].type, UTCDateTime | ExactDecimal)
            )
            for name, process, constant in binds
        )
    return plan


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str, names: Sequence[str]) -> str:
    """psycopg's ``%(name)s`` placeholders as PostgreSQL's own ``$n`` (``n`` the name's place in
    ``names``), and its ``%%`` as ``%``."""
    number = {name: f"${n}" for n, name in enumerate(names, 1)}
    return _PLACEHOLDER.sub(lambda m: number[m[1]] if m[1] else "%", sql)


def _bulk_insert_sql(statement: Insert, keys: Sequence[str], dialect: Dialect) -> str | None:
    """``INSERT … SELECT … FROM jsonb_to_recordset(:rows)`` for a plain INSERT of ``keys`` (and
    ON CONFLICT DO NOTHING, which means the same for rows arriving together), else None: an
    upsert that meets the same row twice in one statement fails where one row at a time
    would not, and RETURNING wants its rows."""
    conflict = statement._post_values_clause
    if statement._returning or not isinstance(conflict, OnConflictDoNothing | None):
        return None
    table = statement.table
    targets = [table.c[key] for key in keys]
    rows = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text()), JSONB))
        .table_valued(*(column(key, c.type) for key, c in zip(keys, targets, strict=True)))
        .render_derived(with_types=True)
    )
    bulk = pg_insert(table).from_select(targets, select(*rows.c))
    if conflict is not None:
        bulk = bulk.on_conflict_do_nothing()
        bulk._post_values_clause = conflict
    return str(bulk.compile(dialect=dialect))


def _exact_json(value: Any) -> str:
    # Exact decimals as text: the server reads them back with the column's own type, losing
    # nothing (a JSON number would pass through a float on some readers).
    if isinstance(value, Decimal):
        return str(value)
    # Times with their offset; a naive one is refused (None from bulk_rows), by the column's
    # own processor on the row-by-row path.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()
    raise TypeError(f"no exact JSON form for {type(value).__name__}")


class Plans:
    """Plans by statement identity and parameter names, for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        # The statement is kept with its plan so that its id cannot be reused by another one.
        self._plans: dict[tuple[int, tuple[str, ...], bool], tuple[Executable, Plan | None]] = {}

    def get(
        self, statement: Executable, keys: tuple[str, ...], *, many: bool = False
    ) -> Plan | None:
        key = (id(statement), keys, many)
        cached = self._plans.get(key)
        if cached is not None and cached[0] is statement:
            return cached[1]
        plan = compile_plan(statement, keys, self.dialect, many=many)
        self._plans[key] = (statement, plan)
        return plan

    def require(self, statement: Executable, keys: tuple[str, ...], *, many: bool = False) -> Plan:
        plan = self.get(statement, keys, many=many)
        if plan is None:
            raise TypeError(f"statement cannot run on the driver as is: {statement}")
        return plan


class Tx:
    """A transaction in progress on one connection: what a unit of work is given.

    Synchronous on purpose: the whole group commit, units of work included, runs in one call on
    the writer's thread, over a blocking driver. A unit of work therefore touches nothing but its
    transaction (no event loop, no other connection).
    """

    __slots__ = ("_driver", "plans")

    def __init__(self, driver: Driver, plans: Plans) -> None:
        self._driver = driver
        self.plans = plans

    def all(self, statement: Executable, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._query(statement, params, first_only=False)

    def one(self, statement: Executable, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row, or None."""
        rows = self._query(statement, params, first_only=True)
        return rows[0] if rows else None

    def _query(
        self, statement: Executable, params: Mapping[str, Any], *, first_only: bool
    ) -> list[dict[str, Any]]:
        plan = self.plans.require(statement, tuple(params))
        rows, types = self._driver.fetch(plan.sql, plan.params(params), first_only=first_only)
        if plan.results is None:
            plan.learn_results(types)
        return [plan.row(r) for r in rows]

    def execute(self, statement: Executable, params: Mapping[str, Any]) -> None:
        """A statement whose result is not read: compiled as for many rows, so that an INSERT
        does not return the new key unasked."""
        plan = self.plans.require(statement, tuple(params), many=True)
        self._driver.run(plan.sql, [plan.params(params)])

    def executemany(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for many rows, all with the same parameter names."""
        if rows:
            self.execute_converted(
                *self.plans.require(statement, tuple(rows[0]), many=True).many(rows)
            )

    def execute_converted(self, sql: str, rows: Sequence[Any]) -> None:
        """Rows already in the driver's terms (``Plan.many``)."""
        self._driver.run(sql, rows)
