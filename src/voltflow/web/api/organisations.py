"""Customers, their people and contracts; the audit log."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.contracts import ContractKind
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import AuditFilter, OrganisationFilter, PeopleFilter
from voltflow.web.auth import ApiUser, PlatformDep
from voltflow.web.lengths import KeyQuery, Search
from voltflow.web.schemas import IdPath, Limit, Offset, PageOut, ShortDecimal

router = APIRouter(prefix="/api/v1")
Fee = Annotated[ShortDecimal, Field(max_digits=12, decimal_places=4)]


DocumentLanguage = Annotated[
    Literal["nl", "fr", "en"] | None,
    Field(
        description="the language of the documents it receives (payment requests, invoices,"
        " statements), whoever prepares them; null: the platform's default"
    ),
]


class BillingDetails(BaseModel):
    """What an organisation's documents carry; each checked, refused naming the field."""

    vat_number: str | None = Field(
        default=None, max_length=32, description="Belgian VAT number, e.g. BE0123456749"
    )
    street: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(
        default=None, max_length=2, description="ISO 3166 two-letter code; none: BE"
    )
    peppol_id: str | None = Field(
        default=None,
        max_length=64,
        description="Peppol participant id, scheme:identifier; a Belgian company with a VAT"
        " number gets 0208: and its enterprise number unless it gives another",
    )
    iban: str | None = Field(default=None, max_length=42, description="where it is paid")
    bic: str | None = Field(default=None, max_length=11)
    billing_email: str | None = Field(
        default=None,
        max_length=254,
        description="where its documents are mailed; none: to its fleet managers",
    )


class OrganisationIn(BillingDetails):
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    document_language: DocumentLanguage = None


class OrganisationChange(BillingDetails):
    """Only the fields given change; null clears one."""

    model_config = ConfigDict(extra="forbid")
    document_language: DocumentLanguage = None


class OrganisationOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str
    kind: str
    vat_number: str | None
    document_language: str | None = None
    login_domain: str | None = Field(
        default=None, description="what the logins its fleet managers make end in: ann@acme"
    )
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    peppol_id: str | None = None
    iban: str | None = None
    bic: str | None = None
    billing_email: str | None = None
    created_at: datetime


class PersonIn(BaseModel):
    username: str = Field(
        min_length=1,
        max_length=128,
        description="a person one manages already, or the new person's login: made by a fleet"
        " manager, it ends in the organisation's login_domain (ann → ann@acme)",
    )
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=200)
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)


class PersonOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    username: str
    full_name: str | None
    email: str | None
    roles: list[str]
    iban: str | None = None


class PersonChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    iban: str | None = Field(
        max_length=42,
        description="where the platform pays them (reimbursements, a host's remuneration);"
        " null clears it",
    )


class PersonCreated(BaseModel):
    user_id: int
    username: str
    role: str
    password: str | None = Field(description="generated password, shown once")


class ContractIn(BaseModel):
    kind: ContractKind
    starts_on: date
    ends_on: date | None = None
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    fee_per_card: Fee = Decimal(0)
    fee_per_station: Fee = Decimal(0)
    fee_per_licence: Fee = Decimal(0)
    mandate_reference: str | None = Field(default=None, max_length=35)
    mandate_iban: str | None = Field(default=None, max_length=42)
    mandate_bic: str | None = Field(default=None, max_length=11)
    mandate_signed_on: date | None = None
    # Prepaid: the cards charge while the balance lasts, topped up by transfer.
    prepaid: bool = False


class ContractOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    organisation_id: int
    kind: str
    starts_on: date
    ends_on: date | None
    currency: str
    fee_per_card: Decimal
    fee_per_station: Decimal
    fee_per_licence: Decimal
    mandate_reference: str | None
    mandate_iban: str | None
    mandate_bic: str | None
    mandate_signed_on: date | None
    prepaid: bool
    prepaid_balance: Decimal
    top_up_reference: str | None = Field(
        default=None, description="the structured reference a prepaid balance's transfers carry"
    )
    mandate_revoked_on: date | None = None


class TopUpIn(BaseModel):
    amount: ShortDecimal
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    reference: str = Field(min_length=1, max_length=64)


class MovementOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    kind: str
    amount: Decimal
    currency: str
    balance: Decimal
    reference: str
    created_at: datetime


class TopUpOut(BaseModel):
    booked: bool
    amount: Decimal
    currency: str
    balance: Decimal
    reference: str


class AuditOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    at: datetime
    actor_name: str
    organisation_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: str | None


@router.get("/organisations", tags=["customers"])
async def list_organisations(
    platform: PlatformDep,
    actor: ApiUser,
    q: Search = None,
    kind: OrganisationKind | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[OrganisationOut]:
    page = await platform.organisations.search(
        actor, OrganisationFilter(q=q, kind=kind), PageRequest(offset, limit)
    )
    return PageOut[OrganisationOut].model_validate(page, from_attributes=True)


@router.post("/organisations", status_code=201, tags=["customers"])
async def create_organisation(
    body: OrganisationIn, platform: PlatformDep, actor: ApiUser
) -> OrganisationOut:
    details = body.model_dump(
        include=set(BillingDetails.model_fields) - {"vat_number"}, exclude_none=True
    )
    org = await platform.organisations.create(
        actor, body.name, body.kind, body.vat_number, body.document_language, details
    )
    return OrganisationOut.model_validate(org, from_attributes=True)


@router.get("/organisations/{organisation_id}", tags=["customers"])
async def get_organisation(
    organisation_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> OrganisationOut:
    org = await platform.organisations.get(actor, organisation_id)
    return OrganisationOut.model_validate(org, from_attributes=True)


@router.patch("/organisations/{organisation_id}", tags=["customers"])
async def change_organisation(
    organisation_id: IdPath, body: OrganisationChange, platform: PlatformDep, actor: ApiUser
) -> OrganisationOut:
    org = await platform.organisations.update(
        actor, organisation_id, body.model_dump(include=body.model_fields_set)
    )
    return OrganisationOut.model_validate(org, from_attributes=True)


@router.get("/organisations/{organisation_id}/people", tags=["customers"])
async def list_people(
    organisation_id: IdPath,
    platform: PlatformDep,
    actor: ApiUser,
    role: Role | None = None,
    q: Search = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[PersonOut]:
    page = await platform.organisations.people(
        actor, organisation_id, PeopleFilter(role=role, q=q), PageRequest(offset, limit)
    )
    return PageOut[PersonOut].model_validate(page, from_attributes=True)


@router.post("/organisations/{organisation_id}/people", status_code=201, tags=["customers"])
async def add_person(
    organisation_id: IdPath, body: PersonIn, platform: PlatformDep, actor: ApiUser
) -> PersonCreated:
    person = await platform.organisations.add_person(
        actor,
        organisation_id,
        body.username,
        body.role,
        password=body.password,
        full_name=body.full_name,
        email=body.email,
    )
    return PersonCreated(
        user_id=person.user_id, username=person.username, role=person.role, password=person.password
    )


@router.patch("/organisations/{organisation_id}/people/{user_id}", tags=["customers"])
async def change_person(
    organisation_id: IdPath,
    user_id: IdPath,
    body: PersonChange,
    platform: PlatformDep,
    actor: ApiUser,
) -> PersonOut:
    person = await platform.organisations.set_person_iban(
        actor, organisation_id, user_id, body.iban
    )
    return PersonOut.model_validate(person, from_attributes=True)


@router.delete("/organisations/{organisation_id}/people/{user_id}/roles/{role}", tags=["customers"])
async def remove_role(
    organisation_id: IdPath, user_id: IdPath, role: Role, platform: PlatformDep, actor: ApiUser
) -> dict[str, Any]:
    removed = await platform.organisations.remove_role(actor, organisation_id, user_id, role)
    return {"removed": removed}


@router.get("/organisations/{organisation_id}/contracts", tags=["contracts"])
async def list_contracts(
    organisation_id: IdPath, platform: PlatformDep, actor: ApiUser
) -> list[ContractOut]:
    rows = await platform.contracts.of_organisation(actor, organisation_id)
    return [ContractOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/organisations/{organisation_id}/contracts", status_code=201, tags=["contracts"])
async def create_contract(
    organisation_id: IdPath, body: ContractIn, platform: PlatformDep, actor: ApiUser
) -> ContractOut:
    contract = await platform.contracts.create(
        actor, organisation_id, body.kind, **body.model_dump(exclude={"kind"})
    )
    return ContractOut.model_validate(contract, from_attributes=True)


@router.post("/contracts/{contract_id}/top-ups", tags=["contracts"])
async def top_up_contract(
    contract_id: IdPath, body: TopUpIn, platform: PlatformDep, actor: ApiUser
) -> TopUpOut:
    """Books money received for a prepaid contract's balance; a reference booked before books
    nothing again (``booked`` false)."""
    done = await platform.prepaid.top_up(
        actor, contract_id, body.amount, body.currency, body.reference
    )
    m = done.movement
    return TopUpOut(
        booked=done.booked,
        amount=m.amount,
        currency=m.currency,
        balance=m.balance,
        reference=m.reference,
    )


@router.get("/contracts/{contract_id}/movements", tags=["contracts"])
async def prepaid_movements(
    contract_id: IdPath,
    platform: PlatformDep,
    actor: ApiUser,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[MovementOut]:
    """A prepaid contract's balance movements, newest first."""
    page = await platform.prepaid.movements(actor, contract_id, PageRequest(offset, limit))
    return PageOut[MovementOut].model_validate(page, from_attributes=True)


@router.get("/audit", tags=["audit"])
async def audit_log(
    platform: PlatformDep,
    actor: ApiUser,
    entity: KeyQuery = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[AuditOut]:
    page = await platform.audit.search(
        actor, AuditFilter(entity=entity), PageRequest(offset, limit)
    )
    return PageOut[AuditOut].model_validate(page, from_attributes=True)
