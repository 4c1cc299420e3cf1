"""The report's words: every text of the paragraph, the tables and the chart comes from
content/texts/report.yaml, so a methodist can change a wording without a developer.

Renderers take the live `Content` (the bot and `mocbot report` pass it); code that has none
(benchmarks, old callers) gets the shipped content/ folder, read once.
"""

from __future__ import annotations

from functools import lru_cache

from bot.content import Content, load_content
from bot.services.outreach.model import Report

__all__ = ["Words", "shipped_content"]


@lru_cache(maxsize=1)
def shipped_content() -> Content:
    """content/ as shipped, without the features' sections (texts and municipalities only)."""
    from bot.settings import PROJECT_ROOT

    return load_content(PROJECT_ROOT / "content", sections={})


class Words:
    """`words("report.total", events=3, reached=12)`; `words.split("report.months")` for « | » lists."""

    def __init__(self, content: Content | None, municipality_id: str | None = None) -> None:
        self.content = content if content is not None else shipped_content()
        self.municipality_id = municipality_id

    @classmethod
    def of(cls, report: Report, content: Content | None) -> Words:
        return cls(content, report.municipality.id if report.municipality else None)

    def __call__(self, key: str, **params: object) -> str:
        return self.content.text(key, self.municipality_id, **params)

    def has(self, key: str) -> bool:
        return self.content.has_text(key)

    def split(self, key: str) -> list[str]:
        return [part.strip() for part in self(key).split("|")]

    def join(self, items: list[str]) -> str:
        """«a», «a и b», «a, b и c»."""
        if len(items) < 2:
            return "".join(items)
        return self("report.list_and", head=", ".join(items[:-1]), last=items[-1])

    def municipality(self, municipality_id: str | None) -> str | None:
        """The municipality's name as content names it; an unknown id as it is."""
        if municipality_id is None:
            return None
        found = self.content.municipalities.get(municipality_id)
        return found.name if found else municipality_id

    def place(self, report: Report) -> str:
        if report.municipality is None:
            return self("report.region")
        return self.municipality(report.municipality.id) or report.municipality.name

    def duration(self, seconds: float) -> str:
        """«45 с», «12 мин», «2 ч 15 мин», «3 дн. 4 ч»."""
        total = round(seconds)
        if total < 60:
            return self("report.duration_seconds", n=total)
        minutes = total // 60
        if minutes < 60:
            return self("report.duration_minutes", n=minutes)
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return (
                self("report.duration_hours_minutes", h=hours, m=minutes)
                if minutes
                else self("report.duration_hours", h=hours)
            )
        days, hours = divmod(hours, 24)
        return (
            self("report.duration_days_hours", d=days, h=hours)
            if hours
            else self("report.duration_days", d=days)
        )
