"""Whether the platform can do its work now: the database answers, the station writer commits,
NATS (when configured) is connected. Each check is bounded in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text

from voltflow.config import Settings
from voltflow.store.database import Database
from voltflow.store.writer import DurableWriter

log = logging.getLogger(__name__)

# A database that takes longer than this to answer "SELECT 1" is not one to send traffic to.
CHECK_TIMEOUT = 2.0
OK = "ok"


class HealthService:
    def __init__(self, db: Database, writer: DurableWriter, settings: Settings) -> None:
        self.db = db
        self.writer = writer
        self.settings = settings
        # Whether the process's NATS connection is up (set once it connects).
        self.bus_connected: Callable[[], bool] = lambda: False

    async def checks(self) -> dict[str, str]:
        """Each check's result: ``ok``, or what fails (its kind only: the checks answer anyone,
        and the error's text, a host or why a login failed, goes to the log)."""
        probes = [
            _check("database", self._database()),
            _check("writer", self._writer()),
        ]
        if self.settings.nats_url:
            probes.append(_check("nats", self._nats(self.bus_connected)))
        return dict(await asyncio.gather(*probes))

    async def _database(self) -> None:
        async with self.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _writer(self) -> None:
        # An empty commit through the writer's own thread and connection: it runs and commits.
        await self.writer.flush()

    @staticmethod
    async def _nats(connected: Callable[[], bool]) -> None:
        if not connected():
            raise ConnectionError("not connected")


async def _check(name: str, probe: Coroutine[Any, Any, None]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except TimeoutError:
        return name, f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        log.warning("readiness: %s fails: %s", name, str(exc).split("\n", 1)[0][:300])
        return name, f"failing ({type(exc).__name__})"
    return name, OK
