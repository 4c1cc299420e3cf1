"""Messages to someone other than the person who just wrote: durable rows first.

A hand-off to the staff chat, a specialist's answer to a parent, the morning digest,
a notice to staff: each is a `Notice` row written in the same transaction as the
change it reports, then sent by the notice worker. Nothing is lost to a restart or
a Telegram outage, and nothing is sent twice.

state: pending → sending (committed before the request) → sent | blocked | failed;
back to pending only for a retryable error. A row found `sending` at start was in
flight when the process died: it becomes `uncertain` and is never sent again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_notices_chat_id_sent_message_id", "chat_id", "sent_message_id"),
        Index("ix_notices_user_id", "user_id"),
        UniqueConstraint("dedup_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_id: Mapped[int]
    # The person the message is about or for (a parent), for /forget; None for staff-only notices.
    user_id: Mapped[int | None]
    # handoff | handoff_reply (a parent's reply in a hand-off's thread) | staff_answer | staff_notice | digest
    purpose: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(
        String(64)
    )  # handoff: its id; handoff_reply: the reply's question id
    text: Mapped[str] = mapped_column(Text)  # Telegram HTML, rendered by the caller (a caption with a photo)
    # A photo already on Telegram's servers (a parent's screenshot): sent with `text` as its caption.
    photo_file_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # Sent as a reply to this message of the same chat (a parent's reply under the hand-off it continues).
    reply_to_message_id: Mapped[int | None] = mapped_column(default=None)
    # Inline keyboard as rows of {"text", "callback_data" | "url"}; channel-neutral data.
    buttons: Mapped[list[Any] | None] = mapped_column(default=None)
    disable_preview: Mapped[bool] = mapped_column(default=False)
    # Told when the notice finally fails (e.g. the staff chat, about an answer that bounced).
    on_fail_chat_id: Mapped[int | None]
    on_fail_text: Mapped[str | None] = mapped_column(Text)
    dedup_key: Mapped[str | None] = mapped_column(String(96))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str | None] = mapped_column(String(300))
    sent_message_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
