"""Stations (live status, remote actions, message log, owner) and sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voltflow.domain.access import Actor
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import MessageFilter, SessionFilter, StationFilter
from voltflow.domain.tariffs import TariffDimension, TariffVersion
from voltflow.i18n import _, pgettext
from voltflow.services.access import Forbidden, require
from voltflow.services.ports import CommandError, ProtocolCatalogue
from voltflow.services.pricing import PricingError, StationPrices
from voltflow.services.stations import StationError, StationNotFound
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.charts import station_activity
from voltflow.web.console.common import (
    PAGE,
    FieldErrors,
    P,
    can,
    customer_choices,
    flash,
    home_for,
    is_partial,
    money,
    organisation_names,
    parse_int,
    redirect,
    render,
)
from voltflow.web.console.exports import BACKGROUND_ROWS, export_query, session_filter
from voltflow.web.lengths import KEY_MAX

router = APIRouter(include_in_schema=False)
TariffField = Annotated[str, Form(max_length=KEY_MAX)]
Login = Annotated[str, Form(max_length=128)]  # as long as a username may be
PRICE_FIELDS = ("tariff_id", "host", "host_tariff_id")

# How a failed command reads in the console, by CommandError.kind; the station's or the
# service's own words follow.
COMMAND_FAILURES: dict[str, Callable[[], str]] = {
    "offline": lambda: _("station offline: %(message)s"),
    "timeout": lambda: _("no answer: %(message)s"),
    "callerror": lambda: _("refused by the station: %(message)s"),
    "invalid": lambda: _("invalid payload, not sent: %(message)s"),
    "key-change-busy": lambda: _("another key change under way, not sent: %(message)s"),
}


def _failure(exc: CommandError) -> str:
    said = COMMAND_FAILURES.get(exc.kind)
    return said() % {"message": exc.message} if said else f"{exc.kind}: {exc.message}"


def _ocpp_url(request: Request, station_id: str) -> str:
    """The URL a station is pointed at: this host, the OCPP port actually listened on."""
    platform = request.app.state.platform
    port = platform.settings.ocpp_port or platform.ocpp.port
    host = request.url.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"ws://{host}:{port}/ocpp/{quote(station_id, safe='')}"


def _ocpp_actions(catalogue: ProtocolCatalogue) -> list[str]:
    """Every action of the station's OCPP version the log can hold, for the filter's
    suggestions and to match what the operator types whatever its case."""
    return sorted(catalogue.actions)


def _canonical_action(action: str | None, known_actions: list[str]) -> str | None:
    """The OCPP action's own spelling for what the operator typed (``statusnotification``)."""
    if not action or not action.strip():
        return None
    wanted = action.strip()
    for known in known_actions:
        if known.lower() == wanted.lower():
            return known
    return wanted


@router.get("/")
async def home(user: ConsoleUser) -> Response:
    return RedirectResponse(home_for(user), status_code=303)


async def _stations_context(
    platform: Any, actor: Actor, q: str | None, status: str | None, offset: int
) -> dict[str, Any]:
    online = {"online": True, "offline": False}.get(status or "")
    page = await platform.stations.search(
        StationFilter(q=q or None, online=online), PageRequest(offset, PAGE), actor=actor
    )
    return {"page": page, "q": q or "", "status": status or "", "offset": offset, "limit": PAGE}


@router.get("/stations")
async def stations_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    q: str | None = None,
    status: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    ctx = await _stations_context(platform, user, q, status, max(offset, 0))
    # htmx asks for the table alone, except when it restores a page from history.
    template = "partials/stations_table.html" if is_partial(request) else "stations.html"
    response = render(
        request, template, {"user": user, "new_station": None, "form_error": None, **ctx}
    )
    # One URL, two bodies: a browser cache must not answer a page load with the table alone.
    response.headers["Vary"] = "HX-Request"
    return response


@router.post("/stations", dependencies=[CsrfChecked])
async def add_station(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    station_id: Annotated[str, Form()],
    password: Annotated[str, Form()] = "",
) -> HTMLResponse:
    ctx: dict[str, Any] = {"user": user, "new_station": None, "form_error": None}
    try:
        new = await platform.stations.add(
            station_id.strip(), password or None, generate_password=not password, actor=user
        )
        ctx["new_station"] = new
        ctx["new_station_url"] = _ocpp_url(request, new.record.id)
    except StationError as exc:
        ctx["form_error"] = str(exc)
    ctx.update(await _stations_context(platform, user, None, None, 0))
    return render(request, "stations.html", ctx, status_code=422 if ctx["form_error"] else 200)


async def _station_context(
    request: Request, platform: Any, actor: Actor, station_id: str
) -> dict[str, Any]:
    station = await platform.stations.get(station_id, actor=actor)
    sessions = await platform.sessions.search(
        SessionFilter(station_id=station_id), PageRequest(limit=10), actor=actor
    )
    owners = await organisation_names(platform, actor, [station.organisation_id])
    return {
        "station": station,
        "owner": owners.get(station.organisation_id) if station.organisation_id else None,
        "ocpp_url": _ocpp_url(request, station_id),
        "connected": platform.commands.is_connected(station_id),
        "connectors": await platform.stations.connectors(station_id, actor=actor),
        "sessions": sessions.items,
    }


# How a price component of a tariff reads in its summary, by what it prices.
COMPONENT_UNITS: dict[TariffDimension, Callable[[], str]] = {
    TariffDimension.ENERGY: lambda: _("%(price)s/kWh"),
    TariffDimension.TIME: lambda: _("%(price)s/h charging"),
    TariffDimension.PARKING_TIME: lambda: _("%(price)s/h parking"),
    TariffDimension.FLAT: lambda: _("%(price)s per session"),
}


def tariff_summary(version: TariffVersion) -> str:
    """A version's prices on one line, excluding VAT, element by element as the tariff lists
    them (the first whose conditions hold prices a session); an element that holds only under
    conditions (hours, days, energy…) says so rather than spelling them out."""
    tariff = version.tariff
    parts = []
    for element in tariff.elements:
        prices = ", ".join(
            COMPONENT_UNITS[c.type]() % {"price": money(c.price, tariff.currency)}
            for c in element.price_components
        )
        parts.append(
            _("%(prices)s (under conditions)") % {"prices": prices}
            if element.restrictions is not None
            else prices
        )
    return _("%(prices)s excl. VAT") % {"prices": "; ".join(parts)}


def _tariff_options(choices: list[TariffVersion], *keep: str) -> list[tuple[str, str]]:
    """A tariff select's options: none, the tariffs that may be chosen, and those in ``keep``
    that are not among them (the one the station names now, so that saving the form does not
    drop it unseen; the one just refused, so that the form shows what was sent)."""
    options = [("", pgettext("tariff", "none"))]
    options += [(v.tariff_id, f"{v.tariff_id}: {tariff_summary(v)}") for v in choices]
    known = {v.tariff_id for v in choices}
    for value in dict.fromkeys(keep):
        if value and value not in known:
            options.append((value, value))
    return options


async def _prices_context(
    platform: Any,
    user: Actor,
    station_id: str,
    form: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
) -> dict[str, Any]:
    """The station's prices for those who read its owner's contracts; with the form's choices
    for those who may set them (operators)."""
    try:
        prices: StationPrices = await platform.pricing.station_prices(user, station_id)
    except Forbidden:
        return {"prices": None}
    current = {
        "tariff_id": prices.tariff.tariff_id if prices.tariff else "",
        "host": prices.host or "",
        "host_tariff_id": prices.host_tariff.tariff_id if prices.host_tariff else "",
    }
    ctx: dict[str, Any] = {
        "prices": prices,
        "prices_form": form if form is not None else current,
        "prices_errors": errors if errors is not None else FieldErrors(),
        "tariff_summary": tariff_summary,
    }
    if can(user, P.CONTRACTS_WRITE, None):
        choices = await platform.pricing.tariff_choices(user)
        sent = ctx["prices_form"]
        for field in ("tariff_id", "host_tariff_id"):
            ctx[f"{field}_options"] = _tariff_options(choices, current[field], sent.get(field, ""))
    return ctx


@router.get("/stations/{station_id}")
async def station_page(
    request: Request, station_id: str, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    return await _station_page(request, platform, user, station_id)


async def _station_page(
    request: Request,
    platform: Any,
    user: Actor,
    station_id: str,
    *,
    prices_form: dict[str, str] | None = None,
    prices_errors: FieldErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        ctx = await _station_context(request, platform, user, station_id)
    except StationNotFound:
        return render(
            request,
            "not_found.html",
            {"user": user, "what": _("station %(id)s") % {"id": station_id}},
            404,
        )
    messages = await platform.stations.message_log(
        station_id, MessageFilter(limit=PAGE), actor=user
    )
    catalogue: ProtocolCatalogue = platform.commands.catalogue(station_id)
    actions = []
    for name in catalogue.remote_actions:
        default = catalogue.default_payload(name)
        actions.append(
            {
                "name": name,
                "payload": json.dumps(default) if default is not None else "",
                "example": json.dumps(catalogue.example_payload(name)),
            }
        )
    return render(
        request,
        "station.html",
        {
            "user": user,
            **ctx,
            "messages": messages,
            "actions": actions,
            "filters": {"action": "", "direction": "", "q": ""},
            "ocpp_actions": _ocpp_actions(catalogue),
            "activity": await station_activity(platform, user, station_id),
            "older": False,
            "limit": PAGE,
            "customers": (
                await customer_choices(platform, user) if can(user, P.STATIONS_WRITE, None) else []
            ),
            **await _prices_context(platform, user, station_id, prices_form, prices_errors),
        },
        status_code,
    )


@router.get("/stations/{station_id}/live", response_model=None)
async def station_live(
    request: Request, station_id: str, platform: PlatformDep, user: ConsoleUser
) -> Response:
    try:
        ctx = await _station_context(request, platform, user, station_id)
    except StationNotFound:
        # htmx leaves the page as it is on an error status; the next full load says "not found".
        return Response(status_code=404)
    return render(request, "partials/station_live.html", {"user": user, **ctx})


@router.get("/stations/{station_id}/messages", response_model=None)
async def station_messages(
    request: Request,
    station_id: str,
    platform: PlatformDep,
    user: ConsoleUser,
    action: str | None = None,
    direction: str | None = None,
    q: str | None = None,
    before_id: int | None = None,
) -> Response:
    known_actions = _ocpp_actions(platform.commands.catalogue(station_id))
    action = _canonical_action(action, known_actions)
    try:
        filters = MessageFilter(
            action=action,
            direction=direction if direction in ("in", "out") else None,
            text=q or None,
            before_id=before_id,
            limit=PAGE,
        )
        messages = await platform.stations.message_log(station_id, filters, actor=user)
    except StationNotFound:
        return Response(status_code=404)
    return render(
        request,
        "partials/messages.html",
        {
            "user": user,
            "station": {"id": station_id},
            "messages": messages,
            "limit": PAGE,
            "filters": {"action": action or "", "direction": direction or "", "q": q or ""},
            "ocpp_actions": known_actions,
            "older": before_id is not None,
        },
    )


@router.post("/stations/{station_id}/claim", dependencies=[CsrfChecked])
async def claim(
    request: Request, station_id: str, platform: PlatformDep, user: ConsoleUser
) -> Response:
    """Accept the station; one without a key gets one, shown once, here and never in a
    cookie: the answer is the fragment itself (htmx), or the station page."""
    claimed = await platform.stations.claim(station_id, actor=user)
    ctx = {
        "title": _("%(station)s claimed") % {"station": station_id},
        "key": claimed.key,
        "delivery": (
            _("its new key was %(delivery)s") % {"delivery": claimed.delivery}
            if claimed.delivery
            else None
        ),
        "error": None,
    }
    if is_partial(request):
        response = render(request, "partials/key_result.html", ctx)
        response.headers["HX-Trigger"] = "command-done"
        return response
    if claimed.key is None:
        return RedirectResponse(f"/stations/{quote(station_id, safe='')}", status_code=303)
    return render(request, "key_result_page.html", {"user": user, "station_id": station_id, **ctx})


@router.post("/stations/{station_id}/rotate-key", dependencies=[CsrfChecked])
async def rotate_key(
    request: Request, station_id: str, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    """A new key for the connected station (ChangeConfiguration AuthorizationKey), shown once."""
    require(user, P.STATIONS_WRITE, None)
    await platform.stations.get(station_id, actor=user)
    ctx: dict[str, Any] = {
        "title": _("Key rotation"),
        "key": None,
        "delivery": None,
        "error": None,
    }
    try:
        rotated = await platform.commands.rotate_key(station_id, actor=user)
    except CommandError as exc:
        ctx["error"] = _failure(exc)
    else:
        status = rotated.result.payload.get("status")
        if rotated.taken:
            ctx["key"] = rotated.key
            ctx["delivery"] = _(
                "the station answered %(status)s: its old key stays valid until it reconnects "
                "with the new one"
            ) % {"status": status}
        else:
            ctx["error"] = _("the station answered %(status)s: it keeps its key") % {
                "status": status
            }
    response = render(request, "partials/key_result.html", ctx)
    response.headers["HX-Trigger"] = "command-done"
    return response


@router.post("/stations/{station_id}/owner", dependencies=[CsrfChecked])
async def set_owner(
    request: Request,
    station_id: str,
    platform: PlatformDep,
    user: ConsoleUser,
    organisation_id: Annotated[str, Form()] = "",
) -> Response:
    """The organisation that owns the station: its people see it, its lists cover it."""
    require(user, P.STATIONS_WRITE, None)
    await platform.stations.get(station_id, actor=user)
    owner = parse_int(organisation_id)
    station = await platform.stations.set_owner(user, station_id, owner)
    names = await organisation_names(platform, user, [station.organisation_id])
    flash(
        request,
        _("%(station)s now belongs to %(owner)s.") % {"station": station_id, "owner": names[owner]}
        if owner is not None
        else _("%(station)s belongs to no customer now.") % {"station": station_id},
    )
    return redirect(f"/stations/{quote(station_id, safe='')}")


@router.post("/stations/{station_id}/prices", dependencies=[CsrfChecked])
async def set_prices(
    request: Request,
    station_id: str,
    platform: PlatformDep,
    user: ConsoleUser,
    tariff_id: TariffField = "",
    host: Login = "",
    host_tariff_id: TariffField = "",
) -> Response:
    """The station's public tariff, its host (by login) and the host's tariff; refused, the
    page again with the error next to its field and nothing changed."""
    # A station the person cannot see does not exist; one whose prices they cannot read, or
    # may not set, is refused.
    await platform.pricing.station_prices(user, station_id)
    form = {
        "tariff_id": tariff_id.strip(),
        "host": host.strip(),
        "host_tariff_id": host_tariff_id.strip(),
    }
    errors = FieldErrors()
    try:
        await platform.pricing.set_station_prices(
            user,
            station_id,
            tariff_id=form["tariff_id"] or None,
            host=form["host"] or None,
            host_tariff_id=form["host_tariff_id"] or None,
        )
    except PricingError as exc:
        errors[exc.field if exc.field in PRICE_FIELDS else "form"] = str(exc)
    else:
        flash(
            request,
            _("Prices of %(station)s set: sessions that start from now on are priced with them.")
            % {"station": station_id},
        )
        return redirect(f"/stations/{quote(station_id, safe='')}#prices")
    return await _station_page(
        request,
        platform,
        user,
        station_id,
        prices_form=form,
        prices_errors=errors,
        status_code=422,
    )


@router.post("/stations/{station_id}/commands", dependencies=[CsrfChecked])
async def command(
    request: Request,
    station_id: str,
    platform: PlatformDep,
    user: ConsoleUser,
    action: Annotated[str, Form()],
    payload: Annotated[str, Form()] = "",
) -> HTMLResponse:
    ctx: dict[str, Any] = {"action": action, "result": None, "error": None}
    try:
        body = json.loads(payload) if payload.strip() else None
    except ValueError as exc:
        ctx["error"] = _("the payload is not valid JSON (%(problem)s), not sent") % {"problem": exc}
        return render(request, "partials/command_result.html", ctx)
    if body is not None and not isinstance(body, dict):
        ctx["error"] = _("the payload must be a JSON object ({…}), not sent")
        return render(request, "partials/command_result.html", ctx)
    try:
        result = await platform.commands.send(station_id, action, body, actor=user)
        ctx["result"] = json.dumps(result.payload, indent=2, ensure_ascii=False)
    except CommandError as exc:
        ctx["error"] = _failure(exc)
    response = render(request, "partials/command_result.html", ctx)
    # The message log now holds the frames of this exchange: it refreshes on this event.
    response.headers["HX-Trigger"] = "command-done"
    return response


@router.get("/sessions")
async def sessions_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    station_id: str | None = None,
    id_tag: str | None = None,
    state: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    filters = session_filter(station_id, id_tag, state)
    page = await platform.sessions.search(filters, PageRequest(max(offset, 0), PAGE), actor=user)
    return render(
        request,
        "sessions.html",
        {
            "user": user,
            "page": page,
            "filters": {
                "station_id": filters.station_id or "",
                "id_tag": id_tag or "",
                "state": state or "",
            },
            "offset": max(offset, 0),
            "limit": PAGE,
            "export_query": export_query(station_id, id_tag, state),
            "export_background_rows": BACKGROUND_ROWS,
        },
    )
