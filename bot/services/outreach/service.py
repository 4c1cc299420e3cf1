"""The outreach services: the log (the bot's /log, the CLI, imports) and the annual report.

Each method owns its unit of work: a change is committed when the method returns,
and only then does the caller tell anybody about it. Reading the report's figures
takes one short read unit; rendering the files happens after it is closed, off the
event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.content import Content
from bot.directions import Direction
from bot.services.outreach import render
from bot.services.outreach.chart import to_png
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.log import RECENT_LIMIT, ActivityInput, find_municipality
from bot.services.outreach.model import Report
from bot.services.outreach.periods import Period
from bot.services.outreach.report import read_figures, with_sources
from bot.services.outreach.sheets import CheckedRows, ImportResult, duplicate_key
from bot.services.plugins import ReportScope, ReportSource
from bot.settings import Settings
from db.base import utcnow
from db.repositories.outreach import FIELDS, ActivityRecord, OutreachRepo
from db.uow import Database

logger = logging.getLogger(__name__)

__all__ = [
    "ActivityRecord",
    "EditResult",
    "EntryMissing",
    "EntryNotYours",
    "EntryUnavailable",
    "OutreachLogService",
    "ReportFiles",
    "ReportService",
    "find_municipality",
]


class EntryUnavailable(Exception):
    """The entry cannot be shown or changed by this person."""

    def __init__(self, activity_id: int) -> None:
        super().__init__(activity_id)
        self.activity_id = activity_id


class EntryMissing(EntryUnavailable):
    """No such entry (it may have been deleted meanwhile)."""


class EntryNotYours(EntryUnavailable):
    """Staff change only their own entries; admins change anybody's."""


@dataclass(frozen=True)
class EditResult:
    entry: ActivityRecord  # as stored now
    changed: bool  # False: the value was the same, nothing was written


def _check_owner(
    entry: ActivityRecord | None, activity_id: int, user_id: int, is_admin: bool
) -> ActivityRecord:
    if entry is None:
        raise EntryMissing(activity_id)
    if not (is_admin or entry.logged_by == user_id):
        raise EntryNotYours(activity_id)
    return entry


class OutreachLogService:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    async def create(self, data: ActivityInput, actor_id: int | None, source: str = "bot") -> ActivityRecord:
        """Store a checked activity (and its audit row)."""
        async with self.database.write() as uow:
            entry = await uow.repo(OutreachRepo).create(data, logged_by=actor_id, source=source, at=utcnow())
        return entry

    async def recent(self, user_id: int, is_admin: bool, limit: int = RECENT_LIMIT) -> list[ActivityRecord]:
        """The newest entries: one's own, or everybody's for an admin."""
        async with self.database.read() as uow:
            entries = await uow.repo(OutreachRepo).recent(None if is_admin else user_id, limit)
        return entries

    async def entry(self, activity_id: int, user_id: int, is_admin: bool) -> ActivityRecord:
        """An entry this person may change (EntryMissing, EntryNotYours otherwise)."""
        async with self.database.read() as uow:
            found = await uow.repo(OutreachRepo).get(activity_id)
        return _check_owner(found, activity_id, user_id, is_admin)

    async def change(
        self, activity_id: int, changes: Mapping[str, Any], actor_id: int, is_admin: bool, source: str = "bot"
    ) -> EditResult:
        """Set checked field values; an audit row records what changed (none when nothing did)."""
        values = {k: (tuple(v) if k == "directions" else v) for k, v in changes.items() if k in FIELDS}
        return await self._edit(activity_id, actor_id, is_admin, source, lambda _current: values)

    async def toggle_direction(
        self, activity_id: int, code: str, actor_id: int, is_admin: bool
    ) -> EditResult:
        """Add the направленность to the entry, or take it away if it is there."""
        if Direction.from_code(code) is None:
            raise OutreachError("outreach.no_such_direction", f"unknown direction {code!r}")

        def toggled(current: ActivityRecord) -> dict[str, Any]:
            chosen = current.directions
            return {
                "directions": tuple(c for c in chosen if c != code) if code in chosen else (*chosen, code)
            }

        return await self._edit(activity_id, actor_id, is_admin, "bot", toggled)

    async def _edit(
        self,
        activity_id: int,
        actor_id: int,
        is_admin: bool,
        source: str,
        values_of: Callable[[ActivityRecord], Mapping[str, Any]],
    ) -> EditResult:
        async with self.database.write() as uow:
            repo = uow.repo(OutreachRepo)
            current = _check_owner(
                await repo.get(activity_id, for_update=True), activity_id, actor_id, is_admin
            )
            new = replace(ActivityInput.from_data(current), **values_of(current))
            changed = await repo.update(current, new, actor_id=actor_id, source=source, at=utcnow())
        entry = replace(current, **{name: getattr(new, name) for name in FIELDS})
        return EditResult(entry, changed)

    async def delete(
        self, activity_id: int, actor_id: int, is_admin: bool, source: str = "bot"
    ) -> ActivityRecord:
        """Delete the entry; the audit trail keeps its last values. Returns what was deleted."""
        async with self.database.write() as uow:
            repo = uow.repo(OutreachRepo)
            current = _check_owner(
                await repo.get(activity_id, for_update=True), activity_id, actor_id, is_admin
            )
            await repo.delete(current, actor_id=actor_id, source=source, at=utcnow())
        return current

    async def import_rows(self, checked: CheckedRows, source: str = "import") -> ImportResult:
        """Store checked rows all or nothing: nothing when a row has an error or is already in the log.

        The problems of a file are listed together: its own, then the rows already logged.
        """
        items = checked.items
        if checked.errors:
            async with self.database.read() as uow:  # only to list the duplicates too
                duplicates = await self._already_logged(uow.repo(OutreachRepo), items)
            return ImportResult(0, 0, [*checked.errors, *duplicates])
        if not items:
            return ImportResult(0, 0, [])
        async with self.database.write() as uow:
            repo = uow.repo(OutreachRepo)
            duplicates = await self._already_logged(repo, items)
            if not duplicates:
                now = utcnow()
                for _, item in items:
                    await repo.create(item, logged_by=None, source=source, at=now)
        if duplicates:
            return ImportResult(0, 0, duplicates)
        return ImportResult(len(items), sum(i.reached for _, i in items), [])

    @staticmethod
    async def _already_logged(repo: OutreachRepo, items: list[tuple[int, ActivityInput]]) -> list[str]:
        if not items:
            return []
        first = min(i.held_on for _, i in items)
        last = max(i.held_on for _, i in items)
        logged = {
            (held_on, title.lower(), audience, municipality): activity_id
            for activity_id, held_on, title, audience, municipality in await repo.keys_between(first, last)
        }
        return [
            f"row {number}: already in the log as activity #{logged[duplicate_key(item)]}"
            for number, item in items
            if duplicate_key(item) in logged
        ]


@dataclass(frozen=True)
class ReportFiles:
    report: Report
    paragraph: str  # plain text (escape it for Telegram HTML)
    xlsx: bytes
    png: bytes


class ReportService:
    """The annual report: figures read in one short read unit, files rendered after it, off the loop.

    `sources` are other features' report sources (their `parts().report_sources`); each
    one reads in a read unit of its own, so a broken one costs only its own section.
    """

    def __init__(
        self, database: Database, settings: Settings, sources: Mapping[str, ReportSource] | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.sources: dict[str, ReportSource] = dict(sources or {})

    async def build(
        self,
        period: Period,
        municipality_id: str | None = None,
        municipality_name: str | None = None,
        *,
        include_activities: bool = True,
    ) -> Report:
        tz = self.settings.tz
        async with self.database.read() as uow:
            report = await read_figures(
                uow, period, tz, municipality_id, municipality_name, include_activities=include_activities
            )
        results, failed = await self._read_sources(period.scope(tz, municipality_id))
        return with_sources(report, results, failed)

    async def _read_sources(self, scope: ReportScope) -> tuple[dict[str, Any], list[str]]:
        results: dict[str, Any] = {}
        failed: list[str] = []
        for name, source in sorted(self.sources.items()):
            try:
                async with self.database.read() as uow:
                    results[name] = await source(uow, scope)
            except Exception:
                # One feature's broken figures must not cost staff the whole report.
                logger.exception("report source %r failed; the report goes out without it", name)
                failed.append(name)
        return results, failed

    async def files(
        self,
        period: Period,
        municipality_id: str | None = None,
        municipality_name: str | None = None,
        *,
        content: Content | None = None,
    ) -> ReportFiles:
        """The paragraph, the XLSX and the chart in the words of `content` (content/texts/report.yaml);
        the files are rendered off the event loop, after the read units closed."""
        report = await self.build(period, municipality_id, municipality_name)
        xlsx, png = await asyncio.gather(
            asyncio.to_thread(render.to_xlsx, report, content),
            asyncio.to_thread(to_png, report, render.chart_title(report, content), content),
        )
        return ReportFiles(report, render.paragraph(report, period.phrase, content), xlsx, png)
