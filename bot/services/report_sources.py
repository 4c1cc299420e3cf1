"""Figures other features contribute to the annual report.

The report aggregates `activity_events` by kind on its own. Figures that live in
a feature's own tables (programs per направленность, unanswered questions, open
days held) come from sources registered here, so the report code never imports
a feature's tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ReportScope:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    municipality_id: str | None  # None: the whole region


# A source returns JSON-serialisable data (dicts, lists, numbers, strings).
ReportSource = Callable[[AsyncSession, ReportScope], Awaitable[Any]]
_SOURCES: dict[str, ReportSource] = {}


def register_source(name: str, source: ReportSource) -> None:
    _SOURCES[name] = source


def registered_sources() -> dict[str, ReportSource]:
    from bot.features import load_features

    load_features()
    return dict(_SOURCES)
