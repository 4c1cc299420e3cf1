"""The outreach log's rules: checked values and the one-line /log form (no storage, no HTML).

Storing goes through `OutreachLogService` (bot/services/outreach/service.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.directions import Direction
from bot.services.outreach import vocab
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.periods import parse_date
from bot.services.when import MONTH_WORD
from db.repositories.outreach import ActivityData

# More people than this at one event is possible (a city festival) but usually a typo.
CONFIRM_ABOVE = 100_000
# Nobody reaches more than this with one event: refused outright.
MAX_REACHED = 10_000_000
TITLE_MAX = 300
ORGANISATION_MAX = 300
RECENT_LIMIT = 10


@dataclass(frozen=True)
class ActivityInput(ActivityData):
    """A checked activity, ready to store."""

    @property
    def needs_confirmation(self) -> bool:
        return self.reached > CONFIRM_ABOVE


# --- checking single values (shared by the bot dialog, the CLI and the import) -----------


def clean_text(text: str, what: str, what_en: str, limit: int) -> str:
    """`what`: the field's name in the keys of its refusals (`outreach.<what>_empty`, `_too_long`)."""
    value = " ".join(text.split())
    if not value:
        raise OutreachError(f"outreach.{what}_empty", f"{what_en} is empty")
    if len(value) > limit:
        raise OutreachError(
            f"outreach.{what}_too_long",
            f"{what_en} is {len(value)} characters long (at most {limit})",
            length=len(value),
            limit=limit,
        )
    return value


def check_title(text: str) -> str:
    return clean_text(text, "title", "the title", TITLE_MAX)


def check_organisation(text: str) -> str:
    return clean_text(text, "organisation", "the organisation", ORGANISATION_MAX)


_NUMBER = re.compile(r"^\d[\d\s\u00a0\u202f]*$")


def parse_reached(text: str) -> int:
    """A headcount: «70», «3 102»; negative, fractional or absurd numbers are refused."""
    raw = text.strip()
    if raw.startswith("-") and raw[1:].strip().replace(" ", "").isdigit():
        raise OutreachError(
            "outreach.reached_negative", f"the number of people reached cannot be negative: {raw[:20]}"
        )
    if not _NUMBER.match(raw):
        raise OutreachError(
            "outreach.reached_not_number",
            f"the number of people reached must be a whole number, not {raw[:20]!r}",
            text=raw[:20],
        )
    value = int(re.sub(r"\s", "", raw))
    return check_reached(value)


def check_reached(value: int) -> int:
    if value < 0:
        raise OutreachError(
            "outreach.reached_negative", f"the number of people reached cannot be negative: {value}"
        )
    if value == 0:
        raise OutreachError(
            "outreach.reached_zero",
            "the number of people reached is 0: an activity without participants is not logged",
        )
    if value > MAX_REACHED:
        raise OutreachError(
            "outreach.reached_absurd",
            f"{value} people at one activity is not plausible (at most {MAX_REACHED})",
            reached=value,
        )
    return value


def check_audience(text: str) -> str:
    term = vocab.parse_audience(text)
    if term is None:
        raise OutreachError(
            "outreach.unknown_audience",
            f"unknown audience {text.strip()[:30]!r}: use parents, students, educators or other",
            text=text.strip()[:30],
            choices=", ".join(t.label.lower() for t in vocab.AUDIENCES),
        )
    return term.code


def check_kind(text: str) -> str:
    term = vocab.parse_kind(text)
    if term is None:
        names = ", ".join(t.label.lower() for t in vocab.KINDS)
        codes = ", ".join(t.code for t in vocab.KINDS)
        raise OutreachError(
            "outreach.unknown_kind",
            f"unknown kind {text.strip()[:30]!r}: use one of {codes}",
            text=text.strip()[:30],
            choices=names,
        )
    return term.code


def check_format(text: str) -> str:
    term = vocab.parse_format(text)
    if term is None:
        raise OutreachError(
            "outreach.unknown_format",
            f"unknown format {text.strip()[:20]!r}: use offline or online",
            text=text.strip()[:20],
        )
    return term.code


def check_directions(text: str) -> tuple[str, ...]:
    found, unknown = vocab.parse_directions(text)
    if unknown:
        names = ", ".join(d.title for d in Direction)
        raise OutreachError(
            "outreach.unknown_direction",
            f"unknown direction {unknown[0][:40]!r}: use one of " + ", ".join(d.code for d in Direction),
            text=unknown[0][:40],
            choices=names,
        )
    return tuple(d.code for d in found)


def find_municipality(content: Content, name: str) -> str:
    """A municipality id from its id or name (case-insensitive)."""
    key = name.strip().lower().replace("ё", "е")
    for m in content.municipalities.values():
        if key in (m.id.lower(), m.name.lower().replace("ё", "е")):
            return m.id
    known = ", ".join(f"{m.name} ({m.id})" for m in content.municipalities.values())
    raise OutreachError(
        "outreach.unknown_municipality",
        f"unknown municipality {name.strip()[:40]!r}; known: {known}",
        text=name.strip()[:40],
        choices=known,
    )


def municipality_or_ask(content: Content, name: str | None) -> str:
    """The municipality named, or the only one; with several and none named, an error that
    lists them (nothing is chosen for the person)."""
    if name:
        return find_municipality(content, name)
    if content.single_municipality:
        return content.default_municipality_id
    known = ", ".join(f"{m.name} ({m.id})" for m in content.municipalities.values())
    raise OutreachError(
        "outreach.municipality_required",
        f"this region has several municipalities; name one with --municipality: {known}",
        choices=known,
    )


# --- the one-line form --------------------------------------------------------------


def parse_one_line(text: str, tz: ZoneInfo, municipality_id: str) -> ActivityInput:
    """`14.03.2025 родители 70 Родительское собрание: соцсертификаты` (or «вчера», «12 марта»).

    Date, audience, headcount and the title; the kind is guessed from the title.
    """
    parts = text.split(maxsplit=3)
    if len(parts) > 1 and MONTH_WORD.match(parts[1]):  # «12 марта родители 40 …»: a date of two words
        first, rest = parts[0], text.split(maxsplit=1)[1]
        parts = [f"{first} {parts[1]}", *rest.split(maxsplit=3)[1:]]
    if len(parts) < 4:
        raise OutreachError("outreach.one_line_usage", "expected: DATE AUDIENCE REACHED TITLE")
    held_on = parse_date(parts[0], tz)
    audience = check_audience(parts[1])
    reached = parse_reached(parts[2])
    title = check_title(parts[3])
    return ActivityInput(
        held_on=held_on,
        title=title,
        kind=vocab.guess_kind(title).code,
        audience=audience,
        reached=reached,
        municipality_id=municipality_id,
    )
