from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.identity import channel_default, external_default


class User(Base):
    """A person in one messenger. Personal data is minimal: the id, settings and children's ages.

    `id` is the internal id; (`channel`, `external_id`) is the identity it stands for
    (bot/channels: Telegram ids as they are, MAX ids from 2**53), both set from `id` on
    insert. Before consent only the ids are filled; everything else is written after the
    user accepts the personal data notice.
    """

    __tablename__ = "users"
    __table_args__ = (Index("ux_users_identity", "channel", "external_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(8), default=channel_default("id"), server_default="tg")
    external_id: Mapped[int | None] = mapped_column(default=external_default("id"))
    consent_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    role: Mapped[str] = mapped_column(String(16), default="parent", server_default="parent")
    municipality_id: Mapped[str | None] = mapped_column(String(64))
    # Children's ages as the parent gave them, each with the day it was given:
    # [{"age": 7, "on": "2025-03-01"}]. No names, no birth dates; the age now is computed
    # from these (db/repositories/users.py: ChildAge), so it never goes stale.
    children: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # False after Telegram said the user blocked the bot (403); /start sets it again.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Staff only: their actions are tied to this id for the audit trail.
    role_granted_by: Mapped[int | None]
    role_granted_at: Mapped[datetime | None]

    @property
    def child_ages(self) -> list[int]:
        """The ages as given (scripts and tests); the bot reads `UserRecord.child_ages`, the ages now."""
        return [int(c["age"]) for c in self.children or ()]

    @child_ages.setter
    def child_ages(self, ages: list[int]) -> None:
        """Ages given today (scripts, tests, the old column's name)."""
        today = datetime.now(UTC).date()
        self.children = children_json(ages, today)


def children_json(ages: list[int], given_on: date) -> list[dict[str, Any]]:
    """The stored form of ages given on one day."""
    return [{"age": int(age), "on": given_on.isoformat()} for age in ages]
