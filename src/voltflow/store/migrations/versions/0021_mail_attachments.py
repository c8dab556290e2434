"""mail_attachments: the files a mail of the outbox carries

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_attachments",
        sa.Column("mail_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mail_id"],
            ["mail_outbox.id"],
            name=op.f("fk_mail_attachments_mail_id_mail_outbox"),
        ),
        sa.PrimaryKeyConstraint("mail_id", "position", name=op.f("pk_mail_attachments")),
    )


def downgrade() -> None:
    op.drop_table("mail_attachments")
