"""The annual report's figures: aggregated in SQL by the repositories, read into the typed model."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.channels import Channel
from bot.directions import Direction
from bot.services.activity import Kind
from bot.services.outreach import vocab
from bot.services.outreach.model import (
    ActivityItem,
    AgeSearches,
    AudienceFigures,
    BotFigures,
    Broadcast,
    Broadcasts,
    ChannelFigures,
    Consultations,
    DirectionSearches,
    EventSignups,
    EventSignupsOf,
    Figures,
    Handoffs,
    KindCount,
    KindFigures,
    MonthFigures,
    Outreach,
    Place,
    Report,
    ReportPeriod,
    Search,
    Sections,
    Subscriptions,
    TopicCount,
)
from bot.services.outreach.periods import Period
from bot.services.plugins import ReportScope
from db.repositories.announcements import BroadcastRepo
from db.repositories.outreach import OutreachRepo, ReportActivityRepo
from db.uow import UnitOfWork

AUDIENCE_CODES = [t.code for t in vocab.AUDIENCES]
TOP_TOPICS = 10
FAQ_OUTCOMES = ("answer", "suggest", "fallback", "smalltalk")


async def _outreach(repo: OutreachRepo, period: Period, municipality_id: str | None) -> Outreach:
    found = await repo.by_audience(period.start, period.end, municipality_id)
    codes = AUDIENCE_CODES + [code for code in found if code not in AUDIENCE_CODES]  # older vocabularies
    audiences = tuple(
        AudienceFigures(code, Figures(f.events, f.reached) if (f := found.get(code)) else Figures(0, 0))
        for code in codes
    )
    total = Figures(sum(a.figures.events for a in audiences), sum(a.figures.reached for a in audiences))
    return Outreach(audiences, total)


async def _by_kind(
    repo: OutreachRepo, period: Period, municipality_id: str | None
) -> tuple[KindFigures, ...]:
    found = await repo.by_kind(period.start, period.end, municipality_id)
    result = []
    for term in vocab.KINDS:
        figures = found.pop(term.code, None)
        result.append(
            KindFigures(
                term.code, term.label, figures.events if figures else 0, figures.reached if figures else 0
            )
        )
    for kind, figures in sorted(found.items()):  # codes from an older vocabulary
        result.append(KindFigures(kind, kind, figures.events, figures.reached))
    return tuple(result)


async def _by_month(
    repo: OutreachRepo, period: Period, municipality_id: str | None
) -> tuple[MonthFigures, ...]:
    cells = await repo.by_month_and_audience(period.start, period.end, municipality_id)
    result = []
    for first in period.months():
        cell = cells.get((first.year, first.month), {})
        empty = Figures(0, 0)
        result.append(
            MonthFigures(
                year=first.year,
                month=first.month,
                reached_by_audience=tuple((code, cell.get(code, empty).reached) for code in AUDIENCE_CODES),
                events=sum(f.events for f in cell.values()),
                reached=sum(f.reached for f in cell.values()),
            )
        )
    return tuple(result)


async def _activities(
    repo: OutreachRepo, period: Period, municipality_id: str | None
) -> tuple[ActivityItem, ...]:
    records = await repo.held_between(period.start, period.end, municipality_id)
    return tuple(
        ActivityItem(
            id=r.id,
            held_on=r.held_on,
            title=r.title,
            kind=r.kind,
            audience=r.audience,
            reached=r.reached,
            organisation=r.organisation,
            directions=r.directions,
            format=r.format,
            municipality_id=r.municipality_id,
        )
        for r in records
    )


_TAG = re.compile(r"<[^>]+>")
TITLE_LENGTH = 80


def broadcast_title(text: str) -> str:
    """A broadcast by its words: the first line of its text without markup, at most 80 characters."""
    plain = html.unescape(_TAG.sub("", text)).strip()
    first = next((line.strip() for line in plain.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1].rstrip() + "…"


async def broadcast_titles(repo: BroadcastRepo, refs: list[str | None]) -> dict[str | None, str]:
    ids = [int(ref) for ref in refs if ref is not None and ref.isdigit()]
    return {
        str(broadcast_id): broadcast_title(text) for broadcast_id, text in (await repo.texts(ids)).items()
    }


async def _bot(repo: ReportActivityRepo, scope: ReportScope, broadcast_repo: BroadcastRepo) -> BotFigures:
    by_kind = await repo.by_kind(scope)

    def events(kind: Kind) -> int:
        found = by_kind.get(str(kind))
        return found.events if found else 0

    def persons(kind: Kind) -> int:
        found = by_kind.get(str(kind))
        return found.people if found else 0

    # FAQ: outcomes and the topics answered in one pass, grouped by (outcome, topic): a few
    # hundred groups at most. Distinct people come from the by-kind pass above.
    outcomes = dict.fromkeys(FAQ_OUTCOMES, 0)
    topic_counts: dict[str, int] = {}
    for outcome, topic, n in await repo.by_outcome_and_topic(scope, str(Kind.FAQ_QUESTION)):
        if outcome in outcomes:
            outcomes[outcome] += n
        if topic is not None and outcome in ("answer", "suggest"):
            topic_counts[topic] = topic_counts.get(topic, 0) + n
    questions = events(Kind.FAQ_QUESTION) - outcomes["smalltalk"]
    without_staff = outcomes["answer"] + outcomes["suggest"]
    ranked = sorted(topic_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TOPICS]

    # program search by direction and age in one pass (at most 7 x 14 groups)
    by_direction_raw: dict[str | None, tuple[int, int]] = {}
    by_age_raw: dict[int | None, int] = {}
    for topic, age, n, z in await repo.by_topic_and_age(scope, str(Kind.PROGRAM_SEARCH)):
        searches, empty = by_direction_raw.get(topic, (0, 0))
        by_direction_raw[topic] = (searches + n, empty + z)
        by_age_raw[age] = by_age_raw.get(age, 0) + n
    no_results = sum(z for _, z in by_direction_raw.values())
    by_direction = []
    for d in Direction:
        n, z = by_direction_raw.pop(d.code, (0, 0))
        by_direction.append(DirectionSearches(d.code, d.title, n, z))
    for code, (n, z) in sorted(by_direction_raw.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        by_direction.append(DirectionSearches(code, "без направленности" if code is None else code, n, z))
    by_age = tuple(
        AgeSearches(age, n)
        for age, n in sorted(by_age_raw.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    )

    broadcasts = await repo.first_and_sum_by_ref(scope, str(Kind.BROADCAST_SENT))
    titles = await broadcast_titles(broadcast_repo, [ref for ref, _, _ in broadcasts])

    # event sign-ups (open days and others)
    signups: dict[str | None, EventSignupsOf] = {
        ref: EventSignupsOf(ref, title, n, p, 0)
        for ref, title, n, p in await repo.people_by_ref(scope, str(Kind.EVENT_SIGNUP))
    }
    for ref, n in await repo.count_by_ref(scope, str(Kind.EVENT_SIGNUP_CANCELLED)):
        item = signups.get(ref) or EventSignupsOf(ref, None, 0, 0, 0)
        signups[ref] = EventSignupsOf(item.ref, item.title, item.signups, item.people, n)

    return BotFigures(
        by_kind=tuple(KindCount(kind, c.events, c.people) for kind, c in by_kind.items()),
        consultations=Consultations(
            questions=questions,
            people=persons(Kind.FAQ_QUESTION),
            answered=outcomes["answer"],
            suggested=outcomes["suggest"],
            fallback=outcomes["fallback"],
            smalltalk=outcomes["smalltalk"],
            answered_without_staff=without_staff,
            share_without_staff=round(without_staff / questions, 4) if questions else None,
        ),
        top_topics=tuple(TopicCount(t, n) for t, n in ranked),
        handoffs=Handoffs(
            created=events(Kind.HANDOFF_CREATED),
            people=persons(Kind.HANDOFF_CREATED),
            answered=events(Kind.HANDOFF_ANSWERED),
            median_answer_seconds=await repo.median_value(scope, str(Kind.HANDOFF_ANSWERED)),
        ),
        search=Search(
            searches=events(Kind.PROGRAM_SEARCH),
            people=persons(Kind.PROGRAM_SEARCH),
            no_results=no_results,
            by_direction=tuple(by_direction),
            by_age=by_age,
        ),
        broadcasts=Broadcasts(
            tuple(Broadcast(ref, sent_at, reached, titles.get(ref)) for ref, sent_at, reached in broadcasts)
        ),
        event_signups=EventSignups(
            signups=events(Kind.EVENT_SIGNUP),
            people=persons(Kind.EVENT_SIGNUP),
            cancelled=events(Kind.EVENT_SIGNUP_CANCELLED),
            by_event=tuple(signups.values()),
        ),
        subscriptions=Subscriptions(events(Kind.SUBSCRIBED), events(Kind.UNSUBSCRIBED)),
        channels=await _channels(repo, scope),
    )


async def _channels(repo: ReportActivityRepo, scope: ReportScope) -> tuple[ChannelFigures, ...]:
    by_channel, total = await repo.reach_by_channel(scope)
    rows = []
    for channel in Channel:
        found = by_channel.get(str(channel))
        rows.append(
            ChannelFigures(
                str(channel), *(found.people, found.questions, found.askers) if found else (0, 0, 0)
            )
        )
    return (*rows, ChannelFigures("all", total.people, total.questions, total.askers))


async def read_figures(
    uow: UnitOfWork,
    period: Period,
    tz: ZoneInfo,
    municipality_id: str | None = None,
    municipality_name: str | None = None,
    *,
    include_activities: bool = True,
) -> Report:
    """The report's own figures (no sources) read in the caller's unit of work."""
    scope = period.scope(tz, municipality_id)
    outreach = uow.repo(OutreachRepo)
    return Report(
        period=ReportPeriod(period.start, period.end, period.kind, period.label, str(tz)),
        municipality=Place(municipality_id, municipality_name or municipality_id)
        if municipality_id
        else None,
        outreach=await _outreach(outreach, period, municipality_id),
        by_kind=await _by_kind(outreach, period, municipality_id),
        by_month=await _by_month(outreach, period, municipality_id),
        bot=await _bot(uow.repo(ReportActivityRepo), scope, uow.repo(BroadcastRepo)),
        generated_on=date.today(),
        activities=await _activities(outreach, period, municipality_id) if include_activities else None,
    )


def with_sources(report: Report, sources: Mapping[str, Any], failed: list[str]) -> Report:
    """`report` with the sources' data and the sections read from it."""
    return replace(
        report, sources=dict(sources), sources_failed=tuple(failed), sections=Sections.read(sources)
    )
