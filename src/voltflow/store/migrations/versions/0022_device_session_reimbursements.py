"""device_sessions: each imported session's split-billing reimbursement (basis, licence, rate,
amount), and the indexes the activity views read them by

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# CREG quarters follow Belgian local dates (``domain.licences``).
BRUSSELS = ZoneInfo("Europe/Brussels")
CENT = Decimal("0.01")

sessions = sa.table(
    "device_sessions",
    sa.column("id", sa.BigInteger()),
    sa.column("device_id", sa.String()),
    sa.column("card_uid", sa.String()),
    sa.column("started_at", UTCDateTime()),
    sa.column("energy_wh", sa.BigInteger()),
    sa.column("session_type", sa.String()),
    sa.column("reimbursement_basis", sa.String()),
    sa.column("licence_id", sa.BigInteger()),
    sa.column("currency", sa.String()),
    sa.column("rate", ExactDecimal()),
    sa.column("rate_source", sa.String()),
    sa.column("reimbursement", ExactDecimal()),
)
licences = sa.table(
    "licences",
    sa.column("id", sa.BigInteger()),
    sa.column("device_id", sa.String()),
    sa.column("valid_from", UTCDateTime()),
    sa.column("valid_until", UTCDateTime()),
)
licence_cards = sa.table(
    "licence_cards", sa.column("licence_id", sa.BigInteger()), sa.column("card_uid", sa.String())
)
licence_rates = sa.table(
    "licence_rates",
    sa.column("licence_id", sa.BigInteger()),
    sa.column("effective_from", UTCDateTime()),
    sa.column("source", sa.String()),
    sa.column("per_kwh", ExactDecimal()),
    sa.column("region", sa.String()),
)
creg_rates = sa.table(
    "creg_rates",
    sa.column("region", sa.String()),
    sa.column("year", sa.Integer()),
    sa.column("quarter", sa.Integer()),
    sa.column("per_kwh", ExactDecimal()),
)


def upgrade() -> None:
    with op.batch_alter_table("device_sessions") as batch:
        batch.add_column(sa.Column("reimbursement_basis", sa.String(16), nullable=True))
        batch.add_column(sa.Column("licence_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("rate", ExactDecimal(length=64), nullable=True))
        batch.add_column(sa.Column("rate_source", sa.String(8), nullable=True))
        batch.add_column(sa.Column("reimbursement", ExactDecimal(length=64), nullable=True))
        batch.create_foreign_key(
            op.f("fk_device_sessions_licence_id_licences"), "licences", ["licence_id"], ["id"]
        )
        batch.create_index("ix_device_sessions_card", ["card_uid", "started_at"])
        batch.create_index("ix_device_sessions_started", ["started_at"])
        batch.create_index("ix_device_sessions_licence", ["licence_id", "started_at"])
    _reimburse_stored_sessions()


def _reimburse_stored_sessions() -> None:
    """The sessions imported before this revision get the reimbursement an import now stores:
    the rules of ``domain.licences``, written out here so that this revision keeps meaning what
    it meant when the domain moves on."""
    conn = op.get_bind()
    stored = conn.execute(
        sa.select(
            sessions.c.id,
            sessions.c.device_id,
            sessions.c.card_uid,
            sessions.c.started_at,
            sessions.c.energy_wh,
            sessions.c.session_type,
        )
    ).all()
    if not stored:
        return
    held: dict[int, set[str]] = {}
    for row in conn.execute(sa.select(licence_cards)):
        held.setdefault(int(row.licence_id), set()).add(row.card_uid)
    rates: dict[int, list[Any]] = {}
    for row in conn.execute(sa.select(licence_rates).order_by(licence_rates.c.effective_from)):
        rates.setdefault(int(row.licence_id), []).append(row)
    creg = {
        (r.region, int(r.year), int(r.quarter)): r.per_kwh
        for r in conn.execute(sa.select(creg_rates))
    }
    of_device = conn.execute(sa.select(licences).where(licences.c.device_id.is_not(None))).all()
    decided = []
    for s in stored:
        values: dict[str, Any] = {
            "reimbursement_basis": "no_licence",
            "licence_id": None,
            "currency": "EUR",
            "rate": None,
            "rate_source": None,
            "reimbursement": None,
        }
        covering = next(
            (
                lic
                for lic in of_device
                if lic.device_id == s.device_id
                and s.card_uid in held.get(int(lic.id), set())
                and lic.valid_from <= s.started_at
                and (lic.valid_until is None or s.started_at < lic.valid_until)
            ),
            None,
        )
        if s.session_type == "invalid":
            values["reimbursement_basis"] = "invalid"
        elif s.session_type == "split_billing" and covering is not None:
            values["licence_id"] = int(covering.id)
            policy = _policy_at(rates.get(int(covering.id), []), s.started_at)
            rate = None
            if policy is not None and policy.source == "creg":
                local = s.started_at.astimezone(BRUSSELS).date()
                rate = creg.get((policy.region, local.year, (local.month - 1) // 3 + 1))
            elif policy is not None:
                rate = policy.per_kwh
            if rate is None:
                values["reimbursement_basis"] = "no_rate"
            else:
                amount = (Decimal(int(s.energy_wh)).scaleb(-3) * rate).quantize(
                    CENT, rounding=ROUND_HALF_UP
                )
                values |= {
                    "reimbursement_basis": "licence_rate",
                    "rate": rate,
                    "rate_source": policy.source if policy is not None else None,
                    "reimbursement": amount,
                }
        decided.append({"session": int(s.id), **{f"new_{k}": v for k, v in values.items()}})
    conn.execute(
        sessions.update()
        .where(sessions.c.id == sa.bindparam("session"))
        .values(
            reimbursement_basis=sa.bindparam("new_reimbursement_basis"),
            licence_id=sa.bindparam("new_licence_id"),
            currency=sa.bindparam("new_currency"),
            rate=sa.bindparam("new_rate", type_=ExactDecimal()),
            rate_source=sa.bindparam("new_rate_source"),
            reimbursement=sa.bindparam("new_reimbursement", type_=ExactDecimal()),
        ),
        decided,
    )


def _policy_at(changes: list[Any], start: datetime) -> Any:
    """The last rate change at or before ``start``, if any."""
    current = None
    for change in changes:
        if change.effective_from <= start:
            current = change
    return current


def downgrade() -> None:
    with op.batch_alter_table("device_sessions") as batch:
        batch.drop_index("ix_device_sessions_licence")
        batch.drop_index("ix_device_sessions_started")
        batch.drop_index("ix_device_sessions_card")
        batch.drop_constraint(op.f("fk_device_sessions_licence_id_licences"), type_="foreignkey")
        batch.drop_column("reimbursement")
        batch.drop_column("rate_source")
        batch.drop_column("rate")
        batch.drop_column("currency")
        batch.drop_column("licence_id")
        batch.drop_column("reimbursement_basis")
