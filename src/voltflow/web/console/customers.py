"""Customers: the list, a customer's page with its people, contracts, cards and stations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.billing.prepaid import PrepaidError
from voltflow.domain.contracts import ContractError, ContractKind
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import CardFilter, OrganisationFilter, PeopleFilter, StationFilter
from voltflow.i18n import _
from voltflow.services.access import require
from voltflow.services.accounts import AccountError
from voltflow.services.organisations import NewPerson, OrganisationError
from voltflow.services.prepaid import ContractNotFound
from voltflow.web.auth import ConsoleUser, CsrfChecked, PlatformDep
from voltflow.web.console.billing import customer_documents
from voltflow.web.console.common import (
    PAGE,
    FieldErrors,
    P,
    can,
    flash,
    is_partial,
    money,
    parse_amount,
    parse_date,
    redirect,
    render,
    role_label,
    roles_for,
)
from voltflow.web.lengths import KEY_MAX, NAME_MAX, SEARCH_MAX
from voltflow.web.schemas import MAX_ID, IdPath

Name = Annotated[str, Form(max_length=NAME_MAX)]
Key = Annotated[str, Form(max_length=KEY_MAX)]
SearchQuery = Annotated[str | None, Query(max_length=SEARCH_MAX)]
OffsetQuery = Annotated[int, Query(le=MAX_ID)]

router = APIRouter(include_in_schema=False)
CUSTOMER_KINDS = [OrganisationKind.COMPANY, OrganisationKind.HOUSEHOLD, OrganisationKind.INSTALLER]
CONTRACT_FIELDS = (
    "kind",
    "starts_on",
    "ends_on",
    "currency",
    "fee_per_card",
    "fee_per_station",
    "fee_per_licence",
    "mandate_reference",
    "mandate_iban",
    "mandate_bic",
    "mandate_signed_on",
)
PERSON_FIELDS = ("username", "full_name", "email", "role")


# -- the list -------------------------------------------------------------------------------------
async def _list_context(
    platform: Platform, user: Actor, q: str | None, kind: str | None, offset: int
) -> dict[str, Any]:
    kind = kind if kind in {k.value for k in OrganisationKind} else None
    page = await platform.organisations.search(
        user,
        OrganisationFilter(
            q=(q or "").strip() or None, kind=OrganisationKind(kind) if kind else None
        ),
        PageRequest(offset, PAGE),
    )
    return {
        "page": page,
        "filters": {"q": q or "", "kind": kind or ""},
        "offset": offset,
        "limit": PAGE,
        "kinds": list(OrganisationKind) if user.is_operator else CUSTOMER_KINDS,
    }


@router.get("/customers")
async def customers_page(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    q: SearchQuery = None,
    kind: Annotated[str | None, Query(max_length=KEY_MAX)] = None,
    offset: OffsetQuery = 0,
) -> HTMLResponse:
    ctx = await _list_context(platform, user, q, kind, max(offset, 0))
    template = "partials/customers_table.html" if is_partial(request) else "customers.html"
    response = render(
        request,
        template,
        {"user": user, "form": {"kind": "company"}, "errors": FieldErrors(), **ctx},
    )
    response.headers["Vary"] = "HX-Request"
    return response


@router.post("/customers", dependencies=[CsrfChecked])
async def create_customer(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    name: Name = "",
    kind: Key = "",
    vat_number: Key = "",
) -> Response:
    require(user, P.CUSTOMERS_WRITE, None)
    errors = FieldErrors()
    if kind not in {k.value for k in CUSTOMER_KINDS}:
        errors["kind"] = _("company, household or installer")
    if not name.strip():
        errors["name"] = _("required")
    if len(vat_number.strip()) > 32:
        errors["vat_number"] = _("at most %(n)s characters") % {"n": 32}
    if not errors:
        try:
            org = await platform.organisations.create(
                user, name, OrganisationKind(kind), vat_number.strip() or None
            )
        except OrganisationError as exc:
            errors[exc.field or "name"] = str(exc)
        else:
            flash(
                request,
                _("Customer %(name)s created: add its people and contract.") % {"name": org.name},
            )
            return redirect(f"/customers/{org.id}")
    ctx = await _list_context(platform, user, None, None, 0)
    form = {"name": name, "kind": kind, "vat_number": vat_number}
    return render(
        request, "customers.html", {"user": user, "form": form, "errors": errors, **ctx}, 422
    )


# -- one customer ---------------------------------------------------------------------------------
async def _customer_context(
    platform: Platform,
    user: Actor,
    organisation_id: int,
    q: str | None,
    offset: int,
    documents_offset: int = 0,
) -> dict[str, Any]:
    org = await platform.organisations.get(user, organisation_id)
    ctx: dict[str, Any] = {
        "org": org,
        "roles": roles_for(org.kind),
        "people": None,
        "contracts": None,
        "cards": None,
        "stations": None,
        "filters": {"q": q or ""},
        "offset": offset,
        "limit": PAGE,
        "person_form": {"role": roles_for(org.kind)[-1].value},
        "person_errors": FieldErrors(),
        "new_person": None,
        "contract_form": {"kind": "emsp", "currency": "EUR"},
        "contract_errors": FieldErrors(),
    }
    if can(user, P.PEOPLE_READ, organisation_id):
        ctx["people"] = await platform.organisations.people(
            user,
            organisation_id,
            PeopleFilter(q=(q or "").strip() or None),
            PageRequest(offset, PAGE),
        )
    ctx["credit"] = []
    # Where a prepaid contract's top-ups go, with its structured reference.
    ctx["operator_iban"] = platform.settings.operator_iban
    ctx["top_up_form"] = {}
    ctx["top_up_errors"] = FieldErrors()
    if can(user, P.CONTRACTS_READ, organisation_id):
        ctx["contracts"] = await platform.contracts.of_organisation(user, organisation_id)
        # The release note's "Credit": each prepaid contract's balance and latest movements.
        ctx["credit"] = [
            (c, await platform.prepaid.movements(user, c.id, PageRequest(0, 10)))
            for c in ctx["contracts"]
            if c.prepaid
        ]
    # The release note's "Invoices": what was issued to it, with the downloads.
    ctx["documents"] = None
    if can(user, P.BILLING_READ, organisation_id):
        ctx.update(await customer_documents(platform, user, organisation_id, documents_offset))
    if can(user, P.CARDS_READ, organisation_id):
        ctx["cards"] = await platform.cards.search(
            user, CardFilter(organisation_id=organisation_id), PageRequest(limit=10)
        )
    if can(user, P.STATIONS_READ, organisation_id):
        ctx["stations"] = await platform.stations.search(
            StationFilter(organisation_id=organisation_id), PageRequest(limit=10), actor=user
        )
    return ctx


@router.get("/customers/{organisation_id}")
async def customer_page(
    request: Request,
    organisation_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    q: SearchQuery = None,
    offset: OffsetQuery = 0,
    documents_offset: OffsetQuery = 0,
) -> HTMLResponse:
    ctx = await _customer_context(
        platform, user, organisation_id, q, max(offset, 0), max(documents_offset, 0)
    )
    return render(request, "customer.html", {"user": user, **ctx})


@router.post("/customers/{organisation_id}/people", dependencies=[CsrfChecked])
async def add_person(
    request: Request,
    organisation_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    username: Annotated[str, Form(max_length=128)] = "",
    role: Key = "",
    full_name: Name = "",
    email: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    org = await platform.organisations.get(user, organisation_id)
    require(user, P.PEOPLE_WRITE, organisation_id)
    errors = FieldErrors()
    allowed = {r.value for r in roles_for(org.kind)}
    if role not in allowed:
        errors["role"] = _("one of %(roles)s") % {"roles": ", ".join(sorted(allowed))}
    if not username.strip():
        errors["username"] = _("required")
    new: NewPerson | None = None
    if not errors:
        try:
            new = await platform.organisations.add_person(
                user,
                organisation_id,
                username.strip(),
                Role(role),
                full_name=full_name.strip() or None,
                email=email.strip() or None,
            )
        except (AccountError, OrganisationError) as exc:
            errors[exc.field or "username"] = str(exc)
    ctx = await _customer_context(platform, user, organisation_id, None, 0)
    ctx["new_person"] = new
    if errors:
        ctx["person_form"] = {
            "username": username,
            "role": role,
            "full_name": full_name,
            "email": email,
        }
        ctx["person_errors"] = errors
    # Rendered, not redirected: a generated password is shown this once, never stored.
    return render(request, "customer.html", {"user": user, **ctx}, 422 if errors else 200)


@router.post(
    "/customers/{organisation_id}/people/{user_id}/roles/{role}/remove",
    dependencies=[CsrfChecked],
)
async def remove_role(
    request: Request,
    organisation_id: IdPath,
    user_id: IdPath,
    role: Role,
    platform: PlatformDep,
    user: ConsoleUser,
) -> Response:
    removed = await platform.organisations.remove_role(user, organisation_id, user_id, role)
    person = await platform.accounts.get(user_id)
    who = person.username if person else _("user %(id)s") % {"id": user_id}
    flash(
        request,
        _("%(who)s is no longer %(role)s here.") % {"who": who, "role": role_label(role.value)}
        if removed
        else _("%(who)s did not hold that role.") % {"who": who},
    )
    return redirect(f"/customers/{organisation_id}#people")


@router.post("/customers/{organisation_id}/contracts", dependencies=[CsrfChecked])
async def create_contract(
    request: Request,
    organisation_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    kind: Key = "",
    starts_on: Key = "",
    ends_on: Key = "",
    currency: Key = "EUR",
    fee_per_card: Key = "",
    fee_per_station: Key = "",
    fee_per_licence: Key = "",
    mandate_reference: Key = "",
    mandate_iban: Key = "",
    mandate_bic: Key = "",
    mandate_signed_on: Key = "",
    prepaid: Key = "",
) -> Response:
    await platform.organisations.get(user, organisation_id)
    require(user, P.CONTRACTS_WRITE, organisation_id)
    form = {
        "kind": kind,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "currency": currency,
        "fee_per_card": fee_per_card,
        "fee_per_station": fee_per_station,
        "fee_per_licence": fee_per_licence,
        "mandate_reference": mandate_reference,
        "mandate_iban": mandate_iban,
        "mandate_bic": mandate_bic,
        "mandate_signed_on": mandate_signed_on,
        "prepaid": prepaid,
    }
    errors = FieldErrors()
    if kind not in {k.value for k in ContractKind}:
        errors["kind"] = _("CPO or eMSP")
    start = parse_date(starts_on, "starts_on", errors, required=True)
    end = parse_date(ends_on, "ends_on", errors)
    signed = parse_date(mandate_signed_on, "mandate_signed_on", errors)
    fees = {f: parse_amount(form[f], f, errors) for f in CONTRACT_FIELDS if f.startswith("fee_")}
    currency = currency.strip().upper()
    if len(currency) != 3:
        errors["currency"] = _("a 3-letter ISO 4217 code, e.g. EUR")
    for name, most in (("mandate_reference", 35), ("mandate_iban", 42), ("mandate_bic", 11)):
        if len(form[name].strip()) > most:
            errors[name] = _("at most %(n)s characters") % {"n": most}
    if not errors:
        assert start is not None
        try:
            contract = await platform.contracts.create(
                user,
                organisation_id,
                ContractKind(kind),
                starts_on=start,
                ends_on=end,
                currency=currency,
                fee_per_card=fees["fee_per_card"],
                fee_per_station=fees["fee_per_station"],
                fee_per_licence=fees["fee_per_licence"],
                mandate_reference=mandate_reference.strip() or None,
                mandate_iban=mandate_iban.strip() or None,
                mandate_bic=mandate_bic.strip() or None,
                mandate_signed_on=signed,
                prepaid=bool(prepaid),
            )
        except ContractError as exc:
            errors[exc.field if exc.field in CONTRACT_FIELDS else "kind"] = str(exc)
        else:
            flash(
                request,
                _("%(kind)s contract from %(start)s created.")
                % {
                    "kind": ContractKind(kind).name.replace("EMSP", "eMSP"),
                    "start": contract.starts_on,
                },
            )
            return redirect(f"/customers/{organisation_id}#contracts")
    ctx = await _customer_context(platform, user, organisation_id, None, 0)
    ctx["contract_form"] = form
    ctx["contract_errors"] = errors
    return render(request, "customer.html", {"user": user, **ctx}, 422)


@router.post(
    "/customers/{organisation_id}/contracts/{contract_id}/top-ups", dependencies=[CsrfChecked]
)
async def top_up(
    request: Request,
    organisation_id: IdPath,
    contract_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    amount: Key = "",
    reference: Key = "",
) -> Response:
    """Books a transfer received for a prepaid contract's balance."""
    await platform.organisations.get(user, organisation_id)
    contract = await platform.contracts.repo.get(contract_id)
    if contract is None or contract.organisation_id != organisation_id:
        raise ContractNotFound(contract_id)
    errors = FieldErrors()
    value = parse_amount(amount, "amount", errors) if amount.strip() else None
    if value is None and "amount" not in errors:
        errors["amount"] = _("required")
    if not errors:
        assert value is not None
        try:
            done = await platform.prepaid.top_up(
                user, contract_id, value, contract.currency, reference
            )
        except PrepaidError as exc:
            errors[exc.field if exc.field in ("amount", "reference") else "amount"] = str(exc)
        else:
            flash(
                request,
                _("%(amount)s booked: the balance is %(balance)s.")
                % {
                    "amount": money(done.movement.amount, contract.currency),
                    "balance": money(done.movement.balance, contract.currency),
                }
                if done.booked
                else _("A top-up with reference %(reference)s was booked before: nothing added.")
                % {"reference": done.movement.reference},
            )
            return redirect(f"/customers/{organisation_id}#credit")
    ctx = await _customer_context(platform, user, organisation_id, None, 0)
    ctx["top_up_form"] = {"contract": contract_id, "amount": amount, "reference": reference}
    ctx["top_up_errors"] = errors
    return render(request, "customer.html", {"user": user, **ctx}, 422)


@router.post("/customers/{organisation_id}/document-language", dependencies=[CsrfChecked])
async def document_language(
    request: Request,
    organisation_id: IdPath,
    platform: PlatformDep,
    user: ConsoleUser,
    document_language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The language of the documents the organisation receives."""
    await platform.organisations.set_document_language(
        user, organisation_id, document_language or None
    )
    flash(request, _("The language of its documents is saved."))
    return redirect(f"/customers/{organisation_id}")
