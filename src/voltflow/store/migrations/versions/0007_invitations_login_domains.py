"""invitations of guests' cards onto a list; each organisation's login domain

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voltflow.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = voltflow.store.types.UTCDateTime


def login_domain(name: str, taken: set[str]) -> str:
    """As ``voltflow.domain.access.login_domain`` was when this migration was written."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "", ascii_name.lower())[:40] or "org"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    return candidate


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
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("login_domain", sa.String(64), nullable=True))
    organisations = sa.table(
        "organisations",
        sa.column("id", sa.BigInteger()),
        sa.column("name", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("login_domain", sa.String()),
    )
    bind = op.get_bind()
    taken: set[str] = set()
    rows = bind.execute(
        sa.select(organisations.c.id, organisations.c.name)
        .where(organisations.c.kind != "operator")
        .order_by(organisations.c.id)
    ).all()
    for row in rows:
        domain = login_domain(row.name, taken)
        taken.add(domain)
        bind.execute(
            sa.update(organisations).where(organisations.c.id == row.id).values(login_domain=domain)
        )
    with op.batch_alter_table("organisations") as batch:
        batch.create_unique_constraint(op.f("uq_organisations_login_domain"), ["login_domain"])


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_constraint(op.f("uq_organisations_login_domain"), type_="unique")
        batch.drop_column("login_domain")
    op.drop_index("ix_list_card_invitations_card", table_name="list_card_invitations")
    op.drop_table("list_card_invitations")
