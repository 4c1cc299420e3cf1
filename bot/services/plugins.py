"""What a feature contributes beyond its handlers, declared as plain data.

Each feature package exposes `parts() -> FeatureParts` and does nothing on import.
`create_app` (bot/app.py) collects the parts of every feature and wires them: the
data owners into the privacy service (/mydata, /forget), the report sources into the
annual report, the console hooks into the local console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.content import Content
from db.repositories.users import UserRecord
from db.uow import Database, UnitOfWork


@dataclass(frozen=True)
class ReportScope:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    municipality_id: str | None  # None: the whole region


# A report source reads inside the report's unit of work and returns JSON-serialisable data.
ReportSource = Callable[[UnitOfWork, ReportScope], Awaitable[Any]]

# describe(uow, user, content, tz) -> plain-text lines (no HTML: the view escapes them).
Describe = Callable[[UnitOfWork, UserRecord, Content, ZoneInfo], Awaitable[list[str]]]
# forget(uow, user_id, anonymous_id): delete personal rows, or re-key rows kept for
# statistics to `anonymous_id` (a negative number no person has). Runs inside /forget's
# one write unit of work.
Forget = Callable[[UnitOfWork, int, int], Awaitable[None]]

# A console hook runs once the local console is ready; it returns a line to show, or None.
ConsoleHook = Callable[[Database, Content], Awaitable[str | None]]


@dataclass(frozen=True)
class DataOwner:
    name: str
    describe: Describe
    forget: Forget


@dataclass(frozen=True)
class FeatureParts:
    name: str
    data_owner: DataOwner | None = None
    report_sources: dict[str, ReportSource] = field(default_factory=dict)
    console_hooks: tuple[ConsoleHook, ...] = ()
