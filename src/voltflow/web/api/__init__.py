"""The REST API under ``/api/v1``: one module per feature, every route a call to a service."""

from fastapi import APIRouter

from voltflow.web.api import (
    activity,
    billing,
    cards,
    charging_periods,
    devices,
    exports,
    health,
    jobs,
    lists,
    organisations,
    payments,
    prices,
    stations,
    tickets,
)
from voltflow.web.schemas import problem_responses

router = APIRouter()
router.include_router(health.router)
# exports before stations: ``/sessions/export`` is not a session's id.
for module in (
    exports,
    stations,
    organisations,
    cards,
    lists,
    charging_periods,
    prices,
    activity,
    devices,
    jobs,
    billing,
    tickets,
    payments,
):
    # Any route may refuse the key, the person, or the input, or not find what it names.
    router.include_router(module.router, responses=problem_responses(400, 401, 403, 404, 422))

__all__ = ["router"]
