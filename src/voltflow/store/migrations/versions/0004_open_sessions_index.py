"""the sessions still open, per EVSE: a partial index

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    open_only = sa.text("stopped_at IS NULL")
    op.create_index(
        "ix_sessions_open",
        "charging_sessions",
        ["station_id", "evse_id", "started_at"],
        sqlite_where=open_only,
        postgresql_where=open_only,
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_open", table_name="charging_sessions")
