"""The console: server-rendered pages for operators and customers, htmx for the live parts.

One module per feature; each page calls the services with the person logged in, so the console
reaches exactly what the API does.
"""

from fastapi import APIRouter

from voltflow.web.console import (
    account,
    activity,
    audit,
    billing,
    cards,
    customers,
    exports,
    licences,
    lists,
    mail,
    sessions,
    stations,
)
from voltflow.web.console.common import render, templates

router = APIRouter(include_in_schema=False)
# exports before sessions: ``/sessions/export`` names no session.
for module in (
    account,
    stations,
    exports,
    sessions,
    activity,
    customers,
    cards,
    lists,
    licences,
    audit,
    mail,
    billing,
):
    router.include_router(module.router)

__all__ = [
    "account",
    "activity",
    "audit",
    "billing",
    "cards",
    "customers",
    "exports",
    "licences",
    "lists",
    "mail",
    "render",
    "router",
    "sessions",
    "stations",
    "templates",
]
