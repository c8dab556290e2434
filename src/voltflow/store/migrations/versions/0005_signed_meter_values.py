"""signed meter values: SignedData sampled values kept as received

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signed_meter_values",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=True),
        sa.Column("connector_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("sampled_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("message", sa.String(24), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("measurand", sa.String(48), nullable=False),
        sa.Column("context", sa.String(24), nullable=True),
        sa.Column("unit", sa.String(16), nullable=True),
        sa.Column("phase", sa.String(8), nullable=True),
        sa.Column("location", sa.String(8), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("data_sha256", sa.String(64), nullable=False),
        sa.Column("encoding", sa.String(16), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("note", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signed_meter_values"),
        sa.UniqueConstraint("station_id", "data_sha256", name="uq_signed_meter_value"),
    )
    op.create_index("ix_signed_meter_values_session", "signed_meter_values", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_signed_meter_values_session", table_name="signed_meter_values")
    op.drop_table("signed_meter_values")
