"""notices: durable messages to other people (hand-offs, staff answers, digests);
hand-offs no longer need the staff message id before they are stored

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("chat_id", BIGINT, nullable=False),
        sa.Column("user_id", BIGINT, nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("disable_preview", sa.Boolean(), nullable=False),
        sa.Column("on_fail_chat_id", BIGINT, nullable=True),
        sa.Column("on_fail_text", sa.Text(), nullable=True),
        sa.Column("dedup_key", sa.String(length=96), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", BIGINT, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("sent_message_id", BIGINT, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notices_dedup_key")),
    )
    op.create_index("ix_notices_state_next_attempt_at", "notices", ["state", "next_attempt_at"])
    op.create_index("ix_notices_chat_id_sent_message_id", "notices", ["chat_id", "sent_message_id"])
    op.create_index("ix_notices_user_id", "notices", ["user_id"])
    with op.batch_alter_table("faq_handoffs") as batch:
        batch.alter_column("staff_message_id", existing_type=BIGINT, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM faq_handoffs WHERE staff_message_id IS NULL")
    with op.batch_alter_table("faq_handoffs") as batch:
        batch.alter_column("staff_message_id", existing_type=BIGINT, nullable=False)
    op.drop_index("ix_notices_user_id", table_name="notices")
    op.drop_index("ix_notices_chat_id_sent_message_id", table_name="notices")
    op.drop_index("ix_notices_state_next_attempt_at", table_name="notices")
    op.drop_table("notices")
