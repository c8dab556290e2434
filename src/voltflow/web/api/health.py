"""Health probes: liveness (the process answers) and readiness (it can do its work now).

``/health/live`` fails only when the process cannot answer at all: restart it. ``/health/ready``
answers 503 while the database does not answer a query within a short time, the station writer
is not committing, or (when configured) NATS is not connected: send no traffic, do not restart.
``/health`` is the readiness probe, as it always meant "the platform works".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from voltflow.bootstrap import Platform
from voltflow.web.auth import PlatformDep
from voltflow.web.problems import RETRY_AFTER_SECONDS, problem_response
from voltflow.web.schemas import ProblemOut

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["platform"])

# A database that takes longer than this to answer "SELECT 1" is not one to send traffic to.
CHECK_TIMEOUT = 2.0

NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: ``checks`` says what fails",
        "content": {"application/problem+json": {"schema": ProblemOut.model_json_schema()}},
    }
}


async def _database(platform: Platform) -> None:
    async with platform.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _writer(platform: Platform) -> None:
    # An empty commit through the writer's own thread and connection: it runs and it commits.
    await platform.writer.flush()


async def _nats(platform: Platform) -> None:
    if platform.bus is None or not platform.bus.is_connected:
        raise ConnectionError("not connected")


async def _check(name: str, probe: Coroutine[Any, Any, None]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except TimeoutError:
        return name, f"no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        # The probes answer anyone: the error's text (a host, a user, why a login failed) goes
        # to the log, the answer names only its kind.
        log.warning("readiness: %s fails: %s", name, str(exc).split("\n", 1)[0][:300])
        return name, f"failing ({type(exc).__name__})"
    return name, "ok"


async def readiness(platform: Platform) -> JSONResponse:
    probes = [_check("database", _database(platform)), _check("writer", _writer(platform))]
    if platform.settings.nats_url:
        probes.append(_check("nats", _nats(platform)))
    checks = dict(await asyncio.gather(*probes))
    failing = [f"{name}: {result}" for name, result in checks.items() if result != "ok"]
    if failing:
        response = problem_response(503, "Not ready", "; ".join(failing), checks=checks)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JSONResponse({"status": "ok", "checks": checks})


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up and answers."""
    return {"status": "ok"}


@router.get("/health/ready", responses=NOT_READY, response_model=None)
async def ready(platform: PlatformDep) -> JSONResponse:
    """The database answers, the station writer commits, NATS (when configured) is connected."""
    return await readiness(platform)


@router.get("/health", responses=NOT_READY, response_model=None)
async def health(platform: PlatformDep) -> JSONResponse:
    """The same as ``/health/ready``."""
    return await readiness(platform)
