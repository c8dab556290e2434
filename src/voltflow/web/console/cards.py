"""Charging cards: the list with its filters and bulk actions, the stock import, a card's page
with its history and the steps its state allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.authorization import normalize_uid
from voltflow.domain.cards import CardAction, CardState, allowed_actions
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter, PeopleFilter
from voltflow.domain.records import CardEvent, Person
from voltflow.i18n import _, ngettext, pgettext
from voltflow.services.access import require
from voltflow.services.cards import CardError, ImportProblem, ImportRejected
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.common import (
    PAGE,
    FieldErrors,
    P,
    back,
    can,
    customer_choices,
    flash,
    is_partial,
    organisation_names,
    own_organisations,
    parse_date,
    parse_int,
    redirect,
    render,
)
from voltflow.web.lengths import KEY_MAX, SEARCH_MAX, UidPath
from voltflow.web.schemas import MAX_ID, IdPath

Key = Annotated[str, Form(max_length=KEY_MAX)]
Reason = Annotated[str, Form(max_length=200)]
Uids = Annotated[list[Annotated[str, Field(max_length=KEY_MAX)]] | None, Form(max_length=1000)]

router = APIRouter(include_in_schema=False)
MAX_IMPORT_BYTES = 5 * 1024 * 1024

# What each step is called on a button, and the hint under it: translated when shown.
ACTION_LABELS: dict[CardAction, Callable[[], str]] = {
    CardAction.DISTRIBUTE: lambda: _("Hand to distributor"),
    CardAction.RETURN_TO_STOCK: lambda: _("Return to stock"),
    CardAction.ASSIGN: lambda: _("Assign to employee"),
    CardAction.UNASSIGN: lambda: _("Take back from driver"),
    CardAction.ACTIVATE: lambda: pgettext("card step", "Activate"),
    CardAction.BLOCK: lambda: pgettext("card step", "Block"),
    CardAction.UNBLOCK: lambda: pgettext("card step", "Unblock"),
    CardAction.REPORT_LOST: lambda: _("Report lost"),
    CardAction.EXPIRE: lambda: pgettext("card step", "Expire"),
}
ACTION_HINTS: dict[CardAction, Callable[[], str]] = {
    CardAction.DISTRIBUTE: lambda: _("The distributor then hands it to a driver."),
    CardAction.ASSIGN: lambda: _("Then activate it: the card charges once it is active."),
    CardAction.ACTIVATE: lambda: _("It charges from now on, under the holder's eMSP contract."),
    CardAction.BLOCK: lambda: _("Refused everywhere until unblocked, offline stations included."),
    CardAction.REPORT_LOST: lambda: _("Refused for good: a lost card never charges again."),
    CardAction.EXPIRE: lambda: _("Refused for good."),
}
STOCK_ACTIONS = frozenset({CardAction.DISTRIBUTE, CardAction.RETURN_TO_STOCK})
# Steps offered on many cards at once; assigning names one driver, so one card at a time.
BULK_ACTIONS = [
    CardAction.DISTRIBUTE,
    CardAction.RETURN_TO_STOCK,
    CardAction.ACTIVATE,
    CardAction.BLOCK,
    CardAction.UNBLOCK,
    CardAction.REPORT_LOST,
]


def _done_one(step: CardAction) -> str:
    """What the notice says once one card took ``step`` (``%(card)s``, ``%(org)s``, ...)."""
    texts = {
        CardAction.DISTRIBUTE: lambda: _("Card %(card)s handed to %(org)s."),
        CardAction.RETURN_TO_STOCK: lambda: _("Card %(card)s returned to stock."),
        CardAction.ASSIGN: lambda: _("Card %(card)s assigned to %(driver)s."),
        CardAction.UNASSIGN: lambda: _("Card %(card)s taken back from the driver."),
        CardAction.ACTIVATE: lambda: _("Card %(card)s activated."),
        CardAction.BLOCK: lambda: _("Card %(card)s blocked."),
        CardAction.UNBLOCK: lambda: _("Card %(card)s unblocked."),
        CardAction.REPORT_LOST: lambda: _("Card %(card)s reported lost."),
        CardAction.EXPIRE: lambda: _("Card %(card)s expired."),
    }
    return texts[step]()


def _done_many(step: CardAction, n: int) -> str:
    """What the notice says once ``n`` cards took ``step`` (``%(n)s``, ``%(org)s``, ...)."""
    texts = {
        CardAction.DISTRIBUTE: lambda: ngettext(
            "%(n)s card handed to %(org)s.", "%(n)s cards handed to %(org)s.", n
        ),
        CardAction.RETURN_TO_STOCK: lambda: ngettext(
            "%(n)s card returned to stock.", "%(n)s cards returned to stock.", n
        ),
        CardAction.ASSIGN: lambda: ngettext(
            "%(n)s card assigned to %(driver)s.", "%(n)s cards assigned to %(driver)s.", n
        ),
        CardAction.UNASSIGN: lambda: ngettext(
            "%(n)s card taken back from the driver.", "%(n)s cards taken back from the driver.", n
        ),
        CardAction.ACTIVATE: lambda: ngettext("%(n)s card activated.", "%(n)s cards activated.", n),
        CardAction.BLOCK: lambda: ngettext("%(n)s card blocked.", "%(n)s cards blocked.", n),
        CardAction.UNBLOCK: lambda: ngettext("%(n)s card unblocked.", "%(n)s cards unblocked.", n),
        CardAction.REPORT_LOST: lambda: ngettext(
            "%(n)s card reported lost.", "%(n)s cards reported lost.", n
        ),
        CardAction.EXPIRE: lambda: ngettext("%(n)s card expired.", "%(n)s cards expired.", n),
    }
    return texts[step]()


# -- the list -------------------------------------------------------------------------------------
async def _list_context(
    platform: Platform,
    user: Actor,
    q: str | None,
    state: str | None,
    organisation_id: str | None,
    offset: int,
) -> dict[str, Any]:
    state = state if state in {s.value for s in CardState} else None
    org_id = parse_int(organisation_id)
    page = await platform.cards.search(
        user,
        CardFilter(
            q=(q or "").strip() or None,
            state=CardState(state) if state else None,
            organisation_id=org_id,
        ),
        PageRequest(offset, PAGE),
    )
    if user.is_operator:
        choices = [{"id": o.id, "name": o.name} for o in await customer_choices(platform, user)]
    else:
        mine = own_organisations(user, P.CARDS_READ)
        names = await organisation_names(platform, user, mine)
        choices = [{"id": i, "name": names[i]} for i in mine]
    bulk: list[CardAction] = []
    if user.is_operator:
        bulk = list(BULK_ACTIONS)
    elif user.organisations(P.CARDS_WRITE):
        bulk = [a for a in BULK_ACTIONS if a not in STOCK_ACTIONS]
    return {
        "page": page,
        "names": await organisation_names(platform, user, (c.organisation_id for c in page.items)),
        "filters": {"q": q or "", "state": state or "", "organisation_id": org_id or ""},
        "offset": offset,
        "limit": PAGE,
        "states": list(CardState),
        "organisations": choices,
        "bulk": [{"value": a.value, "label": ACTION_LABELS[a]()} for a in bulk],
        "distributors": (
            await customer_choices(
                platform, user, [OrganisationKind.COMPANY, OrganisationKind.INSTALLER]
            )
            if CardAction.DISTRIBUTE in bulk
            else []
        ),
        "may_import": can(user, P.CARD_STOCK, None),
        "problems": None,
        "invitations": await platform.lists.invitations(user),
    }


@router.get("/cards")
async def cards_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    q: Annotated[str | None, Query(max_length=SEARCH_MAX)] = None,
    state: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    organisation_id: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    offset: Annotated[int, Query(le=MAX_ID)] = 0,
) -> HTMLResponse:
    ctx = await _list_context(platform, user, q, state, organisation_id, max(offset, 0))
    template = "partials/cards_table.html" if is_partial(request) else "cards.html"
    response = render(request, template, {"user": user, **ctx})
    response.headers["Vary"] = "HX-Request"
    return response


@router.post("/cards/import", dependencies=[CsrfChecked])
async def import_cards(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Cards into stock from a CSV file; any bad row rejects the whole file."""
    require(user, P.CARD_STOCK, None)
    problems: list[ImportProblem] = []
    body = await file.read(MAX_IMPORT_BYTES + 1) if file is not None else b""
    text = ""
    if len(body) > MAX_IMPORT_BYTES:
        problems.append(ImportProblem(0, "-", _("the file is larger than 5 MiB: split it")))
    else:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(
                ImportProblem(0, "-", _("not UTF-8 text (%(reason)s)") % {"reason": exc.reason})
            )
    if not problems and not text.strip():
        problems.append(ImportProblem(0, "-", _("the file is empty")))
    if not problems:
        try:
            uids = await platform.cards.import_csv(user, text)
        except ImportRejected as exc:
            problems = exc.problems
        else:
            n = len(uids)
            flash(
                request,
                ngettext("%(n)s card imported into stock.", "%(n)s cards imported into stock.", n)
                % {"n": n},
            )
            return redirect("/cards?state=in_stock")
    ctx = await _list_context(platform, user, None, None, None, 0)
    ctx["problems"] = problems
    ctx["file_name"] = (file.filename if file is not None else None) or _("the file")
    return render(request, "cards.html", {"user": user, **ctx}, 422)


@router.post("/cards/actions", dependencies=[CsrfChecked])
async def bulk_action(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    action: Key = "",
    uids: Uids = None,
    organisation_id: Key = "",
    driver_id: Key = "",
    reason: Reason = "",
) -> Response:
    """One step on the selected cards: all of them take it, or none."""
    wanted = [normalize_uid(u) for u in uids or [] if u.strip()]
    # Whose cards they are comes first: another organisation's card is refused, whatever else.
    for uid in wanted:
        await platform.cards.get(user, uid)
    to = back(request, "/cards", within="/cards")
    try:
        step = CardAction(action)
    except ValueError:
        flash(request, _("Choose what to do with the selected cards."), error=True)
        return redirect(to)
    if step in STOCK_ACTIONS:
        require(user, P.CARD_STOCK, None)
    if not wanted:
        flash(request, _("Select the cards first (the boxes in the first column)."), error=True)
        return redirect(to)
    try:
        names = await _apply(platform, user, step, wanted, organisation_id, driver_id, reason)
    except CardError as exc:
        flash(request, _("Nothing changed: %(reason)s") % {"reason": exc}, error=True)
        return redirect(to)
    flash(request, _done_many(step, len(wanted)) % {"n": len(wanted), **names})
    return redirect(to)


async def _apply(
    platform: Platform,
    user: Actor,
    step: CardAction,
    uids: list[str],
    organisation_id: str,
    driver_id: str,
    reason: str,
    expires_at: datetime | None = None,
) -> dict[str, str]:
    """Take the step; the names its notice then uses. Field problems are CardErrors too."""
    org = parse_int(organisation_id)
    driver = parse_int(driver_id)
    if step is CardAction.DISTRIBUTE and org is None:
        raise CardError(_("choose the distributor to hand the cards to"), "organisation_id")
    if step is CardAction.ASSIGN and driver is None:
        raise CardError(_("choose the driver"), "driver_id")
    await platform.cards.apply_action(
        user,
        step,
        uids,
        organisation_id=org,
        driver_id=driver,
        expires_at=expires_at,
        reason=reason.strip()[:200] or None,
    )
    names = await organisation_names(platform, user, [org])
    person = await platform.accounts.get(driver) if driver is not None else None
    return {
        "org": names.get(org, _("the distributor")) if org is not None else "",
        "driver": (person.full_name or person.username) if person else _("the driver"),
    }


# -- one card -------------------------------------------------------------------------------------
async def _drivers(platform: Platform, user: Actor, organisation_id: int | None) -> list[Person]:
    if organisation_id is None or not can(user, P.PEOPLE_READ, organisation_id):
        return []
    page = await platform.organisations.people(
        user, organisation_id, PeopleFilter(role=Role.DRIVER), PageRequest(limit=500)
    )
    return page.items


async def _name_drivers(platform: Platform, history: list[CardEvent]) -> list[CardEvent]:
    """The history says "driver 12": show who that is."""
    named = []
    for event in history:
        detail = event.detail or ""
        number = parse_int(detail[7:]) if detail.startswith("driver ") else None
        person = await platform.accounts.get(number) if number is not None else None
        if person is not None:
            event = replace(
                event, detail=_("to %(name)s") % {"name": person.full_name or person.username}
            )
        named.append(event)
    return named


async def _kind(platform: Platform, user: Actor, organisation_id: int) -> str | None:
    """The kind of the organisation holding a card: the person's own, or one they may read."""
    for m in user.memberships:
        if m.organisation_id == organisation_id:
            return m.kind.value
    if can(user, P.CUSTOMERS_READ, organisation_id):
        return (await platform.organisations.get(user, organisation_id)).kind.value
    return None


@router.get("/cards/{uid}")
async def card_page(
    request: Request, uid: UidPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    card = await platform.cards.get(user, uid)
    org_id = card.organisation_id
    names = await organisation_names(platform, user, [org_id])
    org: dict[str, Any] | None = None
    if org_id is not None:
        org = {"id": org_id, "name": names[org_id], "kind": await _kind(platform, user, org_id)}
    driver = await platform.accounts.get(card.driver_id) if card.driver_id else None
    card = replace(card, history=await _name_drivers(platform, card.history))
    state = card.state
    actions = []
    for step in allowed_actions(state):
        if step in STOCK_ACTIONS:
            if not can(user, P.CARD_STOCK, None):
                continue
        elif not can(user, P.CARDS_WRITE if org_id is not None else P.CARD_STOCK, org_id):
            continue
        actions.append(
            {
                "value": step.value,
                "label": ACTION_LABELS[step](),
                "hint": hint() if (hint := ACTION_HINTS.get(step)) else None,
            }
        )
    steps = {a["value"] for a in actions}
    contract = None  # whether the holder's eMSP contract lets the card charge, where we may know
    if org_id is not None and can(user, P.CONTRACTS_READ, org_id):
        today = platform.contracts.today()
        contract = any(
            c.kind is ContractKind.EMSP and c.in_force(today)
            for c in await platform.contracts.of_organisation(user, org_id)
        )
    installer = org is not None and org["kind"] == OrganisationKind.INSTALLER.value
    return render(
        request,
        "card.html",
        {
            "user": user,
            "card": card,
            "org": org,
            "driver": driver,
            "actions": actions,
            "drivers": (
                await _drivers(platform, user, org_id)
                if CardAction.ASSIGN.value in steps and not installer
                else []
            ),
            "installer": installer,
            "contract": contract,
            "households": (
                await customer_choices(platform, user, [OrganisationKind.HOUSEHOLD])
                if CardAction.ASSIGN.value in steps and installer and user.is_operator
                else []
            ),
            "distributors": (
                await customer_choices(
                    platform, user, [OrganisationKind.COMPANY, OrganisationKind.INSTALLER]
                )
                if CardAction.DISTRIBUTE.value in steps
                else []
            ),
            "labels": {s.value: s.label for s in CardState},
        },
    )


@router.get("/cards/{uid}/drivers")
async def card_drivers(
    request: Request,
    uid: UidPath,
    platform: PlatformDep,
    user: ConsoleUser,
    organisation_id: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
) -> HTMLResponse:
    """The drivers a card may go to, as options: those of its company, or of the household an
    installer's card goes to."""
    card = await platform.cards.get(user, uid)
    org_id = parse_int(organisation_id) or card.organisation_id
    drivers = await _drivers(platform, user, org_id) if org_id is not None else []
    return render(request, "partials/driver_options.html", {"drivers": drivers})


@router.post("/cards/{uid}/actions", dependencies=[CsrfChecked])
async def card_action(
    request: Request,
    uid: UidPath,
    platform: PlatformDep,
    user: ConsoleUser,
    action: Key = "",
    organisation_id: Key = "",
    driver_id: Key = "",
    reason: Reason = "",
    expires_on: Key = "",
) -> Response:
    card = await platform.cards.get(user, uid)
    to = f"/cards/{quote(card.uid, safe='')}"
    try:
        step = CardAction(action)
    except ValueError:
        flash(request, _("Unknown step %(step)s.") % {"step": repr(action)}, error=True)
        return redirect(to)
    if step in STOCK_ACTIONS:
        require(user, P.CARD_STOCK, None)
    else:
        require(user, P.CARDS_WRITE if card.organisation_id else P.CARD_STOCK, card.organisation_id)
    errors = FieldErrors()
    until = parse_date(expires_on, "expires_on", errors)
    if errors:
        flash(
            request,
            _("Nothing changed: valid until: %(problem)s") % {"problem": errors["expires_on"]},
            error=True,
        )
        return redirect(to)
    expires_at = None
    if until is not None:
        zone = ZoneInfo(platform.settings.timezone)
        # Valid through that day, where the platform is.
        expires_at = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
    try:
        names = await _apply(
            platform,
            user,
            step,
            [card.uid],
            organisation_id,
            driver_id,
            reason,
            expires_at,
        )
    except CardError as exc:
        flash(request, _("Nothing changed: %(reason)s") % {"reason": exc}, error=True)
        return redirect(to)
    flash(request, _done_one(step) % {"card": card.printed_number or card.uid, **names})
    return redirect(to)


# -- invitations of one's cards onto others' lists ---------------------------------------------
@router.post("/cards/invitations/{list_id}/{uid}/accept", dependencies=[CsrfChecked])
async def accept_invitation(
    request: Request, list_id: IdPath, uid: UidPath, platform: PlatformDep, user: ConsoleUser
) -> Response:
    await platform.lists.answer(user, list_id, uid, accept=True)
    flash(
        request,
        _("Card %(card)s is on the list: its stations take it in.") % {"card": normalize_uid(uid)},
    )
    return redirect("/cards")


@router.post("/cards/invitations/{list_id}/{uid}/decline", dependencies=[CsrfChecked])
async def decline_invitation(
    request: Request, list_id: IdPath, uid: UidPath, platform: PlatformDep, user: ConsoleUser
) -> Response:
    await platform.lists.answer(user, list_id, uid, accept=False)
    flash(request, _("Invitation of card %(card)s declined.") % {"card": normalize_uid(uid)})
    return redirect("/cards")
