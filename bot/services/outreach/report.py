"""The annual report's figures, aggregated in SQL.

Two kinds of data are kept apart:
- `outreach`, `by_kind`, `by_month`, `activities`: offline activities staff logged;
- `bot`: what the bot did by itself, from `activity_events` (by kind, with
  distinct people), so a feature that records a new kind shows up in
  `bot.by_kind` without any change here;
- `sources`: figures from other features' tables through registered report
  sources (catalogue, unanswered questions, open days...).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.directions import Direction
from bot.services.activity import Kind
from bot.services.outreach import vocab
from bot.services.outreach.periods import Period
from bot.services.report_sources import ReportScope, registered_sources
from db.models import ActivityEvent, OutreachActivity

logger = logging.getLogger(__name__)

AUDIENCE_CODES = [t.code for t in vocab.AUDIENCES]
TOP_TOPICS = 10
FAQ_OUTCOMES = ("answer", "suggest", "fallback", "smalltalk")


def _activity_filter(period: Period, municipality_id: str | None) -> list[ColumnElement[bool]]:
    conditions = [OutreachActivity.held_on >= period.start, OutreachActivity.held_on <= period.end]
    if municipality_id is not None:
        conditions.append(OutreachActivity.municipality_id == municipality_id)
    return conditions


def _event_filter(scope: ReportScope, *kinds: Kind) -> list[ColumnElement[bool]]:
    conditions = [ActivityEvent.occurred_at >= scope.start, ActivityEvent.occurred_at < scope.end]
    if len(kinds) == 1:
        conditions.insert(0, ActivityEvent.kind == str(kinds[0]))
    elif kinds:
        conditions.insert(0, ActivityEvent.kind.in_([str(k) for k in kinds]))
    if scope.municipality_id is not None:
        conditions.append(ActivityEvent.municipality_id == scope.municipality_id)
    return conditions


async def _outreach(session: AsyncSession, period: Period, municipality_id: str | None) -> dict[str, Any]:
    where = _activity_filter(period, municipality_id)
    rows = await session.execute(
        select(OutreachActivity.audience, func.count(), func.coalesce(func.sum(OutreachActivity.reached), 0))
        .where(*where)
        .group_by(OutreachActivity.audience)
    )
    table: dict[str, dict[str, int]] = {code: {"events": 0, "reached": 0} for code in AUDIENCE_CODES}
    for audience, events, reached in rows:
        table.setdefault(audience, {"events": 0, "reached": 0})
        table[audience] = {"events": int(events), "reached": int(reached)}
    table["total"] = {
        "events": sum(v["events"] for v in table.values()),
        "reached": sum(v["reached"] for v in table.values()),
    }
    return table


async def _by_kind(
    session: AsyncSession, period: Period, municipality_id: str | None
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(OutreachActivity.kind, func.count(), func.coalesce(func.sum(OutreachActivity.reached), 0))
        .where(*_activity_filter(period, municipality_id))
        .group_by(OutreachActivity.kind)
    )
    found = {kind: (int(events), int(reached)) for kind, events, reached in rows}
    result = []
    for term in vocab.KINDS:
        events, reached = found.pop(term.code, (0, 0))
        result.append({"kind": term.code, "title": term.label, "events": events, "reached": reached})
    for kind, (events, reached) in sorted(found.items()):  # codes from an older vocabulary
        result.append({"kind": kind, "title": kind, "events": events, "reached": reached})
    return result


async def _by_month(
    session: AsyncSession, period: Period, municipality_id: str | None
) -> list[dict[str, Any]]:
    year = extract("year", OutreachActivity.held_on)
    month = extract("month", OutreachActivity.held_on)
    rows = await session.execute(
        select(year, month, OutreachActivity.audience, func.count(), func.sum(OutreachActivity.reached))
        .where(*_activity_filter(period, municipality_id))
        .group_by(year, month, OutreachActivity.audience)
    )
    cells: dict[tuple[int, int], dict[str, tuple[int, int]]] = {}
    for y, m, audience, events, reached in rows:
        cells.setdefault((int(y), int(m)), {})[audience] = (int(events), int(reached or 0))
    result = []
    for first in period.months():
        cell = cells.get((first.year, first.month), {})
        item: dict[str, Any] = {"month": f"{first.year:04d}-{first.month:02d}"}
        for code in AUDIENCE_CODES:
            item[code] = cell.get(code, (0, 0))[1]
        item["events"] = sum(events for events, _ in cell.values())
        item["reached"] = sum(reached for _, reached in cell.values())
        result.append(item)
    return result


async def _activities(
    session: AsyncSession, period: Period, municipality_id: str | None
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(
            OutreachActivity.id,
            OutreachActivity.held_on,
            OutreachActivity.title,
            OutreachActivity.kind,
            OutreachActivity.audience,
            OutreachActivity.reached,
            OutreachActivity.organisation,
            OutreachActivity.directions,
            OutreachActivity.format,
            OutreachActivity.municipality_id,
        )
        .where(*_activity_filter(period, municipality_id))
        .order_by(OutreachActivity.held_on, OutreachActivity.id)
    )
    return [
        {
            "id": r.id,
            "date": r.held_on.isoformat(),
            "title": r.title,
            "kind": r.kind,
            "audience": r.audience,
            "reached": r.reached,
            "organisation": r.organisation,
            "directions": list(r.directions or []),
            "format": r.format,
            "municipality": r.municipality_id,
        }
        for r in rows
    ]


async def _median(session: AsyncSession, scope: ReportScope, kind: Kind) -> float | None:
    """Median of `value` for a kind: count, then the middle one or two values by an ordered look-up."""
    count = await session.scalar(select(func.count(ActivityEvent.value)).where(*_event_filter(scope, kind)))
    if not count:
        return None
    middle = await session.scalars(
        select(ActivityEvent.value)
        .where(*_event_filter(scope, kind), ActivityEvent.value.is_not(None))
        .order_by(ActivityEvent.value)
        .offset((count - 1) // 2)
        .limit(2)
    )
    values = [float(v) for v in middle if v is not None]
    if not values:
        return None
    if count % 2 == 1 or len(values) == 1:
        return values[0]
    return (values[0] + values[1]) / 2


async def _bot(session: AsyncSession, scope: ReportScope) -> dict[str, Any]:
    people = func.count(func.distinct(ActivityEvent.user_id))
    rows = await session.execute(
        select(ActivityEvent.kind, func.count(), people)
        # `kind >= ''` is always true; it lets SQLite answer from ix_activity_events_report alone.
        .where(ActivityEvent.kind >= "", *_event_filter(scope))
        .group_by(ActivityEvent.kind)
    )
    by_kind = {kind: {"events": int(n), "people": int(p)} for kind, n, p in rows}

    def events(kind: Kind) -> int:
        return by_kind.get(str(kind), {}).get("events", 0)

    def persons(kind: Kind) -> int:
        return by_kind.get(str(kind), {}).get("people", 0)

    # FAQ: outcomes by conditional sums (one pass, no sorting), then the topics answered.
    # Distinct people come from the by-kind pass above.
    faq_filter = _event_filter(scope, Kind.FAQ_QUESTION)
    sums = [func.sum(case((ActivityEvent.outcome == o, 1), else_=0)) for o in FAQ_OUTCOMES]
    counts = (await session.execute(select(*sums).where(*faq_filter))).one()
    outcomes = {o: int(n or 0) for o, n in zip(FAQ_OUTCOMES, counts, strict=True)}
    questions = events(Kind.FAQ_QUESTION) - outcomes["smalltalk"]
    without_staff = outcomes["answer"] + outcomes["suggest"]
    topic_rows = await session.execute(
        select(ActivityEvent.topic, func.count())
        .where(
            *faq_filter, ActivityEvent.topic.is_not(None), ActivityEvent.outcome.in_(("answer", "suggest"))
        )
        .group_by(ActivityEvent.topic)
        .order_by(func.count().desc(), ActivityEvent.topic)
        .limit(TOP_TOPICS)
    )
    top_topics = [{"topic": t, "questions": int(n)} for t, n in topic_rows]

    # hand-offs
    answered = events(Kind.HANDOFF_ANSWERED)
    median = await _median(session, scope, Kind.HANDOFF_ANSWERED)

    # program search by direction and age in one pass (at most 7 x 14 groups)
    nothing_found = func.sum(case((ActivityEvent.value == 0, 1), else_=0))
    search_rows = await session.execute(
        select(ActivityEvent.topic, ActivityEvent.age, func.count(), nothing_found)
        .where(*_event_filter(scope, Kind.PROGRAM_SEARCH))
        .group_by(ActivityEvent.topic, ActivityEvent.age)
    )
    by_direction_raw: dict[str | None, tuple[int, int]] = {}
    by_age_raw: dict[int | None, int] = {}
    for topic, age, n, z in search_rows:
        searches, empty = by_direction_raw.get(topic, (0, 0))
        by_direction_raw[topic] = (searches + int(n), empty + int(z or 0))
        key = None if age is None else int(age)
        by_age_raw[key] = by_age_raw.get(key, 0) + int(n)
    no_results = sum(z for _, z in by_direction_raw.values())
    by_direction = []
    for d in Direction:
        n, z = by_direction_raw.pop(d.code, (0, 0))
        by_direction.append({"direction": d.code, "title": d.title, "searches": n, "no_results": z})
    for code, (n, z) in sorted(by_direction_raw.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        title = "без направленности" if code is None else code
        by_direction.append({"direction": code, "title": title, "searches": n, "no_results": z})
    by_age = [
        {"age": age, "searches": n}
        for age, n in sorted(by_age_raw.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]

    # broadcasts
    broadcast_rows = await session.execute(
        select(
            ActivityEvent.ref,
            func.min(ActivityEvent.occurred_at),
            func.coalesce(func.sum(ActivityEvent.value), 0),
        )
        .where(*_event_filter(scope, Kind.BROADCAST_SENT))
        .group_by(ActivityEvent.ref)
        .order_by(func.min(ActivityEvent.occurred_at))
    )
    broadcasts = [
        {"ref": ref, "sent_at": sent_at.isoformat() if sent_at else None, "reached": int(reached or 0)}
        for ref, sent_at, reached in broadcast_rows
    ]

    # event sign-ups (open days and others)
    signup_rows = await session.execute(
        select(ActivityEvent.ref, func.max(ActivityEvent.topic), func.count(), people)
        .where(*_event_filter(scope, Kind.EVENT_SIGNUP))
        .group_by(ActivityEvent.ref)
        .order_by(func.count().desc())
    )
    signup_items = {ref: {"ref": ref, "title": t, "signups": int(n), "people": int(p), "cancelled": 0}
                    for ref, t, n, p in signup_rows}  # fmt: skip
    cancel_rows = await session.execute(
        select(ActivityEvent.ref, func.count())
        .where(*_event_filter(scope, Kind.EVENT_SIGNUP_CANCELLED))
        .group_by(ActivityEvent.ref)
    )
    for ref, n in cancel_rows:
        item = signup_items.setdefault(
            ref, {"ref": ref, "title": None, "signups": 0, "people": 0, "cancelled": 0}
        )
        item["cancelled"] = int(n)

    return {
        "by_kind": dict(sorted(by_kind.items())),
        "consultations": {
            "questions": questions,
            "people": persons(Kind.FAQ_QUESTION),
            "answered": outcomes.get("answer", 0),
            "suggested": outcomes.get("suggest", 0),
            "fallback": outcomes.get("fallback", 0),
            "smalltalk": outcomes.get("smalltalk", 0),
            "answered_without_staff": without_staff,
            "share_without_staff": round(without_staff / questions, 4) if questions else None,
        },
        "top_topics": top_topics,
        "handoffs": {
            "created": events(Kind.HANDOFF_CREATED),
            "people": persons(Kind.HANDOFF_CREATED),
            "answered": answered,
            "median_answer_seconds": median,
        },
        "search": {
            "searches": events(Kind.PROGRAM_SEARCH),
            "people": persons(Kind.PROGRAM_SEARCH),
            "no_results": no_results,
            "by_direction": by_direction,
            "by_age": by_age,
        },
        "broadcasts": {
            "count": len(broadcasts),
            "reached": sum(b["reached"] for b in broadcasts),
            "items": broadcasts,
        },
        "event_signups": {
            "signups": events(Kind.EVENT_SIGNUP),
            "people": persons(Kind.EVENT_SIGNUP),
            "cancelled": events(Kind.EVENT_SIGNUP_CANCELLED),
            "by_event": list(signup_items.values()),
        },
        "subscriptions": {
            "subscribed": events(Kind.SUBSCRIBED),
            "unsubscribed": events(Kind.UNSUBSCRIBED),
        },
    }


async def _sources(session: AsyncSession, scope: ReportScope) -> tuple[dict[str, Any], list[str]]:
    results: dict[str, Any] = {}
    failed: list[str] = []
    for name, source in sorted(registered_sources().items()):
        try:
            async with session.begin_nested():
                results[name] = await source(session, scope)
        except Exception:
            # One feature's broken figures must not cost staff the whole report.
            logger.exception("report source %r failed; the report goes out without it", name)
            failed.append(name)
    return results, failed


async def build_report(
    session: AsyncSession,
    period: Period,
    tz: ZoneInfo,
    municipality_id: str | None = None,
    municipality_name: str | None = None,
    *,
    include_activities: bool = True,
) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    scope = period.scope(tz, municipality_id)
    sources, failed = await _sources(session, scope)
    report: dict[str, Any] = {
        "period": {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "kind": period.kind,
            "label": period.label,
            "timezone": str(tz),
        },
        "municipality": (
            {"id": municipality_id, "name": municipality_name or municipality_id} if municipality_id else None
        ),
        "outreach": await _outreach(session, period, municipality_id),
        "by_kind": await _by_kind(session, period, municipality_id),
        "by_month": await _by_month(session, period, municipality_id),
        "bot": await _bot(session, scope),
        "sources": sources,
        "sources_failed": failed,
        "generated_on": date.today().isoformat(),
    }
    if include_activities:
        report["activities"] = await _activities(session, period, municipality_id)
    return report
