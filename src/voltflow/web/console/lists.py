"""Whitelists and discount lists of stations and station groups, the cards on them, and how far
the stations' local lists have followed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.domain.authorization import normalize_uid
from voltflow.domain.emaid import parse_emaid
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter, ListFilter, StationFilter
from voltflow.domain.records import Card, StationGroupDetail
from voltflow.i18n import _, ngettext
from voltflow.services.access import require
from voltflow.services.cards import UID, UNUSABLE
from voltflow.services.lists import ListError, ListKind, ListNotFound
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.common import (
    PAGE,
    FieldErrors,
    P,
    can,
    flash,
    organisation_names,
    parse_int,
    redirect,
    render,
)
from voltflow.web.lengths import KEY_MAX, NAME_MAX, UidPath
from voltflow.web.schemas import MAX_ID, IdPath

Name = Annotated[str, Form(max_length=NAME_MAX)]
Key = Annotated[str, Form(max_length=KEY_MAX)]

router = APIRouter(include_in_schema=False)
# How one station's sync went, and how many stations it went so for, by outcome.
SYNC_OUTCOMES: dict[str, Callable[[], str]] = {
    "full": lambda: _("%(station)s: sent whole"),
    "differential": lambda: _("%(station)s: changes sent"),
    "unchanged": lambda: _("%(station)s: already up to date"),
    "offline": lambda: _("%(station)s: offline: it follows when it connects"),
    "failed": lambda: _("%(station)s: failed"),
}
SYNC_COUNTS: dict[str, Callable[[int], str]] = {
    "full": lambda n: ngettext("%(n)s sent whole", "%(n)s sent whole", n),
    "differential": lambda n: ngettext("%(n)s changes sent", "%(n)s changes sent", n),
    "unchanged": lambda n: ngettext("%(n)s already up to date", "%(n)s already up to date", n),
    "offline": lambda n: ngettext(
        "%(n)s offline: it follows when it connects",
        "%(n)s offline: they follow when they connect",
        n,
    ),
    "failed": lambda n: ngettext("%(n)s failed", "%(n)s failed", n),
}


def _sync_outcome(station_id: str, outcome: str, detail: str | None) -> str:
    said = SYNC_OUTCOMES.get(outcome)
    text = said() % {"station": station_id} if said else f"{station_id}: {outcome}"
    return f"{text} ({detail})" if detail else text


def _sync_count(outcome: str, n: int) -> str:
    said = SYNC_COUNTS.get(outcome)
    return said(n) % {"n": n} if said else f"{n} {outcome}"


# -- the lists ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Coverable:
    """A station a list or group can cover, and its owner."""

    id: str
    organisation_id: int


async def _writable_stations(platform: Platform, user: Actor) -> list[Coverable]:
    """Stations a list or group can cover: owned by an organisation the person manages lists of."""
    page = await platform.stations.search(StationFilter(), PageRequest(limit=1000), actor=user)
    return [
        Coverable(s.id, s.organisation_id)
        for s in page.items
        if s.organisation_id is not None and can(user, P.LISTS_WRITE, s.organisation_id)
    ]


async def _groups(platform: Platform, user: Actor) -> list[StationGroupDetail]:
    return [await platform.lists.group(user, g.id) for g in await platform.lists.groups(user)]


async def _lists_context(
    platform: Platform, user: Actor, station_id: str | None, offset: int
) -> dict[str, Any]:
    station_id = (station_id or "").strip() or None
    page = await platform.lists.search(
        user, ListFilter(station_id=station_id), PageRequest(offset, PAGE)
    )
    groups = await _groups(platform, user)
    stations = await _writable_stations(platform, user)
    writable_groups = [g for g in groups if can(user, P.LISTS_WRITE, g.organisation_id)]
    org_ids = {
        *(i.organisation_id for i in page.items),
        *(g.organisation_id for g in groups),
        *(s.organisation_id for s in stations),
        *user.organisations(P.LISTS_WRITE),
    }
    names = await organisation_names(platform, user, org_ids)
    if user.is_operator:
        group_orgs = sorted({s.organisation_id for s in stations}, key=lambda i: names[i])
    else:
        group_orgs = sorted(user.organisations(P.LISTS_WRITE), key=lambda i: names[i])
    return {
        "page": page,
        "groups": groups,
        "names": names,
        "group_names": {g.id: g.name for g in groups},
        "filters": {"station_id": station_id or ""},
        "offset": offset,
        "limit": PAGE,
        "stations": stations,
        "writable_groups": writable_groups,
        "group_orgs": group_orgs,
        "many_orgs": len({s.organisation_id for s in stations} | set(group_orgs)) > 1,
        "may_write": bool(stations or writable_groups or group_orgs),
        "list_form": {"kind": ListKind.WHITELIST.value},
        "list_errors": FieldErrors(),
        "group_form": {"organisation_id": group_orgs[0] if len(group_orgs) == 1 else ""},
        "group_errors": FieldErrors(),
    }


@router.get("/lists")
async def lists_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    station_id: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    offset: Annotated[int, Query(le=MAX_ID)] = 0,
) -> HTMLResponse:
    ctx = await _lists_context(platform, user, station_id, max(offset, 0))
    return render(request, "lists.html", {"user": user, **ctx})


async def _target_organisation(
    platform: Platform, user: Actor, station_id: str | None, group_id: int | None
) -> int | None:
    """The organisation owning what a list covers (the person must be able to see it)."""
    if station_id is not None:
        station = await platform.stations.get(station_id, actor=user)
        return station.organisation_id
    if group_id is not None:
        for g in await platform.lists.groups(user):
            if g.id == group_id:
                return g.organisation_id
        raise ListNotFound(_("no group %(id)s") % {"id": group_id})
    return None


@router.post("/lists", dependencies=[CsrfChecked])
async def create_list(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    kind: Key = "",
    name: Name = "",
    target: Key = "",
    tariff_ref: Key = "",
) -> Response:
    """A whitelist or discount list for a station (``station:ID``) or group (``group:ID``)."""
    what, _sep, ident = target.partition(":")
    station_id = ident if what == "station" and ident else None
    group_id = parse_int(ident) if what == "group" else None
    org_id = await _target_organisation(platform, user, station_id, group_id)
    if org_id is not None:
        require(user, P.LISTS_WRITE, org_id)
    errors = FieldErrors()
    if station_id is None and group_id is None:
        errors["target"] = _("choose a station or a station group")
    elif org_id is None:
        errors["target"] = _("this station belongs to no customer yet: set its owner first")
    if kind not in {k.value for k in ListKind}:
        errors["kind"] = _("whitelist or discount list")
    if len(tariff_ref.strip()) > 64:
        errors["tariff_ref"] = _("at most %(n)s characters") % {"n": 64}
    if not errors:
        assert org_id is not None
        try:
            created = await platform.lists.create_list(
                user,
                org_id,
                ListKind(kind),
                name,
                station_id=station_id,
                group_id=group_id,
                tariff_ref=tariff_ref.strip() or None,
            )
        except ListError as exc:
            field = {"station_id": "target", "group_id": "target"}.get(exc.field or "", exc.field)
            errors[field or "name"] = str(exc)
        else:
            flash(request, _("List %(name)s created: add its cards.") % {"name": created.name})
            return redirect(f"/lists/{created.id}")
    ctx = await _lists_context(platform, user, None, 0)
    ctx["list_form"] = {"kind": kind, "name": name, "target": target, "tariff_ref": tariff_ref}
    ctx["list_errors"] = errors
    return render(request, "lists.html", {"user": user, **ctx}, 422)


@router.post("/station-groups", dependencies=[CsrfChecked])
async def create_group(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    organisation_id: Key = "",
    name: Name = "",
    station_ids: Annotated[list[str] | None, Form(max_length=5000)] = None,
) -> Response:
    org_id = parse_int(organisation_id)
    errors = FieldErrors()
    if org_id is None:
        errors["organisation_id"] = _("choose the organisation")
    else:
        require(user, P.LISTS_WRITE, org_id)
        try:
            group = await platform.lists.create_group(user, org_id, name, station_ids or [])
        except ListError as exc:
            errors[exc.field or "name"] = str(exc)
        else:
            count = len(group.stations)
            flash(
                request,
                ngettext(
                    "Group %(name)s created with %(n)s station.",
                    "Group %(name)s created with %(n)s stations.",
                    count,
                )
                % {"name": group.name, "n": count},
            )
            return redirect("/lists#groups")
    ctx = await _lists_context(platform, user, None, 0)
    ctx["group_form"] = {
        "organisation_id": org_id or "",
        "name": name,
        "station_ids": station_ids or [],
    }
    ctx["group_errors"] = errors
    return render(request, "lists.html", {"user": user, **ctx}, 422)


# -- one list -------------------------------------------------------------------------------------
async def _list_context(platform: Platform, user: Actor, list_id: int) -> dict[str, Any]:
    found = await platform.lists.get(user, list_id)
    org_id = found.organisation_id
    names = await organisation_names(platform, user, [org_id])
    group = None
    if found.group_id is not None:
        # The list is readable, so is its group (same organisation).
        group = await platform.lists.group(user, found.group_id)
    sync = []
    for station_id, (stored, held) in (await platform.lists.on_stations(user, list_id)).items():
        sync.append(
            {
                "station_id": station_id,
                "online": platform.commands.is_connected(station_id),
                "version": stored.confirmed_version if stored else None,
                "synced_at": stored.synced_at if stored else None,
                "error": stored.last_error if stored else None,
                "entries": len(held),
            }
        )
    writable = can(user, P.LISTS_WRITE, org_id)
    suggestions: list[Card] = []
    if writable:
        listed = {c.card_uid for c in found.cards}
        page = await platform.cards.search(
            user, CardFilter(organisation_id=org_id), PageRequest(limit=200)
        )
        suggestions = [c for c in page.items if c.uid not in listed and c.state not in UNUSABLE]
    return {
        "list": found,
        "organisation": names[org_id],
        "group": group,
        "sync": sync,
        "writable": writable,
        "suggestions": suggestions,
        "card_form": {"card": ""},
        "card_errors": FieldErrors(),
    }


@router.get("/lists/{list_id}")
async def list_page(
    request: Request, list_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    ctx = await _list_context(platform, user, list_id)
    return render(request, "list.html", {"user": user, **ctx})


async def _find_card(platform: Platform, user: Actor, text: str) -> Card | str:
    """The one card the person means by a uid, printed number or contract id; else why not."""
    text = text.strip()
    if not text:
        return _("type the card's uid or printed number")
    page = await platform.cards.search(user, CardFilter(q=text), PageRequest(limit=50))
    uid = normalize_uid(text)
    try:
        compact: str | None = parse_emaid(text).compact
    except ValueError:
        compact = None
    exact = [
        c
        for c in page.items
        if c.uid == uid
        or (c.printed_number or "").upper() == text.upper()
        or (compact is not None and c.contract_id == compact)
    ]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        return _("%(text)s names %(n)s cards: give the uid") % {"text": text, "n": len(exact)}
    if page.items:
        close = ", ".join(c.printed_number or c.uid for c in page.items[:5])
        return _("no card %(text)s; did you mean %(close)s?") % {"text": text, "close": close}
    return _("no card %(text)s among yours") % {"text": text}


@router.post("/lists/{list_id}/cards", dependencies=[CsrfChecked])
async def add_card(
    request: Request,
    list_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    card: Key = "",
) -> Response:
    """A card of the organisation's own (found by uid, printed number or contract id) joins the
    list; a uid naming none of them is an invitation, which the card's holder answers."""
    found = await platform.lists.get(user, list_id)
    require(user, P.LISTS_WRITE, found.organisation_id)
    errors = FieldErrors()
    match = await _find_card(platform, user, card)
    uid = normalize_uid(card)
    # Not one of the organisation's own: a uid is invited, whoever's card it names.
    wanted: tuple[str, str | None] | None = None
    if isinstance(match, str):
        if not user.is_operator and UID.match(uid):
            wanted = (uid, None)
        else:
            errors["card"] = match
    else:
        wanted = (match.uid, match.printed_number)
    if wanted is not None:
        try:
            result = await platform.lists.add_cards(user, list_id, [wanted[0]])
        except ListError as exc:
            errors["card"] = str(exc)
        else:
            shown = wanted[1] or wanted[0]
            if result.added:
                flash(
                    request,
                    _("Card %(card)s added: the stations' local lists follow.") % {"card": shown},
                )
            elif result.invited:
                flash(
                    request,
                    _("Card %(card)s invited: it joins the list once its holder accepts.")
                    % {"card": shown},
                )
            else:
                flash(
                    request,
                    _("Card %(card)s was on the list, or invited, already.") % {"card": shown},
                )
            return redirect(f"/lists/{list_id}")
    ctx = await _list_context(platform, user, list_id)
    ctx["card_form"] = {"card": card}
    ctx["card_errors"] = errors
    return render(request, "list.html", {"user": user, **ctx}, 422)


@router.post("/lists/{list_id}/cards/{uid}/remove", dependencies=[CsrfChecked])
async def remove_card(
    request: Request, list_id: IdPath, uid: UidPath, platform: PlatformDep, user: ConsoleUser
) -> Response:
    removed = await platform.lists.remove_cards(user, list_id, [uid])
    flash(
        request,
        (
            _("Card %(card)s removed from the list.")
            if removed
            else _("Card %(card)s was not on the list.")
        )
        % {"card": normalize_uid(uid)},
    )
    return redirect(f"/lists/{list_id}")


@router.post("/lists/{list_id}/sync", dependencies=[CsrfChecked])
async def sync_list(
    request: Request, list_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> Response:
    """Push the local lists of the stations the list covers now, rather than on the next change."""
    ctx = await _list_context(platform, user, list_id)
    require(user, P.LISTS_WRITE, ctx["list"].organisation_id)
    results = [await platform.lists.sync_now(user, row["station_id"]) for row in ctx["sync"]]
    if len(results) <= 3:
        for result in results:
            flash(
                request,
                _sync_outcome(result.station_id, result.outcome, result.detail),
                error=result.outcome == "failed",
            )
    elif results:
        counts: dict[str, int] = {}
        for result in results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        summary = "; ".join(_sync_count(o, n) for o, n in sorted(counts.items()))
        total = len(results)
        flash(
            request,
            ngettext("%(n)s station: %(summary)s.", "%(n)s stations: %(summary)s.", total)
            % {"n": total, "summary": summary},
            error="failed" in counts,
        )
    if not ctx["sync"]:
        flash(request, _("The list covers no station yet."), error=True)
    return redirect(f"/lists/{list_id}")
