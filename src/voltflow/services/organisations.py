"""Customers and the people in them; contracts with their mandate and plan."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import (
    KIND_ROLES,
    Actor,
    OrganisationKind,
    Permission,
    Role,
    allowed,
    login_domain,
)
from voltflow.domain.contracts import (
    ContractError,
    ContractKind,
    check_period,
    subscription_plan,
    validate_mandate,
)
from voltflow.domain.mail import Invitation
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import OrganisationFilter, PeopleFilter
from voltflow.domain.records import Contract, Organisation, Person
from voltflow.i18n import LANGUAGES, _, terms
from voltflow.i18n.refusals import translated
from voltflow.services.access import require, scope_of
from voltflow.services.accounts import NAME_UNAVAILABLE, AccountError, AccountService
from voltflow.services.audit import AuditTrail
from voltflow.services.mail import MailService
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.organisations import (
    ContractRepository,
    MembershipRepository,
    OrganisationRepository,
)
from voltflow.store.search import LONGEST

P = Permission


class OrganisationError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrganisationNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class NewPerson:
    user_id: int
    username: str
    role: Role
    password: str | None  # set when one was generated: shown once
    # Where the mail telling them of their role goes (None: they have no address).
    mailed_to: str | None = None


class OrganisationService:
    def __init__(
        self,
        organisations: OrganisationRepository,
        memberships: MembershipRepository,
        accounts: AccountService,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
        mail: MailService | None = None,
        login_url: str = "/login",
    ) -> None:
        self.uow = uow
        self.repo = organisations
        self.memberships = memberships
        self.accounts = accounts
        self.audit = audit
        self.clock = clock
        # Who is given a role is told by mail (with the change: no role, no mail).
        self.mail = mail
        self.login_url = login_url

    @use_case
    async def create(
        self,
        actor: Actor,
        name: str,
        kind: OrganisationKind,
        vat_number: str | None = None,
        document_language: str | None = None,
    ) -> Organisation:
        require(actor, P.CUSTOMERS_WRITE, None)
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise OrganisationError(_("name: 1–200 characters"), "name")
        if document_language is not None and document_language not in LANGUAGES:
            raise OrganisationError(_("document language: one of nl, fr, en"), "document_language")
        domain = None
        if kind is not OrganisationKind.OPERATOR:
            base = login_domain(name)
            domain = login_domain(name, await self.repo.login_domains(base))
        try:
            org_id = await self.repo.add(
                name,
                kind,
                (vat_number or "").strip() or None,
                self.clock.now(),
                login_domain=domain,
            )
        except IntegrityError as exc:  # another organisation took the domain meanwhile
            raise OrganisationError(_("name: try again"), "name") from exc
        if document_language is not None:
            await self.repo.update(org_id, document_language=document_language)
        await self.audit.record(
            actor,
            "organisation.create",
            "organisation",
            org_id,
            org_id,
            {"name": name, "kind": kind, "document_language": document_language},
        )
        return await self.get(actor, org_id)

    async def get(self, actor: Actor, organisation_id: int) -> Organisation:
        org = await self.repo.get(organisation_id)
        require(
            actor,
            P.CUSTOMERS_READ,
            organisation_id,
            missing=lambda: OrganisationNotFound(organisation_id),
            exists=org is not None,
        )
        assert org is not None
        return org

    @use_case
    async def set_document_language(
        self, actor: Actor, organisation_id: int, language: str | None
    ) -> Organisation:
        """The language of the documents the organisation receives, whoever prepares them;
        None: the platform's default."""
        await self.get(actor, organisation_id)
        require(actor, P.CUSTOMERS_WRITE, organisation_id)
        if language is not None and language not in LANGUAGES:
            raise OrganisationError(_("document language: one of nl, fr, en"), "document_language")
        await self.repo.update(organisation_id, document_language=language)
        await self.audit.record(
            actor,
            "organisation.document_language",
            "organisation",
            organisation_id,
            organisation_id,
            {"document_language": language},
        )
        return await self.get(actor, organisation_id)

    async def search(
        self, actor: Actor, filters: OrganisationFilter, page: PageRequest
    ) -> Page[Organisation]:
        _check_search(filters.q)
        return await self.repo.page(filters, page, within=scope_of(actor, P.CUSTOMERS_READ))

    @use_case
    async def add_person(
        self,
        actor: Actor,
        organisation_id: int,
        username: str,
        role: Role,
        *,
        password: str | None = None,
        full_name: str | None = None,
        email: str | None = None,
    ) -> NewPerson:
        org = await self.get(actor, organisation_id)
        require(actor, P.PEOPLE_WRITE, organisation_id)
        kind = org.kind
        if role not in KIND_ROLES[kind]:
            allowed = ", ".join(sorted(r.value for r in KIND_ROLES[kind]))
            raise OrganisationError(
                _("role: a %(kind)s organisation has roles %(roles)s")
                % {"kind": terms.organisation_kind(kind.value), "roles": allowed},
                "role",
            )
        generated = None
        user = await self.accounts.find(username)
        if user is not None and not await self._manages(actor, user.id):
            user = None
        if user is None and not actor.is_operator:
            # Logins are global. Attaching someone of another organisation would hand their name
            # and e-mail to this one, and them a role they never agreed to; refusing the name
            # would tell that someone has it. So a new person's login is made in the
            # organisation's own domain, where no other organisation names anyone: the same
            # answer whoever has the name typed elsewhere, or nobody.
            username = _in_domain(username, org.login_domain)
            user = await self.accounts.find(username)
            if user is not None and not await self._manages(actor, user.id):
                # An operator's, in the domain.
                raise AccountError(str(NAME_UNAVAILABLE), "username")
        if user is None:
            if password is None:
                password = generated = secrets.token_urlsafe(12)
            user = await self.accounts.add_user(
                username, password, full_name=full_name, email=email
            )
        await self.memberships.grant(user.id, organisation_id, role, self.clock.now())
        await self.audit.record(
            actor,
            "person.add",
            "user",
            user.id,
            organisation_id,
            {"username": username, "role": role},
        )
        mailed_to = None
        if self.mail is not None:
            # Their login and where to log in; never the password (the outbox keeps what it
            # sends, and operators read it): the inviter hands that over, as before.
            invitation = Invitation(
                organisation=org.name,
                role=role.value,
                username=user.username,
                login_url=self.login_url,
                invited_by=actor.username,
            )
            queued = await self.mail.to_person(invitation, user.id, organisation_id=organisation_id)
            if queued is not None:
                mailed_to = user.email
        return NewPerson(user.id, user.username, role, generated, mailed_to)

    async def _manages(self, actor: Actor, user_id: int) -> bool:
        """Whether ``actor`` manages the people of an organisation ``user_id`` belongs to."""
        if actor.is_operator:
            return allowed(actor, P.PEOPLE_WRITE, None)
        return any(
            allowed(actor, P.PEOPLE_WRITE, m.organisation_id)
            for m in await self.memberships.of_user(user_id)
        )

    @use_case
    async def remove_role(
        self, actor: Actor, organisation_id: int, user_id: int, role: Role
    ) -> bool:
        await self.get(actor, organisation_id)
        require(actor, P.PEOPLE_WRITE, organisation_id)
        removed = await self.memberships.revoke(user_id, organisation_id, role)
        if removed:
            await self.audit.record(
                actor, "person.remove_role", "user", user_id, organisation_id, {"role": role}
            )
        return removed

    async def people(
        self, actor: Actor, organisation_id: int, filters: PeopleFilter, page: PageRequest
    ) -> Page[Person]:
        await self.get(actor, organisation_id)
        require(actor, P.PEOPLE_READ, organisation_id)
        _check_search(filters.q)
        return await self.memberships.people(organisation_id, filters, page)

    async def operator_organisation(self) -> int:
        """The organisation operators belong to, made on first need."""
        existing = await self.repo.by_kind(OrganisationKind.OPERATOR)
        if existing:
            return existing[0].id
        return await self.repo.add("Operator", OrganisationKind.OPERATOR, None, self.clock.now())

    @use_case
    async def add_operator(self, username: str, password: str) -> NewPerson:
        """Bootstrap path (CLI): an operator needs no other operator to exist."""
        org_id = await self.operator_organisation()
        try:
            user = await self.accounts.add_user(username, password)
        except AccountError:
            found = await self.accounts.find(username)
            if found is None:
                raise
            user = found
        await self.memberships.grant(user.id, org_id, Role.OPERATOR, self.clock.now())
        await self.audit.record(
            None, "person.add", "user", user.id, org_id, {"username": username, "role": "operator"}
        )
        return NewPerson(user.id, user.username, Role.OPERATOR, None)


def _in_domain(username: str, domain: str | None) -> str:
    """``username`` as a login of the organisation's domain: ``ann`` → ``ann@acme``; a name
    already in it stays; one in another domain is refused."""
    if domain is None:
        return username
    local, at, given = username.rpartition("@")
    if not at:
        return f"{username}@{domain}"
    if given.lower() != domain:
        raise AccountError(
            _("username: logins made here end in @%(domain)s; give the part before it")
            % {"domain": domain},
            "username",
        )
    return f"{local}@{domain}"


def _check_search(q: str | None) -> None:
    if q is not None and len(q) > LONGEST:
        raise OrganisationError(_("q: at most %(n)s characters") % {"n": LONGEST}, "q")


class ContractService:
    def __init__(
        self,
        contracts: ContractRepository,
        organisations: OrganisationRepository,
        audit: AuditTrail,
        clock: Clock,
        timezone: str = "Europe/Brussels",
        *,
        uow: UnitOfWork,
    ) -> None:
        self.uow = uow
        self.repo = contracts
        self.organisations = organisations
        self.audit = audit
        self.clock = clock
        self.zone = ZoneInfo(timezone)

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    @use_case
    async def create(
        self,
        actor: Actor,
        organisation_id: int,
        kind: ContractKind,
        *,
        starts_on: date,
        ends_on: date | None = None,
        currency: str = "EUR",
        fee_per_card: Decimal = Decimal(0),
        fee_per_station: Decimal = Decimal(0),
        fee_per_licence: Decimal = Decimal(0),
        mandate_reference: str | None = None,
        mandate_iban: str | None = None,
        mandate_bic: str | None = None,
        mandate_signed_on: date | None = None,
        prepaid: bool = False,
    ) -> Contract:
        require(
            actor,
            P.CONTRACTS_WRITE,
            organisation_id,
            missing=lambda: OrganisationNotFound(organisation_id),
            exists=await self.organisations.get(organisation_id) is not None,
        )
        try:
            check_period(starts_on, ends_on)
            plan = subscription_plan(currency, fee_per_card, fee_per_station, fee_per_licence)
        except ContractError as exc:
            raise translated(exc) from exc
        mandate = None
        if mandate_reference or mandate_iban:
            if not (mandate_reference and mandate_iban and mandate_signed_on):
                missing = next(
                    f
                    for f, v in (
                        ("mandate_reference", mandate_reference),
                        ("mandate_iban", mandate_iban),
                        ("mandate_signed_on", mandate_signed_on),
                    )
                    if not v
                )
                raise ContractError(
                    _("%(field)s: needed for a mandate") % {"field": missing}, missing
                )
            try:
                mandate = validate_mandate(
                    mandate_reference, mandate_iban, mandate_bic, mandate_signed_on, self.today()
                )
            except ContractError as exc:
                raise translated(exc) from exc
        values: dict[str, Any] = {
            "organisation_id": organisation_id,
            "kind": kind.value,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "currency": currency,
            "fee_per_card": plan.fee_per_card.amount,
            "fee_per_station": plan.fee_per_station.amount,
            "fee_per_licence": plan.fee_per_licence.amount,
            "mandate_reference": mandate.reference if mandate else None,
            "mandate_iban": mandate.iban if mandate else None,
            "mandate_bic": mandate.bic if mandate else None,
            "mandate_signed_on": mandate.signed_on if mandate else None,
            "prepaid": prepaid,
            "prepaid_balance": Decimal(0),
            "created_at": self.clock.now(),
        }
        try:
            contract_id = await self.repo.add(values)
        except IntegrityError as exc:
            raise ContractError(
                _("mandate reference: already used by another contract"), "mandate_reference"
            ) from exc
        await self.audit.record(
            actor,
            "contract.create",
            "contract",
            contract_id,
            organisation_id,
            {"kind": kind, "starts_on": starts_on, "prepaid": prepaid},
        )
        contract = await self.repo.get(contract_id)
        assert contract is not None
        return contract

    async def of_organisation(self, actor: Actor, organisation_id: int) -> list[Contract]:
        require(
            actor,
            P.CONTRACTS_READ,
            organisation_id,
            missing=lambda: OrganisationNotFound(organisation_id),
            exists=await self.organisations.get(organisation_id) is not None,
        )
        return await self.repo.of_organisation(organisation_id)
