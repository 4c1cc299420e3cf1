"""hand-off threads and screenshots: a parent's reply to a specialist is a question row in
the hand-off's thread (faq_questions.handoff_id), the hand-off knows since when a reply
waits (faq_handoffs.reply_at); a notice may carry a photo (a parent's screenshot) and be
sent as a reply to an earlier message (notices.photo_file_id, notices.reply_to_message_id)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("faq_questions") as batch:
        batch.add_column(sa.Column("handoff_id", BIGINT, nullable=True))
        batch.create_index("ix_faq_questions_handoff_id", ["handoff_id"])
    with op.batch_alter_table("faq_handoffs") as batch:
        batch.add_column(sa.Column("reply_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("photo_file_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("reply_to_message_id", BIGINT, nullable=True))


def downgrade() -> None:
    # Replies stay as questions (decision "reply") without their thread; a pending notice
    # with a screenshot is still posted, as text.
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("reply_to_message_id")
        batch.drop_column("photo_file_id")
    with op.batch_alter_table("faq_handoffs") as batch:
        batch.drop_column("reply_at")
    with op.batch_alter_table("faq_questions") as batch:
        batch.drop_index("ix_faq_questions_handoff_id")
        batch.drop_column("handoff_id")
