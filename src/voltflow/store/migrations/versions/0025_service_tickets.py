"""service tickets: a station's installer, tickets the monitoring rules open, their occurrences
and remedies, and the boots the repeated-reboots rule counts

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import UTCDateTime

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("stations") as batch_op:
        batch_op.add_column(sa.Column("installer_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_stations_installer_id_organisations"),
            "organisations",
            ["installer_id"],
            ["id"],
        )
    op.create_table(
        "service_tickets",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("installer_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("vendor_error_code", sa.String(64), nullable=True),
        sa.Column("info", sa.String(64), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("respond_by", UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("acknowledge_note", sa.String(2000), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("close_reason", sa.String(16), nullable=True),
        sa.Column("cleared_by", sa.String(48), nullable=True),
        sa.Column("close_note", sa.String(2000), nullable=True),
        sa.Column("remedy_steps", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("remedy_due_at", UTCDateTime(), nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_service_tickets_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["installer_id"],
            ["organisations.id"],
            name=op.f("fk_service_tickets_installer_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_tickets")),
        sa.UniqueConstraint("event_id", name=op.f("uq_service_tickets_event_id")),
    )
    op.create_index("ix_service_tickets_station", "service_tickets", ["station_id", "opened_at"])
    op.create_index(
        "ix_service_tickets_installer", "service_tickets", ["installer_id", "opened_at"]
    )
    active = sa.text("closed_at IS NULL")
    op.create_index(
        "uq_service_tickets_active",
        "service_tickets",
        ["station_id", "evse_id", "connector_id", "rule"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )
    op.create_index(
        "ix_service_tickets_active_opened",
        "service_tickets",
        ["opened_at"],
        sqlite_where=active,
        postgresql_where=active,
    )
    remedying = sa.text("state = 'remedying'")
    op.create_index(
        "ix_service_tickets_remedy_due",
        "service_tickets",
        ["remedy_due_at"],
        sqlite_where=remedying,
        postgresql_where=remedying,
    )
    op.create_table(
        "service_ticket_occurrences",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("vendor_error_code", sa.String(64), nullable=True),
        sa.Column("info", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_service_ticket_occurrences_ticket_id_service_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_ticket_occurrences")),
        sa.UniqueConstraint("event_id", name=op.f("uq_service_ticket_occurrences_event_id")),
    )
    op.create_index(
        "ix_service_ticket_occurrences_ticket", "service_ticket_occurrences", ["ticket_id", "id"]
    )
    op.create_table(
        "service_ticket_remedies",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.SmallInteger(), nullable=False),
        sa.Column("remedy", sa.String(24), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("answer", sa.String(64), nullable=True),
        sa.Column("cleared", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_service_ticket_remedies_ticket_id_service_tickets"),
        ),
        sa.PrimaryKeyConstraint("ticket_id", "step", name=op.f("pk_service_ticket_remedies")),
    )
    op.create_table(
        "station_boots",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_boots")),
        sa.UniqueConstraint("event_id", name=op.f("uq_station_boots_event_id")),
    )
    op.create_index("ix_station_boots_station", "station_boots", ["station_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_station_boots_station", table_name="station_boots")
    op.drop_table("station_boots")
    op.drop_table("service_ticket_remedies")
    op.drop_index("ix_service_ticket_occurrences_ticket", table_name="service_ticket_occurrences")
    op.drop_table("service_ticket_occurrences")
    for name in (
        "ix_service_tickets_remedy_due",
        "ix_service_tickets_active_opened",
        "uq_service_tickets_active",
        "ix_service_tickets_installer",
        "ix_service_tickets_station",
    ):
        op.drop_index(name, table_name="service_tickets")
    op.drop_table("service_tickets")
    with op.batch_alter_table("stations") as batch_op:
        batch_op.drop_constraint(op.f("fk_stations_installer_id_organisations"), type_="foreignkey")
        batch_op.drop_column("installer_id")
