"""Helpers for announcement tests: subscribers in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Subscription, User
from db.models.user import children_json


async def add_subscribers(
    session: AsyncSession,
    ids: Iterable[int],
    *,
    municipality: str = "sayansk",
    ages: list[int] | None = None,
    directions: list[str] | None = None,
    ages_given_on: date | None = None,
) -> None:
    """Consenting, active subscribers; `ages` as given on `ages_given_on` (today by default)."""
    now = utcnow()
    children = children_json(ages or [], ages_given_on or now.date())
    ids = list(ids)
    await session.execute(
        insert(User),
        [
            {"id": i, "consent_at": now, "first_seen_at": now, "last_seen_at": now, "role": "parent",
             "municipality_id": municipality, "children": children, "is_active": True}
            for i in ids
        ],
    )  # fmt: skip
    await session.execute(
        insert(Subscription),
        [{"user_id": i, "active": True, "directions": directions or [], "updated_at": now} for i in ids],
    )
