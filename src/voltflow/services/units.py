"""A use case as one unit of work (``ports.UnitOfWork``)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from voltflow.services.ports import UnitOfWork


class HasUnitOfWork(Protocol):
    @property
    def uow(self) -> UnitOfWork: ...


S = TypeVar("S", bound=HasUnitOfWork)
P = ParamSpec("P")
R = TypeVar("R")


def use_case(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Awaitable[R]]:
    """Runs the service method in one transaction: its reads, checks, writes, audit entries and
    events commit together, or, when it raises, none of them. Called from another use case, it
    joins that one's transaction."""

    @functools.wraps(method)
    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self.uow():
            return await method(self, *args, **kwargs)

    return run
