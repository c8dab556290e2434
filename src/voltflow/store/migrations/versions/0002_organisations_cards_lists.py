"""organisations, people's roles, contracts, cards and their history, station lists, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voltflow.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = voltflow.store.types.UTCDateTime
Money = voltflow.store.types.ExactDecimal


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("vat_number", sa.String(32), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_index("ix_organisations_name", "organisations", ["name"])
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_memberships_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("user_id", "organisation_id", "role", name=op.f("pk_memberships")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fee_per_card", Money(), nullable=False),
        sa.Column("fee_per_station", Money(), nullable=False),
        sa.Column("fee_per_licence", Money(), nullable=False),
        sa.Column("mandate_reference", sa.String(35), nullable=True),
        sa.Column("mandate_iban", sa.String(34), nullable=True),
        sa.Column("mandate_bic", sa.String(11), nullable=True),
        sa.Column("mandate_signed_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contracts_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("mandate_reference", name=op.f("uq_contracts_mandate_reference")),
    )
    op.create_index("ix_contracts_organisation", "contracts", ["organisation_id"])

    # The foundation's plain token table becomes the card table: its rows stay active cards
    # without an owner.
    op.rename_table("tokens", "cards")
    with op.batch_alter_table("cards") as batch:
        batch.add_column(sa.Column("printed_number", sa.String(32), nullable=True))
        batch.add_column(sa.Column("contract_id", sa.String(20), nullable=True))
        batch.add_column(sa.Column("organisation_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("driver_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("updated_at", UTC(), nullable=True))
    op.execute("UPDATE cards SET updated_at = created_at")
    with op.batch_alter_table("cards") as batch:
        batch.alter_column("updated_at", existing_type=UTC(), nullable=False)
        batch.create_unique_constraint(op.f("uq_cards_printed_number"), ["printed_number"])
        batch.create_unique_constraint(op.f("uq_cards_contract_id"), ["contract_id"])
        batch.create_foreign_key(
            op.f("fk_cards_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )
        batch.create_foreign_key(op.f("fk_cards_driver_id_users"), "users", ["driver_id"], ["id"])
        batch.create_index("ix_cards_organisation", ["organisation_id", "state"])
        batch.create_index("ix_cards_driver", ["driver_id"])
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE cards RENAME CONSTRAINT pk_tokens TO pk_cards")

    op.create_table(
        "card_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("card_uid", sa.String(36), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("detail", sa.String(256), nullable=True),
        sa.Column("at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_uid"], ["cards.uid"], name=op.f("fk_card_events_card_uid_cards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_events")),
    )
    op.create_index("ix_card_events_card", "card_events", ["card_uid", "id"])
    op.create_table(
        "station_groups",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_station_groups_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_groups")),
        sa.UniqueConstraint("organisation_id", "name", name="uq_station_group_name"),
    )
    op.create_table(
        "station_group_members",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["station_groups.id"],
            name=op.f("fk_station_group_members_group_id_station_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_station_group_members_station_id_stations"),
        ),
        sa.PrimaryKeyConstraint("group_id", "station_id", name=op.f("pk_station_group_members")),
    )
    op.create_table(
        "authorization_lists",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("station_id", sa.String(64), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("tariff_ref", sa.String(64), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_authorization_lists_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_authorization_lists_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["station_groups.id"],
            name=op.f("fk_authorization_lists_group_id_station_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_lists")),
    )
    op.create_table(
        "authorization_list_cards",
        sa.Column("list_id", sa.BigInteger(), nullable=False),
        sa.Column("card_uid", sa.String(36), nullable=False),
        sa.Column("added_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["authorization_lists.id"],
            name=op.f("fk_authorization_list_cards_list_id_authorization_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["card_uid"], ["cards.uid"], name=op.f("fk_authorization_list_cards_card_uid_cards")
        ),
        sa.PrimaryKeyConstraint("list_id", "card_uid", name=op.f("pk_authorization_list_cards")),
    )
    op.create_table(
        "station_local_lists",
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("synced_at", UTC(), nullable=True),
        sa.Column("last_error", sa.String(256), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_station_local_lists_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_local_lists")),
    )
    op.create_table(
        "station_local_list_entries",
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("card_uid", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_station_local_list_entries_station_id_stations"),
        ),
        sa.PrimaryKeyConstraint(
            "station_id", "card_uid", name=op.f("pk_station_local_list_entries")
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_organisation", "audit_log", ["organisation_id", "id"])

    with op.batch_alter_table("stations") as batch:
        batch.add_column(sa.Column("organisation_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_stations_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("full_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
    # Operators created before organisations existed join the operator organisation.
    op.execute(
        "INSERT INTO organisations (name, kind, created_at) "
        "SELECT 'Operator', 'operator', CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM users)"
    )
    op.execute(
        "INSERT INTO memberships (user_id, organisation_id, role, created_at) "
        "SELECT u.id, o.id, 'operator', CURRENT_TIMESTAMP FROM users u, organisations o "
        "WHERE o.kind = 'operator' AND u.role = 'operator'"
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
        batch.drop_column("full_name")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
    with op.batch_alter_table("stations") as batch:
        batch.drop_constraint(op.f("fk_stations_organisation_id_organisations"), type_="foreignkey")
        batch.drop_column("organisation_id")
    for table in (
        "audit_log",
        "station_local_list_entries",
        "station_local_lists",
        "authorization_list_cards",
        "authorization_lists",
        "station_group_members",
        "station_groups",
        "card_events",
    ):
        op.drop_table(table)
    with op.batch_alter_table("cards") as batch:
        batch.drop_index("ix_cards_driver")
        batch.drop_index("ix_cards_organisation")
        batch.drop_constraint(op.f("fk_cards_driver_id_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_cards_organisation_id_organisations"), type_="foreignkey")
        batch.drop_constraint(op.f("uq_cards_contract_id"), type_="unique")
        batch.drop_constraint(op.f("uq_cards_printed_number"), type_="unique")
        for column in (
            "updated_at",
            "driver_id",
            "organisation_id",
            "contract_id",
            "printed_number",
        ):
            batch.drop_column(column)
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE cards RENAME CONSTRAINT pk_cards TO pk_tokens")
    op.rename_table("cards", "tokens")
    op.drop_table("contracts")
    op.drop_table("memberships")
    op.drop_table("organisations")
