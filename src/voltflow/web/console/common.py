"""What every console page shares: the templates, rendering, navigation, flash messages, the
access checks templates ask ("may this person do X here?") and small parsing helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from voltflow.bootstrap import Platform
from voltflow.domain.access import KIND_ROLES, Actor, OrganisationKind, Permission, Role
from voltflow.domain.emaid import parse_emaid
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import OrganisationFilter
from voltflow.domain.records import Organisation
from voltflow.i18n import (
    LANGUAGES,
    NAMES,
    _,
    formats,
    language,
    ngettext,
    pgettext,
    terms,
)
from voltflow.i18n.jinja import install as install_i18n
from voltflow.services.access import Forbidden, require
from voltflow.web.auth import CSRF_FIELD, csrf_token
from voltflow.web.language import SESSION_TIMEZONE

P = Permission
templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
# Every console template is HTML: escaped always (rather than chosen by file name, which would
# also leave the translations to Jinja's slower per-template callables, see i18n.jinja).
templates.env.autoescape = True
# The language is the request's (a context variable): one set of callables serves every request.
install_i18n(templates.env)


def css_string(text: str) -> Markup:
    """``text`` as a CSS string's content, inside a page's own ``<style>``: quotes, backslashes
    and line breaks escaped, and ``<`` too, so that nothing closes the element."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\<>\n\r' else ch for ch in str(text))
    return Markup(escaped)


templates.env.filters["css_string"] = css_string
PAGE = 50
FLASH = "flash"


# -- who may do what ------------------------------------------------------------------------------
def can(actor: Actor, permission: Permission, organisation_id: int | None) -> bool:
    """The services' own rule (``require``), for showing only the forms a person may use."""
    try:
        require(actor, permission, organisation_id)
    except Forbidden:
        return False
    return True


def reach(actor: Actor, permission: Permission) -> bool:
    """Whether ``actor`` may use ``permission`` anywhere at all (for the navigation)."""
    return actor.is_operator or bool(actor.organisations(permission))


def own_organisations(actor: Actor, permission: Permission) -> list[int]:
    return sorted(actor.organisations(permission))


def home_for(actor: Actor) -> str:
    if actor.is_operator or actor.organisations(P.STATIONS_READ):
        return "/stations"
    if actor.organisations(P.CARDS_READ):
        return "/cards"
    return "/sessions"


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    prefixes: tuple[str, ...]


def navigation(actor: Actor) -> list[NavItem]:
    """Only what the person may use."""
    items = []
    if reach(actor, P.STATIONS_READ):
        items.append(NavItem("/stations", _("Stations"), ("/stations",)))
    if reach(actor, P.SESSIONS_READ):
        items.append(NavItem("/sessions", pgettext("charging", "Sessions"), ("/sessions",)))
        # The release note's activity views: the charge points' side opens on the stations'
        # sessions, a fleet manager's on the company's cards.
        home = "/activity/charge-points" if reach(actor, P.STATIONS_READ) else "/activity/mobility"
        items.append(NavItem(home, _("Activity"), ("/activity",)))
    if any(m.role is Role.DRIVER for m in actor.memberships):
        items.append(
            NavItem("/my/sessions", pgettext("charging", "My sessions"), ("/my/sessions",))
        )
    if any(m.role in (Role.DRIVER, Role.HOST) for m in actor.memberships):
        items.append(NavItem("/my/statements", _("My statements"), ("/my/statements",)))
    if actor.is_operator:
        items.append(NavItem("/customers", _("Customers"), ("/customers",)))
    else:
        orgs = own_organisations(actor, P.CUSTOMERS_READ)
        if len(orgs) == 1:
            items.append(NavItem(f"/customers/{orgs[0]}", _("Company"), ("/customers",)))
        elif orgs:
            items.append(NavItem("/customers", _("Organisations"), ("/customers",)))
    if reach(actor, P.CARDS_READ):
        items.append(NavItem("/cards", _("Cards"), ("/cards",)))
    if reach(actor, P.LISTS_WRITE):
        items.append(NavItem("/lists", _("Lists"), ("/lists",)))
    if reach(actor, P.LICENCES_WRITE):
        items.append(NavItem("/licences", _("Split billing"), ("/licences",)))
    if reach(actor, P.AUDIT_READ):
        items.append(NavItem("/audit", _("Audit log"), ("/audit",)))
    if actor.is_operator:
        items.append(NavItem("/billing", _("Billing"), ("/billing",)))
        items.append(NavItem("/mail", pgettext("mail outbox", "Mail"), ("/mail",)))
    return items


# -- flash messages (after a redirect) ------------------------------------------------------------
def flash(request: Request, text: str, *, error: bool = False) -> None:
    messages = request.session.get(FLASH)
    messages = messages if isinstance(messages, list) else []
    messages.append({"text": text, "error": error})
    request.session[FLASH] = messages[-5:]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def back(request: Request, fallback: str, *, within: str | None = None) -> str:
    """Where a form came from (the list with its filters), when that is a page of ours."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return fallback
    path = referer.path
    if not path.startswith("/") or path.startswith("//"):
        return fallback
    if within is not None and not path.startswith(within):
        return fallback
    return path + (f"?{referer.query}" if referer.query else "")


# -- rendering ------------------------------------------------------------------------------------
# Templates name a precision the way they used to, as a strftime pattern; the language decides
# how it is written.
_STYLES = {"%Y-%m-%d %H:%M": "short", "%Y-%m-%d %H:%M:%S": "medium", "%Y-%m-%d": "date"}


def timezone_of(request: Request) -> str:
    """The person's time zone, or the platform's."""
    chosen = request.session.get(SESSION_TIMEZONE) if "session" in request.scope else None
    if isinstance(chosen, str) and chosen:
        return chosen
    timezone: str = request.app.state.platform.settings.timezone
    return timezone


def page_times(timezone: str) -> Callable[..., str]:
    """The pages' ``local(value, fmt)``: a moment in the person's time zone at the precision its
    strftime-like pattern names, written as the language writes it (one lookup per page)."""
    when = formats.moments(timezone)
    styles = _STYLES

    def local(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return when(value, styles.get(fmt, "medium"))

    return local


def _local(value: datetime | date | None, request: Request, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return formats.when(value, timezone_of(request), _STYLES.get(fmt, "medium"))


def local(value: datetime | date | None, request: Request, fmt: str = "%Y-%m-%d") -> str:
    """A date or moment for a message, as the request's language writes it."""
    return _local(value, request, fmt)


def ago(value: datetime | None) -> str:
    if value is None:
        return pgettext("last contact", "never")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 60:
        return _("%(n)s s ago") % {"n": max(seconds, 0)}
    if seconds < 3600:
        return _("%(n)s min ago") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)s h ago") % {"n": seconds // 3600}
    days = seconds // 86400
    return ngettext("%(n)s day ago", "%(n)s days ago", days) % {"n": days}


def emaid(compact: str | None) -> str:
    """A contract id as people read it: ``BE-VFL-C00000001-Y``."""
    if not compact:
        return "–"
    try:
        return str(parse_emaid(compact))
    except ValueError:
        return compact


def state_label(state: str) -> str:
    return terms.card_state(state)


def iban(compact: str | None) -> str:
    """An IBAN in groups of four, as printed on paper."""
    if not compact:
        return "–"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def role_label(role: str) -> str:
    return terms.role(role)


def money(amount: Decimal | float | int | None, currency: str = "") -> str:
    """``€ 2,44`` in Dutch and French, ``€2.44`` in English; the figure alone without currency."""
    return formats.money(None if amount is None else Decimal(str(amount)), currency or None)


def is_partial(request: Request) -> bool:
    """htmx asks for a fragment, except when it restores a page from its history."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    user = context.get("user")
    flashes: list[dict[str, Any]] = []
    if not is_partial(request):
        popped = request.session.pop(FLASH, None)
        flashes = popped if isinstance(popped, list) else []

    def with_query(**changes: Any) -> str:
        """This page's URL with some query parameters changed (``None`` or "" drops one)."""
        params = dict(request.query_params)
        for key, value in changes.items():
            params[key] = "" if value is None else str(value)
        kept = {k: v for k, v in params.items() if v and not (k.endswith("offset") and v == "0")}
        return request.url.path + (f"?{urlencode(kept)}" if kept else "")

    context = {
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "local": page_times(timezone_of(request)),
        "ago": ago,
        "kwh": formats.kwh,
        "duration": formats.duration,
        "number": formats.number,
        "session_type": terms.session_type,
        "connector_status": terms.connector_status,
        "card_step": terms.card_step,
        "registration": terms.registration,
        "kind_label": terms.organisation_kind,
        "emaid": emaid,
        "iban": iban,
        "state_label": state_label,
        "role_label": role_label,
        "money": money,
        "with_query": with_query,
        "can": can,
        "P": P,
        "now": datetime.now(UTC),
        "today": datetime.now(ZoneInfo(timezone_of(request))).date(),
        "timezone": timezone_of(request),
        "language": language(),
        "languages": [(code, NAMES[code]) for code in LANGUAGES],
        "nav": navigation(user) if isinstance(user, Actor) else [],
        "flashes": flashes,
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)


# -- names for ids --------------------------------------------------------------------------------
async def organisation_names(
    platform: Platform, actor: Actor, ids: Iterable[int | None]
) -> dict[int, str]:
    """The names of the organisations the person may read; the others keep their number."""
    names: dict[int, str] = {}
    for org_id in {i for i in ids if i is not None}:
        try:
            names[org_id] = (await platform.organisations.get(actor, org_id)).name
        except (Forbidden, LookupError):
            names[org_id] = _("organisation %(id)s") % {"id": org_id}
    return names


async def customer_choices(
    platform: Platform, actor: Actor, kinds: Iterable[OrganisationKind] | None = None
) -> list[Organisation]:
    """Organisations to pick from (a card's distributor, a station's owner): the customers."""
    wanted = (
        set(kinds) if kinds is not None else set(OrganisationKind) - {OrganisationKind.OPERATOR}
    )
    page = await platform.organisations.search(actor, OrganisationFilter(), PageRequest(limit=1000))
    return [o for o in page.items if o.kind in wanted]


# -- reading forms --------------------------------------------------------------------------------
class FieldErrors(dict[str, str]):
    """Messages by form field; empty when the form is fine."""


def parse_date(
    value: str, field: str, errors: FieldErrors, *, required: bool = False
) -> date | None:
    value = value.strip()
    if not value:
        if required:
            errors[field] = _("required")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = _("a date, e.g. 2026-01-31")
        return None


def parse_amount(value: str, field: str, errors: FieldErrors) -> Decimal:
    value = value.strip().replace(",", ".") or "0"
    try:
        amount = Decimal(value)
    except InvalidOperation:
        errors[field] = _("an amount, e.g. 2.50")
        return Decimal(0)
    _sign, digits, exponent = amount.as_tuple()
    if not amount.is_finite() or (isinstance(exponent, int) and exponent < -4):
        errors[field] = _("at most 4 decimals")
    elif len(digits) > 12:
        errors[field] = _("too large")
    return amount


def parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def roles_for(kind: str) -> list[Role]:
    return sorted(KIND_ROLES[OrganisationKind(kind)], key=list(Role).index)
