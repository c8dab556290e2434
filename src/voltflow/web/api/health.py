"""Health probes: liveness (the process answers) and readiness (it can do its work now).

``/health/live`` fails only when the process cannot answer at all: restart it. ``/health/ready``
answers 503 while the database does not answer a query within a short time, the station writer
is not committing, or (when configured) NATS is not connected: send no traffic, do not restart.
``/health`` is the readiness probe, as it always meant "the platform works".
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from voltflow.bootstrap import Platform
from voltflow.services.health import OK
from voltflow.web.auth import PlatformDep
from voltflow.web.problems import RETRY_AFTER_SECONDS, problem_response
from voltflow.web.schemas import ProblemOut

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["platform"])

NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: ``checks`` says what fails",
        "content": {"application/problem+json": {"schema": ProblemOut.model_json_schema()}},
    }
}


async def readiness(platform: Platform) -> JSONResponse:
    checks = await platform.health.checks()
    failing = [f"{name}: {result}" for name, result in checks.items() if result != OK]
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
