"""the message log keeps a CALL and its answer in one row

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


def downgrade() -> None:
    with op.batch_alter_table("ocpp_messages", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
        batch_op.drop_column("answer_type")
        batch_op.drop_column("answer")
