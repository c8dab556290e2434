"""The REST API under ``/api/v1``: one module per feature, every route a call to a service."""

from fastapi import APIRouter

from voltflow.web.api import cards, lists, organisations, stations

router = APIRouter()
for module in (stations, organisations, cards, lists):
    router.include_router(module.router)

__all__ = ["router"]
