"""What the platform's reads give back: a frozen record for each kind of row the services hand
to the adapters (API, console, CLI).

They live here, below both, because the store builds them and the services pass them on: the
store may not import the services, and the adapters may not import the store. Plain data, no
behaviour beyond what a field tells of itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from voltflow.domain.access import OrganisationKind
from voltflow.domain.billing.settlement import top_up_reference
from voltflow.domain.cards import CardState
from voltflow.domain.contracts import ContractKind
from voltflow.domain.ocmf import Ocmf
from voltflow.domain.station_keys import KeyChange
from voltflow.domain.stations import Registration

# -- stations --------------------------------------------------------------------------------------


class Admission(NamedTuple):
    """What the endpoint needs to let a station in, and to read its messages."""

    password_hash: str | None
    registration: Registration
    lenient: bool
    # The new key of a key change under way: it opens the door too, and replaces the current
    # key once the station connects with it.
    pending_password_hash: str | None = None
    # The source it last connected from with its key (``ocpp.throttle``).
    trusted_source: str | None = None


@dataclass(frozen=True, slots=True)
class StationRecord:
    """A station with its keys' hashes: what the use cases on one station work with."""

    id: str
    password_hash: str | None
    registration: Registration
    lenient: bool
    organisation_id: int | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    firmware_status: str | None
    diagnostics_status: str | None
    online: bool
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    created_at: datetime
    pending_password_hash: str | None = None
    key_change: KeyChange | None = None
    # The installer organisation looking after the station (its service tickets go there).
    installer_id: int | None = None

    @property
    def has_key(self) -> bool:
        """False: anyone may connect under this station's id (security profile 0)."""
        return self.password_hash is not None


@dataclass(frozen=True, slots=True)
class Connector:
    """A connector's last reported status."""

    station_id: str
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    info: str | None
    vendor_error_code: str | None
    status_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A StatusNotification as received: the connector's status history."""

    id: int
    station_id: str
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None
    info: str | None
    vendor_error_code: str | None
    status_at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StationRow:
    """A station as lists show it: what it reported, its connectors, nothing of its keys but
    whether it has one."""

    id: str
    registration: Registration
    lenient: bool
    organisation_id: int | None
    ocpp_version: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    firmware_status: str | None
    diagnostics_status: str | None
    online: bool
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    created_at: datetime
    has_key: bool
    key_change: KeyChange | None
    connectors: list[Connector]
    # Whether its socket is held by this platform now: not stored, told by the link to it.
    connected: bool = False


# -- the message log -------------------------------------------------------------------------------


class Answer(NamedTuple):
    """The frame that answered a logged CALL, sent the other way (a tuple: one a message)."""

    raw: str
    message_type: int  # 3 CALLRESULT, 4 CALLERROR
    at: datetime


class LoggedFrame(NamedTuple):
    """A frame for the message log, with the answer it got when it is an answered CALL (a
    tuple: one a message). ``direction``: ``in`` from the station, ``out`` to it."""

    station_id: str
    at: datetime
    direction: str
    raw: str
    message_type: int | None
    message_id: str | None
    action: str | None
    note: str | None = None
    answer: Answer | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One OCPP frame of the log. A call and its answer share the id of their exchange."""

    id: int
    station_id: str
    at: datetime
    direction: str  # "in": the station sent it; "out": the platform did
    message_type: int | None  # 2 CALL, 3 CALLRESULT, 4 CALLERROR
    message_id: str | None
    action: str | None
    payload: str
    note: str | None


# -- sessions --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """A charging session (its id doubles as the OCPP 1.6 transactionId)."""

    id: int
    station_id: str
    evse_id: int
    connector_id: int
    id_tag: str
    auth_status: str
    reservation_id: int | None
    started_at: datetime
    meter_start_wh: int
    stopped_at: datetime | None
    meter_stop_wh: int | None
    energy_wh: int | None
    stop_reason: str | None
    stop_id_tag: str | None
    session_type: str | None
    type_reason: str | None
    created_at: datetime
    # Energy so far of a session still charging, from its last meter reading (lists only).
    live_energy_wh: int | None = None


@dataclass(frozen=True, slots=True)
class MeterValue:
    id: int
    station_id: str
    evse_id: int
    session_id: int | None
    sampled_at: datetime
    measurand: str
    phase: str
    location: str
    context: str
    unit: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class SignedMeterValue:
    """A sampled value in SignedData format, kept exactly as the station sent it."""

    id: int
    station_id: str
    evse_id: int | None
    connector_id: int | None
    session_id: int | None
    sampled_at: datetime
    received_at: datetime
    message: str  # MeterValues or StopTransaction
    format: str
    measurand: str
    context: str | None
    unit: str | None
    phase: str | None
    location: str | None
    data: str
    data_sha256: str
    encoding: str | None
    public_key: str | None
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedMeterView(SignedMeterValue):
    """A signed value with its OCMF record decoded (None when there is none), and whether it is
    the session's signed start or end reading."""

    ocmf: Ocmf | None
    signing_method: str | None
    session_start: bool
    session_end: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDetail(Session):
    """A session with its meter values and signed meter values."""

    meter_values: list[MeterValue]
    signed_meter_values: list[SignedMeterView]


# -- tokens and cards ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRow:
    uid: str
    state: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Card:
    uid: str
    printed_number: str | None
    contract_id: str | None  # eMAID, compact form
    state: CardState
    organisation_id: int | None
    driver_id: int | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Who holds it, in lists.
    driver_username: str | None = None
    driver_name: str | None = None


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A step in a card's life, who took it and when."""

    id: int
    card_uid: str
    action: str
    from_state: str | None
    to_state: str
    actor_id: int | None
    actor_name: str
    detail: str | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CardDetail(Card):
    history: list[CardEvent]


# -- station groups and lists ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationGroup:
    id: int
    organisation_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StationGroupDetail(StationGroup):
    stations: list[str]


@dataclass(frozen=True, slots=True)
class AuthorizationList:
    """A whitelist or discount list, of a station or a station group."""

    id: int
    organisation_id: int
    kind: str  # "whitelist" | "discount"
    name: str
    station_id: str | None
    group_id: int | None
    tariff_ref: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRow(AuthorizationList):
    card_count: int


@dataclass(frozen=True, slots=True)
class ListedCard:
    card_uid: str
    added_at: datetime
    printed_number: str | None
    state: str


@dataclass(frozen=True, slots=True)
class ListInvitation:
    """A guest's card asked onto a list: what the inviter typed, and nothing of the card."""

    card_uid: str
    invited_at: datetime
    status: str = "invited"


@dataclass(frozen=True, slots=True, kw_only=True)
class ListDetail(AuthorizationList):
    cards: list[ListedCard]
    invitations: list[ListInvitation] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CardInvitation:
    """An invitation of a card onto another organisation's list, as the card's holder sees it."""

    list_id: int
    card_uid: str
    invited_at: datetime
    printed_number: str | None
    list_name: str
    list_kind: str
    station_id: str | None
    inviter: str  # the organisation whose list it is


@dataclass(frozen=True, slots=True)
class LocalListState:
    """A station's local list as last pushed: the version it confirmed (when), the last error."""

    version: int
    synced_at: datetime | None
    last_error: str | None

    @property
    def confirmed_version(self) -> int | None:
        """The version the station holds as far as we know; None before it confirmed one."""
        return self.version if self.synced_at else None


# -- organisations, people, contracts, the audit log -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    name: str
    kind: OrganisationKind
    vat_number: str | None
    created_at: datetime
    # What the logins its fleet managers create end in (ann@acme).
    login_domain: str | None = None
    # The language of the documents it receives (nl, fr, en); None: the platform's default.
    document_language: str | None = None
    # What its documents carry: postal address, Peppol participant id (``scheme:id``), the
    # account it is paid on, and where its documents are mailed.
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    peppol_id: str | None = None
    iban: str | None = None
    bic: str | None = None
    billing_email: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in an organisation, with their roles there."""

    id: int
    username: str
    full_name: str | None
    email: str | None
    roles: list[str]
    # Where the platform pays them (reimbursements, a host's remuneration).
    iban: str | None = None


@dataclass(frozen=True, slots=True)
class Contract:
    id: int
    organisation_id: int
    kind: ContractKind
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
    created_at: datetime
    prepaid: bool = False
    prepaid_balance: Decimal = Decimal(0)
    mandate_revoked_on: date | None = None

    @property
    def top_up_reference(self) -> str | None:
        """The structured reference a transfer for a prepaid contract's balance carries."""
        return top_up_reference(self.id) if self.prepaid else None

    def in_force(self, today: date) -> bool:
        return self.starts_on <= today and (self.ends_on is None or self.ends_on >= today)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    organisation_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: str | None  # JSON
