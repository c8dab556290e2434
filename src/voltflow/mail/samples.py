"""A sample of every kind of mail: what the catalogs' check renders each template with in every
language, and what the console shows an operator as an example."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from voltflow.domain.mail import (
    CardBlocked,
    DocumentIssued,
    Invitation,
    MailContent,
    MailKind,
    OutOfCredit,
    PaymentLine,
    PaymentReminder,
    PaymentRequest,
)

SAMPLES: dict[MailKind, MailContent] = {
    MailKind.INVITATION: Invitation(
        organisation="Acme Logistics",
        role="fleet_manager",
        username="ann@acme",
        login_url="https://charge.example/login",
        invited_by="Bert Peeters",
    ),
    MailKind.CARD_BLOCKED: CardBlocked(
        card_uid="04A1B2C3D4",
        printed_number="VF-000123",
        blocked_at=datetime(2026, 3, 14, 8, 30, tzinfo=UTC),
        reason="lost",
    ),
    MailKind.OUT_OF_CREDIT: OutOfCredit(
        organisation="The Janssens household",
        balance=Decimal("0.00"),
        currency="EUR",
        at=datetime(2026, 3, 14, 19, 5, tzinfo=UTC),
    ),
    MailKind.PAYMENT_REQUEST: PaymentRequest(
        organisation="Acme Logistics",
        reference="PR-2026-0001",
        issued_on=date(2026, 4, 1),
        due_on=date(2026, 4, 15),
        currency="EUR",
        lines=(
            PaymentLine(date(2026, 3, 2), "Brussels HQ, charger 1", 7250, Decimal("2.44")),
            PaymentLine(date(2026, 3, 9), "Brussels HQ, charger 2", 18400, Decimal("6.19")),
            PaymentLine(date(2026, 3, 31), "Card fee, March", None, Decimal("1.50")),
        ),
        pay_url="https://charge.example/pay/PR-2026-0001",
    ),
    MailKind.BILLING_DOCUMENT: DocumentIssued(
        document_kind="payment_request",
        number="PR-2026-000001",
        issuer="Voltflow Operations NV",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        issued_on=date(2026, 12, 1),
        due_on=date(2026, 12, 15),
        currency="EUR",
        total=Decimal("7.32"),
        payment_reference="+++226/0000/00108+++",
        iban="BE71096123456769",
    ),
    MailKind.PAYMENT_REMINDER: PaymentReminder(
        document_kind="invoice",
        number="INV-2026-000042",
        issuer="Voltflow Operations NV",
        issued_on=date(2026, 12, 2),
        due_on=date(2026, 12, 16),
        days_overdue=15,
        level=2,
        currency="EUR",
        total=Decimal("19.36"),
        amount_due=Decimal("9.36"),
        payment_reference="+++126/0000/04215+++",
        iban="BE71096123456769",
    ),
}
