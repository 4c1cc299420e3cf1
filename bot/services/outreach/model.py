"""The annual report as typed, frozen data: what the renderers (paragraph, XLSX, CSV, PNG) read.

Two kinds of figures are kept apart:
- `outreach`, `by_kind`, `by_month`, `activities`: offline activities staff logged;
- `bot`: what the bot did by itself, from the activity log (by kind, with distinct
  people), so a feature that records a new kind shows up in `bot.by_kind` without
  any change here;
- `sources`: figures other features contribute through report sources, as they sent
  them (JSON-ready); the ones the report knows how to show (catalogue, unanswered
  questions, open days) are read into typed sections.

`Report.as_dict()` is the JSON shape `mocbot report --format json` has always printed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.directions import Direction

logger = logging.getLogger(__name__)


# --- offline activities ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    start: date
    end: date  # inclusive
    kind: str  # "year" | "academic" | "range"
    label: str
    timezone: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "kind": self.kind,
            "label": self.label,
            "timezone": self.timezone,
        }


@dataclass(frozen=True)
class Place:
    id: str
    name: str


@dataclass(frozen=True)
class Figures:
    events: int
    reached: int

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "reached": self.reached}


@dataclass(frozen=True)
class AudienceFigures:
    audience: str  # code (vocab.AUDIENCES, or one of an older vocabulary)
    figures: Figures


@dataclass(frozen=True)
class Outreach:
    """Activities and people reached per audience: every known audience, then unknown codes."""

    audiences: tuple[AudienceFigures, ...]
    total: Figures

    def of(self, audience: str) -> Figures:
        for item in self.audiences:
            if item.audience == audience:
                return item.figures
        return Figures(0, 0)

    def as_dict(self) -> dict[str, Any]:
        table = {item.audience: item.figures.as_dict() for item in self.audiences}
        table["total"] = self.total.as_dict()
        return table


@dataclass(frozen=True)
class KindFigures:
    kind: str
    title: str
    events: int
    reached: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "events": self.events, "reached": self.reached}


@dataclass(frozen=True)
class MonthFigures:
    year: int
    month: int
    reached_by_audience: tuple[tuple[str, int], ...]  # every known audience, in vocabulary order
    events: int  # of every audience
    reached: int

    @property
    def key(self) -> str:
        """«2025-03»."""
        return f"{self.year:04d}-{self.month:02d}"

    def reached_by(self, audience: str) -> int:
        return dict(self.reached_by_audience).get(audience, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.key,
            **dict(self.reached_by_audience),
            "events": self.events,
            "reached": self.reached,
        }


@dataclass(frozen=True)
class ActivityItem:
    id: int
    held_on: date
    title: str
    kind: str
    audience: str
    reached: int
    organisation: str | None
    directions: tuple[str, ...]
    format: str | None
    municipality_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date": self.held_on.isoformat(),
            "title": self.title,
            "kind": self.kind,
            "audience": self.audience,
            "reached": self.reached,
            "organisation": self.organisation,
            "directions": list(self.directions),
            "format": self.format,
            "municipality": self.municipality_id,
        }


# --- the bot's own work ----------------------------------------------------------------------


@dataclass(frozen=True)
class KindCount:
    kind: str
    events: int
    people: int


@dataclass(frozen=True)
class Consultations:
    questions: int  # without greetings and thanks
    people: int
    answered: int
    suggested: int
    fallback: int
    smalltalk: int
    answered_without_staff: int
    share_without_staff: float | None  # 0..1, rounded to 4 places; None without questions

    def as_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "people": self.people,
            "answered": self.answered,
            "suggested": self.suggested,
            "fallback": self.fallback,
            "smalltalk": self.smalltalk,
            "answered_without_staff": self.answered_without_staff,
            "share_without_staff": self.share_without_staff,
        }


@dataclass(frozen=True)
class TopicCount:
    topic: str
    questions: int


@dataclass(frozen=True)
class Handoffs:
    created: int
    people: int
    answered: int
    median_answer_seconds: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "people": self.people,
            "answered": self.answered,
            "median_answer_seconds": self.median_answer_seconds,
        }


@dataclass(frozen=True)
class DirectionSearches:
    direction: str | None  # code; None: searches without a направленность
    title: str
    searches: int
    no_results: int


@dataclass(frozen=True)
class AgeSearches:
    age: int | None
    searches: int


@dataclass(frozen=True)
class Search:
    searches: int
    people: int
    no_results: int
    by_direction: tuple[DirectionSearches, ...]
    by_age: tuple[AgeSearches, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "searches": self.searches,
            "people": self.people,
            "no_results": self.no_results,
            "by_direction": [
                {
                    "direction": d.direction,
                    "title": d.title,
                    "searches": d.searches,
                    "no_results": d.no_results,
                }
                for d in self.by_direction
            ],
            "by_age": [{"age": a.age, "searches": a.searches} for a in self.by_age],
        }


@dataclass(frozen=True)
class Broadcast:
    ref: str | None
    sent_at: datetime | None
    reached: int
    title: str | None = None  # the start of its text, as staff wrote it (None: not found)


@dataclass(frozen=True)
class Broadcasts:
    items: tuple[Broadcast, ...]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def reached(self) -> int:
        return sum(b.reached for b in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "reached": self.reached,
            "items": [
                {
                    "ref": b.ref,
                    "title": b.title,
                    "sent_at": b.sent_at.isoformat() if b.sent_at else None,
                    "reached": b.reached,
                }
                for b in self.items
            ],
        }


@dataclass(frozen=True)
class EventSignupsOf:
    ref: str | None
    title: str | None
    signups: int
    people: int
    cancelled: int


@dataclass(frozen=True)
class EventSignups:
    signups: int
    people: int
    cancelled: int
    by_event: tuple[EventSignupsOf, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "signups": self.signups,
            "people": self.people,
            "cancelled": self.cancelled,
            "by_event": [
                {
                    "ref": e.ref,
                    "title": e.title,
                    "signups": e.signups,
                    "people": e.people,
                    "cancelled": e.cancelled,
                }
                for e in self.by_event
            ],
        }


@dataclass(frozen=True)
class Subscriptions:
    subscribed: int
    unsubscribed: int


@dataclass(frozen=True)
class ChannelFigures:
    """People and questions in one messenger ('tg', 'max') or in all ('all', counted, not summed)."""

    channel: str
    people: int
    questions: int
    askers: int

    def as_dict(self) -> dict[str, int]:
        return {"people": self.people, "questions": self.questions, "askers": self.askers}


@dataclass(frozen=True)
class BotFigures:
    by_kind: tuple[KindCount, ...]  # every kind recorded, by kind
    consultations: Consultations
    top_topics: tuple[TopicCount, ...]
    handoffs: Handoffs
    search: Search
    broadcasts: Broadcasts
    event_signups: EventSignups
    subscriptions: Subscriptions
    # Telegram, MAX, then 'all': a person is counted once in 'all'
    channels: tuple[ChannelFigures, ...] = ()

    def channel(self, code: str) -> ChannelFigures | None:
        return next((c for c in self.channels if c.channel == code), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "by_kind": {k.kind: {"events": k.events, "people": k.people} for k in self.by_kind},
            "channels": {c.channel: c.as_dict() for c in self.channels},
            "consultations": self.consultations.as_dict(),
            "top_topics": [{"topic": t.topic, "questions": t.questions} for t in self.top_topics],
            "handoffs": self.handoffs.as_dict(),
            "search": self.search.as_dict(),
            "broadcasts": self.broadcasts.as_dict(),
            "event_signups": self.event_signups.as_dict(),
            "subscriptions": {
                "subscribed": self.subscriptions.subscribed,
                "unsubscribed": self.subscriptions.unsubscribed,
            },
        }


# --- other features' sections --------------------------------------------------------------


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def direction_title(code: str | None) -> str:
    direction = Direction.from_code(str(code)) if code is not None else None
    return direction.title if direction else str(code)


@dataclass(frozen=True)
class CatalogueRow:
    direction: str  # code as the source sent it
    programs: int
    ovz_programs: int | None  # None when the source does not count them per направленность

    @property
    def title(self) -> str:
        return direction_title(self.direction)

    @property
    def genitive(self) -> str:
        """«технической» for the sentence; an unknown code as it is."""
        direction = Direction.from_code(self.direction)
        return direction.genitive if direction else self.title


@dataclass(frozen=True)
class CatalogueSection:
    """Programs in the catalogue per направленность (the "catalogue" source)."""

    rows: tuple[CatalogueRow, ...]
    ovz_total: int | None

    @property
    def total(self) -> int:
        return sum(r.programs for r in self.rows)

    @classmethod
    def parse(cls, data: Any) -> CatalogueSection | None:
        """Accepts {"directions": [{"direction", "programs", "ovz_programs"}, ...]},
        {"by_direction": {code: n}, "ovz": {code: n} | n} or a flat {code: n, "ovz": n}."""
        if not isinstance(data, dict):
            return None
        listed = data.get("directions")
        if isinstance(listed, list) and all(isinstance(r, dict) and "direction" in r for r in listed):
            data = {
                "by_direction": {str(r["direction"]): r.get("programs") for r in listed},
                "ovz": {str(r["direction"]): r.get("ovz_programs", 0) for r in listed},
            }
        by_direction = data.get("by_direction", data.get("directions"))
        if not isinstance(by_direction, dict):
            by_direction = {k: v for k, v in data.items() if Direction.from_code(str(k)) is not None}
        ovz = data.get("ovz")
        rows: list[CatalogueRow] = []
        for code, count in by_direction.items():
            n = _int(count)
            if n is None:
                return None
            ovz_n = _int(ovz.get(code, 0)) if isinstance(ovz, dict) else None
            rows.append(CatalogueRow(str(code), n, ovz_n))
        if not rows:
            return None
        ovz_total = sum(r.ovz_programs or 0 for r in rows) if isinstance(ovz, dict) else _int(ovz)
        return cls(tuple(rows), ovz_total)


@dataclass(frozen=True)
class UnansweredQuestion:
    text: str
    count: int


@dataclass(frozen=True)
class UnansweredSection:
    """Questions the bot could not answer (the "faq_unanswered" source)."""

    items: tuple[UnansweredQuestion, ...]

    @classmethod
    def parse(cls, data: Any) -> UnansweredSection | None:
        if not isinstance(data, list):
            return None
        items: list[UnansweredQuestion] = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                return None
            count = _int(item.get("count"))
            if count is None:
                return None
            items.append(UnansweredQuestion(item["text"], count))
        return cls(tuple(items))


@dataclass(frozen=True)
class OpenDay:
    title: str
    when: date | str | None  # the day, or the source's own text when it is not an ISO date
    signups: int | None  # sign-ups that stand (anonymous ones after /forget included)
    cancelled: int | None = None
    municipality: str | None = None  # id


@dataclass(frozen=True)
class OpenDaysTotals:
    events: int
    signups: int
    cancelled: int


@dataclass(frozen=True)
class OpenDaysSection:
    """Events announced in the bot and held in the period, with their sign-ups (the "open_days"
    source). The paragraph and the tables both count sign-ups from here."""

    items: tuple[OpenDay, ...]

    @property
    def totals(self) -> OpenDaysTotals:
        return OpenDaysTotals(
            len(self.items),
            sum(item.signups or 0 for item in self.items),
            sum(item.cancelled or 0 for item in self.items),
        )

    @classmethod
    def parse(cls, data: Any) -> OpenDaysSection | None:
        if not isinstance(data, list):
            return None
        items: list[OpenDay] = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("title"), str):
                return None
            raw = item.get("date")
            when: date | str | None = None
            if isinstance(raw, str):
                try:
                    when = date.fromisoformat(raw[:10])
                except ValueError:
                    when = raw
            municipality = item.get("municipality")
            items.append(
                OpenDay(
                    item["title"],
                    when,
                    _int(item.get("signups")),
                    _int(item.get("cancelled")),
                    str(municipality) if municipality is not None else None,
                )
            )
        return cls(tuple(items))


@dataclass(frozen=True)
class Sections:
    catalogue: CatalogueSection | None = None
    faq_unanswered: UnansweredSection | None = None
    open_days: OpenDaysSection | None = None

    @classmethod
    def read(cls, sources: Mapping[str, Any]) -> Sections:
        """The sections the report shows from the sources' data; a malformed one is left out (logged)."""
        parsed: dict[str, Any] = {}
        for name, parse in (
            ("catalogue", CatalogueSection.parse),
            ("faq_unanswered", UnansweredSection.parse),
            ("open_days", OpenDaysSection.parse),
        ):
            if name not in sources:
                continue
            section = parse(sources[name])
            if section is None:
                logger.warning("report source %r returned data of an unexpected shape; not shown", name)
            parsed[name] = section
        return cls(**parsed)


# --- the whole report ----------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    period: ReportPeriod
    municipality: Place | None  # None: the whole region
    outreach: Outreach
    by_kind: tuple[KindFigures, ...]
    by_month: tuple[MonthFigures, ...]
    bot: BotFigures
    generated_on: date
    activities: tuple[ActivityItem, ...] | None = None  # None: not asked for
    sources: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready data by source name
    sources_failed: tuple[str, ...] = ()
    sections: Sections = field(default_factory=Sections)

    @property
    def place_name(self) -> str:
        return self.municipality.name if self.municipality else "все муниципалитеты"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, in the shape of `mocbot report --format json`."""
        data: dict[str, Any] = {
            "period": self.period.as_dict(),
            "municipality": (
                {"id": self.municipality.id, "name": self.municipality.name} if self.municipality else None
            ),
            "outreach": self.outreach.as_dict(),
            "by_kind": [k.as_dict() for k in self.by_kind],
            "by_month": [m.as_dict() for m in self.by_month],
            "bot": self.bot.as_dict(),
            "sources": dict(self.sources),
            "sources_failed": list(self.sources_failed),
            "generated_on": self.generated_on.isoformat(),
        }
        if self.activities is not None:
            data["activities"] = [a.as_dict() for a in self.activities]
        return data
