"""Mail: what a mail says (a typed content per kind), who it goes to, and the mail as the outbox
keeps it. Texts and layout are the mail package's (``voltflow.mail``); a use case hands it one
of these contents and the recipient, never a template name or a text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from voltflow.domain.money import Money


class MailKind(StrEnum):
    INVITATION = "invitation"
    CARD_BLOCKED = "card_blocked"
    PAYMENT_REQUEST = "payment_request"
    OUT_OF_CREDIT = "out_of_credit"
    BILLING_DOCUMENT = "billing_document"
    PAYMENT_REMINDER = "payment_reminder"


class MailStatus(StrEnum):
    # Waiting for its (next) attempt, or for an SMTP server to be configured.
    PENDING = "pending"
    SENT = "sent"
    # Refused for good by the server (a bad address): never tried again.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a mail goes to, and how they read: their language (nl, fr, en; None: the
    platform's) and time zone (None: the platform's)."""

    address: str
    name: str | None = None
    language: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Invitation:
    """A person was given a role in an organisation: their login and where to log in. Never
    their password (the outbox keeps what it sends, and operators read it)."""

    kind: ClassVar[MailKind] = MailKind.INVITATION
    organisation: str
    role: str  # a Role value
    username: str
    login_url: str
    invited_by: str | None = None


@dataclass(frozen=True, slots=True)
class CardBlocked:
    """A card its holder uses was blocked: it no longer starts a charge."""

    kind: ClassVar[MailKind] = MailKind.CARD_BLOCKED
    card_uid: str
    printed_number: str | None
    blocked_at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OutOfCredit:
    """A prepaid contract's balance ran out: its cards no longer start a charge until it is
    topped up."""

    kind: ClassVar[MailKind] = MailKind.OUT_OF_CREDIT
    organisation: str
    balance: Decimal
    currency: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentLine:
    day: date
    description: str
    energy_wh: int | None
    amount: Decimal  # rounded to the cent by whoever made the line


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A request to pay for charging: one line per session (or fee), and their total, the sum
    of the rounded lines."""

    kind: ClassVar[MailKind] = MailKind.PAYMENT_REQUEST
    organisation: str
    reference: str
    issued_on: date
    due_on: date
    currency: str
    lines: tuple[PaymentLine, ...]
    pay_url: str | None = None

    @property
    def total(self) -> Decimal:
        total = Money(Decimal(0), self.currency)
        for line in self.lines:
            total = total + Money(line.amount, self.currency).rounded()
        return total.amount

    @property
    def energy_wh(self) -> int:
        return sum(line.energy_wh or 0 for line in self.lines)


@dataclass(frozen=True, slots=True)
class DocumentIssued:
    """A billing document was issued to the recipient (``kind``: a ``DocumentKind`` value):
    its number, period, total and how it is settled. The document itself travels with the mail
    (the outbox row names it), as a PDF."""

    kind: ClassVar[MailKind] = MailKind.BILLING_DOCUMENT
    document_kind: str
    number: str
    issuer: str
    period_start: date
    period_end: date
    issued_on: date
    due_on: date
    currency: str
    total: Decimal
    payment_reference: str | None = None
    mandate_reference: str | None = None
    corrects: str | None = None
    iban: str | None = None  # where a transfer goes (the operator's account)
    # Drawn from the recipient's prepaid credit before the document was issued: not asked again.
    prepaid: Decimal = Decimal(0)

    @property
    def payable(self) -> Decimal:
        return self.total - self.prepaid


@dataclass(frozen=True, slots=True)
class PaymentReminder:
    """A document paid to the platform is overdue: what is still due, and how to pay it.
    ``level`` counts the reminders (1, 2, 3), each sent once; the document travels with it."""

    kind: ClassVar[MailKind] = MailKind.PAYMENT_REMINDER
    document_kind: str
    number: str
    issuer: str
    issued_on: date
    due_on: date
    days_overdue: int
    level: int
    currency: str
    total: Decimal
    amount_due: Decimal
    payment_reference: str | None = None
    iban: str | None = None


MailContent = (
    Invitation | CardBlocked | PaymentRequest | OutOfCredit | DocumentIssued | PaymentReminder
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a mail (a document's PDF, its e-invoice), kept with it in the outbox so
    that a mail sent again carries the very same bytes."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A mail as rendered once, when it was queued: what an SMTP server is given. The
    Message-ID is made with it and kept, so a mail sent again (after a crash between sending
    and marking it sent) carries the same one and a receiver can drop the repeat."""

    message_id: str
    recipient: str
    subject: str
    text: str
    html: str
    language: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class QueuedMail:
    """A mail of the outbox, as operators see it."""

    id: int
    message_id: str
    kind: str
    recipient: str
    language: str
    subject: str
    status: MailStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    organisation_id: int | None = None
    user_id: int | None = None
    # The billing document it carries (attached as a PDF when sent), if any.
    document_id: int | None = None


@dataclass(frozen=True, slots=True)
class QueuedMailDetail(QueuedMail):
    text: str = ""
    html: str = ""
    attachments: tuple[str, ...] = ()  # their file names, in order
