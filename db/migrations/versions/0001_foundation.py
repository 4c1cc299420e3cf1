"""foundation: users and the activity log

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BIGINT, autoincrement=False, nullable=False),
        sa.Column("consent_at", UTCDateTime(), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=True),
        sa.Column("role", sa.String(length=16), server_default="parent", nullable=False),
        sa.Column("municipality_id", sa.String(length=64), nullable=True),
        sa.Column("child_ages", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("role_granted_by", BIGINT, nullable=True),
        sa.Column("role_granted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "activity_events",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("municipality_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", BIGINT, nullable=True),
        sa.Column("topic", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("age", BIGINT, nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_events")),
    )
    op.create_index("ix_activity_events_kind_occurred_at", "activity_events", ["kind", "occurred_at"])
    op.create_index("ix_activity_events_user_id", "activity_events", ["user_id"])
    op.create_index(op.f("ix_activity_events_occurred_at"), "activity_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_activity_events_occurred_at"), table_name="activity_events")
    op.drop_index("ix_activity_events_user_id", table_name="activity_events")
    op.drop_index("ix_activity_events_kind_occurred_at", table_name="activity_events")
    op.drop_table("activity_events")
    op.drop_table("users")
