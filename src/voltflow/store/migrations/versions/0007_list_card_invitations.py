"""invitations of guests' cards onto a list, pending their holder's answer

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voltflow.store.types

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = voltflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "list_card_invitations",
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("card_uid", sa.String(36), nullable=False),
        sa.Column("invited_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["authorization_lists.id"],
            name=op.f("fk_list_card_invitations_list_id_authorization_lists"),
        ),
        sa.PrimaryKeyConstraint("list_id", "card_uid", name=op.f("pk_list_card_invitations")),
    )
    op.create_index("ix_list_card_invitations_card", "list_card_invitations", ["card_uid"])


def downgrade() -> None:
    op.drop_index("ix_list_card_invitations_card", table_name="list_card_invitations")
    op.drop_table("list_card_invitations")
