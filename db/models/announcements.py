"""Announcements: subscriptions, events with sign-ups, broadcasts and their outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class Subscription(Base):
    """A parent's subscription to announcements and its filters.

    `directions` holds Direction codes; empty means every направленность.
    Ages and the municipality live on `users` (shared with the catalogue).
    """

    __tablename__ = "subscriptions"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    active: Mapped[bool] = mapped_column(default=True)
    directions: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """An open day, parent meeting or seminar staff announce; times are UTC."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    municipality_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    # IANA zone the time was entered in (the municipality's): shown and exported in it.
    timezone: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(300))
    organisation: Mapped[str] = mapped_column(String(300))
    directions: Mapped[list[str]] = mapped_column(default=list)
    audience: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[int | None]
    description: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventSignup(Base):
    """A parent's sign-up for an event: one row per (event, person).

    A cancelled sign-up keeps its row with `cancelled_at` set (signing up again clears it), so
    the report counts cancellations from the same table as sign-ups. /forget re-keys the row to
    an anonymous id and erases the name and phone; the counts stay.
    `name` and `phone` are what the parent chose to give at sign-up (optional, with consent:
    `contact_at` is when they gave it); they are erased some days after the event
    (`bot.services.announcements.events.CONTACT_RETENTION`).
    """

    __tablename__ = "event_signups"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index("ix_event_signups_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    contact_at: Mapped[datetime | None]


class Broadcast(Base):
    """One announcement to a segment, or a reminder about an event.

    status: scheduled → running → done, or cancelled. The delivery worker starts
    it when `scheduled_at` has come (a time missed while the bot was down is
    started late and staff are told). `dedup_key` makes reminders unique
    ("event:12:day").
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        Index("ix_broadcasts_status_scheduled_at", "status", "scheduled_at"),
        UniqueConstraint("dedup_key"),
        UniqueConstraint("kind", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="broadcast")  # broadcast | reminder
    # What staff see: «Рассылка №3» counts broadcasts only (reminders among reminders).
    number: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    text: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    photo_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    dedup_key: Mapped[str | None] = mapped_column(String(64))
    scheduled_at: Mapped[datetime]
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(default=0)
    progress_chat_id: Mapped[int | None]
    progress_message_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(String(300))


class OutboxMessage(Base):
    """One (broadcast, recipient) delivery; the unique key forbids a second copy.

    state: pending → sending (written before the request) → sent | blocked |
    failed; back to pending only after a 429 or a retryable error. Rows found
    `sending` at start become `uncertain` and are never sent again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        Index("ix_outbox_state_id", "state", "id"),
        Index("ix_outbox_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime | None]


class DeliveryPause(Base):
    """A global pause after Telegram's 429 (`name` = "global"); survives a restart."""

    __tablename__ = "delivery_pause"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    resume_at: Mapped[datetime]
