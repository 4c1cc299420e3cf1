from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.identity import channel_default


class FaqQuestion(Base):
    """One free-text question a person asked the bot, and what the matcher decided.

    `normalized` (lower case, no punctuation) groups identical questions for the
    "unanswered questions" report. /forget blanks both texts and re-keys
    `user_id` to an anonymous id, so the counts survive without the person.
    """

    __tablename__ = "faq_questions"
    __table_args__ = (
        Index("ix_faq_questions_user_id", "user_id"),
        Index("ix_faq_questions_decision_asked_at", "decision", "asked_at"),
        Index("ix_faq_questions_handoff_id", "handoff_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None]
    # 'tg' or 'max', from `user_id` on insert; kept when /forget re-keys the row.
    channel: Mapped[str | None] = mapped_column(String(8), default=channel_default("user_id"))
    municipality_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(400))
    # answer | suggest | fallback | smalltalk | ask (straight to a specialist) | reply (in a thread)
    decision: Mapped[str] = mapped_column(String(16))
    matched_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # A parent's reply to a specialist: the hand-off whose thread it continues. No foreign key:
    # faq_handoffs already points here, and /forget deletes the hand-offs, then clears this.
    handoff_id: Mapped[int | None] = mapped_column(default=None)


class FaqHandoff(Base):
    """A question passed to staff: the message in the staff chat and its answer.

    It is a thread: the parent may reply to an answer (a `FaqQuestion` with `decision`
    "reply" and this `handoff_id`), and staff answer that reply in turn. `reply_at` is
    when the oldest reply still waiting for staff came (None: nothing waits).
    """

    __tablename__ = "faq_handoffs"
    __table_args__ = (
        UniqueConstraint("staff_chat_id", "staff_message_id"),
        Index("ix_faq_handoffs_answered_at", "answered_at"),
        # Staff see the id as the question's number: one /forget deleted is never given again.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("faq_questions.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_chat_id: Mapped[int]
    # The message in the staff chat (set for hand-offs before 0006; newer ones find it via `notices`).
    staff_message_id: Mapped[int | None]
    answered_by: Mapped[int | None]
    answered_at: Mapped[datetime | None]
    reply_at: Mapped[datetime | None] = mapped_column(default=None)
