"""The domain's terms in the language of the moment, as docs/glossary.md decides them.

The domain defines the values (and English labels for logs); people read these. Each term has a
context so that one English word can be two words elsewhere (a charging "Session" on a station is
not a login "Session").
"""

from __future__ import annotations

from collections.abc import Callable

from voltflow.domain.access import OrganisationKind, Role
from voltflow.domain.billing.documents import DocumentKind
from voltflow.domain.cards import CardAction, CardState
from voltflow.domain.installations.jobs import JobEvent, JobKind, JobState
from voltflow.domain.session_types import SessionType
from voltflow.domain.stations import ConnectorStatus, Registration
from voltflow.i18n import pgettext

# Written out call by call: the extractor reads the literal context and message of each.
_SESSION_TYPES: dict[str, Callable[[], str]] = {
    SessionType.NORMAL: lambda: pgettext("session type", "Normal"),
    SessionType.SPLIT_BILLING: lambda: pgettext("session type", "Split billing"),
    SessionType.WHITELIST: lambda: pgettext("session type", "Whitelist"),
    SessionType.INVALID: lambda: pgettext("session type", "Invalid"),
}
_CARD_STATES: dict[str, Callable[[], str]] = {
    CardState.IN_STOCK: lambda: pgettext("card state", "In stock"),
    CardState.DISTRIBUTED: lambda: pgettext("card state", "With distributor"),
    CardState.ASSIGNED: lambda: pgettext("card state", "Assigned"),
    CardState.ACTIVE: lambda: pgettext("card state", "Active"),
    CardState.BLOCKED: lambda: pgettext("card state", "Blocked"),
    CardState.LOST: lambda: pgettext("card state", "Lost"),
    CardState.EXPIRED: lambda: pgettext("card state", "Expired"),
}
_ROLES = {
    Role.OPERATOR: lambda: pgettext("role", "operator"),
    Role.FLEET_MANAGER: lambda: pgettext("role", "fleet manager"),
    Role.DRIVER: lambda: pgettext("role", "driver"),
    Role.HOST: lambda: pgettext("role", "host"),
    Role.INSTALLER: lambda: pgettext("role", "installer"),
}
_ORGANISATION_KINDS = {
    OrganisationKind.OPERATOR: lambda: pgettext("organisation kind", "operator"),
    OrganisationKind.COMPANY: lambda: pgettext("organisation kind", "company"),
    OrganisationKind.HOUSEHOLD: lambda: pgettext("organisation kind", "household"),
    OrganisationKind.INSTALLER: lambda: pgettext("organisation kind", "installer"),
}
_CONNECTOR_STATUSES: dict[str, Callable[[], str]] = {
    ConnectorStatus.AVAILABLE: lambda: pgettext("connector status", "Available"),
    ConnectorStatus.PREPARING: lambda: pgettext("connector status", "Preparing"),
    ConnectorStatus.CHARGING: lambda: pgettext("connector status", "Charging"),
    ConnectorStatus.SUSPENDED_EVSE: lambda: pgettext("connector status", "Suspended (station)"),
    ConnectorStatus.SUSPENDED_EV: lambda: pgettext("connector status", "Suspended (vehicle)"),
    ConnectorStatus.FINISHING: lambda: pgettext("connector status", "Finishing"),
    ConnectorStatus.RESERVED: lambda: pgettext("connector status", "Reserved"),
    ConnectorStatus.UNAVAILABLE: lambda: pgettext("connector status", "Unavailable"),
    ConnectorStatus.FAULTED: lambda: pgettext("connector status", "Faulted"),
    ConnectorStatus.OCCUPIED: lambda: pgettext("connector status", "Occupied"),
}
_JOB_KINDS: dict[str, Callable[[], str]] = {
    JobKind.INSTALLATION: lambda: pgettext("installation job kind", "Installation"),
    JobKind.COMMISSIONING: lambda: pgettext("installation job kind", "Commissioning"),
    JobKind.INSPECTION: lambda: pgettext("installation job kind", "Inspection"),
    JobKind.REPAIR: lambda: pgettext("installation job kind", "Repair"),
}
_JOB_STATES: dict[str, Callable[[], str]] = {
    JobState.REQUESTED: lambda: pgettext("installation job state", "Requested"),
    JobState.SCHEDULED: lambda: pgettext("installation job state", "Scheduled"),
    JobState.IN_PROGRESS: lambda: pgettext("installation job state", "In progress"),
    JobState.DONE: lambda: pgettext("installation job state", "Done"),
    JobState.FAILED: lambda: pgettext("installation job state", "Failed"),
    JobState.CANCELLED: lambda: pgettext("installation job state", "Cancelled"),
}
# A job's history: its steps (as verbs people click) and the changes that keep its state.
_JOB_EVENTS: dict[str, Callable[[], str]] = {
    JobEvent.REQUEST: lambda: pgettext("installation job step", "request"),
    JobEvent.SCHEDULE: lambda: pgettext("installation job step", "schedule"),
    JobEvent.START: lambda: pgettext("installation job step", "start"),
    JobEvent.FINISH: lambda: pgettext("installation job step", "finish"),
    JobEvent.FAIL: lambda: pgettext("installation job step", "fail"),
    JobEvent.CANCEL: lambda: pgettext("installation job step", "cancel"),
    JobEvent.ASSIGN: lambda: pgettext("installation job step", "assign"),
    JobEvent.LINK_STATION: lambda: pgettext("installation job step", "link the station"),
}
# A card's history names each step; "import" is how every card enters the stock.
_CARD_STEPS = {
    "import": lambda: pgettext("card step", "import"),
    CardAction.DISTRIBUTE: lambda: pgettext("card step", "distribute"),
    CardAction.RETURN_TO_STOCK: lambda: pgettext("card step", "return to stock"),
    CardAction.ASSIGN: lambda: pgettext("card step", "assign"),
    CardAction.UNASSIGN: lambda: pgettext("card step", "unassign"),
    CardAction.ACTIVATE: lambda: pgettext("card step", "activate"),
    CardAction.BLOCK: lambda: pgettext("card step", "block"),
    CardAction.UNBLOCK: lambda: pgettext("card step", "unblock"),
    CardAction.REPORT_LOST: lambda: pgettext("card step", "report lost"),
    CardAction.EXPIRE: lambda: pgettext("card step", "expire"),
}
_REGISTRATIONS = {
    Registration.ACCEPTED: lambda: pgettext("registration", "Accepted"),
    Registration.PENDING: lambda: pgettext("registration", "Pending"),
    Registration.REJECTED: lambda: pgettext("registration", "Rejected"),
}
_DOCUMENT_KINDS: dict[str, Callable[[], str]] = {
    DocumentKind.INVOICE: lambda: pgettext("document kind", "invoice"),
    DocumentKind.CREDIT_NOTE: lambda: pgettext("document kind", "credit note"),
    DocumentKind.PAYMENT_REQUEST: lambda: pgettext("document kind", "payment request"),
    DocumentKind.REIMBURSEMENT_STATEMENT: lambda: pgettext(
        "document kind", "reimbursement statement"
    ),
    DocumentKind.SELF_BILLING: lambda: pgettext("document kind", "self-billing statement"),
}


def document_kind(value: str) -> str:
    # The values are string enums: the plain string finds its term, no conversion needed.
    term = _DOCUMENT_KINDS.get(value)
    return term() if term is not None else value.replace("_", " ")


def session_type(value: str | None) -> str:
    if not value:
        return "–"
    # The values are string enums: the plain string finds its term, no conversion needed.
    term = _SESSION_TYPES.get(value)
    return term() if term is not None else value


def card_state(value: str) -> str:
    # The values are string enums: the plain string finds its term, no conversion needed.
    term = _CARD_STATES.get(value)
    return term() if term is not None else value


def role(value: str) -> str:
    try:
        return _ROLES[Role(value)]()
    except ValueError:
        return value.replace("_", " ")


def organisation_kind(value: str) -> str:
    try:
        return _ORGANISATION_KINDS[OrganisationKind(value)]()
    except ValueError:
        return value


def connector_status(value: str | None) -> str:
    if not value:
        return "–"
    # The values are string enums: the plain string finds its term, no conversion needed.
    term = _CONNECTOR_STATUSES.get(value)
    return term() if term is not None else value


def registration(value: str) -> str:
    try:
        return _REGISTRATIONS[Registration(value)]()
    except ValueError:
        return value


def card_step(value: str) -> str:
    """A step of a card's history (``return_to_stock``) as people read it."""
    step = _CARD_STEPS.get(value)
    return step() if step is not None else value.replace("_", " ")


def job_kind(value: str) -> str:
    term = _JOB_KINDS.get(value)
    return term() if term is not None else value


def job_state(value: str) -> str:
    term = _JOB_STATES.get(value)
    return term() if term is not None else value.replace("_", " ")


def job_step(value: str) -> str:
    """A step of a job, or an entry of its history, as people read it."""
    term = _JOB_EVENTS.get(value)
    return term() if term is not None else value.replace("_", " ")


# What became of an issued document's money (``domain.billing.settlement``).
_DOCUMENT_STATES: dict[str, Callable[[], str]] = {
    "issued": lambda: pgettext("document state", "issued"),
    "partly_paid": lambda: pgettext("document state", "partly paid"),
    "paid": lambda: pgettext("document state", "paid"),
}
_ENTRY_OUTCOMES: dict[str, Callable[[], str]] = {
    "matched": lambda: pgettext("bank entry", "paid"),
    "partial": lambda: pgettext("bank entry", "paid in part"),
    "overpaid": lambda: pgettext("bank entry", "paid too much"),
    "unmatched": lambda: pgettext("bank entry", "matches nothing"),
    "ambiguous": lambda: pgettext("bank entry", "matches several"),
    "wrong_currency": lambda: pgettext("bank entry", "another currency"),
    "already_imported": lambda: pgettext("bank entry", "imported before"),
    "top_up": lambda: pgettext("bank entry", "top-up"),
    "top_up_refused": lambda: pgettext("bank entry", "top-up refused"),
}


def document_state(value: str) -> str:
    term = _DOCUMENT_STATES.get(value)
    return term() if term is not None else value.replace("_", " ")


def entry_outcome(value: str) -> str:
    """What became of a bank statement's entry, as people read it."""
    term = _ENTRY_OUTCOMES.get(value)
    return term() if term is not None else value.replace("_", " ")
