"""installation jobs: checklist templates, jobs and their history, answers, waivers, files

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voltflow.store.types import ExactDecimal, UTCDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "checklist_templates",
        _id(),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("key", "version", name="uq_checklist_template_version"),
    )
    op.create_table(
        "jobs",
        _id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger(), sa.ForeignKey("organisations.id"), nullable=False
        ),
        sa.Column(
            "installer_id", sa.BigInteger(), sa.ForeignKey("organisations.id"), nullable=True
        ),
        sa.Column("technician_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("station_id", sa.String(64), sa.ForeignKey("stations.id"), nullable=True),
        sa.Column("site_street", sa.String(200), nullable=True),
        sa.Column("site_postcode", sa.String(16), nullable=True),
        sa.Column("site_city", sa.String(100), nullable=True),
        sa.Column("site_country", sa.String(2), nullable=True),
        sa.Column("site_vendor", sa.String(64), nullable=True),
        sa.Column("site_model", sa.String(64), nullable=True),
        sa.Column("planned_at", UTCDateTime(), nullable=True),
        sa.Column("description", sa.String(2000), nullable=True),
        sa.Column(
            "template_id",
            sa.BigInteger(),
            sa.ForeignKey("checklist_templates.id"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_jobs_customer", "jobs", ["customer_id", "id"])
    op.create_index("ix_jobs_installer", "jobs", ["installer_id", "planned_at"])
    op.create_index("ix_jobs_technician", "jobs", ["technician_id", "planned_at"])
    op.create_index("ix_jobs_station", "jobs", ["station_id"])
    op.create_table(
        "job_history",
        _id(),
        sa.Column("job_id", sa.BigInteger(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_job_history_job", "job_history", ["job_id", "id"])
    op.create_table(
        "job_attachments",
        _id(),
        sa.Column("job_id", sa.BigInteger(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(200), nullable=False, unique=True),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by_name", sa.String(128), nullable=False),
    )
    op.create_index("ix_job_attachments_job", "job_attachments", ["job_id", "id"])
    op.create_table(
        "job_answers",
        _id(),
        sa.Column("job_id", sa.BigInteger(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("value", ExactDecimal(), nullable=True),
        sa.Column("unit", sa.String(8), nullable=True),
        sa.Column("given_value", ExactDecimal(), nullable=True),
        sa.Column("given_unit", sa.String(16), nullable=True),
        sa.Column("choice", sa.String(64), nullable=True),
        sa.Column("text", sa.String(2000), nullable=True),
        sa.Column(
            "attachment_id",
            sa.BigInteger(),
            sa.ForeignKey("job_attachments.id"),
            nullable=True,
        ),
        sa.Column("correction_reason", sa.String(2000), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.Column("answered_by", sa.BigInteger(), nullable=True),
        sa.Column("answered_by_name", sa.String(128), nullable=False),
    )
    op.create_index("ix_job_answers_job", "job_answers", ["job_id", "item_key", "id"])
    op.create_index(
        "uq_job_answers_current",
        "job_answers",
        ["job_id", "item_key"],
        unique=True,
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )
    op.create_table(
        "job_waivers",
        sa.Column("job_id", sa.BigInteger(), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("item_key", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("waived_at", UTCDateTime(), nullable=False),
        sa.Column("waived_by", sa.BigInteger(), nullable=True),
        sa.Column("waived_by_name", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_waivers")
    op.drop_index("uq_job_answers_current", table_name="job_answers")
    op.drop_index("ix_job_answers_job", table_name="job_answers")
    op.drop_table("job_answers")
    op.drop_index("ix_job_attachments_job", table_name="job_attachments")
    op.drop_table("job_attachments")
    op.drop_index("ix_job_history_job", table_name="job_history")
    op.drop_table("job_history")
    for name in ("ix_jobs_station", "ix_jobs_technician", "ix_jobs_installer", "ix_jobs_customer"):
        op.drop_index(name, table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("checklist_templates")
