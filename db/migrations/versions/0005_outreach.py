"""outreach: offline activities staff log, their audit trail, and the report's index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outreach_activities",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("reached", BIGINT, nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=True),
        sa.Column("directions", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("logged_by", BIGINT, nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_activities")),
    )
    op.create_index("ix_outreach_activities_held_on", "outreach_activities", ["held_on"])
    op.create_index(
        "ix_outreach_activities_municipality_held_on", "outreach_activities", ["municipality_id", "held_on"]
    )
    op.create_index("ix_outreach_activities_logged_by", "outreach_activities", ["logged_by"])
    op.create_table(
        "outreach_audit",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("activity_id", BIGINT, nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("actor_id", BIGINT, nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_audit")),
    )
    op.create_index("ix_outreach_audit_activity_id", "outreach_audit", ["activity_id"])
    op.create_index("ix_outreach_audit_actor_id", "outreach_audit", ["actor_id"])
    # A covering index for the report's queries over the foundation's activity log (events and
    # distinct people per kind, FAQ outcomes and topics, searches by direction and age, medians).
    op.create_index(
        "ix_activity_events_report",
        "activity_events",
        ["kind", "occurred_at", "municipality_id", "user_id", "outcome", "topic", "age", "value"],
    )


def downgrade() -> None:
    op.drop_index("ix_activity_events_report", table_name="activity_events")
    op.drop_index("ix_outreach_audit_actor_id", table_name="outreach_audit")
    op.drop_index("ix_outreach_audit_activity_id", table_name="outreach_audit")
    op.drop_table("outreach_audit")
    op.drop_index("ix_outreach_activities_logged_by", table_name="outreach_activities")
    op.drop_index("ix_outreach_activities_municipality_held_on", table_name="outreach_activities")
    op.drop_index("ix_outreach_activities_held_on", table_name="outreach_activities")
    op.drop_table("outreach_activities")
