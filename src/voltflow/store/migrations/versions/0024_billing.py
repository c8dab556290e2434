"""billing: customers' billing details, payees' IBAN, billing runs, documents, their numbering,
billed items and the double-entry ledger

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("street", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("postal_code", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("country", sa.String(2), nullable=True))
        batch_op.add_column(sa.Column("peppol_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("iban", sa.String(34), nullable=True))
        batch_op.add_column(sa.Column("bic", sa.String(11), nullable=True))
        batch_op.add_column(sa.Column("billing_email", sa.String(254), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("iban", sa.String(34), nullable=True))
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_id", sa.BigInteger(), nullable=True))

    op.create_table(
        "billing_runs",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("finalised_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
    )
    op.create_table(
        "billing_documents",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_excl_vat", ExactDecimal(), nullable=False),
        sa.Column("total_vat", ExactDecimal(), nullable=False),
        sa.Column("total_incl_vat", ExactDecimal(), nullable=False),
        sa.Column("payment_reference", sa.String(20), nullable=True),
        sa.Column("mandate_reference", sa.String(35), nullable=True),
        sa.Column("corrects", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_runs.id"],
            name=op.f("fk_billing_documents_run_id_billing_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_billing_documents_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_billing_documents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_billing_documents_number")),
        sa.UniqueConstraint(
            "payment_reference", name=op.f("uq_billing_documents_payment_reference")
        ),
    )
    op.create_index("ix_billing_documents_period", "billing_documents", ["period_start", "kind"])
    op.create_index(
        "ix_billing_documents_organisation",
        "billing_documents",
        ["organisation_id", "period_start"],
    )
    op.create_index("ix_billing_documents_user", "billing_documents", ["user_id"])
    op.create_table(
        "billing_sequences",
        sa.Column("series", sa.String(8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", "year", name=op.f("pk_billing_sequences")),
    )
    op.create_table(
        "billed_items",
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("billed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["billing_documents.id"],
            name=op.f("fk_billed_items_document_id_billing_documents"),
        ),
        sa.PrimaryKeyConstraint(
            "source_kind", "source_id", "purpose", name=op.f("pk_billed_items")
        ),
    )
    op.create_index("ix_billed_items_document", "billed_items", ["document_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("journal", sa.String(64), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=True),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("party_kind", sa.String(16), nullable=True),
        sa.Column("party_id", sa.BigInteger(), nullable=True),
        sa.Column("debit", ExactDecimal(), nullable=False),
        sa.Column("credit", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["billing_documents.id"],
            name=op.f("fk_ledger_entries_document_id_billing_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_document", "ledger_entries", ["document_id"])
    op.create_index(
        "ix_ledger_entries_account", "ledger_entries", ["account", "party_kind", "party_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_account", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_document", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_billed_items_document", table_name="billed_items")
    op.drop_table("billed_items")
    op.drop_table("billing_sequences")
    op.drop_index("ix_billing_documents_user", table_name="billing_documents")
    op.drop_index("ix_billing_documents_organisation", table_name="billing_documents")
    op.drop_index("ix_billing_documents_period", table_name="billing_documents")
    op.drop_table("billing_documents")
    op.drop_table("billing_runs")
    _drop_columns("mail_outbox", "document_id")
    _drop_columns("users", "iban")
    _drop_columns(
        "organisations",
        "billing_email",
        "bic",
        "iban",
        "peppol_id",
        "country",
        "city",
        "postal_code",
        "street",
    )


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
