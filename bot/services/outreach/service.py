"""One call for the bot and the CLI: a period and a place in, the report and its files out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.services.outreach import render
from bot.services.outreach.chart import to_png
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.periods import Period
from bot.services.outreach.report import build_report


def find_municipality(content: Content, name: str) -> str:
    """A municipality id from its id or name (case-insensitive)."""
    key = name.strip().lower().replace("ё", "е")
    for m in content.municipalities.values():
        if key in (m.id.lower(), m.name.lower().replace("ё", "е")):
            return m.id
    known = ", ".join(f"{m.name} ({m.id})" for m in content.municipalities.values())
    raise OutreachError(
        f"Муниципалитет «{name.strip()[:40]}» не найден. Есть: {known}.",
        f"unknown municipality {name.strip()[:40]!r}; known: {known}",
    )


@dataclass
class ReportFiles:
    report: dict[str, Any]
    paragraph: str
    xlsx: bytes
    png: bytes


async def make_report(
    session: AsyncSession, period: Period, tz: ZoneInfo, content: Content, municipality_id: str | None
) -> dict[str, Any]:
    name = content.municipalities[municipality_id].name if municipality_id else None
    return await build_report(session, period, tz, municipality_id, name)


async def make_files(
    session: AsyncSession, period: Period, tz: ZoneInfo, content: Content, municipality_id: str | None
) -> ReportFiles:
    """The paragraph, the XLSX and the chart; the files are built off the event loop."""
    report = await make_report(session, period, tz, content, municipality_id)
    xlsx, png = await asyncio.gather(
        asyncio.to_thread(render.to_xlsx, report),
        asyncio.to_thread(to_png, report, render.chart_title(report)),
    )
    return ReportFiles(report, render.paragraph(report, period.phrase), xlsx, png)
