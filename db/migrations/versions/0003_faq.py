"""faq: parents' questions and hand-offs to staff

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "faq_questions",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("user_id", BIGINT, nullable=True),
        sa.Column("municipality_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalized", sa.String(length=400), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("matched_id", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_questions")),
    )
    op.create_index("ix_faq_questions_user_id", "faq_questions", ["user_id"])
    op.create_index("ix_faq_questions_decision_asked_at", "faq_questions", ["decision", "asked_at"])
    op.create_index(op.f("ix_faq_questions_asked_at"), "faq_questions", ["asked_at"])
    op.create_table(
        "faq_handoffs",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("question_id", BIGINT, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("staff_chat_id", BIGINT, nullable=False),
        sa.Column("staff_message_id", BIGINT, nullable=False),
        sa.Column("answered_by", BIGINT, nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["faq_questions.id"],
            name=op.f("fk_faq_handoffs_question_id_faq_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_handoffs")),
        sa.UniqueConstraint(
            "staff_chat_id", "staff_message_id", name=op.f("uq_faq_handoffs_staff_chat_id_staff_message_id")
        ),
    )
    op.create_index("ix_faq_handoffs_answered_at", "faq_handoffs", ["answered_at"])
    op.create_index(op.f("ix_faq_handoffs_question_id"), "faq_handoffs", ["question_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_faq_handoffs_question_id"), table_name="faq_handoffs")
    op.drop_index("ix_faq_handoffs_answered_at", table_name="faq_handoffs")
    op.drop_table("faq_handoffs")
    op.drop_index(op.f("ix_faq_questions_asked_at"), table_name="faq_questions")
    op.drop_index("ix_faq_questions_decision_asked_at", table_name="faq_questions")
    op.drop_index("ix_faq_questions_user_id", table_name="faq_questions")
    op.drop_table("faq_questions")
