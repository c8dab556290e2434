"""Customers and the people in them; contracts with their mandate and plan."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
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
from voltflow.domain.billing.parties import (
    BillingDetailsError,
    bank_account,
    country_code,
    default_peppol_id,
    peppol_id,
    postal_code,
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
from voltflow.domain.vat import VatNumberError, belgian_vat_number
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


class PersonNotFound(LookupError):
    """No such person in the organisation (or none the actor may see)."""


# What can be changed of an organisation after it is made (``OrganisationService.update``).
DETAILS = (
    "vat_number",
    "document_language",
    "street",
    "postal_code",
    "city",
    "country",
    "peppol_id",
    "iban",
    "bic",
    "billing_email",
)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TEXT_LENGTHS = {"street": 200, "city": 100}


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
        details: Mapping[str, str | None] | None = None,
    ) -> Organisation:
        """A customer organisation; ``details`` as :meth:`update` takes them (its address,
        Peppol id, bank account, billing address)."""
        require(actor, P.CUSTOMERS_WRITE, None)
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise OrganisationError(_("name: 1–200 characters"), "name")
        if document_language is not None and document_language not in LANGUAGES:
            raise OrganisationError(_("document language: one of nl, fr, en"), "document_language")
        given: dict[str, str | None] = dict(details or {})
        if vat_number is not None and vat_number.strip():
            given["vat_number"] = vat_number
        values = _checked_details(given, None, kind)
        vat_number = values.pop("vat_number", None)
        domain = None
        if kind is not OrganisationKind.OPERATOR:
            base = login_domain(name)
            domain = login_domain(name, await self.repo.login_domains(base))
        try:
            org_id = await self.repo.add(
                name,
                kind,
                vat_number,
                self.clock.now(),
                login_domain=domain,
            )
        except IntegrityError as exc:  # another organisation took the domain meanwhile
            raise OrganisationError(_("name: try again"), "name") from exc
        if document_language is not None:
            values["document_language"] = document_language
        if values:
            await self.repo.update(org_id, **values)
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

    @use_case
    async def update(
        self, actor: Actor, organisation_id: int, changes: Mapping[str, str | None]
    ) -> Organisation:
        """Changes what its documents carry (``DETAILS``): each given key is set (None or an
        empty text clears it), each checked (VAT number, Peppol id, IBAN and BIC, country,
        postal code, billing address) and refused naming the field. A Belgian company whose
        VAT number is set gets ``0208:`` and its enterprise number as Peppol id, unless it
        gives another."""
        org = await self.get(actor, organisation_id)
        require(actor, P.CUSTOMERS_WRITE, organisation_id)
        values = _checked_details(changes, org, org.kind)
        if values:
            await self.repo.update(organisation_id, **values)
            await self.audit.record(
                actor,
                "organisation.update",
                "organisation",
                organisation_id,
                organisation_id,
                {"changed": sorted(values)},
            )
        return await self.get(actor, organisation_id)

    @use_case
    async def set_person_iban(
        self, actor: Actor, organisation_id: int, user_id: int, iban: str | None
    ) -> Person:
        """Where the platform pays a person of the organisation (an employee's
        reimbursements, a host's remuneration); None clears it."""
        await self.get(actor, organisation_id)
        require(actor, P.PEOPLE_WRITE, organisation_id)
        if not any(
            m.organisation_id == organisation_id for m in await self.memberships.of_user(user_id)
        ):
            raise PersonNotFound(user_id)
        compact = None
        if iban is not None and iban.strip():
            try:
                compact = bank_account(iban).iban
            except BillingDetailsError as exc:
                raise OrganisationError(
                    _("iban: %(iban)s is not a valid IBAN") % {"iban": iban}, "iban"
                ) from exc
        await self.accounts.repo.update(user_id, iban=compact)
        await self.audit.record(
            actor, "person.iban", "user", user_id, organisation_id, {"iban": bool(compact)}
        )
        found = await self.memberships.person(organisation_id, user_id)
        assert found is not None
        return found

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


def _checked_details(
    changes: Mapping[str, str | None], current: Organisation | None, kind: OrganisationKind
) -> dict[str, str | None]:
    """The values to store for ``changes`` (see ``OrganisationService.update``)."""
    values: dict[str, str | None] = {}
    for key, raw in changes.items():
        if key not in DETAILS:
            raise OrganisationError(
                _("%(field)s: not a field of an organisation") % {"field": key}, key
            )
        text = raw.strip() if isinstance(raw, str) else None
        values[key] = _checked(key, text) if text else None
    if "iban" in values or "bic" in values:
        iban = values.get("iban", current.iban if current else None)
        bic = values.get("bic", current.bic if current else None)
        if iban is None:
            # No account: no bank either (a BIC given alone is refused).
            if values.get("bic") is not None:
                raise OrganisationError(_("bic: give the IBAN it belongs to"), "bic")
            values["bic"] = None
        else:
            try:
                account = bank_account(iban, bic)
            except BillingDetailsError as exc:
                if exc.field == "iban":
                    raise OrganisationError(
                        _("iban: %(iban)s is not a valid IBAN") % {"iban": iban}, "iban"
                    ) from exc
                if exc.reason == "bic_country":
                    raise OrganisationError(
                        _("bic: %(bic)s is not a bank of the IBAN's country") % {"bic": bic}, "bic"
                    ) from exc
                raise OrganisationError(
                    _("bic: %(bic)s is not a valid BIC") % {"bic": bic}, "bic"
                ) from exc
            values["iban"], values["bic"] = account.iban, account.bic
    if kind is OrganisationKind.COMPANY and "vat_number" in values and "peppol_id" not in values:
        # A Belgian company receives its e-invoices under its enterprise number, unless it said
        # otherwise: the default follows its VAT number, a Peppol id it gave stays.
        old_vat = current.vat_number if current else None
        old_peppol = current.peppol_id if current else None
        if old_peppol is None or old_peppol == default_peppol_id(old_vat):
            values["peppol_id"] = default_peppol_id(values["vat_number"])
    return values


def _checked(key: str, text: str) -> str:
    """One detail in its stored form, or refused naming its field."""
    try:
        if key == "vat_number":
            return belgian_vat_number(text)
        if key == "peppol_id":
            return peppol_id(text)
        if key == "country":
            return country_code(text)
        if key == "postal_code":
            return postal_code(text)
    except VatNumberError as exc:
        if exc.reason == "checksum":
            raise OrganisationError(
                _("vat_number: %(vat)s: its check digits are wrong") % {"vat": text}, key
            ) from exc
        raise OrganisationError(
            _("vat_number: %(vat)s is not a Belgian VAT number (BE and ten digits)")
            % {"vat": text},
            key,
        ) from exc
    except BillingDetailsError as exc:
        message = {
            "peppol_id": _("peppol_id: %(value)s is not scheme:identifier, e.g. 0208:0123456749"),
            "country": _("country: %(value)s is not a two-letter country code, e.g. BE"),
            "postal_code": _(
                "postal_code: %(value)s: at most 16 letters, digits, spaces or hyphens"
            ),
        }[key]
        if key == "peppol_id" and exc.reason == "checksum":
            message = _("peppol_id: %(value)s: the enterprise number's check digits are wrong")
        raise OrganisationError(message % {"value": text}, key) from exc
    if key == "document_language":
        if text not in LANGUAGES:
            raise OrganisationError(_("document language: one of nl, fr, en"), key)
        return text
    if key == "billing_email":
        if len(text) > 254 or not _EMAIL.match(text):
            raise OrganisationError(
                _("billing_email: %(value)s is not an e-mail address") % {"value": text}, key
            )
        return text
    if key in _TEXT_LENGTHS and len(text) > _TEXT_LENGTHS[key]:
        raise OrganisationError(
            _("%(field)s: at most %(n)s characters") % {"field": key, "n": _TEXT_LENGTHS[key]},
            key,
        )
    return text


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
