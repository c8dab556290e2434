"""split billing: licences, their cards and rate history, CREG rates, external devices and
their imported sessions

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 2025's published CREG rates, €/kWh (Q1–Q4); the operator keeps the table from there on.
CREG_2025 = {
    "flanders": ("0.2822", "0.3194", "0.3456", "0.3070"),
    "wallonia": ("0.3256", "0.3617", "0.3843", "0.3457"),
    "brussels": ("0.3294", "0.3585", "0.3787", "0.3356"),
}


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "external_devices",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_external_devices_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_devices")),
    )
    op.create_table(
        "licences",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("employer_id", sa.BigInteger(), nullable=False),
        sa.Column("employee_id", sa.BigInteger(), nullable=True),
        sa.Column("station_id", sa.String(64), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["organisations.id"],
            name=op.f("fk_licences_employer_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["users.id"], name=op.f("fk_licences_employee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_licences_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["external_devices.id"],
            name=op.f("fk_licences_device_id_external_devices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licences")),
    )
    op.create_index("ix_licences_employer", "licences", ["employer_id"])
    op.create_index("ix_licences_station", "licences", ["station_id"])
    op.create_index("ix_licences_device", "licences", ["device_id"])
    op.create_table(
        "licence_cards",
        sa.Column("licence_id", sa.BigInteger(), nullable=False),
        sa.Column("card_uid", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"], ["licences.id"], name=op.f("fk_licence_cards_licence_id_licences")
        ),
        sa.ForeignKeyConstraint(
            ["card_uid"], ["cards.uid"], name=op.f("fk_licence_cards_card_uid_cards")
        ),
        sa.PrimaryKeyConstraint("licence_id", "card_uid", name=op.f("pk_licence_cards")),
    )
    op.create_index("ix_licence_cards_card", "licence_cards", ["card_uid"])
    op.create_table(
        "licence_rates",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("licence_id", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("per_kwh", ExactDecimal(length=64), nullable=True),
        sa.Column("region", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"], ["licences.id"], name=op.f("fk_licence_rates_licence_id_licences")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_rates")),
        sa.UniqueConstraint("licence_id", "effective_from", name="uq_licence_rate_from"),
    )
    creg = op.create_table(
        "creg_rates",
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("per_kwh", ExactDecimal(length=64), nullable=False),
        sa.PrimaryKeyConstraint("region", "year", "quarter", name=op.f("pk_creg_rates")),
    )
    op.bulk_insert(
        creg,
        [
            {"region": region, "year": 2025, "quarter": n, "per_kwh": Decimal(rate)}
            for region, rates in CREG_2025.items()
            for n, rate in enumerate(rates, 1)
        ],
    )
    op.create_table(
        "device_sessions",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("card_uid", sa.String(36), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("session_type", sa.String(16), nullable=False),
        sa.Column("type_reason", sa.String(128), nullable=True),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["external_devices.id"],
            name=op.f("fk_device_sessions_device_id_external_devices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_sessions")),
        sa.UniqueConstraint("device_id", "started_at", name="uq_device_session_start"),
    )


def downgrade() -> None:
    op.drop_table("device_sessions")
    op.drop_table("creg_rates")
    op.drop_table("licence_rates")
    op.drop_index("ix_licence_cards_card", table_name="licence_cards")
    op.drop_table("licence_cards")
    op.drop_index("ix_licences_device", table_name="licences")
    op.drop_index("ix_licences_station", table_name="licences")
    op.drop_index("ix_licences_employer", table_name="licences")
    op.drop_table("licences")
    op.drop_table("external_devices")
