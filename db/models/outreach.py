from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class OutreachActivity(Base):
    """One offline activity staff held (parent meeting, seminar, consultation...).

    `held_on` is the calendar day in the municipality's time zone (a day has no
    time of its own, so it is not shifted to UTC); the timestamps are UTC.
    `logged_by` is the staff member's Telegram id (None: CLI or import); it is
    re-keyed to an anonymous id when the staff member asks /forget.
    """

    __tablename__ = "outreach_activities"
    __table_args__ = (
        Index("ix_outreach_activities_held_on", "held_on"),
        Index("ix_outreach_activities_municipality_held_on", "municipality_id", "held_on"),
        Index("ix_outreach_activities_logged_by", "logged_by"),
        # Staff see the id as the entry's number: a deleted one is never given again (SQLite).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(24))
    audience: Mapped[str] = mapped_column(String(16))
    reached: Mapped[int]
    organisation: Mapped[str | None] = mapped_column(String(300))
    # Direction codes (bot.directions.Direction.code), possibly empty.
    directions: Mapped[list[str]] = mapped_column(default=list)
    # "offline" | "online" | None (not stated)
    format: Mapped[str | None] = mapped_column(String(8))
    municipality_id: Mapped[str] = mapped_column(String(64))
    logged_by: Mapped[int | None]
    # "bot" | "cli" | "import"
    source: Mapped[str] = mapped_column(String(8), default="bot")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutreachAudit(Base):
    """Every create, update and delete of an activity: who, when, old and new values."""

    __tablename__ = "outreach_audit"
    __table_args__ = (
        Index("ix_outreach_audit_activity_id", "activity_id"),
        Index("ix_outreach_audit_actor_id", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # No foreign key: the trail outlives a deleted activity.
    activity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(8))  # create | update | delete
    actor_id: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(8), default="bot")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    old: Mapped[dict[str, Any] | None]
    new: Mapped[dict[str, Any] | None]
