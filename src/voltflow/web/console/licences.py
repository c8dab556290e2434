"""Split billing for employers: their employees' home devices and licences, each licence's rate
history and the sessions it reimburses; adding a licence and changing its rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind
from voltflow.domain.licences import (
    CregRate,
    DeviceKind,
    EmployerRate,
    FixedRate,
    LicenceRecord,
    Policy,
    RateChange,
    Region,
)
from voltflow.i18n import _, pgettext
from voltflow.services.licences import LicenceProblem
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.common import (
    FieldErrors,
    P,
    can,
    customer_choices,
    flash,
    organisation_names,
    parse_date,
    parse_int,
    redirect,
    render,
)
from voltflow.web.lengths import KEY_MAX
from voltflow.web.schemas import IdPath

router = APIRouter(include_in_schema=False)
Key = Annotated[str, Form(max_length=KEY_MAX)]
Cards = Annotated[str, Form(max_length=400)]


def device_kind_label(kind: str) -> str:
    return {
        DeviceKind.STATION: lambda: pgettext("device kind", "station"),
        DeviceKind.CABLE: lambda: pgettext("device kind", "charging cable"),
        DeviceKind.METER: lambda: pgettext("device kind", "meter"),
    }.get(DeviceKind(kind), lambda: kind)()


def region_label(region: str) -> str:
    return {
        Region.FLANDERS: lambda: _("Flanders"),
        Region.WALLONIA: lambda: _("Wallonia"),
        Region.BRUSSELS: lambda: _("Brussels"),
    }[Region(region)]()


def policy_label(change: RateChange) -> str:
    policy = change.policy
    if isinstance(policy, CregRate):
        return _("CREG rate, %(region)s") % {"region": region_label(policy.region.value)}
    if isinstance(policy, EmployerRate):
        return _("employer's rate")
    return _("fixed rate")


def _rate_figure(change: RateChange) -> Decimal | None:
    policy = change.policy
    return None if isinstance(policy, CregRate) else policy.per_kwh


def _employers(actor: Actor) -> list[int]:
    return sorted(actor.organisations(P.LICENCES_WRITE))


async def _list_context(platform: Platform, user: Actor) -> dict[str, Any]:
    found = await platform.licences.listing(user)
    employers = _employers(user)
    if user.is_operator:
        companies = await customer_choices(platform, user, [OrganisationKind.COMPANY])
        employers = sorted({r.licence.employer_id for r in found} | {o.id for o in companies})
    names = await organisation_names(platform, user, employers)
    return {
        "licences": found,
        "employers": employers,
        "names": names,
        "may_add": user.is_operator or bool(employers),
        "employer_options": [("", _("Choose…")), *((str(o), names[o]) for o in employers)],
        "form": {
            "rate_kind": "fixed",
            "device_kind": "station",
            "employer_id": employers[0] if len(employers) == 1 else "",
        },
        "errors": FieldErrors(),
    }


def _helpers() -> dict[str, Any]:
    return {
        "device_kind_label": device_kind_label,
        "policy_label": policy_label,
        "rate_figure": _rate_figure,
        "region_label": region_label,
        "region_options": [("", "–"), *((r.value, region_label(r.value)) for r in Region)],
    }


@router.get("/licences")
async def licences_page(request: Request, platform: PlatformDep, user: ConsoleUser) -> HTMLResponse:
    ctx = await _list_context(platform, user)
    return render(request, "licences.html", {"user": user, **ctx, **_helpers()})


def _policy(rate_kind: str, rate: str, region: str, errors: FieldErrors) -> Policy | None:
    if rate_kind == "creg":
        if region not in {r.value for r in Region}:
            errors["region"] = _("choose the region")
            return None
        return CregRate(Region(region))
    if rate_kind not in ("fixed", "employer"):
        errors["rate_kind"] = _("choose how the employee is reimbursed")
        return None
    try:
        value = Decimal(rate.strip().replace(",", "."))
    except InvalidOperation:
        errors["rate"] = _("a rate in €/kWh, e.g. 0.6654")
        return None
    return FixedRate(value) if rate_kind == "fixed" else EmployerRate(value)


@router.post("/licences", dependencies=[CsrfChecked])
async def add_licence(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    employer_id: Key = "",
    device: Key = "",
    device_kind: Key = "station",
    cards: Cards = "",
    rate_kind: Key = "fixed",
    rate: Key = "",
    region: Key = "",
    valid_from: Key = "",
) -> Response:
    errors = FieldErrors()
    employer = parse_int(employer_id)
    policy = _policy(rate_kind, rate, region, errors)
    start = parse_date(valid_from, "valid_from", errors)
    uids = [u for u in cards.replace(";", ",").replace(" ", ",").split(",") if u]
    if not uids:
        errors["cards"] = _("the employee's card: its uid")
    if not device.strip():
        errors["device"] = _("the station's id, or the cable's or meter's")
    kind = device_kind if device_kind in {k.value for k in DeviceKind} else "station"
    if not errors and policy is not None:
        svc = platform.licences
        try:
            record = await svc.add(
                user,
                device,
                uids,
                policy,
                valid_from=svc.local_start(start) if start else None,
                employer_id=employer,
                device_kind=None if kind == "station" else DeviceKind(kind),
            )
        except LicenceProblem as exc:
            field = {"card": "cards", "employer": "employer_id", "valid_until": "valid_from"}
            errors[field.get(exc.field or "", exc.field or "device")] = str(exc)
        else:
            flash(request, _("Licence %(id)s added.") % {"id": record.id})
            return redirect(f"/licences/{record.id}")
    ctx = await _list_context(platform, user)
    ctx["form"] = {
        "employer_id": employer_id,
        "device": device,
        "device_kind": kind,
        "cards": cards,
        "rate_kind": rate_kind,
        "rate": rate,
        "region": region,
        "valid_from": valid_from,
    }
    ctx["errors"] = errors
    return render(request, "licences.html", {"user": user, **ctx, **_helpers()}, 422)


async def _licence_context(platform: Platform, user: Actor, licence_id: int) -> dict[str, Any]:
    record: LicenceRecord = await platform.licences.get(user, licence_id)
    lines = await platform.licences.lines(user, licence_id)
    total = sum((line.amount.amount for line in lines if line.amount), Decimal(0))
    return {
        "record": record,
        "licence": record.licence,
        "lines": lines,
        "total": total,
        "total_wh": sum(line.energy_wh for line in lines),
        "writable": can(user, P.LICENCES_WRITE, record.licence.employer_id),
        "form": {"rate_kind": "fixed", "from": ""},
        "errors": FieldErrors(),
    }


@router.get("/licences/{licence_id}")
async def licence_page(
    request: Request, licence_id: IdPath, platform: PlatformDep, user: ConsoleUser
) -> HTMLResponse:
    ctx = await _licence_context(platform, user, licence_id)
    return render(request, "licence.html", {"user": user, **ctx, **_helpers()})


@router.post("/licences/{licence_id}/rate", dependencies=[CsrfChecked])
async def change_rate(
    request: Request,
    licence_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    rate_kind: Key = "fixed",
    rate: Key = "",
    region: Key = "",
    effective: Key = "",
) -> Response:
    svc = platform.licences
    errors = FieldErrors()
    policy = _policy(rate_kind, rate, region, errors)
    day: date | None = parse_date(effective, "effective", errors, required=True)
    if not errors and policy is not None and day is not None:
        try:
            await svc.change_rate(user, licence_id, policy, svc.effective_from(day))
        except LicenceProblem as exc:
            errors[{"from": "effective"}.get(exc.field or "", exc.field or "rate")] = str(exc)
        else:
            flash(request, _("New rate saved: sessions that start from then on get it."))
            return redirect(f"/licences/{licence_id}")
    ctx = await _licence_context(platform, user, licence_id)
    ctx["form"] = {"rate_kind": rate_kind, "rate": rate, "region": region, "effective": effective}
    ctx["errors"] = errors
    return render(request, "licence.html", {"user": user, **ctx, **_helpers()}, 422)
