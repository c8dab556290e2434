"""session prices: who pays and earns what per session; a station's tariff and host

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch_op:
        batch_op.add_column(sa.Column("tariff_id", sa.String(36), nullable=True))
        batch_op.add_column(
            sa.Column(
                "host_user_id",
                sa.BigInteger(),
                sa.ForeignKey("users.id", name="fk_stations_host_user"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("host_tariff_id", sa.String(36), nullable=True))
    op.create_table(
        "session_price_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("session_type", sa.String(16), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("excl_vat", ExactDecimal(), nullable=False),
        sa.Column("incl_vat", ExactDecimal(), nullable=False),
        sa.Column("tariff_id", sa.String(36), nullable=True),
        sa.Column("tariff_version", sa.Integer(), nullable=True),
        sa.Column("rate", ExactDecimal(), nullable=True),
        sa.Column("priced_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["charging_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "revision", "party", name="uq_session_price_line"),
    )
    op.create_index(
        "ix_session_prices_current",
        "session_price_lines",
        ["session_id", "party"],
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )


def downgrade() -> None:
    op.drop_index("ix_session_prices_current", table_name="session_price_lines")
    op.drop_table("session_price_lines")
    with op.batch_alter_table("stations") as batch_op:
        batch_op.drop_column("host_tariff_id")
        batch_op.drop_column("host_user_id")
        batch_op.drop_column("tariff_id")
