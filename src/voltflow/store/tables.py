"""The schema. Alembic migrations in ``migrations/`` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from voltflow.store.types import ExactDecimal, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids become plain INTEGER on SQLite so that they alias its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

stations = Table(
    "stations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("password_hash", String(128), nullable=True),
    # A key change under way: the new key, waiting beside the current one until the station
    # connects with it, and whether the station has accepted it (``domain.station_keys``).
    Column("pending_password_hash", String(128), nullable=True),
    Column("pending_key_state", String(16), nullable=True),
    # Where the station last connected from with its key (a source as the handshake throttle
    # counts it): that source is not slowed by others' failures on the station's id, also after
    # a restart (``ocpp.throttle``).
    Column("trusted_source", String(64), nullable=True),
    Column("registration", String(16), nullable=False, server_default="Accepted"),
    Column("lenient", Boolean, nullable=False, server_default="0"),
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
    Column("ocpp_version", String(8), nullable=True),
    Column("vendor", String(64), nullable=True),
    Column("model", String(64), nullable=True),
    Column("serial_number", String(64), nullable=True),
    Column("firmware_version", String(64), nullable=True),
    Column("iccid", String(32), nullable=True),
    Column("imsi", String(32), nullable=True),
    Column("meter_type", String(64), nullable=True),
    Column("meter_serial_number", String(64), nullable=True),
    Column("firmware_status", String(32), nullable=True),
    Column("diagnostics_status", String(32), nullable=True),
    Column("online", Boolean, nullable=False, server_default="0"),
    Column("last_seen_at", UTCDateTime, nullable=True),
    Column("last_boot_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # What a public session here costs (a tariff's id: its version is the one in force when the
    # session starts), and who hosts the station and is paid for its public sessions, by which
    # tariff.
    Column("tariff_id", String(36), nullable=True),
    Column("host_user_id", BigInteger, ForeignKey("users.id"), nullable=True),
    Column("host_tariff_id", String(36), nullable=True),
    # The installer organisation responsible for the station's upkeep: its service tickets go
    # there (``domain.monitoring``). Set by the operator.
    Column("installer_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
)

connectors = Table(
    "connectors",
    metadata,
    Column("station_id", String(64), ForeignKey("stations.id"), primary_key=True),
    Column("evse_id", Integer, primary_key=True),
    Column("connector_id", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("error_code", String(32), nullable=True),
    Column("info", String(64), nullable=True),
    Column("vendor_error_code", String(64), nullable=True),
    Column("status_at", UTCDateTime, nullable=False),
)

connector_status_history = Table(
    "connector_status_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(32), nullable=True),
    Column("info", String(64), nullable=True),
    Column("vendor_error_code", String(64), nullable=True),
    Column("status_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_status_history_station", "station_id", "status_at"),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("vat_number", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # What the logins its fleet managers create end in (ann@acme): each organisation names its
    # people within its own domain, so that no name it picks can be taken by another's.
    Column("login_domain", String(64), nullable=True, unique=True),
    # The language of the documents it receives (payment requests, invoices, statements,
    # reports), whoever prepares them; none: the platform's default.
    Column("document_language", String(8), nullable=True),
    # What its documents carry (``domain.billing.parties``): the postal address, the Peppol
    # participant id its e-invoices go to (``0208:`` and the enterprise number for a Belgian
    # company), the account the platform pays it on, and where its documents are mailed (none:
    # to its fleet managers).
    Column("street", String(200), nullable=True),
    Column("postal_code", String(16), nullable=True),
    Column("city", String(100), nullable=True),
    Column("country", String(2), nullable=True),
    Column("peppol_id", String(64), nullable=True),
    Column("iban", String(34), nullable=True),
    Column("bic", String(11), nullable=True),
    Column("billing_email", String(254), nullable=True),
    Index("ix_organisations_name", "name"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id"), primary_key=True),
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # "cpo" | "emsp"
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("fee_per_card", ExactDecimal, nullable=False),
    Column("fee_per_station", ExactDecimal, nullable=False),
    Column("fee_per_licence", ExactDecimal, nullable=False),
    Column("mandate_reference", String(35), nullable=True, unique=True),
    Column("mandate_iban", String(34), nullable=True),
    Column("mandate_bic", String(11), nullable=True),
    Column("mandate_signed_on", Date, nullable=True),
    # The day the customer revoked the mandate: nothing is collected under it from then on.
    Column("mandate_revoked_on", Date, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # A prepaid contract's cards charge while its balance lasts (``domain.billing.prepaid``);
    # the balance changes only with a row of ``prepaid_movements``, in the same transaction.
    Column("prepaid", Boolean, nullable=False, server_default=false()),
    Column("prepaid_balance", ExactDecimal, nullable=False, server_default="0"),
    Index("ix_contracts_organisation", "organisation_id"),
)

# Every change of a prepaid balance: top-ups (reference: the payment's) and what sessions drew
# (reference: the session's id; a session's rows add up to what it drew in all).
prepaid_movements = Table(
    "prepaid_movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("contract_id", BigInteger, ForeignKey("contracts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance", ExactDecimal, nullable=False),
    Column("reference", String(64), nullable=False),
    Column("session_price", ExactDecimal, nullable=True),
    Column("actor_id", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_prepaid_movements_contract", "contract_id", "id"),
    Index("ix_prepaid_movements_reference", "contract_id", "kind", "reference"),
)

# A charging card (an OCPP idTag). Cards made by `token add` have no owner and are active.
cards = Table(
    "cards",
    metadata,
    Column("uid", String(36), primary_key=True),
    Column("printed_number", String(32), nullable=True, unique=True),
    Column("contract_id", String(20), nullable=True, unique=True),  # eMAID, compact form
    Column("state", String(16), nullable=False),
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
    Column("driver_id", BigInteger, ForeignKey("users.id"), nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_cards_organisation", "organisation_id", "state"),
    Index("ix_cards_driver", "driver_id"),
)

card_events = Table(
    "card_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("card_uid", String(36), ForeignKey("cards.uid"), nullable=False),
    Column("action", String(24), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("actor_name", String(128), nullable=False),
    Column("detail", String(256), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_card_events_card", "card_uid", "id"),
)

station_groups = Table(
    "station_groups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("organisation_id", "name", name="uq_station_group_name"),
)

station_group_members = Table(
    "station_group_members",
    metadata,
    Column("group_id", BigInteger, ForeignKey("station_groups.id"), primary_key=True),
    Column("station_id", String(64), ForeignKey("stations.id"), primary_key=True),
)

# Whitelists (free charging) and discount lists (a set price), for a station or a group.
authorization_lists = Table(
    "authorization_lists",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("kind", String(12), nullable=False),  # "whitelist" | "discount"
    Column("name", String(120), nullable=False),
    Column("station_id", String(64), ForeignKey("stations.id"), nullable=True),
    Column("group_id", BigInteger, ForeignKey("station_groups.id"), nullable=True),
    Column("tariff_ref", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

authorization_list_cards = Table(
    "authorization_list_cards",
    metadata,
    Column("list_id", BigInteger, ForeignKey("authorization_lists.id"), primary_key=True),
    Column("card_uid", String(36), ForeignKey("cards.uid"), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
)

# Cards of others (guests) a list's owner asked to put on it: the card joins the list (above) when
# its holder accepts. No reference to ``cards``: the uid is what the inviter typed, and one that
# names no card is kept all the same, so that the answer does not tell which uids exist.
list_card_invitations = Table(
    "list_card_invitations",
    metadata,
    Column("list_id", BigInteger, ForeignKey("authorization_lists.id"), primary_key=True),
    Column("card_uid", String(36), primary_key=True),
    Column("invited_at", UTCDateTime, nullable=False),
    Index("ix_list_card_invitations_card", "card_uid"),
)

# What each station holds in its OCPP local authorization list, as last confirmed by it.
station_local_lists = Table(
    "station_local_lists",
    metadata,
    Column("station_id", String(64), ForeignKey("stations.id"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("synced_at", UTCDateTime, nullable=True),
    Column("last_error", String(256), nullable=True),
)

station_local_list_entries = Table(
    "station_local_list_entries",
    metadata,
    Column("station_id", String(64), ForeignKey("stations.id"), primary_key=True),
    Column("card_uid", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("actor_name", String(128), nullable=False),
    Column("organisation_id", BigInteger, nullable=True),
    Column("action", String(48), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_audit_log_organisation", "organisation_id", "id"),
)

charging_sessions = Table(
    "charging_sessions",
    metadata,
    # Doubles as the OCPP 1.6 transactionId.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), ForeignKey("stations.id"), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("id_tag", String(36), nullable=False),
    Column("auth_status", String(16), nullable=False),
    Column("reservation_id", Integer, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("meter_start_wh", BigInteger, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
    Column("meter_stop_wh", BigInteger, nullable=True),
    Column("energy_wh", BigInteger, nullable=True),
    Column("stop_reason", String(32), nullable=True),
    Column("stop_id_tag", String(36), nullable=True),
    Column("session_type", String(16), nullable=True),
    Column("type_reason", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # A retried StartTransaction carries the same station time and meter: it must find this row.
    UniqueConstraint(
        "station_id", "evse_id", "started_at", "meter_start_wh", name="uq_session_start"
    ),
    Index("ix_sessions_started", "started_at"),
    Index("ix_sessions_station_started", "station_id", "started_at"),
)
# The sessions still open, per EVSE: a new transaction closes those its station lost, and a
# partial index finds them without walking the EVSE's history.
_OPEN = charging_sessions.c.stopped_at.is_(None)
Index(
    "ix_sessions_open",
    charging_sessions.c.station_id,
    charging_sessions.c.evse_id,
    charging_sessions.c.started_at,
    sqlite_where=_OPEN,
    postgresql_where=_OPEN,
)

meter_values = Table(
    "meter_values",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), nullable=False),
    Column("evse_id", Integer, nullable=False),
    # No foreign key: a reading for a transaction we do not know is still a reading worth keeping.
    Column("session_id", BigInteger, nullable=True),
    Column("sampled_at", UTCDateTime, nullable=False),
    Column("measurand", String(48), nullable=False),
    # '' rather than NULL so that the de-duplication key below also holds for these.
    Column("phase", String(8), nullable=False, server_default=""),
    Column("location", String(8), nullable=False, server_default=""),
    Column("context", String(24), nullable=False, server_default=""),
    Column("unit", String(16), nullable=False),
    Column("value", ExactDecimal, nullable=False),
    # The time first: readings arrive sampled at about the same moment whatever the station,
    # so a commit's readings land on the same few pages of this index, not one page a station
    # (each page a commit touches is written whole). Readings are read by session, not by this.
    UniqueConstraint(
        "sampled_at",
        "station_id",
        "evse_id",
        "measurand",
        "phase",
        "location",
        "context",
        name="uq_meter_value_sample",
    ),
    Index("ix_meter_values_session", "session_id"),
)

# Sampled values in SignedData format (signed meter readings, OCMF for German Eichrecht), kept
# as received beside the numbers: a table of their own so that the numeric readings, the hot
# path, stay as they are. A reading of an unknown transaction is kept too, linked to no session.
signed_meter_values = Table(
    "signed_meter_values",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), nullable=False),
    Column("evse_id", Integer, nullable=True),
    Column("connector_id", Integer, nullable=True),
    Column("session_id", BigInteger, nullable=True),
    Column("sampled_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # The message that carried it: MeterValues or StopTransaction (its transactionData).
    Column("message", String(24), nullable=False),
    Column("format", String(16), nullable=False),
    Column("measurand", String(48), nullable=False),
    Column("context", String(24), nullable=True),
    Column("unit", String(16), nullable=True),
    Column("phase", String(8), nullable=True),
    Column("location", String(8), nullable=True),
    # The block, exactly as the station sent it, and its SHA-256 (hex): a block sent again, in
    # a retry or in both MeterValues and StopTransaction, is one reading.
    Column("data", Text, nullable=False),
    Column("data_sha256", String(64), nullable=False),
    # How the OCMF record was wrapped (plain, hex, base64, json+…), when one was found.
    Column("encoding", String(16), nullable=True),
    # The meter's public key when the station sent one with the value; never verified here.
    Column("public_key", Text, nullable=True),
    # Why the block could not be decoded, or what its record lacks.
    Column("note", String(256), nullable=True),
    UniqueConstraint("station_id", "data_sha256", name="uq_signed_meter_value"),
    Index("ix_signed_meter_values_session", "session_id"),
)

# One row an exchange: a CALL and its answer (or a frame that belongs to no exchange, such as
# an answer to no call of ours). A row, not two: each row of the log costs every commit a page of
# the station index, and a busy platform logs a thousand exchanges a second.
ocpp_messages = Table(
    "ocpp_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # Who sent the first frame: "in", the station; "out", the platform.
    Column("direction", String(3), nullable=False),
    Column("message_type", SmallInteger, nullable=True),  # 2 CALL, 3 CALLRESULT, 4 CALLERROR
    Column("message_id", String(64), nullable=True),
    Column("action", String(48), nullable=True),
    Column("payload", Text, nullable=False),
    Column("note", String(512), nullable=True),
    # The answer, sent the other way: its frame, type (3 or 4) and time.
    Column("answer", Text, nullable=True),
    Column("answer_type", SmallInteger, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Index("ix_ocpp_messages_station", "station_id", "id"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # superseded by memberships; kept for migration
    Column("full_name", String(200), nullable=True),
    Column("email", String(254), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # A disabled person can neither log in nor use a session or API key they already have.
    Column("disabled_at", UTCDateTime, nullable=True),
    # The person's language and time zone for pages and mail; none: guessed from the browser
    # (language) and the platform's setting (time zone).
    Column("language", String(8), nullable=True),
    Column("timezone", String(64), nullable=True),
    # Where the platform pays a person it owes (an employee's reimbursements, a host's
    # remuneration): compact, upper case.
    Column("iban", String(34), nullable=True),
)

# A console login, looked up on every console request so that logging out (here or everywhere),
# a password change or disabling the person ends it at once. The cookie carries the token; only
# its hash is stored, so reading this table does not let anyone act as the person.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("user_agent", String(256), nullable=True),
    Column("address", String(64), nullable=True),
    Index("ix_console_sessions_user", "user_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("label", String(128), nullable=False),
    # Space-separated permissions; NULL: everything the user may do.
    Column("scopes", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Events waiting to be published (``services.events``): written in the transaction of the change
# they tell of, marked once published. ``seq`` orders them as they were committed.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(48), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Index(
        "ix_outbox_unpublished",
        "seq",
        sqlite_where=Column("published_at").is_(None),
        postgresql_where=Column("published_at").is_(None),
    ),
)

# The events each consumer has applied, written in the transaction that applies one: an event
# delivered again (after a crash, or by JetStream) finds its id here and changes nothing.
event_receipts = Table(
    "event_receipts",
    metadata,
    Column("consumer", String(48), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("applied_at", UTCDateTime, nullable=False),
)

# Sessions and energy per station and local day, kept from the session events.
station_daily_totals = Table(
    "station_daily_totals",
    metadata,
    Column("station_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("sessions", Integer, nullable=False),
    Column("energy_wh", BigInteger, nullable=False),
)

# The same per card holder: the organisation and the driver of the session's card when the
# session closed (``services.activity``). 0 stands for none (a card of an organisation given to
# no driver yet, or a driver's card of no organisation): a key column cannot be NULL. A card
# with neither, or a token no card has, counts in no row.
card_daily_totals = Table(
    "card_daily_totals",
    metadata,
    Column("organisation_id", BigInteger, primary_key=True),
    Column("driver_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("sessions", Integer, nullable=False),
    Column("energy_wh", BigInteger, nullable=False),
    Index("ix_card_daily_totals_driver", "driver_id", "day"),
)

# A closed session's charging periods (``domain.charging_periods``), computed from its readings
# and its connector's statuses when it closes and again when it is corrected (the rows are
# replaced). A column per OCPI dimension type rather than a JSON list: pricing, exports and
# reports sum and filter them in SQL. NULL: the period has no such dimension (a charging period
# has no parking time, a period without power readings no MAX_POWER).
session_charging_periods = Table(
    "session_charging_periods",
    metadata,
    Column("session_id", BigInteger, ForeignKey("charging_sessions.id"), primary_key=True),
    # 0, 1, … in the order of the periods' starts.
    Column("position", Integer, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("energy_kwh", ExactDecimal, nullable=True),
    Column("time_hours", ExactDecimal, nullable=True),
    Column("parking_time_hours", ExactDecimal, nullable=True),
    Column("max_power_kw", ExactDecimal, nullable=True),
    Column("min_power_kw", ExactDecimal, nullable=True),
    Column("max_current_a", ExactDecimal, nullable=True),
    Column("min_current_a", ExactDecimal, nullable=True),
    # Space-separated ``PeriodFlag`` values (METER_BACKWARDS); NULL: none.
    Column("flags", String(64), nullable=True),
)

# OCPI 2.2.1 tariffs, each change a new version: a session is priced by the version in force when
# it started (the latest to start at or before that moment and not yet ended). ``document`` is
# the version's OCPI Tariff object, as domain.tariffs writes it (Decimal without float).
tariffs = Table(
    "tariffs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tariff_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("party_id", String(3), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("document", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tariff_id", "version", name="uq_tariff_version"),
    Index("ix_tariffs_in_force", "tariff_id", "valid_from"),
)

# Who pays and earns what for each finished session (``domain.session_prices``): a line per
# party. A session re-priced (its data corrected) gets a new revision; the earlier ones stay, no
# longer ``current``, so its history is kept.
session_price_lines = Table(
    "session_price_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("session_id", BigInteger, ForeignKey("charging_sessions.id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("session_type", String(16), nullable=False),
    Column("party", String(16), nullable=False),
    Column("basis", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("excl_vat", ExactDecimal, nullable=False),
    Column("incl_vat", ExactDecimal, nullable=False),
    Column("tariff_id", String(36), nullable=True),
    Column("tariff_version", Integer, nullable=True),
    Column("rate", ExactDecimal, nullable=True),
    Column("priced_at", UTCDateTime, nullable=False),
    UniqueConstraint("session_id", "revision", "party", name="uq_session_price_line"),
)
Index(
    "ix_session_prices_current",
    session_price_lines.c.session_id,
    session_price_lines.c.party,
    sqlite_where=session_price_lines.c.current,
    postgresql_where=session_price_lines.c.current,
)

# -- split billing (``domain.licences``) ---------------------------------------------------------
# A device at an employee's home that is not an OCPP station of the platform (a smart charging
# cable such as NRGkick, a meter): its sessions come in by import or API. ``organisation_id``:
# the employer that registered it.
external_devices = Table(
    "external_devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # "cable" | "meter"
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
    Column("label", String(120), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# A licence names its device: a station (``station_id``) or an external device (``device_id``),
# exactly one. Valid over [valid_from, valid_until).
licences = Table(
    "licences",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("employer_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("employee_id", BigInteger, ForeignKey("users.id"), nullable=True),
    Column("station_id", String(64), ForeignKey("stations.id"), nullable=True),
    Column("device_id", String(64), ForeignKey("external_devices.id"), nullable=True),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_licences_employer", "employer_id"),
    Index("ix_licences_station", "station_id"),
    Index("ix_licences_device", "device_id"),
)

licence_cards = Table(
    "licence_cards",
    metadata,
    Column("licence_id", BigInteger, ForeignKey("licences.id"), primary_key=True),
    Column("card_uid", String(36), ForeignKey("cards.uid"), primary_key=True),
    Index("ix_licence_cards_card", "card_uid"),
)

# The reimbursement policy's history: each row holds from ``effective_from`` until the next.
licence_rates = Table(
    "licence_rates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("licence_id", BigInteger, ForeignKey("licences.id"), nullable=False),
    Column("effective_from", UTCDateTime, nullable=False),
    Column("source", String(8), nullable=False),  # "fixed" | "employer" | "creg"
    Column("per_kwh", ExactDecimal, nullable=True),
    Column("region", String(16), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("licence_id", "effective_from", name="uq_licence_rate_from"),
)

# The regulator's quarterly rates, €/kWh without VAT, kept by the operator.
creg_rates = Table(
    "creg_rates",
    metadata,
    Column("region", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("quarter", SmallInteger, primary_key=True),
    Column("per_kwh", ExactDecimal, nullable=False),
)

# Sessions of external devices, imported: typed like the stations' sessions when stored. A
# repeated import finds its sessions by device and start time and adds nothing. Each carries
# its split-billing reimbursement, decided in the import's transaction
# (``domain.licences.DeviceReimbursement``): why (``reimbursement_basis``), under which licence,
# at what rate (€/kWh, and its source) and how much, to the cent and without VAT; NULL where
# the basis says none applies (an invalid session, no licence, no rate for the quarter).
device_sessions = Table(
    "device_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("device_id", String(64), ForeignKey("external_devices.id"), nullable=False),
    Column("card_uid", String(36), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=False),
    Column("energy_wh", BigInteger, nullable=False),
    Column("session_type", String(16), nullable=False),
    Column("type_reason", String(128), nullable=True),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("reimbursement_basis", String(16), nullable=True),
    Column("licence_id", BigInteger, ForeignKey("licences.id"), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("rate", ExactDecimal, nullable=True),
    Column("rate_source", String(8), nullable=True),  # "fixed" | "employer" | "creg"
    Column("reimbursement", ExactDecimal, nullable=True),
    UniqueConstraint("device_id", "started_at", name="uq_device_session_start"),
    # The activity views: a card's sessions (mobility, a driver's own), newest first.
    Index("ix_device_sessions_card", "card_uid", "started_at"),
    Index("ix_device_sessions_started", "started_at"),
    Index("ix_device_sessions_licence", "licence_id", "started_at"),
)

# Mails waiting to be sent, and those sent (``services.mail``): written, already rendered in the
# recipient's language, in the transaction of the change they tell of, so that a change that
# rolls back sends nothing and one that commits sends its mail even if the process dies. The
# Message-ID is made with the row: a mail sent again after a crash between sending and marking
# it sent carries the same one, and a receiver can drop the repeat (delivery is at least once).
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject", String(400), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    # Whom and which organisation it concerns (for the console; no foreign key: the mail log
    # outlives what it told of).
    Column("user_id", BigInteger, nullable=True),
    Column("organisation_id", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # pending, sent or failed (refused for good).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # When a pending mail is (next) due: an attempt moves it ahead first, so a sender that dies
    # mid-attempt leaves it for a later one rather than for none.
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    # The billing document the mail carries (``billing_documents``): its PDF is attached from
    # the stored document when the mail is sent.
    Column("document_id", BigInteger, nullable=True),
    Index(
        "ix_mail_outbox_due",
        "next_attempt_at",
        sqlite_where=Column("status") == "pending",
        postgresql_where=Column("status") == "pending",
    ),
    Index("ix_mail_outbox_created", "created_at"),
)

# The files a mail carries, written with it.
mail_attachments = Table(
    "mail_attachments",
    metadata,
    Column("mail_id", BigInteger, ForeignKey("mail_outbox.id"), primary_key=True),
    Column("position", SmallInteger, primary_key=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# -- installation jobs (``domain.installations``) ------------------------------------------------
# A checklist template's versions: the operator's edit is a new row, never a change to an old
# one, so that a job keeps the version it started with. ``document``: JSON, as
# ``domain.installations.checklists.parse_template`` reads it.
checklist_templates = Table(
    "checklist_templates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    UniqueConstraint("key", "version", name="uq_checklist_template_version"),
)

# A job for a station (``station_id``) or a planned one (the ``site_`` columns), for its
# customer, done by an installer organisation and maybe one of its technicians.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("customer_id", BigInteger, ForeignKey("organisations.id"), nullable=False),
    Column("installer_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
    Column("technician_id", BigInteger, ForeignKey("users.id"), nullable=True),
    Column("station_id", String(64), ForeignKey("stations.id"), nullable=True),
    Column("site_street", String(200), nullable=True),
    Column("site_postcode", String(16), nullable=True),
    Column("site_city", String(100), nullable=True),
    Column("site_country", String(2), nullable=True),
    Column("site_vendor", String(64), nullable=True),
    Column("site_model", String(64), nullable=True),
    Column("planned_at", UTCDateTime, nullable=True),
    Column("description", String(2000), nullable=True),
    Column("template_id", BigInteger, ForeignKey("checklist_templates.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_jobs_customer", "customer_id", "id"),
    Index("ix_jobs_installer", "installer_id", "planned_at"),
    Index("ix_jobs_technician", "technician_id", "planned_at"),
    Index("ix_jobs_station", "station_id"),
)

# Every step of a job, and every change of who does it or of its station: who, when, why. No
# foreign key to the person: the history outlives accounts.
job_history = Table(
    "job_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, ForeignKey("jobs.id"), nullable=False),
    Column("event", String(16), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", BigInteger, nullable=True),
    Column("actor_name", String(128), nullable=False),
    Column("reason", String(2000), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_job_history_job", "job_id", "id"),
)

# Photos, signatures and documents: the file itself is in the blob store under ``blob_key``.
job_attachments = Table(
    "job_attachments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, ForeignKey("jobs.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("blob_key", String(200), nullable=False, unique=True),
    Column("file_name", String(200), nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Column("uploaded_by", BigInteger, nullable=True),
    Column("uploaded_by_name", String(128), nullable=False),
    Index("ix_job_attachments_job", "job_id", "id"),
)

# The answers to a job's checklist items. A correction adds a row and leaves the one it corrects,
# no longer ``current``: one current answer per item, the earlier ones its history.
job_answers = Table(
    "job_answers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, ForeignKey("jobs.id"), nullable=False),
    Column("item_key", String(64), nullable=False),
    Column("current", Boolean, nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("passed", Boolean, nullable=True),
    # A measurement in the item's unit, and as it was given.
    Column("value", ExactDecimal, nullable=True),
    Column("unit", String(8), nullable=True),
    Column("given_value", ExactDecimal, nullable=True),
    Column("given_unit", String(16), nullable=True),
    Column("choice", String(64), nullable=True),
    Column("text", String(2000), nullable=True),
    Column("attachment_id", BigInteger, ForeignKey("job_attachments.id"), nullable=True),
    Column("correction_reason", String(2000), nullable=True),
    Column("answered_at", UTCDateTime, nullable=False),
    Column("answered_by", BigInteger, nullable=True),
    Column("answered_by_name", String(128), nullable=False),
    Index("ix_job_answers_job", "job_id", "item_key", "id"),
)
Index(
    "uq_job_answers_current",
    job_answers.c.job_id,
    job_answers.c.item_key,
    unique=True,
    sqlite_where=job_answers.c.current,
    postgresql_where=job_answers.c.current,
)

# An item that failed, or cannot be answered, let pass the job for a reason.
job_waivers = Table(
    "job_waivers",
    metadata,
    Column("job_id", BigInteger, ForeignKey("jobs.id"), primary_key=True),
    Column("item_key", String(64), primary_key=True),
    Column("reason", String(2000), nullable=False),
    Column("waived_at", UTCDateTime, nullable=False),
    Column("waived_by", BigInteger, nullable=True),
    Column("waived_by_name", String(128), nullable=False),
)

# -- billing (``domain.billing``, ``services.billing``) --------------------------------------------
# A finalised billing run: what it was asked (a period, one customer or all) and how many
# documents it issued. A run is one transaction: its row, documents, billed items, ledger entries
# and mails are all there, or none is.
billing_runs = Table(
    "billing_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("organisation_id", BigInteger, nullable=True),  # none: every customer
    Column("actor_name", String(128), nullable=False),
    Column("documents", Integer, nullable=False),
    Column("finalised_at", UTCDateTime, nullable=False),
)

# Every issued document: ``snapshot`` is the whole ``Document`` as JSON (its lines, annex,
# parties as they were), the columns beside it what lists and filters query. Never updated but
# for ``state`` (paid, and so on, later): a correction is a credit note.
billing_documents = Table(
    "billing_documents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("run_id", BigInteger, ForeignKey("billing_runs.id"), nullable=True),
    # The customer (invoice, payment request, credit note; the employer of a reimbursement
    # statement) and the person paid (reimbursement and self-billing statements).
    Column("organisation_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_excl_vat", ExactDecimal, nullable=False),
    Column("total_vat", ExactDecimal, nullable=False),
    Column("total_incl_vat", ExactDecimal, nullable=False),
    Column("payment_reference", String(20), nullable=True, unique=True),
    Column("mandate_reference", String(35), nullable=True),
    Column("corrects", String(32), nullable=True),
    Column("state", String(16), nullable=False),
    Column("snapshot", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # What its sessions drew from a prepaid balance before it was issued (part of the snapshot,
    # here for the lists), and what payments brought in since, updated with ``state``.
    Column("prepaid", ExactDecimal, nullable=False, server_default="0"),
    Column("paid", ExactDecimal, nullable=False, server_default="0"),
    Index("ix_billing_documents_period", "period_start", "kind"),
    Index("ix_billing_documents_organisation", "organisation_id", "period_start"),
    Index("ix_billing_documents_user", "user_id"),
)

# The last number given in each series and year: the row is locked and incremented in the
# transaction that issues the document, so a run that rolls back gives its numbers back and
# numbers stay gapless.
billing_sequences = Table(
    "billing_sequences",
    metadata,
    Column("series", String(8), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

# What has been billed, once: a session for a purpose (charging, a reimbursement, a host's
# remuneration), a contract's month of subscription, an invoice line credited. Written with the
# document that bills it; its key refuses a second document for the same thing.
billed_items = Table(
    "billed_items",
    metadata,
    Column("source_kind", String(16), primary_key=True),
    Column("source_id", String(64), primary_key=True),
    Column("purpose", String(16), primary_key=True),
    Column("document_id", BigInteger, ForeignKey("billing_documents.id"), nullable=False),
    # The price lines' revision it was billed at, and the amount: a session corrected after it
    # was billed shows in the reconciliation.
    Column("revision", Integer, nullable=True),
    Column("amount", ExactDecimal, nullable=False),
    Column("billed_at", UTCDateTime, nullable=False),
    Index("ix_billed_items_document", "document_id"),
)

# The double-entry ledger (``domain.billing.ledger``): each journal (a document's booking) is a
# set of rows whose debits and credits balance. ``party``: whose receivable or payable it is.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("journal", String(64), nullable=False),
    Column("document_id", BigInteger, ForeignKey("billing_documents.id"), nullable=True),
    Column("account", String(32), nullable=False),
    Column("party_kind", String(16), nullable=True),  # "organisation" | "user"
    Column("party_id", BigInteger, nullable=True),
    Column("debit", ExactDecimal, nullable=False),
    Column("credit", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ledger_entries_document", "document_id"),
    Index("ix_ledger_entries_account", "account", "party_kind", "party_id"),
)

# -- first-line service (``domain.monitoring``) ----------------------------------------------------
# Tickets the rules open from what stations report: at most one active (not closed) per station,
# connector and rule, which a partial unique index keeps; a repeat is an occurrence. The station
# itself is EVSE 0, connector 0.
service_tickets = Table(
    "service_tickets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), ForeignKey("stations.id"), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("rule", String(32), nullable=False),
    Column("priority", String(16), nullable=False),
    # remedying, open, acknowledged or closed.
    Column("state", String(16), nullable=False),
    # The installer organisation responsible for the station when it opened (or since).
    Column("installer_id", BigInteger, ForeignKey("organisations.id"), nullable=True),
    # What the rule saw first: a connector's status and codes, a firmware status …
    Column("status", String(32), nullable=True),
    Column("error_code", String(32), nullable=True),
    Column("vendor_error_code", String(64), nullable=True),
    Column("info", String(64), nullable=True),
    Column("occurrences", Integer, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("respond_by", UTCDateTime, nullable=False),
    # When the platform's remedies were spent (or there were none) and people had it.
    Column("dispatched_at", UTCDateTime, nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(128), nullable=True),
    Column("acknowledge_note", String(2000), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    # Who closed it; none: the platform, because the condition cleared (``cleared_by``: how).
    Column("closed_by", String(128), nullable=True),
    Column("close_reason", String(16), nullable=True),
    Column("cleared_by", String(48), nullable=True),
    Column("close_note", String(2000), nullable=True),
    # Remedies sent so far, and when the next step is due (while remedying).
    Column("remedy_steps", SmallInteger, nullable=False, server_default="0"),
    Column("remedy_due_at", UTCDateTime, nullable=True),
    # The event that opened it: applied again, it opens nothing.
    Column("event_id", String(36), nullable=True, unique=True),
    Index("ix_service_tickets_station", "station_id", "opened_at"),
    Index("ix_service_tickets_installer", "installer_id", "opened_at"),
)
_TICKET_ACTIVE = service_tickets.c.closed_at.is_(None)
Index(
    "uq_service_tickets_active",
    service_tickets.c.station_id,
    service_tickets.c.evse_id,
    service_tickets.c.connector_id,
    service_tickets.c.rule,
    unique=True,
    sqlite_where=_TICKET_ACTIVE,
    postgresql_where=_TICKET_ACTIVE,
)
Index(
    "ix_service_tickets_active_opened",
    service_tickets.c.opened_at,
    sqlite_where=_TICKET_ACTIVE,
    postgresql_where=_TICKET_ACTIVE,
)
_REMEDYING = service_tickets.c.state == "remedying"
Index(
    "ix_service_tickets_remedy_due",
    service_tickets.c.remedy_due_at,
    sqlite_where=_REMEDYING,
    postgresql_where=_REMEDYING,
)

# Each time a rule found a ticket's condition while it was open, the first time included. The
# event's id makes an event applied twice one occurrence.
service_ticket_occurrences = Table(
    "service_ticket_occurrences",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigInteger, ForeignKey("service_tickets.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event_id", String(36), nullable=True, unique=True),
    Column("status", String(32), nullable=True),
    Column("error_code", String(32), nullable=True),
    Column("vendor_error_code", String(64), nullable=True),
    Column("info", String(64), nullable=True),
    Index("ix_service_ticket_occurrences_ticket", "ticket_id", "id"),
)

# The remote remedies the platform sent for a ticket, a row per step, and what each did.
service_ticket_remedies = Table(
    "service_ticket_remedies",
    metadata,
    Column("ticket_id", BigInteger, ForeignKey("service_tickets.id"), primary_key=True),
    Column("step", SmallInteger, primary_key=True),
    Column("remedy", String(24), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("answer", String(64), nullable=True),
    # Whether the condition cleared within the wait after it; NULL while it waits.
    Column("cleared", Boolean, nullable=True),
)

# Stations' boots, and the Resets they accepted (each explains a boot), within the reboot
# window: what the repeated-reboots rule counts. Older rows are removed by the sweep.
station_boots = Table(
    "station_boots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(8), nullable=False),  # "boot" | "reset"
    Column("event_id", String(36), nullable=False, unique=True),
    Index("ix_station_boots_station", "station_id", "at"),
)

# -- money after documents are issued (``domain.billing.settlement``, ``services.payments``) ----
# A bank statement's credit as it was imported: what became of it (``MatchKind``), and whether it
# booked anything (a payment, a top-up): an entry that booked is never booked again, one that did
# not is looked at again when a statement holding it is imported once more.
bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entry_reference", String(255), nullable=False, unique=True),
    Column("booking_date", Date, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("structured_references", String(255), nullable=True),  # space-separated
    Column("counterparty_name", String(140), nullable=True),
    Column("counterparty_iban", String(34), nullable=True),
    Column("remittance", String(500), nullable=True),
    Column("outcome", String(24), nullable=False),
    Column("document_id", BigInteger, ForeignKey("billing_documents.id"), nullable=True),
    Column("contract_id", BigInteger, ForeignKey("contracts.id"), nullable=True),
    Column("applied", ExactDecimal, nullable=False),
    Column("surplus", ExactDecimal, nullable=False),
    Column("booked", Boolean, nullable=False),
    Column("actor_name", String(128), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Index("ix_bank_entries_booked", "booked", "imported_at"),
)

# Money received for a document (an invoice, a payment request): by hand, or from a statement's
# entry. ``reference`` is unique per document, so that the same payment registered twice books
# once.
payments = Table(
    "payments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("document_id", BigInteger, ForeignKey("billing_documents.id"), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("source", String(16), nullable=False),  # "manual" | "statement"
    Column("reference", String(255), nullable=False),
    Column("bank_entry_id", BigInteger, ForeignKey("bank_entries.id"), nullable=True),
    Column("actor_name", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("document_id", "reference", name="uq_payments_document_reference"),
    Index("ix_payments_document", "document_id"),
)

# A SEPA file as it was made (pain.008 collecting, pain.001 paying out): its bytes are kept, so
# the same file can be handed to the bank again, never a new one for the same money.
sepa_files = Table(
    "sepa_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("schema", String(32), nullable=False),
    Column("message_id", String(35), nullable=False, unique=True),
    Column("period_start", Date, nullable=False),
    Column("transactions", Integer, nullable=False),
    Column("control_sum", ExactDecimal, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("actor_name", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sepa_files_period", "period_start", "schema"),
)

# Each document presented for collection under a mandate, once: a mandate's first collection
# is FRST, every later one RCUR, and 36 months without one lapse it.
mandate_collections = Table(
    "mandate_collections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("mandate_reference", String(35), nullable=False),
    Column(
        "document_id", BigInteger, ForeignKey("billing_documents.id"), nullable=False, unique=True
    ),
    Column("sequence_type", String(4), nullable=False),
    Column("collection_date", Date, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("sepa_file_id", BigInteger, ForeignKey("sepa_files.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_mandate_collections_mandate", "mandate_reference", "collection_date"),
)

# What the platform pays a person for a statement (an employee's reimbursement, a host's
# remuneration), one per statement: due once released, sent once its credit transfer file is
# made. The statement's lines name the sessions it pays for.
payouts = Table(
    "payouts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "document_id", BigInteger, ForeignKey("billing_documents.id"), nullable=False, unique=True
    ),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(16), nullable=False),  # "due" | "sent"
    # Why it is due: the statement's own issue, or the payment of the employer's request.
    Column("released_by", String(64), nullable=False),
    Column("released_at", UTCDateTime, nullable=False),
    Column("sepa_file_id", BigInteger, ForeignKey("sepa_files.id"), nullable=True),
    Column("iban", String(34), nullable=True),  # where it was sent
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_payouts_state", "state"),
)

# The reminders sent for an overdue document: one per level, ever.
payment_reminders = Table(
    "payment_reminders",
    metadata,
    Column("document_id", BigInteger, ForeignKey("billing_documents.id"), primary_key=True),
    Column("level", SmallInteger, primary_key=True),
    Column("mail_id", BigInteger, nullable=True),  # none: nobody to mail
    Column("amount_due", ExactDecimal, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
)
