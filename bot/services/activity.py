"""The bot's own activity log, counted by the annual report.

Each feature records what it did with `record()`, choosing one of the kinds
below; the report aggregates by kind (events and distinct people), so adding a
feature never touches the report code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import ActivityEvent


class Kind(StrEnum):
    # FAQ: topic = entry id, outcome = answer | suggest | fallback | smalltalk
    FAQ_QUESTION = "faq.question"
    # Hand-off to staff: ref = question id; HANDOFF_ANSWERED has value = seconds waited
    HANDOFF_CREATED = "handoff.created"
    HANDOFF_ANSWERED = "handoff.answered"
    # Program search: topic = direction (or None), age = age (or None), value = results found
    PROGRAM_SEARCH = "catalogue.search"
    PROGRAM_VIEW = "catalogue.view"
    # Broadcast finished: ref = broadcast id, value = recipients reached
    BROADCAST_SENT = "broadcast.sent"
    # Open days and other events: ref = event id, topic = event title
    EVENT_SIGNUP = "event.signup"
    EVENT_SIGNUP_CANCELLED = "event.signup_cancelled"
    SUBSCRIBED = "subscription.on"
    UNSUBSCRIBED = "subscription.off"


async def record(
    session: AsyncSession,
    kind: Kind,
    *,
    user_id: int | None = None,
    municipality_id: str | None = None,
    topic: str | None = None,
    outcome: str | None = None,
    age: int | None = None,
    value: float | None = None,
    ref: str | None = None,
    occurred_at: datetime | None = None,
) -> None:
    """Add one activity row in the caller's transaction."""
    session.add(
        ActivityEvent(
            occurred_at=occurred_at or utcnow(),
            kind=str(kind),
            user_id=user_id,
            municipality_id=municipality_id,
            topic=topic[:128] if topic else topic,
            outcome=outcome,
            age=age,
            value=value,
            ref=ref,
        )
    )
