"""A page of what a query found, and which page to read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which rows of a query's ordered result to read: ``limit`` of them from ``offset``."""

    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query's records, and how many the query finds in all."""

    items: list[T]
    total: int
    offset: int
    limit: int
