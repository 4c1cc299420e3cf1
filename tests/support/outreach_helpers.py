"""Helpers for the outreach tests: log the seeds' figures, add the bot's own events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.services.outreach.log import ActivityInput
from db.base import utcnow
from db.models import ActivityEvent
from db.repositories.outreach import OutreachRepo
from db.uow import Database

FIXTURES = Path(__file__).parent.parent / "fixtures"
SEEDS: dict[str, Any] = json.loads((FIXTURES / "seed_figures.json").read_text(encoding="utf-8"))
BATAYSK = SEEDS["bataysk_2025"]
KIND_BY_AUDIENCE = {"parents": "meeting", "students": "master_class", "educators": "seminar"}


async def log_bataysk(database: Database, municipality_id: str = "sayansk", actor: int | None = 9001) -> None:
    """Log exactly Батайск 2025's figures: events spread over the year, headcounts summing up."""
    async with database.write() as uow:
        repo = uow.repo(OutreachRepo)
        for item in bataysk_items(municipality_id):
            await repo.create(item, logged_by=actor, source="bot", at=utcnow())


def bataysk_items(municipality_id: str = "sayansk") -> list[ActivityInput]:
    items = []
    for audience, figures in BATAYSK["outreach"].items():
        events, reached = figures["events"], figures["reached"]
        base, extra = divmod(reached, events)
        for i in range(events):
            held_on = date(2025, 1, 10) + timedelta(days=(i * 7) % 350)
            items.append(
                ActivityInput(
                    held_on=held_on,
                    title=f"Мероприятие {audience} №{i + 1}",
                    kind=KIND_BY_AUDIENCE[audience],
                    audience=audience,
                    reached=base + (1 if i < extra else 0),
                    municipality_id=municipality_id,
                )
            )
    return items


def event(kind: str, when: datetime | None = None, **fields: Any) -> ActivityEvent:
    return ActivityEvent(occurred_at=when or datetime(2025, 6, 1, 12, tzinfo=UTC), kind=kind, **fields)
