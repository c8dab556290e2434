"""What a billing run makes of a period's billable items: the documents, before they are numbered.

A run for a period (a calendar month, in the platform's time zone) reads everything billable
and not yet billed up to the period's end (a session that closed after its period was
finalised is billed by the next run) and makes:

- one **invoice** per customer organisation: its cards' public sessions (the driver's price
  excl. VAT, a line per tariff and VAT rate, each line naming its sessions, a row per session in
  the annex) and its contracts' subscription fees (per active card, station and licence, pro
  rata for the days of the month the contract was in force), with VAT;
- one **payment request** per employer: its employees' split-billing reimbursements, a line per
  session, no VAT (category O), collected by direct debit when its contract has a mandate and
  otherwise paid by transfer with its structured reference;
- one **reimbursement statement** per employee, with the same sessions;
- one **self-billing statement** per host: their remuneration for public sessions at their
  station, as they receive it.

Invalid and whitelist sessions are never billed: they are listed as skipped, with their reason.
So is anything whose customer or payee is unknown, or whose price is missing.

Parties: an invoice or payment request is issued by the operator (seller) to the customer
(buyer). A statement is the platform's account of what it pays: the person paid is the seller
(they supply the electricity, or the hosting), the operator the buyer, as a self-billed invoice
has it.

Amounts are those of the price lines (already rounded to the cent where a person pays or is
paid); a line's net is their sum. The only other rounding is the one a pro-rated fee needs.
"""

from __future__ import annotations

import calendar
import enum
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from voltflow.domain.billing.documents import (
    AnnexRow,
    Document,
    DocumentKind,
    DocumentLine,
    Party,
    VatCategory,
    document_number,
)
from voltflow.domain.billing.items import (
    BillableLine,
    BilledItem,
    Purpose,
    SourceKind,
    SubscriptionBasis,
)
from voltflow.domain.billing.references import structured_reference

ZERO = Decimal(0)
# The places a pro-rated unit price keeps (a month's fee × days in force / days in the month).
PRICE_PLACES = Decimal("0.0001")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# The order documents are numbered in: a run's numbers follow it, then the party's name.
KIND_ORDER = (
    DocumentKind.INVOICE,
    DocumentKind.PAYMENT_REQUEST,
    DocumentKind.REIMBURSEMENT_STATEMENT,
    DocumentKind.SELF_BILLING,
)
# The kinds paid to the platform: they carry a structured reference (its first digit says
# which series it belongs to).
REFERENCE_DIGITS = {DocumentKind.INVOICE: 1, DocumentKind.PAYMENT_REQUEST: 2}


class PeriodError(ValueError):
    def __init__(self, message: str, field: str = "period") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """A calendar month, ``start`` to ``end`` inclusive, as the platform's time zone counts
    days."""

    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> BillingPeriod:
        if not 1 <= month <= 12 or not 2000 <= year <= 9999:
            raise PeriodError(f"period: no month {year:04d}-{month:02d}")
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last))

    @classmethod
    def parse(cls, text: str) -> BillingPeriod:
        """``2026-11``."""
        found = _MONTH.match(text.strip())
        if found is None:
            raise PeriodError(f"period: {text!r} is not a month written YYYY-MM")
        return cls.month(int(found.group(1)), int(found.group(2)))

    @classmethod
    def containing(cls, day: date) -> BillingPeriod:
        return cls.month(day.year, day.month)

    def previous(self) -> BillingPeriod:
        return BillingPeriod.containing(self.start - timedelta(days=1))

    @property
    def label(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants: from its first day's local midnight to the local
        midnight after its last day (exclusive)."""
        start = datetime.combine(self.start, time(), zone).astimezone(UTC)
        stop = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, stop


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer organisation as its documents name it, and its direct-debit mandate."""

    id: int
    party: Party
    mandate_reference: str | None = None


@dataclass(frozen=True, slots=True)
class Payee:
    """A person the platform pays (an employee, a host)."""

    id: int
    party: Party


class SkipReason(enum.StrEnum):
    INVALID = "invalid"  # an invalid session: never billed
    WHITELIST = "whitelist"  # free charging
    NO_CUSTOMER = "no_customer"  # the card belongs to no customer organisation
    NO_PAYEE = "no_payee"  # no employee or host known to pay
    NO_PRICE = "no_price"  # nothing priced it (no tariff, no reimbursement rate)
    MIXED_VAT = "mixed_vat"  # its tariff has components at different VAT rates
    CURRENCY = "currency"  # not in the platform's currency


@dataclass(frozen=True, slots=True)
class Skipped:
    line: BillableLine
    reason: SkipReason
    detail: str | None = None  # the session's type reason, when it has one


class Wording(Protocol):
    """The texts of lines, in the language of the document they are on."""

    def charging(
        self, language: str, tariff_id: str | None, sessions: int, energy_wh: int
    ) -> str: ...

    def subscription(
        self, language: str, fee: str, count: int, period: BillingPeriod, days: int
    ) -> str:
        """``fee``: ``card``, ``station`` or ``licence``; ``days`` of ``period.days`` billed."""
        ...

    def reimbursement(self, language: str, line: BillableLine, employee: str) -> str: ...

    def remuneration(self, language: str, line: BillableLine) -> str: ...


@dataclass(frozen=True, slots=True)
class PlannedDocument:
    """A document a run would issue (numbered when it is finalised), with what it bills: the
    purpose of each of its lines (the ledger books by it) and the items it marks billed."""

    document: Document
    organisation_id: int | None
    user_id: int | None
    purposes: tuple[Purpose, ...]
    items: tuple[BilledItem, ...]

    @property
    def recipient(self) -> Party:
        """Who receives it: the buyer of what the operator issues, the seller of a statement."""
        if self.document.kind in (DocumentKind.SELF_BILLING, DocumentKind.REIMBURSEMENT_STATEMENT):
            return self.document.seller
        return self.document.buyer


@dataclass(frozen=True, slots=True)
class RunPlan:
    period: BillingPeriod
    documents: tuple[PlannedDocument, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True, slots=True)
class RunTerms:
    """What the platform sets for every run."""

    operator: Party
    currency: str
    issue_date: date
    payment_days: int
    default_vat_rate: Decimal  # for charging whose tariff states no VAT, and for subscriptions
    zone: ZoneInfo  # whose days the lines' dates are


def plan_run(
    period: BillingPeriod,
    lines: Iterable[BillableLine],
    subscriptions: Iterable[SubscriptionBasis],
    *,
    terms: RunTerms,
    customers: Mapping[int, Customer],
    payees: Mapping[int, Payee],
    vat_rates: Mapping[tuple[str, int], Decimal | None],
    wording: Wording,
) -> RunPlan:
    """The documents the billable ``lines`` and ``subscriptions`` make, and what is skipped.

    ``vat_rates``: the VAT rate each (tariff, version) states for all its components (absent:
    it states none, and the default applies; None: its components disagree)."""
    skipped: list[Skipped] = []
    charging: dict[int, list[tuple[BillableLine, Decimal]]] = defaultdict(list)
    reimbursed: dict[int, list[BillableLine]] = defaultdict(list)
    remunerated: dict[int, list[BillableLine]] = defaultdict(list)
    for line in lines:
        reason = _skip_reason(line, terms.currency, customers, payees)
        if reason is None and line.purpose is Purpose.CHARGING:
            rate = _vat_rate(line, vat_rates, terms.default_vat_rate)
            if rate is None:
                reason = SkipReason.MIXED_VAT
            else:
                charging[_known(line.customer_id)].append((line, rate))
                continue
        if reason is not None:
            if reason is not _IGNORED:
                skipped.append(Skipped(line, reason, line.type_reason))
            continue
        if line.purpose is Purpose.REIMBURSEMENT:
            reimbursed[_known(line.customer_id)].append(line)
        elif line.purpose is Purpose.REMUNERATION:
            remunerated[_known(line.person_id)].append(line)
    fees: dict[int, list[SubscriptionBasis]] = defaultdict(list)
    for basis in subscriptions:
        if basis.organisation_id in customers and basis.currency == terms.currency:
            fees[basis.organisation_id].append(basis)

    documents: list[PlannedDocument] = []
    for customer_id in sorted(set(charging) | set(fees)):
        invoice = _invoice(
            period, customers[customer_id], charging[customer_id], fees[customer_id], terms, wording
        )
        if invoice is not None:
            documents.append(invoice)
    for employer_id, employer_lines in sorted(reimbursed.items()):
        documents += _split_billing(
            period, customers[employer_id], employer_lines, payees, terms, wording
        )
    for host_id, host_lines in sorted(remunerated.items()):
        documents.append(_self_billing(period, payees[host_id], host_lines, terms, wording))
    documents.sort(
        key=lambda d: (
            KIND_ORDER.index(d.document.kind),
            d.recipient.name.casefold(),
            d.organisation_id or 0,
            d.user_id or 0,
        )
    )
    return RunPlan(period, tuple(documents), tuple(skipped))


class _Ignored(enum.Enum):
    """The driver's zero line of a split-billing session: the employee's line is what bills."""

    IGNORED = "ignored"


_IGNORED = _Ignored.IGNORED


def _skip_reason(
    line: BillableLine,
    currency: str,
    customers: Mapping[int, Customer],
    payees: Mapping[int, Payee],
) -> SkipReason | _Ignored | None:
    if line.session_type == "invalid":
        return SkipReason.INVALID
    if line.session_type == "whitelist":
        return SkipReason.WHITELIST
    if line.purpose is Purpose.CHARGING and line.session_type != "normal":
        return _IGNORED
    if line.currency != currency:
        return SkipReason.CURRENCY
    if line.basis in ("no_tariff", "invalid", "whitelist"):
        return SkipReason.NO_PRICE
    if line.purpose in (Purpose.CHARGING, Purpose.REIMBURSEMENT) and (
        line.customer_id is None or line.customer_id not in customers
    ):
        return SkipReason.NO_CUSTOMER
    if line.purpose in (Purpose.REIMBURSEMENT, Purpose.REMUNERATION) and (
        line.person_id is None or line.person_id not in payees
    ):
        return SkipReason.NO_PAYEE
    return None


def _vat_rate(
    line: BillableLine, rates: Mapping[tuple[str, int], Decimal | None], default: Decimal
) -> Decimal | None:
    if line.tariff_id is None or line.tariff_version is None:
        return default
    key = (line.tariff_id, line.tariff_version)
    if key not in rates:
        return default
    return rates[key]


def _known(value: int | None) -> int:
    assert value is not None
    return value


def _annex(line: BillableLine) -> AnnexRow:
    return AnnexRow(
        line.source_id,
        line.started_at,
        line.station_id,
        line.card_uid,
        line.energy_wh,
        line.amount,
    )


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _invoice(
    period: BillingPeriod,
    customer: Customer,
    sessions: Sequence[tuple[BillableLine, Decimal]],
    subscriptions: Sequence[SubscriptionBasis],
    terms: RunTerms,
    wording: Wording,
) -> PlannedDocument | None:
    language = customer.party.language
    currency = terms.currency
    lines: list[DocumentLine] = []
    purposes: list[Purpose] = []
    items: list[BilledItem] = []
    groups: dict[tuple[str, Decimal], list[BillableLine]] = defaultdict(list)
    for line, rate in sessions:
        groups[(line.tariff_id or "", rate)].append(line)
    annex: list[AnnexRow] = []
    for (tariff_id, rate), group in sorted(groups.items()):
        group.sort(key=lambda g: (g.started_at, g.source_id))
        total = sum((g.amount for g in group), ZERO)
        energy = sum(g.energy_wh for g in group)
        lines.append(
            DocumentLine.of(
                wording.charging(language, tariff_id or None, len(group), energy),
                Decimal(1),
                "C62",
                total,
                currency,
                vat_category=VatCategory.STANDARD if rate > 0 else VatCategory.ZERO,
                vat_rate=rate,
                sessions=[g.source_id for g in group],
                period_start=_local_day(min(g.started_at for g in group), terms.zone),
                period_end=_local_day(max(g.stopped_at for g in group), terms.zone),
            )
        )
        purposes.append(Purpose.CHARGING)
        items += [g.item() for g in group]
        annex += [_annex(g) for g in group]
    for basis in sorted(subscriptions, key=lambda b: b.contract_id):
        made = _subscription_lines(period, basis, terms, language, wording)
        if not made:
            continue
        lines += made
        purposes += [Purpose.SUBSCRIPTION] * len(made)
        items.append(
            BilledItem(
                SourceKind.CONTRACT,
                f"{basis.contract_id}:{period.label}",
                Purpose.SUBSCRIPTION,
                sum((line.net for line in made), ZERO),
            )
        )
    if not lines:
        return None
    annex.sort(key=lambda row: (row.started_at, row.session_id))
    prepaid = sum((line.prepaid for line, _rate in sessions), ZERO)
    document = Document(
        DocumentKind.INVOICE,
        currency,
        terms.issue_date,
        terms.issue_date + timedelta(days=terms.payment_days),
        terms.operator,
        customer.party,
        tuple(lines),
        period.start,
        period.end,
        mandate_reference=customer.mandate_reference,
        annex=tuple(annex),
        prepaid_amount=prepaid,
    )
    return PlannedDocument(document, customer.id, None, tuple(purposes), tuple(items))


def in_force_days(period: BillingPeriod, starts_on: date, ends_on: date | None) -> int:
    """The days of ``period`` a contract from ``starts_on`` to ``ends_on`` (inclusive; None:
    open) holds."""
    first = max(period.start, starts_on)
    last = period.end if ends_on is None else min(period.end, ends_on)
    return max((last - first).days + 1, 0)


def pro_rata(fee: Decimal, days: int, period_days: int) -> Decimal:
    """A month's fee for ``days`` of its ``period_days``: exact when that has at most four
    decimals, else rounded half up to four (the unit price an invoice line shows)."""
    exact = fee * days / period_days
    rounded = exact.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    return exact if exact == rounded else rounded


def _subscription_lines(
    period: BillingPeriod,
    basis: SubscriptionBasis,
    terms: RunTerms,
    language: str,
    wording: Wording,
) -> list[DocumentLine]:
    days = in_force_days(period, basis.starts_on, basis.ends_on)
    if days == 0:
        return []
    first = max(period.start, basis.starts_on)
    last = period.end if basis.ends_on is None else min(period.end, basis.ends_on)
    out = []
    for fee_name, fee, count in (
        ("card", basis.fee_per_card, basis.cards),
        ("station", basis.fee_per_station, basis.stations),
        ("licence", basis.fee_per_licence, basis.licences),
    ):
        if fee <= 0 or count <= 0:
            continue
        out.append(
            DocumentLine.of(
                wording.subscription(language, fee_name, count, period, days),
                Decimal(count),
                "C62",
                pro_rata(fee, days, period.days),
                terms.currency,
                vat_rate=terms.default_vat_rate,
                period_start=first,
                period_end=last,
            )
        )
    return out


def _reimbursement_line(line: BillableLine, description: str, terms: RunTerms) -> DocumentLine:
    """The session's kWh at its rate when that makes its amount, else the amount as one."""
    if line.rate is not None:
        kwh = Decimal(line.energy_wh) / 1000
        made = DocumentLine.of(
            description,
            kwh,
            "KWH",
            line.rate,
            terms.currency,
            vat_category=VatCategory.NOT_SUBJECT,
            sessions=[line.source_id],
            period_start=_local_day(line.started_at, terms.zone),
            period_end=_local_day(line.stopped_at, terms.zone),
        )
        if made.net == line.amount:
            return made
    return DocumentLine.of(
        description,
        Decimal(1),
        "C62",
        line.amount,
        terms.currency,
        vat_category=VatCategory.NOT_SUBJECT,
        sessions=[line.source_id],
        period_start=_local_day(line.started_at, terms.zone),
        period_end=_local_day(line.stopped_at, terms.zone),
    )


def _split_billing(
    period: BillingPeriod,
    employer: Customer,
    sessions: Sequence[BillableLine],
    payees: Mapping[int, Payee],
    terms: RunTerms,
    wording: Wording,
) -> list[PlannedDocument]:
    """The employer's payment request, and a statement for each employee, of the same
    sessions."""
    ordered = sorted(
        sessions, key=lambda s: (payees[_known(s.person_id)].party.name.casefold(), s.started_at)
    )
    due = terms.issue_date + timedelta(days=terms.payment_days)
    language = employer.party.language
    request_lines = tuple(
        _reimbursement_line(
            s,
            wording.reimbursement(language, s, payees[_known(s.person_id)].party.name),
            terms,
        )
        for s in ordered
    )
    request = Document(
        DocumentKind.PAYMENT_REQUEST,
        terms.currency,
        terms.issue_date,
        due,
        terms.operator,
        employer.party,
        request_lines,
        period.start,
        period.end,
        mandate_reference=employer.mandate_reference,
        annex=tuple(_annex(s) for s in sorted(ordered, key=lambda s: s.started_at)),
    )
    items = tuple(s.item() for s in ordered)
    out = [
        PlannedDocument(
            request, employer.id, None, (Purpose.REIMBURSEMENT,) * len(request_lines), items
        )
    ]
    by_employee: dict[int, list[BillableLine]] = defaultdict(list)
    for s in ordered:
        by_employee[_known(s.person_id)].append(s)
    for employee_id, own in by_employee.items():
        payee = payees[employee_id]
        own_lines = tuple(
            _reimbursement_line(
                s, wording.reimbursement(payee.party.language, s, payee.party.name), terms
            )
            for s in own
        )
        statement = Document(
            DocumentKind.REIMBURSEMENT_STATEMENT,
            terms.currency,
            terms.issue_date,
            due,
            payee.party,
            terms.operator,
            own_lines,
            period.start,
            period.end,
            annex=tuple(_annex(s) for s in own),
        )
        # The items are the payment request's: the statement pays out what it collects.
        out.append(
            PlannedDocument(
                statement, employer.id, employee_id, (Purpose.REIMBURSEMENT,) * len(own), ()
            )
        )
    return out


def _self_billing(
    period: BillingPeriod,
    host: Payee,
    sessions: Sequence[BillableLine],
    terms: RunTerms,
    wording: Wording,
) -> PlannedDocument:
    ordered = sorted(sessions, key=lambda s: (s.started_at, s.source_id))
    language = host.party.language
    lines = tuple(
        DocumentLine.of(
            wording.remuneration(language, s),
            Decimal(1),
            "C62",
            s.amount,
            terms.currency,
            vat_category=VatCategory.NOT_SUBJECT,
            sessions=[s.source_id],
            period_start=_local_day(s.started_at, terms.zone),
            period_end=_local_day(s.stopped_at, terms.zone),
        )
        for s in ordered
    )
    document = Document(
        DocumentKind.SELF_BILLING,
        terms.currency,
        terms.issue_date,
        terms.issue_date + timedelta(days=terms.payment_days),
        host.party,
        terms.operator,
        lines,
        period.start,
        period.end,
        annex=tuple(_annex(s) for s in ordered),
    )
    return PlannedDocument(
        document,
        None,
        host.id,
        (Purpose.REMUNERATION,) * len(lines),
        tuple(s.item() for s in ordered),
    )


def reference_base(kind: DocumentKind, year: int, sequence: int) -> int:
    """The ten digits of a document's structured reference: its series' digit, the year's last
    two digits and its number in the series (below ten million a year)."""
    if not 0 < sequence < 10**7:
        raise ValueError(f"sequence {sequence}: 1 to 9999999 a year")
    return REFERENCE_DIGITS[kind] * 10**9 + (year % 100) * 10**7 + sequence


def numbered(document: Document, year: int, sequence: int) -> Document:
    """``document`` with its number in its series and year, and the structured reference the
    kinds paid to the platform carry."""
    reference = None
    if document.kind in REFERENCE_DIGITS:
        reference = structured_reference(reference_base(document.kind, year, sequence))
    return replace(
        document,
        number=document_number(document.kind, year, sequence),
        payment_reference=reference,
    )


def credit_note(
    invoice: Document,
    line_numbers: Sequence[int] | None,
    reason: str,
    issue_date: date,
) -> Document:
    """A credit note giving back ``line_numbers`` (1-based) of ``invoice``, or all of it: the
    same lines, amounts and VAT, naming the invoice it corrects and why. Never an edit of the
    invoice."""
    if invoice.kind is not DocumentKind.INVOICE or invoice.number is None:
        raise ValueError("only an issued invoice is credited")
    chosen = list(range(1, len(invoice.lines) + 1)) if line_numbers is None else list(line_numbers)
    if not chosen or len(set(chosen)) != len(chosen):
        raise ValueError("lines: each line once, at least one")
    for n in chosen:
        if not 1 <= n <= len(invoice.lines):
            raise ValueError(f"lines: the invoice has lines 1 to {len(invoice.lines)}, not {n}")
    lines = tuple(invoice.lines[n - 1] for n in chosen)
    sessions = {s for line in lines for s in line.sessions}
    return Document(
        DocumentKind.CREDIT_NOTE,
        invoice.currency,
        issue_date,
        issue_date,
        invoice.seller,
        invoice.buyer,
        lines,
        invoice.period_start,
        invoice.period_end,
        corrects=invoice.number,
        note=reason,
        annex=tuple(row for row in invoice.annex if row.session_id in sessions),
    )
