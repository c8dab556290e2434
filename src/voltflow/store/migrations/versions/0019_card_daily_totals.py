"""card_daily_totals: sessions and energy per card holder (organisation, driver) and day

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_daily_totals",
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("driver_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id", "driver_id", "day", name=op.f("pk_card_daily_totals")
        ),
    )
    op.create_index("ix_card_daily_totals_driver", "card_daily_totals", ["driver_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_card_daily_totals_driver", table_name="card_daily_totals")
    op.drop_table("card_daily_totals")
