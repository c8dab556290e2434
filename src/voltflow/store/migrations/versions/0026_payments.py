"""payments: documents' prepaid and paid amounts, mandates' revocation, bank statement entries,
payments received, SEPA files, mandate collections, payouts and payment reminders

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mandate_revoked_on", sa.Date(), nullable=True))
    with op.batch_alter_table("billing_documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prepaid", ExactDecimal(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("paid", ExactDecimal(), nullable=False, server_default="0"))

    op.create_table(
        "bank_entries",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("entry_reference", sa.String(255), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("structured_references", sa.String(255), nullable=True),
        sa.Column("counterparty_name", sa.String(140), nullable=True),
        sa.Column("counterparty_iban", sa.String(34), nullable=True),
        sa.Column("remittance", sa.String(500), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=True),
        sa.Column("contract_id", sa.BigInteger(), nullable=True),
        sa.Column("applied", ExactDecimal(), nullable=False),
        sa.Column("surplus", ExactDecimal(), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        _fk("bank_entries", "document_id", "billing_documents"),
        _fk("bank_entries", "contract_id", "contracts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint("entry_reference", name=op.f("uq_bank_entries_entry_reference")),
    )
    op.create_index("ix_bank_entries_booked", "bank_entries", ["booked", "imported_at"])
    op.create_table(
        "payments",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("bank_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("payments", "document_id", "billing_documents"),
        _fk("payments", "bank_entry_id", "bank_entries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("document_id", "reference", name="uq_payments_document_reference"),
    )
    op.create_index("ix_payments_document", "payments", ["document_id"])
    op.create_table(
        "sepa_files",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("schema", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(35), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("control_sum", ExactDecimal(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sepa_files")),
        sa.UniqueConstraint("message_id", name=op.f("uq_sepa_files_message_id")),
    )
    op.create_index("ix_sepa_files_period", "sepa_files", ["period_start", "schema"])
    op.create_table(
        "mandate_collections",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("mandate_reference", sa.String(35), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence_type", sa.String(4), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("sepa_file_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("mandate_collections", "document_id", "billing_documents"),
        _fk("mandate_collections", "sepa_file_id", "sepa_files"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandate_collections")),
        sa.UniqueConstraint("document_id", name=op.f("uq_mandate_collections_document_id")),
    )
    op.create_index(
        "ix_mandate_collections_mandate",
        "mandate_collections",
        ["mandate_reference", "collection_date"],
    )
    op.create_table(
        "payouts",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("released_by", sa.String(64), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=False),
        sa.Column("sepa_file_id", sa.BigInteger(), nullable=True),
        sa.Column("iban", sa.String(34), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        _fk("payouts", "document_id", "billing_documents"),
        _fk("payouts", "user_id", "users"),
        _fk("payouts", "sepa_file_id", "sepa_files"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("document_id", name=op.f("uq_payouts_document_id")),
    )
    op.create_index("ix_payouts_state", "payouts", ["state"])
    op.create_table(
        "payment_reminders",
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("mail_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_due", ExactDecimal(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        _fk("payment_reminders", "document_id", "billing_documents"),
        sa.PrimaryKeyConstraint("document_id", "level", name=op.f("pk_payment_reminders")),
    )


def downgrade() -> None:
    op.drop_table("payment_reminders")
    op.drop_index("ix_payouts_state", table_name="payouts")
    op.drop_table("payouts")
    op.drop_index("ix_mandate_collections_mandate", table_name="mandate_collections")
    op.drop_table("mandate_collections")
    op.drop_index("ix_sepa_files_period", table_name="sepa_files")
    op.drop_table("sepa_files")
    op.drop_index("ix_payments_document", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_bank_entries_booked", table_name="bank_entries")
    op.drop_table("bank_entries")
    _drop_columns("billing_documents", "paid", "prepaid")
    _drop_columns("contracts", "mandate_revoked_on")


def _drop_columns(table: str, *columns: str) -> None:
    """SQLite drops a plain column in place (3.35 and later): a batch would copy the table, and
    dropping the original fails while other tables' foreign keys point at it."""
    if op.get_bind().dialect.name == "sqlite":
        for column in columns:
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_column(column)
