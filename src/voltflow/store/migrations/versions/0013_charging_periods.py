"""session_charging_periods: a closed session's charging periods, as OCPI's CDR has them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_charging_periods",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("energy_kwh", ExactDecimal(), nullable=True),
        sa.Column("time_hours", ExactDecimal(), nullable=True),
        sa.Column("parking_time_hours", ExactDecimal(), nullable=True),
        sa.Column("max_power_kw", ExactDecimal(), nullable=True),
        sa.Column("min_power_kw", ExactDecimal(), nullable=True),
        sa.Column("max_current_a", ExactDecimal(), nullable=True),
        sa.Column("min_current_a", ExactDecimal(), nullable=True),
        sa.Column("flags", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["charging_sessions.id"],
            name=op.f("fk_session_charging_periods_session_id_charging_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "position", name=op.f("pk_session_charging_periods")),
    )


def downgrade() -> None:
    op.drop_table("session_charging_periods")
