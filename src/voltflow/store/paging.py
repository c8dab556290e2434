"""A page of a query's rows, and the count of them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select


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
