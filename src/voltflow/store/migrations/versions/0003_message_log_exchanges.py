"""the message log keeps a CALL and its answer in one row; meter values are de-duplicated
time first

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voltflow.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows logged before stay as they are: one frame each, with no answer.
    with op.batch_alter_table("ocpp_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("answer_type", sa.SmallInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("answered_at", voltflow.store.types.UTCDateTime(), nullable=True)
        )
    _sample_key(["sampled_at", "station_id", "evse_id"])


def _sample_key(first: list[str]) -> None:
    with op.batch_alter_table("meter_values", schema=None) as batch_op:
        batch_op.drop_constraint("uq_meter_value_sample", type_="unique")
        batch_op.create_unique_constraint(
            "uq_meter_value_sample", [*first, "measurand", "phase", "location", "context"]
        )


def downgrade() -> None:
    _sample_key(["station_id", "evse_id", "sampled_at"])
    with op.batch_alter_table("ocpp_messages", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
        batch_op.drop_column("answer_type")
        batch_op.drop_column("answer")
