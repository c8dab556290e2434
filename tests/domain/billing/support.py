"""What the billing domain tests share: billable lines as the store gives them, and the texts
of lines in plain English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from voltflow.domain.billing.documents import Party
from voltflow.domain.billing.items import BillableLine, Purpose, SourceKind
from voltflow.domain.billing.runs import BillingPeriod, Customer, Payee, RunTerms

D = Decimal
BRUSSELS = ZoneInfo("Europe/Brussels")
NOVEMBER = BillingPeriod.month(2026, 11)
OPERATOR = Party("Voltflow Operations NV", vat_number="BE0447123478", iban="BE71096123456769")
TERMS = RunTerms(
    operator=OPERATOR,
    currency="EUR",
    issue_date=date(2026, 12, 1),
    payment_days=14,
    default_vat_rate=D(21),
    zone=BRUSSELS,
)
ACME = Customer(
    1,
    Party("Acme Logistics", vat_number="BE0403170701", peppol_id="0208:0403170701"),
    mandate_reference="ACME-2026",
)
GLOBEX = Customer(2, Party("Globex", language="fr"))
ANN = Payee(10, Party("Ann Peeters", iban="BE62510007547061"))
BERT = Payee(11, Party("Bert Claes", language="nl"))
HILDE = Payee(12, Party("Hilde Host"))
CUSTOMERS = {c.id: c for c in (ACME, GLOBEX)}
PAYEES = {p.id: p for p in (ANN, BERT, HILDE)}

_ids = count(1)


def line(
    purpose: Purpose,
    amount: str,
    *,
    customer: int | None = None,
    person: int | None = None,
    wh: int = 10_000,
    session_type: str | None = None,
    basis: str | None = None,
    rate: str | None = None,
    incl: str | None = None,
    tariff: str | None = "PUBLIC",
    started: datetime | None = None,
    session: int | None = None,
) -> BillableLine:
    start = started or datetime(2026, 11, 10, 14, 50, tzinfo=UTC)
    kind = session_type or ("split_billing" if purpose is Purpose.REIMBURSEMENT else "normal")
    return BillableLine(
        source_kind=SourceKind.SESSION,
        source_id=session if session is not None else next(_ids),
        revision=1,
        purpose=purpose,
        session_type=kind,
        type_reason=None,
        basis=basis
        or {
            Purpose.CHARGING: "public_tariff",
            Purpose.REIMBURSEMENT: "licence_rate",
            Purpose.REMUNERATION: "host_tariff",
        }[purpose],
        customer_id=customer,
        person_id=person,
        station_id="CP-1",
        card_uid="04A2B3C4",
        started_at=start,
        stopped_at=start + timedelta(minutes=15),
        energy_wh=wh,
        currency="EUR",
        excl_vat=D(amount),
        incl_vat=D(incl or amount),
        rate=None if rate is None else D(rate),
        tariff_id=tariff if purpose is Purpose.CHARGING else None,
        tariff_version=1 if purpose is Purpose.CHARGING and tariff else None,
    )


class PlainWording:
    """Lines' texts, in English whatever the language: what the domain does with them is what
    these tests read."""

    def charging(self, language: str, tariff_id: str | None, sessions: int, energy_wh: int) -> str:
        return f"Public charging {tariff_id or '-'}: {sessions} sessions, {energy_wh} Wh"

    def subscription(
        self, language: str, fee: str, count: int, period: BillingPeriod, days: int
    ) -> str:
        return f"Subscription per {fee}, {period.label} ({days}/{period.days})"

    def reimbursement(self, language: str, line: BillableLine, employee: str) -> str:
        return f"Home charging of {employee}, {line.energy_wh} Wh"

    def remuneration(self, language: str, line: BillableLine) -> str:
        return f"Hosting at {line.station_id}, {line.energy_wh} Wh"
