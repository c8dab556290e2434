"""The schema. Alembic migrations in ``migrations/`` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    Column("registration", String(16), nullable=False, server_default="Accepted"),
    Column("lenient", Boolean, nullable=False, server_default="0"),
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

tokens = Table(
    "tokens",
    metadata,
    Column("uid", String(36), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
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
    UniqueConstraint(
        "station_id",
        "evse_id",
        "sampled_at",
        "measurand",
        "phase",
        "location",
        "context",
        name="uq_meter_value_sample",
    ),
    Index("ix_meter_values_session", "session_id"),
)

ocpp_messages = Table(
    "ocpp_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("station_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("direction", String(3), nullable=False),  # "in" | "out"
    Column("message_type", SmallInteger, nullable=True),  # 2 CALL, 3 CALLRESULT, 4 CALLERROR
    Column("message_id", String(64), nullable=True),
    Column("action", String(48), nullable=True),
    Column("payload", Text, nullable=False),
    Column("note", String(512), nullable=True),
    Index("ix_ocpp_messages_station", "station_id", "id"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("label", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
