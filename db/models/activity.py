from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.identity import channel_default


class ActivityEvent(Base):
    """One thing the bot did by itself, for the annual report.

    Features append rows through `bot.services.activity.record()`; the report
    aggregates them by `kind` without knowing the feature's own tables.
    `user_id` is replaced by an anonymous surrogate when the user deletes their
    data, so distinct-people counts survive /forget.
    """

    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_events_kind_occurred_at", "kind", "occurred_at"),
        Index("ix_activity_events_user_id", "user_id"),
        # Covers every query of the annual report, so a year of a million events is read from
        # this index alone (migration 0005_outreach).
        Index(
            "ix_activity_events_report",
            "kind",
            "occurred_at",
            "municipality_id",
            "user_id",
            "outcome",
            "topic",
            "age",
            "value",
            "channel",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(48))
    municipality_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None]
    # 'tg' or 'max', from `user_id` on insert; kept when /forget re-keys the row.
    channel: Mapped[str | None] = mapped_column(String(8), default=channel_default("user_id"))
    topic: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(32))
    age: Mapped[int | None]
    value: Mapped[float | None] = mapped_column(Float)
    ref: Mapped[str | None] = mapped_column(String(64))
