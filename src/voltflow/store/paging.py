"""A page of a query's rows as records, and the count of them all; and the row → record step
every read shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from voltflow.domain.paging import Page, PageRequest

T = TypeVar("T")
R = TypeVar("R")

_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def record_of(cls: type[R], row: Mapping[Any, Any], **given: Any) -> R:
    """The record ``cls`` (a dataclass) of a row: each field from the row's column of that
    name, unless ``given`` (a value the row holds in other terms, such as an enum's)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    values = {n: row[n] for n in names if n not in given and n in row}
    return cls(**values, **given)


async def fetch_page(
    conn: AsyncConnection,
    query: Select[Any],
    *order_by: Any,
    page: PageRequest,
    record: Callable[[RowMapping], T],
) -> Page[T]:
    """One page of ``query``'s rows, each made a record by ``record``, and the number of rows
    in all."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = (await conn.execute(counted)).scalar_one()
    rows = (
        await conn.execute(query.order_by(*order_by).offset(page.offset).limit(page.limit))
    ).all()
    return Page([record(r._mapping) for r in rows], int(total), page.offset, page.limit)
