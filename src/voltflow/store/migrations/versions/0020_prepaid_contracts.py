"""prepaid contracts: a credit balance per contract and the movements that change it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(
            sa.Column("prepaid", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("prepaid_balance", ExactDecimal(), nullable=False, server_default="0")
        )
    op.create_table(
        "prepaid_movements",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance", ExactDecimal(), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("session_price", ExactDecimal(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_prepaid_movements_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepaid_movements")),
    )
    op.create_index("ix_prepaid_movements_contract", "prepaid_movements", ["contract_id", "id"])
    op.create_index(
        "ix_prepaid_movements_reference", "prepaid_movements", ["contract_id", "kind", "reference"]
    )


def downgrade() -> None:
    op.drop_index("ix_prepaid_movements_reference", table_name="prepaid_movements")
    op.drop_index("ix_prepaid_movements_contract", table_name="prepaid_movements")
    op.drop_table("prepaid_movements")
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.drop_column("prepaid_balance")
        batch_op.drop_column("prepaid")
