"""Report periods: a calendar year, an academic year (1 September - 31 August) or a range.

Boundaries are calendar days in the municipality's time zone; `scope()` turns
them into the UTC instants the activity log is stored in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.services.outreach.errors import OutreachError
from bot.services.plugins import ReportScope
from bot.services.when import EARLIEST_YEAR, WhenError, parse_day

__all__ = [
    "EARLIEST_YEAR",
    "Period",
    "academic_year",
    "calendar_year",
    "current_academic_start",
    "date_range",
    "parse_date",
    "parse_period_text",
    "today",
]


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    kind: str  # "year" | "academic" | "range"

    @property
    def label(self) -> str:
        """«2025 год», «2024/2025 учебный год», «01.01.2025 — 31.03.2025» (content report.period_*)."""
        return self._words("report.period")

    def _words(self, prefix: str) -> str:
        if self.kind == "year":
            return texts.text(f"{prefix}_year", year=self.start.year)
        if self.kind == "academic":
            return texts.text(f"{prefix}_academic", first=self.start.year, last=self.end.year)
        return texts.text(f"{prefix}_range", start=f"{self.start:%d.%m.%Y}", end=f"{self.end:%d.%m.%Y}")

    @property
    def phrase(self) -> str:
        """The opening of the report sentence: «В 2025 году», «В 2024/2025 учебном году»
        (content report.phrase_*)."""
        return self._words("report.phrase")

    @property
    def slug(self) -> str:
        """For file names: report-2025, report-2024-2025, report-2025-01-01_2025-03-31."""
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "academic":
            return f"{self.start.year}-{self.end.year}"
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def months(self) -> list[date]:
        """First days of every month the period touches, in order."""
        result: list[date] = []
        current = self.start.replace(day=1)
        while current <= self.end:
            result.append(current)
            current = (current + timedelta(days=32)).replace(day=1)
        return result

    def scope(self, tz: ZoneInfo, municipality_id: str | None) -> ReportScope:
        """UTC instants [start, end) of the local days (midnight in `tz`)."""
        start = datetime.combine(self.start, time.min, tzinfo=tz)
        end = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz)
        return ReportScope(start.astimezone(UTC), end.astimezone(UTC), municipality_id)


def today(tz: ZoneInfo) -> date:
    return datetime.now(tz).date()


def parse_date(text: str, tz: ZoneInfo, *, allow_future: bool = False) -> date:
    """A day staff type: «2025-03-14», «14.03.2025», «14.03», «12 марта», «вчера», «в пятницу»
    (`bot.services.when`, the one reader of dates; a day without a year is the last such day).

    A date that does not exist (31.02), lies before EARLIEST_YEAR or in the future is refused.
    """
    try:
        return parse_day(text, tz, allow_future=allow_future)
    except WhenError as exc:
        raise OutreachError(exc.key, exc.en, **exc.params) from None


def _check_year(year: int, now: date, what: str, what_en: str) -> None:
    """`what`: «year» or «academic_year», in the keys of the refusals."""
    if year < EARLIEST_YEAR:
        raise OutreachError(
            f"outreach.{what}_too_early", f"{what_en} {year} is before {EARLIEST_YEAR}",
            year=year, earliest=EARLIEST_YEAR,
        )  # fmt: skip
    if year > now.year:
        raise OutreachError(
            f"outreach.{what}_in_future", f"{what_en} {year} is in the future (today is {now.isoformat()})",
            year=year,
        )  # fmt: skip


def calendar_year(year: int, tz: ZoneInfo) -> Period:
    _check_year(year, today(tz), "year", "the year")
    return Period(date(year, 1, 1), date(year, 12, 31), "year")


def academic_year(first_year: int, tz: ZoneInfo) -> Period:
    """`first_year` 2024 is 1 September 2024 - 31 August 2025."""
    now = today(tz)
    _check_year(first_year, now, "academic_year", "the academic year")
    if date(first_year, 9, 1) > now:
        raise OutreachError(
            "outreach.academic_year_not_started",
            f"the academic year {first_year}-{first_year + 1} starts on {first_year}-09-01, in the future",
            year=first_year,
            next_year=first_year + 1,
        )
    return Period(date(first_year, 9, 1), date(first_year + 1, 8, 31), "academic")


def date_range(start: date, end: date, tz: ZoneInfo) -> Period:
    if end < start:
        raise OutreachError(
            "outreach.range_reversed",
            f"--to {end.isoformat()} is before --from {start.isoformat()}",
            start=f"{start:%d.%m.%Y}",
            end=f"{end:%d.%m.%Y}",
        )
    if start > today(tz):
        raise OutreachError(
            "outreach.range_in_future",
            f"the period starts on {start.isoformat()}, in the future",
            start=f"{start:%d.%m.%Y}",
        )
    return Period(start, end, "range")


def current_academic_start(tz: ZoneInfo) -> int:
    now = today(tz)
    return now.year if now.month >= 9 else now.year - 1


_ACADEMIC_TEXT = re.compile(r"^(\d{4})\s*[-/–—]\s*(\d{2}|\d{4})$")


def parse_period_text(text: str, tz: ZoneInfo) -> Period:
    """What staff type after /report: «2025», «2024/2025» or «2024-25» (academic),
    «01.01.2025 31.03.2025» (a range)."""
    raw = text.strip()
    if re.fullmatch(r"\d{4}", raw):
        return calendar_year(int(raw), tz)
    if m := _ACADEMIC_TEXT.match(raw):
        first = int(m[1])
        second = int(m[2]) if len(m[2]) == 4 else (first // 100) * 100 + int(m[2])
        if second != first + 1:
            raise OutreachError(
                "outreach.academic_year_form",
                f"an academic year is two consecutive years, e.g. 2024-2025, not {raw[:20]!r}",
                text=raw[:20],
            )
        return academic_year(first, tz)
    parts = raw.split()
    if len(parts) == 2:
        start = parse_date(parts[0], tz, allow_future=True)
        end = parse_date(parts[1], tz, allow_future=True)
        return date_range(start, end, tz)
    raise OutreachError("outreach.period_unreadable", f"cannot read the period {raw[:40]!r}", text=raw[:40])
