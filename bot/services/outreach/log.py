"""The outreach log: validated activities, created, corrected and deleted with an audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.directions import Direction
from bot.html import escape
from bot.services.outreach import vocab
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.periods import parse_date
from db.base import utcnow
from db.models import OutreachActivity, OutreachAudit

# More people than this at one event is possible (a city festival) but usually a typo.
CONFIRM_ABOVE = 100_000
# Nobody reaches more than this with one event: refused outright.
MAX_REACHED = 10_000_000
TITLE_MAX = 300
ORGANISATION_MAX = 300
RECENT_LIMIT = 10

FIELDS = ("held_on", "title", "kind", "audience", "reached", "organisation", "directions", "format",
          "municipality_id")  # fmt: skip


@dataclass(frozen=True)
class ActivityInput:
    """A checked activity, ready to store."""

    held_on: date
    title: str
    kind: str
    audience: str
    reached: int
    municipality_id: str
    organisation: str | None = None
    directions: tuple[str, ...] = field(default_factory=tuple)
    format: str | None = None

    @property
    def needs_confirmation(self) -> bool:
        return self.reached > CONFIRM_ABOVE

    def snapshot(self) -> dict[str, Any]:
        return {
            "held_on": self.held_on.isoformat(),
            "title": self.title,
            "kind": self.kind,
            "audience": self.audience,
            "reached": self.reached,
            "organisation": self.organisation,
            "directions": list(self.directions),
            "format": self.format,
            "municipality_id": self.municipality_id,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> ActivityInput:
        return cls(
            held_on=date.fromisoformat(data["held_on"]),
            title=data["title"],
            kind=data["kind"],
            audience=data["audience"],
            reached=int(data["reached"]),
            municipality_id=data["municipality_id"],
            organisation=data.get("organisation"),
            directions=tuple(data.get("directions") or ()),
            format=data.get("format"),
        )


def input_of(activity: OutreachActivity) -> ActivityInput:
    """A stored activity as an input, to compare and replace field values."""
    values = {name: getattr(activity, name) for name in FIELDS}
    return ActivityInput(**{**values, "directions": tuple(activity.directions or ())})


def snapshot_of(activity: OutreachActivity) -> dict[str, Any]:
    return input_of(activity).snapshot()


def _column_values(data: ActivityInput) -> dict[str, Any]:
    return {name: list(data.directions) if name == "directions" else getattr(data, name) for name in FIELDS}


# --- checking single values (shared by the bot dialog, the CLI and the import) -----------


def clean_text(text: str, what_ru: str, what_en: str, limit: int) -> str:
    value = " ".join(text.split())
    if not value:
        raise OutreachError(f"{what_ru} не может быть пустым.", f"{what_en} is empty")
    if len(value) > limit:
        raise OutreachError(
            f"{what_ru} слишком длинное ({len(value)} символов, можно до {limit}). Сократите, пожалуйста.",
            f"{what_en} is {len(value)} characters long (at most {limit})",
        )
    return value


def check_title(text: str) -> str:
    return clean_text(text, "Название", "the title", TITLE_MAX)


def check_organisation(text: str) -> str:
    return clean_text(text, "Название организации", "the organisation", ORGANISATION_MAX)


_NUMBER = re.compile(r"^\d[\d\s\u00a0\u202f]*$")


def parse_reached(text: str) -> int:
    """A headcount: «70», «3 102»; negative, fractional or absurd numbers are refused."""
    raw = text.strip()
    if raw.startswith("-") and raw[1:].strip().replace(" ", "").isdigit():
        raise OutreachError(
            "Охват не может быть отрицательным. Укажите, сколько человек участвовало.",
            f"the number of people reached cannot be negative: {raw[:20]}",
        )
    if not _NUMBER.match(raw):
        raise OutreachError(
            f"Охват — это целое число участников, например 70. Не понял «{raw[:20]}».",
            f"the number of people reached must be a whole number, not {raw[:20]!r}",
        )
    value = int(re.sub(r"\s", "", raw))
    return check_reached(value)


def check_reached(value: int) -> int:
    if value < 0:
        raise OutreachError(
            "Охват не может быть отрицательным. Укажите, сколько человек участвовало.",
            f"the number of people reached cannot be negative: {value}",
        )
    if value == 0:
        raise OutreachError(
            "Охват 0 человек: мероприятие без участников в отчёт не входит. Укажите число участников.",
            "the number of people reached is 0: an activity without participants is not logged",
        )
    if value > MAX_REACHED:
        raise OutreachError(
            f"{value} человек на одном мероприятии — так не бывает. Проверьте число.",
            f"{value} people at one activity is not plausible (at most {MAX_REACHED})",
        )
    return value


def check_audience(text: str) -> str:
    term = vocab.parse_audience(text)
    if term is None:
        raise OutreachError(
            f"Не знаю такую аудиторию: «{text.strip()[:30]}». "
            "Варианты: родители, обучающиеся, педагоги, прочие.",
            f"unknown audience {text.strip()[:30]!r}: use parents, students, educators or other",
        )
    return term.code


def check_kind(text: str) -> str:
    term = vocab.parse_kind(text)
    if term is None:
        names = ", ".join(t.label.lower() for t in vocab.KINDS)
        codes = ", ".join(t.code for t in vocab.KINDS)
        raise OutreachError(
            f"Не знаю такой вид мероприятия: «{text.strip()[:30]}». Варианты: {names}.",
            f"unknown kind {text.strip()[:30]!r}: use one of {codes}",
        )
    return term.code


def check_format(text: str) -> str:
    term = vocab.parse_format(text)
    if term is None:
        raise OutreachError(
            f"Формат — «очно» или «онлайн», а не «{text.strip()[:20]}».",
            f"unknown format {text.strip()[:20]!r}: use offline or online",
        )
    return term.code


def check_directions(text: str) -> tuple[str, ...]:
    found, unknown = vocab.parse_directions(text)
    if unknown:
        names = ", ".join(d.title for d in Direction)
        raise OutreachError(
            f"Не знаю направленность: «{unknown[0][:40]}». Варианты: {names}.",
            f"unknown direction {unknown[0][:40]!r}: use one of " + ", ".join(d.code for d in Direction),
        )
    return tuple(d.code for d in found)


# --- the one-line form --------------------------------------------------------------


def parse_one_line(text: str, tz: ZoneInfo, municipality_id: str) -> ActivityInput:
    """`2025-03-14 родители 70 Родительское собрание: соцсертификаты`.

    Date, audience, headcount and the title; the kind is guessed from the title.
    """
    parts = text.split(maxsplit=3)
    if len(parts) < 4:
        raise OutreachError(
            "Короткая форма: /log ДАТА АУДИТОРИЯ ОХВАТ НАЗВАНИЕ, например:\n"
            "/log 2025-03-14 родители 70 Родительское собрание: соцсертификаты\n"
            "Или отправьте просто /log — бот спросит всё по шагам.",
            "expected: DATE AUDIENCE REACHED TITLE",
        )
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


# --- storing -------------------------------------------------------------------------


def _audit(
    session: AsyncSession,
    activity_id: int,
    *,
    action: str,
    actor_id: int | None,
    source: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> None:
    session.add(
        OutreachAudit(
            activity_id=activity_id, action=action, actor_id=actor_id, source=source, at=utcnow(),
            old=old, new=new,
        )
    )  # fmt: skip


async def create(
    session: AsyncSession, data: ActivityInput, actor_id: int | None, source: str = "bot"
) -> OutreachActivity:
    now = utcnow()
    activity = OutreachActivity(
        **_column_values(data), logged_by=actor_id, source=source, created_at=now, updated_at=now
    )
    session.add(activity)
    await session.flush()
    _audit(
        session, activity.id, action="create", actor_id=actor_id, source=source, old=None, new=data.snapshot()
    )
    return activity


async def update(
    session: AsyncSession, activity: OutreachActivity, changes: dict[str, Any], actor_id: int | None,
    source: str = "bot",
) -> bool:  # fmt: skip
    """Apply checked field values; False (and no audit row) when nothing changed."""
    current = input_of(activity)
    old = current.snapshot()
    values: dict[str, Any] = {
        k: (tuple(v) if k == "directions" else v) for k, v in changes.items() if k in FIELDS
    }
    new_input = replace(current, **values)
    new = new_input.snapshot()
    if new == old:
        return False
    for name, value in _column_values(new_input).items():
        setattr(activity, name, value)
    activity.updated_at = utcnow()
    changed_old = {k: v for k, v in old.items() if new[k] != v}
    changed_new = {k: v for k, v in new.items() if old[k] != v}
    _audit(
        session,
        activity.id,
        action="update",
        actor_id=actor_id,
        source=source,
        old=changed_old,
        new=changed_new,
    )
    return True


async def delete(
    session: AsyncSession, activity: OutreachActivity, actor_id: int | None, source: str = "bot"
) -> None:
    _audit(
        session,
        activity.id,
        action="delete",
        actor_id=actor_id,
        source=source,
        old=snapshot_of(activity),
        new=None,
    )
    await session.delete(activity)


async def get(session: AsyncSession, activity_id: int) -> OutreachActivity | None:
    return await session.get(OutreachActivity, activity_id)


def can_change(activity: OutreachActivity, user_id: int, is_admin: bool) -> bool:
    return is_admin or activity.logged_by == user_id


async def recent(
    session: AsyncSession, user_id: int, is_admin: bool, limit: int = RECENT_LIMIT
) -> list[OutreachActivity]:
    """The newest entries: one's own, or everybody's for an admin."""
    query = select(OutreachActivity).order_by(OutreachActivity.id.desc()).limit(limit)
    if not is_admin:
        query = query.where(OutreachActivity.logged_by == user_id)
    return list(await session.scalars(query))


async def count_logged_by(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(OutreachActivity).where(OutreachActivity.logged_by == user_id)
    )
    return int(count or 0)


async def audit_trail(session: AsyncSession, activity_id: int) -> list[OutreachAudit]:
    rows = await session.scalars(
        select(OutreachAudit).where(OutreachAudit.activity_id == activity_id).order_by(OutreachAudit.id)
    )
    return list(rows)


# --- showing -------------------------------------------------------------------------


def describe(data: ActivityInput | OutreachActivity, municipality_name: str | None = None) -> str:
    """A short HTML card of an entry (user text escaped)."""
    directions = [d for code in data.directions if (d := Direction.from_code(code)) is not None]
    lines = [
        f"<b>{escape(data.title)}</b>",
        f"📅 {data.held_on:%d.%m.%Y}",
        f"👥 {vocab.AUDIENCE_BY_CODE[data.audience].label}: {data.reached} чел.",
        f"🏷 {vocab.KIND_BY_CODE[data.kind].label}",
    ]
    if data.organisation:
        lines.append(f"🏢 {escape(data.organisation)}")
    if directions:
        lines.append("🧭 " + ", ".join(d.title for d in directions))
    if data.format:
        lines.append(f"💻 {vocab.FORMAT_BY_CODE[data.format].label}")
    if municipality_name:
        lines.append(f"📍 {escape(municipality_name)}")
    return "\n".join(lines)
