"""How the group commit's statements reach the database: the DB-API cursor (SQLite), or libpq
itself (PostgreSQL).

psycopg's cursor spends some 60 µs of Python on each statement (its query conversion, preparation
bookkeeping and result set-up) before and after a round trip that costs the database far less;
the group commit sends a few statements a message. So on PostgreSQL the statements go on
psycopg's own libpq connection (``psycopg.pq``): each prepared once per connection, its
parameters dumped and its rows loaded by psycopg's own adapters (``Transformer``, in C), the very
ones its cursor would use. The statements come from ``prepared``, compiled for this with
PostgreSQL's ``$n`` placeholders.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Protocol

from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy.engine import Dialect


class Driver(Protocol):
    """One connection's statements, inside a transaction the caller begins and ends."""

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def fetch(
        self, sql: str, params: Any, *, first_only: bool
    ) -> tuple[list[Sequence[Any]], list[Any] | None]:
        """The rows (only the first, if any, with ``first_only``) and each column's type as the
        driver reports it (None where it reports none)."""
        ...

    def run(self, sql: str, rows: Sequence[Any]) -> None:
        """The statement once for each row in ``rows`` (parameters in the driver's terms)."""
        ...


def driver_for(connection: Any, dialect: Dialect) -> Driver:
    """The driver for a DB-API connection of ``dialect`` (psycopg's on PostgreSQL)."""
    if dialect.name == "postgresql":
        return LibpqDriver(connection)
    return DbapiDriver(connection, begin="BEGIN IMMEDIATE" if dialect.name == "sqlite" else None)


class DbapiDriver:
    """Statements on DB-API cursors."""

    __slots__ = ("_begin", "connection")

    def __init__(self, connection: Any, *, begin: str | None) -> None:
        self.connection = connection
        # SQLite: the write lock is taken at BEGIN, as for every writing transaction
        # (``Database.writes``), so a unit of work that reads first never meets "database is
        # locked" when it writes. None: the driver begins with the first statement.
        self._begin = begin

    def begin(self) -> None:
        if self._begin is not None:
            self.connection.execute(self._begin)

    def commit(self) -> None:
        if self._begin is None:
            self.connection.commit()
        else:
            self.connection.execute("COMMIT")

    def rollback(self) -> None:
        self.connection.rollback()

    def fetch(
        self, sql: str, params: Any, *, first_only: bool
    ) -> tuple[list[Sequence[Any]], list[Any] | None]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            described = cursor.description
            types = [d[1] for d in described] if described else None
            if first_only:
                row = cursor.fetchone()
                return ([row] if row is not None else []), types
            return cursor.fetchall(), types
        finally:
            cursor.close()

    def run(self, sql: str, rows: Sequence[Any]) -> None:
        cursor = self.connection.cursor()
        try:
            if len(rows) == 1:
                cursor.execute(sql, rows[0])
            else:
                cursor.executemany(sql, rows)
        finally:
            cursor.close()


# Prepared statements' names: unique in the process, since a pooled connection that the writer
# gave back (after a failure) keeps those it prepared, and may come back to a new driver.
_NAMES = itertools.count(1)

# Statements PostgreSQL cannot prepare without their parameters' types ("could not determine
# data type of parameter"), which psycopg's cursor would give from the values; a property of the
# text, so kept across connections.
_UNPREPARABLE: set[str] = set()
_INDETERMINATE_DATATYPE = b"42P18"


class LibpqDriver:
    """Statements with ``$n`` placeholders on a psycopg connection's libpq connection."""

    __slots__ = ("_encoding", "_pgconn", "_prepared", "_transformer", "connection")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._pgconn = connection.pgconn
        self._transformer = Transformer(connection)
        self._encoding = connection.info.encoding
        self._prepared: dict[str, bytes] = {}

    def begin(self) -> None:
        self._command(b"BEGIN")

    def commit(self) -> None:
        self._command(b"COMMIT")

    def rollback(self) -> None:
        # psycopg's: it knows whether a transaction is open, and how to end a failed one.
        self.connection.rollback()

    def fetch(
        self, sql: str, params: Any, *, first_only: bool
    ) -> tuple[list[Sequence[Any]], list[Any] | None]:
        result = self._execute(sql, params)
        found = result.ntuples
        if first_only:
            found = min(found, 1)
        transformer = self._transformer
        transformer.set_pgresult(result)
        rows: list[Sequence[Any]] = transformer.load_rows(0, found, tuple) if found else []
        return rows, [result.ftype(i) for i in range(result.nfields)]

    def run(self, sql: str, rows: Sequence[Any]) -> None:
        for params in rows:
            self._execute(sql, params)

    def _command(self, sql: bytes) -> None:
        self._check(self._pgconn.exec_(sql))

    def _execute(self, sql: str, params: Sequence[Any]) -> Any:
        name = self._prepared.get(sql)
        if name is None and sql not in _UNPREPARABLE:
            name = self._prepare(sql)
        transformer = self._transformer
        if name is not None:
            # As text, which the server reads with the types it inferred when preparing.
            dumped = transformer.dump_sequence(params, [PyFormat.TEXT] * len(params))
            return self._check(self._pgconn.exec_prepared(name, dumped))
        dumped = transformer.dump_sequence(params, [PyFormat.AUTO] * len(params))
        return self._check(
            self._pgconn.exec_params(sql.encode(), dumped, transformer.types, transformer.formats)
        )

    def _prepare(self, sql: str) -> bytes:
        name = f"voltflow_{next(_NAMES)}".encode()
        result = self._pgconn.prepare(name, sql.encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            # The transaction is failed now: the batch is done again, item by item, and this
            # statement then goes unprepared, its parameters typed from their values.
            if result.error_field(pq.DiagnosticField.SQLSTATE) == _INDETERMINATE_DATATYPE:
                _UNPREPARABLE.add(sql)
            self._check(result)
        self._prepared[sql] = name
        return name

    def _check(self, result: Any) -> Any:
        if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            raise errors.error_from_result(result, encoding=self._encoding)
        return result
