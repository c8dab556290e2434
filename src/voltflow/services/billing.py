"""Billing runs: preview a period's documents, finalise them, credit an invoice, list what was
issued, reconcile a period (DESIGN §2 F, J; §4; §7).

A finalising run is one unit of work: it takes the runs' lock, reads what is billable and not
yet billed, and writes the run, every document with its gapless number, the items it billed,
its ledger journal and its mail, then commits. A process killed anywhere before the commit
leaves none of it, and the next run finds everything still to bill; a run of a period already
finalised finds nothing new, and a session that closed after its period was finalised goes
into the next one.

What is billable comes from sources (``BillableSource``): the platform's stations' price lines
(the driver's, the employee's and the host's) first; others, such as the reimbursements of
external devices' imported sessions, join them in the list ``bootstrap`` gives.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from voltflow import failpoints
from voltflow.domain.access import Actor, OrganisationKind, Permission
from voltflow.domain.billing.documents import Document, DocumentError, DocumentKind, Party
from voltflow.domain.billing.items import (
    BillableLine,
    BilledItem,
    Purpose,
    SourceKind,
)
from voltflow.domain.billing.ledger import journal_for
from voltflow.domain.billing.parties import default_peppol_id
from voltflow.domain.billing.reconciliation import IssuedDocument, Reconciliation, reconcile
from voltflow.domain.billing.records import DocumentFilter, DocumentRecord
from voltflow.domain.billing.runs import (
    BillingPeriod,
    Customer,
    Payee,
    PlannedDocument,
    RunTerms,
    Skipped,
    credit_note,
    numbered,
    plan_run,
)
from voltflow.domain.mail import DocumentIssued
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.records import Contract, Organisation
from voltflow.domain.tariffs import Tariff
from voltflow.i18n import _, formats, ngettext, use
from voltflow.services.access import require, scope_of
from voltflow.services.audit import AuditTrail
from voltflow.services.mail import MailService
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.units import use_case
from voltflow.store.billing import BillingRepository
from voltflow.store.tariffs import TariffRepository

if TYPE_CHECKING:
    from voltflow.documents.peppol import ValidationResult

P = Permission
Progress = Callable[[int, int], None]
LONGEST_REASON = 500
log = logging.getLogger(__name__)
# The kinds that are e-invoices (Peppol BIS Billing 3.0 UBL) besides their PDF.
E_INVOICES = frozenset({DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE})
# The kinds whose reader is paid: the seller of the statement rather than its buyer.
STATEMENTS = frozenset({DocumentKind.SELF_BILLING, DocumentKind.REIMBURSEMENT_STATEMENT})


class DocumentFormat(enum.StrEnum):
    PDF = "pdf"
    UBL = "ubl"


class Rendered(NamedTuple):
    """A document as a file: its name, its content type and its bytes."""

    filename: str
    media_type: str
    content: bytes


class BillingError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DocumentNotFound(LookupError):
    pass


class InvalidEInvoice(BillingError):
    """The UBL of a document breaks the Peppol rules (``failed``: their ids): it is not handed
    out, since the buyer's access point would refuse it."""

    def __init__(self, message: str, failed: Sequence[str]) -> None:
        super().__init__(message, "format")
        self.failed = tuple(failed)


class BillableSource(Protocol):
    """Where billable amounts come from: what is not billed yet up to a period's end, and what
    the sources of billed items say of them now (the reconciliation's side)."""

    @property
    def kind(self) -> SourceKind: ...

    async def unbilled(
        self, start: datetime, stop: datetime, customer: int | None
    ) -> list[BillableLine]:
        """Billable lines not billed yet, of what closed before ``stop`` (and the never
        billable ones, listed as skipped, of what closed from ``start``)."""
        ...

    async def current(self, source_ids: Sequence[int]) -> list[BillableLine]: ...


class PrepaidDraws(Protocol):
    """What sessions drew from their customers' prepaid balances: their invoice shows it as
    paid already (``store.payments``)."""

    async def drawn(self, session_ids: Sequence[int]) -> Mapping[int, Decimal]: ...


class StationSessionLines:
    """The platform's stations' sessions: their driver, employee and host price lines."""

    kind = SourceKind.SESSION

    def __init__(self, repo: BillingRepository) -> None:
        self.repo = repo

    async def unbilled(
        self, start: datetime, stop: datetime, customer: int | None
    ) -> list[BillableLine]:
        return await self.repo.billable_lines(start, stop, customer)

    async def current(self, source_ids: Sequence[int]) -> list[BillableLine]:
        if not source_ids:
            return []
        return await self.repo.billable_lines(None, None, None, sessions=source_ids)


@dataclass(frozen=True, slots=True)
class RunDocument:
    """A document of a run: numbered once finalised (``id`` its stored row)."""

    document: Document
    recipient: str
    organisation_id: int | None
    user_id: int | None
    id: int | None = None
    mailed: bool = False


@dataclass(frozen=True, slots=True)
class RunResult:
    period: BillingPeriod
    finalised: bool
    documents: tuple[RunDocument, ...]
    skipped: tuple[Skipped, ...]
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class BillingSettings:
    """The operator's side of every document, and the platform's billing terms."""

    operator: Party
    currency: str = "EUR"
    vat_rate: Decimal = Decimal(21)
    payment_days: int = 14
    timezone: str = "Europe/Brussels"
    # The Peppol rule sets e-invoices are checked against before they are handed out; None, or
    # a directory without them: handed out after the renderer's own checks only.
    peppol_rules: Path | None = None


class _Wording:
    """Lines' texts, in the document's language (``runs.Wording``)."""

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone

    def charging(self, language: str, tariff_id: str | None, sessions: int, energy_wh: int) -> str:
        with use(language):
            values = {"tariff": tariff_id, "count": sessions, "energy": formats.kwh(energy_wh)}
            if tariff_id:
                return (
                    ngettext(
                        "Public charging, tariff %(tariff)s: %(count)s session, %(energy)s",
                        "Public charging, tariff %(tariff)s: %(count)s sessions, %(energy)s",
                        sessions,
                    )
                    % values
                )
            return (
                ngettext(
                    "Public charging: %(count)s session, %(energy)s",
                    "Public charging: %(count)s sessions, %(energy)s",
                    sessions,
                )
                % values
            )

    def subscription(
        self, language: str, fee: str, count: int, period: BillingPeriod, days: int
    ) -> str:
        with use(language):
            month = formats.month(period.start)
            what = {
                "card": lambda: _("Subscription per active card, %(month)s"),
                "station": lambda: _("Subscription per station, %(month)s"),
                "licence": lambda: _("Subscription per split-billing licence, %(month)s"),
            }[fee]() % {"month": month}
            if days < period.days:
                what += " " + _("(%(days)s of %(month_days)s days)") % {
                    "days": days,
                    "month_days": period.days,
                }
            return what

    def reimbursement(self, language: str, line: BillableLine, employee: str) -> str:
        with use(language):
            return _("Home charging of %(employee)s on %(day)s at %(station)s, %(energy)s") % {
                "employee": employee,
                "day": formats.when(line.started_at, self.timezone, "date"),
                "station": line.station_id,
                "energy": formats.kwh(line.energy_wh),
            }

    def remuneration(self, language: str, line: BillableLine) -> str:
        with use(language):
            return _("Public charging at %(station)s on %(day)s, %(energy)s") % {
                "station": line.station_id,
                "day": formats.when(line.started_at, self.timezone, "date"),
                "energy": formats.kwh(line.energy_wh),
            }


def _tariff_vat(tariff: Tariff) -> Decimal | bool | None:
    """The one VAT rate a tariff's components state; False: they state none; None: they
    disagree."""
    stated = {c.vat for e in tariff.elements for c in e.price_components if c.vat is not None}
    if not stated:
        return False
    if len(stated) > 1:
        return None
    return stated.pop()


class BillingService:
    def __init__(
        self,
        repo: BillingRepository,
        tariffs: TariffRepository,
        mail: MailService,
        audit: AuditTrail,
        clock: Clock,
        settings: BillingSettings,
        *,
        uow: UnitOfWork,
        sources: Sequence[BillableSource] | None = None,
        prepaid: PrepaidDraws | None = None,
    ) -> None:
        self.uow = uow
        self.prepaid = prepaid
        self.repo = repo
        self.tariffs = tariffs
        self.mail = mail
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.wording = _Wording(settings.timezone)
        self.sources: list[BillableSource] = (
            list(sources) if sources is not None else [StationSessionLines(repo)]
        )

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    def last_month(self) -> BillingPeriod:
        return BillingPeriod.containing(self.today()).previous()

    # -- runs ------------------------------------------------------------------------------------
    async def preview(
        self, actor: Actor, period: BillingPeriod, customer: int | None = None
    ) -> RunResult:
        """The documents a run would issue now, without numbers; nothing is stored."""
        require(actor, P.BILLING_WRITE, None)
        await self._check_customer(customer)
        planned, skipped = await self._plan(period, customer)
        return RunResult(
            period,
            False,
            tuple(
                RunDocument(p.document, p.recipient.name, p.organisation_id, p.user_id)
                for p in planned
            ),
            skipped,
        )

    @use_case
    async def finalise(
        self,
        actor: Actor,
        period: BillingPeriod,
        customer: int | None = None,
        *,
        progress: Progress | None = None,
    ) -> RunResult:
        """Issues the period's documents, all or none (see the module's docstring)."""
        require(actor, P.BILLING_WRITE, None)
        await self._check_customer(customer)
        if self.today() <= period.end:
            raise BillingError(
                _("period: %(period)s has not ended yet; preview it, finalise it once it has")
                % {"period": period.label},
                "period",
            )
        await self.repo.lock_runs()
        planned, skipped = await self._plan(period, customer)
        now = self.clock.now()
        run_id = await self.repo.add_run(
            period.start, period.end, customer, actor.username, len(planned), now
        )
        issued: list[RunDocument] = []
        for done, plan in enumerate(planned, start=1):
            issued.append(await self._issue(plan, run_id, now))
            # A process killed here leaves nothing of the run: the transaction never commits.
            await failpoints.reach("billing.document_issued")
            if progress is not None:
                progress(done, len(planned))
        await self.audit.record(
            actor,
            "billing.finalise",
            "billing_run",
            run_id,
            customer,
            {"period": period.label, "documents": len(issued)},
        )
        return RunResult(period, True, tuple(issued), skipped, run_id)

    async def _issue(self, plan: PlannedDocument, run_id: int | None, now: datetime) -> RunDocument:
        year = plan.document.issue_date.year
        sequence = await self.repo.next_number(plan.document.kind, year)
        document = numbered(plan.document, year, sequence)
        document_id = await self.repo.add_document(
            document,
            plan.purposes,
            run_id=run_id,
            organisation_id=plan.organisation_id,
            user_id=plan.user_id,
            now=now,
        )
        try:
            await self.repo.add_billed(plan.items, document_id, now)
        except IntegrityError as exc:
            raise BillingError(
                _("%(number)s bills something another document billed already: run again")
                % {"number": document.number},
                "period",
            ) from exc
        journal = journal_for(
            document, plan.purposes, organisation_id=plan.organisation_id, user_id=plan.user_id
        )
        await self.repo.add_journal(journal, document_id, now)
        mailed = await self._mail(document, document_id, plan.organisation_id, plan.user_id)
        return RunDocument(
            document,
            plan.recipient.name,
            plan.organisation_id,
            plan.user_id,
            document_id,
            mailed,
        )

    async def _check_customer(self, customer: int | None) -> None:
        if customer is None:
            return
        found = (await self.repo.organisations([customer])).get(customer)
        if found is None or found.kind is OrganisationKind.OPERATOR:
            raise BillingError(
                _("customer: no customer organisation %(id)s") % {"id": customer}, "customer"
            )

    async def _plan(
        self, period: BillingPeriod, customer: int | None
    ) -> tuple[list[PlannedDocument], tuple[Skipped, ...]]:
        start, stop = period.bounds(self.zone)
        lines: list[BillableLine] = []
        for source in self.sources:
            lines += await source.unbilled(start, stop, customer)
        lines = await self._with_draws(lines)
        subscriptions = await self.repo.subscription_bases(
            period.start, period.end, start, stop, customer
        )
        organisations = await self.repo.organisations(
            {line.customer_id for line in lines if line.customer_id is not None}
            | {s.organisation_id for s in subscriptions}
        )
        contracts = await self.repo.contracts_of(organisations)
        customers = {
            org.id: Customer(
                org.id, self._party(org), _mandate(contracts.get(org.id, []), period.end)
            )
            for org in organisations.values()
            if org.kind is not OrganisationKind.OPERATOR
        }
        people = await self.repo.people(
            {line.person_id for line in lines if line.person_id is not None}
        )
        payees = {
            person_id: Payee(
                person_id,
                Party(
                    person.get("full_name") or person["username"],
                    iban=person.get("iban"),
                    email=person.get("email"),
                    language=person.get("language") or "en",
                ),
            )
            for person_id, person in people.items()
        }
        vat_rates = await self._vat_rates(lines)
        terms = RunTerms(
            operator=self.settings.operator,
            currency=self.settings.currency,
            issue_date=self.today(),
            payment_days=self.settings.payment_days,
            default_vat_rate=self.settings.vat_rate,
            zone=self.zone,
        )
        plan = plan_run(
            period,
            lines,
            subscriptions,
            terms=terms,
            customers=customers,
            payees=payees,
            vat_rates=vat_rates,
            wording=self.wording,
        )
        return list(plan.documents), plan.skipped

    async def _with_draws(self, lines: list[BillableLine]) -> list[BillableLine]:
        """The driver's lines with what their sessions drew from a prepaid balance."""
        charged = [
            line.source_id
            for line in lines
            if line.purpose is Purpose.CHARGING and line.source_kind is SourceKind.SESSION
        ]
        if self.prepaid is None or not charged:
            return lines
        drawn = await self.prepaid.drawn(charged)
        return [
            replace(line, prepaid=drawn[line.source_id])
            if line.purpose is Purpose.CHARGING
            and line.source_kind is SourceKind.SESSION
            and line.source_id in drawn
            else line
            for line in lines
        ]

    async def _vat_rates(
        self, lines: Sequence[BillableLine]
    ) -> dict[tuple[str, int], Decimal | None]:
        wanted = {
            (line.tariff_id, line.tariff_version)
            for line in lines
            if line.purpose is Purpose.CHARGING
            and line.tariff_id is not None
            and line.tariff_version is not None
        }
        if not wanted:
            return {}
        out: dict[tuple[str, int], Decimal | None] = {}
        for tariff_id, versions in (await self.tariffs.every_version()).items():
            for version in versions:
                key = (tariff_id, version.version)
                if key not in wanted:
                    continue
                rate = _tariff_vat(version.tariff)
                if rate is not False:
                    out[key] = rate if isinstance(rate, Decimal) else None
        return out

    def _party(self, org: Organisation) -> Party:
        peppol = org.peppol_id
        if peppol is None and org.kind is OrganisationKind.COMPANY:
            peppol = default_peppol_id(org.vat_number)
        return Party(
            org.name,
            street=org.street,
            postal_code=org.postal_code,
            city=org.city,
            country=org.country or "BE",
            vat_number=org.vat_number,
            peppol_id=peppol,
            iban=org.iban,
            bic=org.bic,
            email=org.billing_email,
            language=org.document_language or "en",
        )

    async def _mail(
        self, document: Document, document_id: int, organisation_id: int | None, user_id: int | None
    ) -> bool:
        """Queues the document's mail, with the run: to the person it pays, else to the
        organisation's billing address, else to its longest-standing fleet manager with an
        address. False when there is nobody to mail."""
        assert document.number is not None
        content = DocumentIssued(
            document_kind=document.kind.value,
            number=document.number,
            issuer=self.settings.operator.name,
            period_start=document.period_start,
            period_end=document.period_end,
            issued_on=document.issue_date,
            due_on=document.due_date,
            currency=document.currency,
            total=document.total_incl_vat.amount,
            payment_reference=document.payment_reference,
            mandate_reference=document.mandate_reference,
            corrects=document.corrects,
            iban=self.settings.operator.iban,
            prepaid=document.prepaid_amount,
        )
        if user_id is not None:
            queued = await self.mail.to_person(
                content, user_id, organisation_id=organisation_id, document_id=document_id
            )
            return queued is not None
        if organisation_id is None:
            return False
        if document.buyer.email:
            await self.mail.to_organisation(
                content,
                organisation_id,
                document.buyer.email,
                document.buyer.name,
                document_id=document_id,
            )
            return True
        for manager in await self.repo.fleet_managers(organisation_id):
            queued = await self.mail.to_person(
                content, manager, organisation_id=organisation_id, document_id=document_id
            )
            if queued is not None:
                return True
        return False

    # -- corrections -----------------------------------------------------------------------------
    @use_case
    async def credit(
        self,
        actor: Actor,
        document_number: str,
        reason: str,
        lines: Sequence[int] | None = None,
    ) -> RunDocument:
        """A credit note (its own series) giving back ``lines`` (1-based) of a finalised
        invoice, or every line not credited yet; the invoice itself never changes."""
        require(actor, P.BILLING_WRITE, None)
        reason = reason.strip()
        if not 1 <= len(reason) <= LONGEST_REASON:
            raise BillingError(_("reason: 1–%(n)s characters") % {"n": LONGEST_REASON}, "reason")
        await self.repo.lock_runs()
        found = await self.repo.issued(number=document_number)
        if not found:
            raise DocumentNotFound(document_number)
        record, invoice, purposes = found[0]
        if invoice.kind is not DocumentKind.INVOICE:
            raise BillingError(
                _("document_number: %(number)s is no invoice; only invoices are credited")
                % {"number": document_number},
                "document_number",
            )
        credited = await self.repo.credited_lines(document_number)
        count = len(invoice.lines)
        if lines is None:
            chosen = [n for n in range(1, count + 1) if n not in credited]
            if not chosen:
                raise BillingError(
                    _("document_number: %(number)s is credited in full already")
                    % {"number": document_number},
                    "document_number",
                )
        else:
            chosen = list(lines)
            bad = [n for n in chosen if not 1 <= n <= count]
            if bad or not chosen or len(set(chosen)) != len(chosen):
                raise BillingError(
                    _("lines: each of 1 to %(count)s at most once") % {"count": count}, "lines"
                )
            again = sorted(set(chosen) & credited)
            if again:
                raise BillingError(
                    _("lines: %(lines)s credited already")
                    % {"lines": ", ".join(str(n) for n in again)},
                    "lines",
                )
        note = credit_note(invoice, chosen, reason, self.today())
        plan = PlannedDocument(
            note,
            record.organisation_id,
            None,
            tuple(purposes[n - 1] for n in chosen),
            tuple(
                BilledItem(
                    SourceKind.INVOICE_LINE,
                    f"{document_number}/{n}",
                    Purpose.CREDIT,
                    invoice.lines[n - 1].net,
                )
                for n in chosen
            ),
        )
        issued = await self._issue(plan, None, self.clock.now())
        await self.audit.record(
            actor,
            "billing.credit",
            "billing_document",
            issued.id,
            record.organisation_id,
            {"corrects": document_number, "lines": chosen, "reason": reason},
        )
        return issued

    # -- reading ---------------------------------------------------------------------------------
    async def documents(
        self,
        actor: Actor,
        filters: DocumentFilter,
        page: PageRequest,
        *,
        newest_first: bool = False,
    ) -> Page[DocumentRecord]:
        """The issued documents the actor may read: an operator's every one, a fleet manager's
        their organisation's, a driver's or host's those that pay them."""
        within = scope_of(actor, P.BILLING_READ)
        person = None
        if within is not None and (actor.scopes is None or P.BILLING_READ in actor.scopes):
            person = actor.user_id
        return await self.repo.page(
            filters, page, within=within, person=person, newest_first=newest_first
        )

    async def document(self, actor: Actor, number: str) -> tuple[DocumentRecord, Document]:
        found = await self.repo.issued(number=number)
        record = found[0][0] if found else None
        if record is None or not self._may_read(actor, record):
            raise DocumentNotFound(number)
        return record, found[0][1]

    def _may_read(self, actor: Actor, record: DocumentRecord) -> bool:
        within = scope_of(actor, P.BILLING_READ)
        if within is None:
            return True
        if record.organisation_id in within:
            return True
        return record.user_id == actor.user_id and (
            actor.scopes is None or P.BILLING_READ in actor.scopes
        )

    async def rendered(self, actor: Actor, number: str, format: DocumentFormat | str) -> Rendered:
        """Issued document ``number`` as a file, to whoever may read it: its PDF in the
        language of whom it is issued to (the words of its lines were written in that language
        when it was issued, and this is the PDF their mail carries), or, for an invoice or a
        credit note, its e-invoice in UBL, checked against the Peppol rules first."""
        # The renderers load their libraries when a document is first asked for, not with
        # every command the platform runs.
        from voltflow.documents.pdf import to_pdf
        from voltflow.documents.ubl import to_ubl

        document = (await self.document(actor, number))[1]
        try:
            chosen = DocumentFormat(format)
        except ValueError:
            raise BillingError(_("format: pdf or ubl"), "format") from None
        if chosen is DocumentFormat.PDF:
            content = await asyncio.to_thread(
                to_pdf,
                document,
                language=recipient_of(document).language,
                timezone=self.settings.timezone,
            )
            return Rendered(f"{number}.pdf", "application/pdf", content)
        if document.kind not in E_INVOICES:
            raise BillingError(
                _("format: %(number)s is no invoice nor credit note: it has no e-invoice (UBL)")
                % {"number": number},
                "format",
            )
        try:
            xml = to_ubl(document)
        except DocumentError as exc:
            raise BillingError(
                _("format: no e-invoice can be made of %(number)s: %(reason)s")
                % {"number": number, "reason": exc},
                "format",
            ) from exc
        checked = await self._peppol(xml)
        if checked is not None and not checked.valid:
            failed = sorted(checked.fatal_ids)
            log.error("the UBL of %s breaks the Peppol rules %s", number, ", ".join(failed))
            raise InvalidEInvoice(
                _("format: the e-invoice of %(number)s breaks the Peppol rules %(rules)s")
                % {"number": number, "rules": ", ".join(failed)},
                failed,
            )
        return Rendered(f"{number}.xml", "application/xml", xml)

    async def _peppol(self, xml: bytes) -> ValidationResult | None:
        """The Peppol rules' verdict on ``xml``; None when the rules are not installed."""
        from voltflow.documents.peppol import RulesMissing, validator

        rules = self.settings.peppol_rules
        if rules is None:
            return None

        def check() -> ValidationResult | None:
            try:
                return validator(rules).validate(xml)
            except RulesMissing as exc:
                log.warning("e-invoices handed out unchecked: %s", exc)
                return None

        return await asyncio.to_thread(check)

    async def credited_lines(self, actor: Actor, number: str) -> set[int]:
        """The lines (1-based) of invoice ``number`` that credit notes gave back already."""
        require(actor, P.BILLING_WRITE, None)
        return await self.repo.credited_lines(number)

    async def reconcile(self, actor: Actor, period: BillingPeriod) -> Reconciliation:
        """The period's documents, the sessions they bill and the ledger, side by side."""
        require(actor, P.BILLING_WRITE, None)
        issued = await self.repo.issued(period_start=period.start)
        ids = [record.id for record, _, _ in issued]
        billed = await self.repo.billed_by(ids)
        priced: dict[tuple[str, str, str], Decimal] = {}
        for source in self.sources:
            wanted = [int(i.source_id) for i in billed if i.source_kind is source.kind]
            for line in await source.current(sorted(set(wanted))):
                priced[line.item().key] = line.amount
        postings = await self.repo.postings_of(ids)
        return reconcile(
            [IssuedDocument(document, purposes) for _, document, purposes in issued],
            billed,
            priced,
            postings,
        )

    async def customer_named(self, name_or_id: str) -> int:
        """A customer organisation by its id or its exact name."""
        found = await self.repo.find_customer(name_or_id)
        if len(found) != 1:
            raise BillingError(
                _("customer: no single customer organisation is %(name)s") % {"name": name_or_id},
                "customer",
            )
        return found[0]


def recipient_of(document: Document) -> Party:
    """Whom a document is issued to: the buyer, or the person a statement pays (its seller)."""
    return document.seller if document.kind in STATEMENTS else document.buyer


def _mandate(contracts: Sequence[Contract], day: date) -> str | None:
    """The direct-debit mandate of the contract in force on ``day`` (the latest first)."""
    for contract in contracts:
        if contract.mandate_reference and contract.in_force(day):
            return contract.mandate_reference
    return None
