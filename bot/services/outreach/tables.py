"""The report as titled tables: one source for the XLSX sheets and the CSV blocks.

Everything in them speaks Russian: municipalities by name, activity kinds, FAQ topics and
broadcasts by their titles, times in the report's local time zone; every header and label comes
from content/texts/report.yaml (`Words`). Known report sources (catalogue, unanswered questions,
the events announced in the bot) get tables of their own when present and well-formed
(`Report.sections`); unknown ones stay in the JSON only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.services.outreach import vocab
from bot.services.outreach.model import (
    CatalogueSection,
    OpenDaysSection,
    Report,
    UnansweredSection,
    direction_title,
)
from bot.services.outreach.words import Words

Cell = str | int | float | None


@dataclass
class Table:
    sheet: str  # sheet name (≤ 31 characters)
    title: str  # what the table shows, for the print header and the CSV block
    headers: list[str]
    rows: list[list[Cell]]
    totals: list[Cell] | None = None
    widths: list[int] = field(default_factory=list)


def _table(
    words: Words, name: str, rows: list[list[Cell]], totals: list[Cell] | None, widths: list[int]
) -> Table:
    prefix = f"report.{name}"
    return Table(
        words(f"{prefix}.sheet")[:31],
        words(f"{prefix}.title"),
        words.split(f"{prefix}.headers"),
        rows,
        totals,
        widths,
    )


def month_label(month: str, words: Words | None = None) -> str:
    """«2025-03» → «март 2025»."""
    year, number = month.split("-")
    names = (words or Words(None)).split("report.months")
    return f"{names[int(number) - 1]} {year}"


def _catalogue(section: CatalogueSection, words: Words) -> Table:
    return _table(
        words,
        "catalogue",
        [[row.title, row.programs, row.ovz_programs] for row in section.rows],
        [words("report.total_label"), section.total, section.ovz_total],
        [34, 12, 24],
    )


def _faq_unanswered(section: UnansweredSection, words: Words) -> Table:
    return _table(
        words,
        "unanswered",
        [[item.text, item.count] for item in section.items],
        [words("report.total_label"), sum(item.count for item in section.items)],
        [80, 14],
    )


def _shown_date(when: date | str | None) -> str | None:
    return when.strftime("%d.%m.%Y") if isinstance(when, date) else when


def _signups(section: OpenDaysSection, words: Words) -> Table:
    totals = section.totals
    return _table(
        words,
        "signups",
        [
            [
                item.title,
                _shown_date(item.when),
                words.municipality(item.municipality),
                item.signups,
                item.cancelled,
            ]
            for item in section.items
        ],
        [words("report.total_label"), None, None, totals.signups, totals.cancelled],
        [50, 12, 16, 12, 16],
    )


def _label(terms: dict[str, vocab.Term], code: str | None) -> str | None:
    if code is None:
        return None
    term = terms.get(code)
    return term.label if term else code


def _topic_title(content: Content, topic: str) -> str:
    """A FAQ topic by its title in the knowledge base (the id when it is not there any more)."""
    faq: Any = content.sections.get("faq")
    entry = faq.get(topic) if faq is not None and hasattr(faq, "get") else None
    title = getattr(entry, "title", None)
    return str(title) if title else topic


def _kind_title(words: Words, kind: str) -> str:
    key = "report.bot_kind." + kind.replace(".", "_")
    return words(key) if words.has(key) else kind


def _local_time(report: Report) -> ZoneInfo:
    return ZoneInfo(report.period.timezone)


def build_tables(report: Report, content: Content | None = None) -> list[Table]:
    words = Words.of(report, content)
    total = words("report.total_label")
    tables: list[Table] = []
    outreach = report.outreach
    tables.append(
        _table(
            words,
            "outreach",
            [[t.label, outreach.of(t.code).events, outreach.of(t.code).reached] for t in vocab.AUDIENCES],
            [total, outreach.total.events, outreach.total.reached],
            [28, 14, 16],
        )
    )
    by_kind = report.by_kind
    tables.append(
        _table(
            words,
            "by_kind",
            [[k.title, k.events, k.reached] for k in by_kind],
            [total, sum(k.events for k in by_kind), sum(k.reached for k in by_kind)],
            [34, 14, 16],
        )
    )
    months = report.by_month
    codes = [t.code for t in vocab.AUDIENCES]
    month_table = _table(
        words,
        "by_month",
        [[month_label(m.key, words), *[m.reached_by(c) for c in codes], m.reached, m.events] for m in months],
        [
            total,
            *[sum(m.reached_by(c) for m in months) for c in codes],
            sum(m.reached for m in months),
            sum(m.events for m in months),
        ],
        [16, 12, 14, 12, 10, 14, 13],
    )
    first, *rest = month_table.headers
    month_table.headers = [first, *[t.label for t in vocab.AUDIENCES], *rest]
    tables.append(month_table)
    if report.activities is not None:
        activities = report.activities
        tables.append(
            _table(
                words,
                "activities",
                [
                    [
                        a.held_on.strftime("%d.%m.%Y"),
                        a.title,
                        _label(vocab.KIND_BY_CODE, a.kind),
                        _label(vocab.AUDIENCE_BY_CODE, a.audience),
                        a.reached,
                        a.organisation,
                        ", ".join(direction_title(c) for c in a.directions) or None,
                        vocab.FORMAT_BY_CODE[a.format].label if a.format in vocab.FORMAT_BY_CODE else None,
                        words.municipality(a.municipality_id),
                    ]
                    for a in activities
                ],
                [
                    words("report.total_count", n=len(activities)),
                    None,
                    None,
                    None,
                    sum(a.reached for a in activities),
                ],
                [11, 50, 24, 13, 9, 30, 28, 9, 16],
            )
        )
    bot = report.bot
    c = bot.consultations
    h = bot.handoffs
    s = bot.search
    b = bot.broadcasts
    share = c.share_without_staff
    median = h.median_answer_seconds
    open_days = report.sections.open_days

    def row(key: str, value: Cell) -> list[Cell]:
        return [words(f"report.row.{key}"), value]

    bot_rows = [
        row("questions", c.questions),
        row("people", c.people),
        row("answered", c.answered),
        row("suggested", c.suggested),
        row("fallback", c.fallback),
        row("share", None if share is None else round(100 * share, 1)),
        row("handoffs", h.created),
        row("handoff_people", h.people),
        row("handoff_answers", h.answered),
        row("median", None if median is None else round(median / 60, 1)),
        row("searches", s.searches),
        row("search_people", s.people),
        row("no_results", s.no_results),
        row("broadcasts", b.count),
        row("broadcast_reached", b.reached),
    ]
    if open_days is not None:  # the same numbers as the sign-ups sheet and the paragraph
        totals = open_days.totals
        bot_rows += [
            row("signup_events", totals.events),
            row("signups", totals.signups),
            row("signups_cancelled", totals.cancelled),
        ]
    bot_rows += [
        row("subscribed", bot.subscriptions.subscribed),
        row("unsubscribed", bot.subscriptions.unsubscribed),
    ]
    tables.append(_table(words, "bot", bot_rows, None, [56, 14]))
    tables.append(
        _table(
            words,
            "bot_kinds",
            [[_kind_title(words, k.kind), k.events, k.people] for k in bot.by_kind],
            [total, sum(k.events for k in bot.by_kind), None],
            [44, 12, 12],
        )
    )
    if bot.channels:
        *channels, everyone = bot.channels
        tables.append(
            _table(
                words,
                "channels",
                [[words(f"report.channels.{c.channel}"), c.people, c.questions, c.askers] for c in channels],
                [total, everyone.people, everyone.questions, everyone.askers],
                [30, 20, 12, 24],
            )
        )
    tables.append(
        _table(
            words,
            "topics",
            [[_topic_title(words.content, t.topic), t.questions] for t in bot.top_topics],
            None,
            [60, 12],
        )
    )
    no_direction = words("report.search_directions.none")
    tables.append(
        _table(
            words,
            "search_directions",
            [
                [no_direction if d.direction is None else d.title, d.searches, d.no_results]
                for d in s.by_direction
            ],
            [total, sum(d.searches for d in s.by_direction), s.no_results],
            [34, 12, 22],
        )
    )
    no_age = words("report.search_ages.none")
    tables.append(
        _table(
            words,
            "search_ages",
            [[no_age if a.age is None else a.age, a.searches] for a in s.by_age],
            [total, sum(a.searches for a in s.by_age)],
            [14, 12],
        )
    )
    tz = _local_time(report)
    tables.append(
        _table(
            words,
            "broadcasts",
            [
                [
                    i.title or words("report.broadcasts.unknown", ref=i.ref or "?"),
                    i.sent_at.astimezone(tz).strftime("%d.%m.%Y %H:%M") if i.sent_at else "",
                    i.reached,
                ]
                for i in b.items
            ],
            [total, None, b.reached],
            [60, 18, 12],
        )
    )
    sections = report.sections
    if open_days is not None:
        tables.append(_signups(open_days, words))
    if sections.catalogue is not None and sections.catalogue.total:
        tables.append(_catalogue(sections.catalogue, words))  # an all-zero sheet (no catalogue) says nothing
    if sections.faq_unanswered is not None:
        tables.append(_faq_unanswered(sections.faq_unanswered, words))
    return tables
