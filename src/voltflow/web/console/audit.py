"""The audit log: who changed what, when, in the organisations the person may audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import AuditFilter
from voltflow.i18n import _, pgettext
from voltflow.web.auth import ConsoleUser, PlatformDep
from voltflow.web.console.common import PAGE, organisation_names, render

router = APIRouter(include_in_schema=False)
# The filter's choices, and what one entry is a change of.
ENTITIES: dict[str, Callable[[], str]] = {
    "organisation": lambda: _("Customers"),
    "user": lambda: _("People"),
    "contract": lambda: _("Contracts"),
    "card": lambda: _("Cards"),
    "list": lambda: _("Lists"),
    "station_group": lambda: _("Station groups"),
}
ENTITY_NAMES: dict[str, Callable[[], str]] = {
    "organisation": lambda: pgettext("audit entity", "organisation"),
    "user": lambda: pgettext("audit entity", "user"),
    "contract": lambda: pgettext("audit entity", "contract"),
    "card": lambda: pgettext("audit entity", "card"),
    "list": lambda: pgettext("audit entity", "list"),
    "station_group": lambda: pgettext("audit entity", "station group"),
}


def _entity(entity: str) -> str:
    name = ENTITY_NAMES.get(entity)
    return name() if name else entity.replace("_", " ")


def _detail(text: str | None) -> list[tuple[str, str]]:
    """The detail's fields as short pairs, for a line a person reads."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [("", text)]
    if not isinstance(value, dict):
        return [("", str(value))]
    out = []
    for key, item in value.items():
        if item is None:
            continue
        shown = ", ".join(str(i) for i in item) if isinstance(item, list) else str(item)
        out.append((key.replace("_", " "), shown if len(shown) <= 120 else shown[:119] + "…"))
    return out


def _link(entity: str, entity_id: str | None) -> str | None:
    if not entity_id:
        return None
    if entity == "card" and "," not in entity_id:
        return f"/cards/{entity_id}"
    if entity == "list":
        return f"/lists/{entity_id}"
    if entity == "organisation":
        return f"/customers/{entity_id}"
    return None


@router.get("/audit")
async def audit_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    entity: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    entity = entity if entity in ENTITIES else None
    offset = max(offset, 0)
    page = await platform.audit.search(user, AuditFilter(entity=entity), PageRequest(offset, PAGE))
    # Each entry as its line shows it: with the detail's fields, and the entity's page.
    rows = [
        {
            **asdict(r),
            "fields": _detail(r.detail),
            "link": _link(r.entity, r.entity_id),
            "entity_label": _entity(r.entity),
        }
        for r in page.items
    ]
    return render(
        request,
        "audit.html",
        {
            "user": user,
            "page": page,
            "rows": rows,
            "names": await organisation_names(
                platform, user, (r.organisation_id for r in page.items)
            ),
            "entities": {value: label() for value, label in ENTITIES.items()},
            "filters": {"entity": entity or ""},
            "offset": offset,
            "limit": PAGE,
        },
    )
