from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class User(Base):
    """A Telegram user. Personal data is minimal: the id, settings and children's ages.

    Before consent only `id` is filled; everything else is written after the
    user accepts the personal data notice.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    consent_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    role: Mapped[str] = mapped_column(String(16), default="parent", server_default="parent")
    municipality_id: Mapped[str | None] = mapped_column(String(64))
    # Ages of the user's children (no names, no birth dates).
    child_ages: Mapped[list[int]] = mapped_column(default=list)
    # False after Telegram said the user blocked the bot (403); /start sets it again.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Staff only: their actions are tied to this id for the audit trail.
    role_granted_by: Mapped[int | None]
    role_granted_at: Mapped[datetime | None]
