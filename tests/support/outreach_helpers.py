"""Helpers for the outreach tests: log the seeds' figures, add the bot's own events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.outreach import log
from bot.services.outreach.log import ActivityInput
from db.models import ActivityEvent

FIXTURES = Path(__file__).parent.parent / "fixtures"
SEEDS: dict[str, Any] = json.loads((FIXTURES / "seed_figures.json").read_text(encoding="utf-8"))
BATAYSK = SEEDS["bataysk_2025"]
KIND_BY_AUDIENCE = {"parents": "meeting", "students": "master_class", "educators": "seminar"}


async def log_bataysk(
    session: AsyncSession, municipality_id: str = "sayansk", actor: int | None = 9001
) -> None:
    """Log exactly Батайск 2025's figures: events spread over the year, headcounts summing up."""
    for audience, figures in BATAYSK["outreach"].items():
        events, reached = figures["events"], figures["reached"]
        base, extra = divmod(reached, events)
        for i in range(events):
            held_on = date(2025, 1, 10) + timedelta(days=(i * 7) % 350)
            await log.create(
                session,
                ActivityInput(
                    held_on=held_on,
                    title=f"Мероприятие {audience} №{i + 1}",
                    kind=KIND_BY_AUDIENCE[audience],
                    audience=audience,
                    reached=base + (1 if i < extra else 0),
                    municipality_id=municipality_id,
                ),
                actor,
            )


def event(kind: str, when: datetime | None = None, **fields: Any) -> ActivityEvent:
    return ActivityEvent(occurred_at=when or datetime(2025, 6, 1, 12, tzinfo=UTC), kind=kind, **fields)
