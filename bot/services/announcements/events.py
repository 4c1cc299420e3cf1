"""Open days and other events: creation with reminders, sign-ups, .ics, the report source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.directions import Direction
from bot.html import escape
from bot.services.activity import Kind, record
from bot.services.announcements.subscriptions import Target
from bot.services.report_sources import ReportScope
from db.base import utcnow
from db.models import Broadcast, Event, EventSignup, Subscription, User

AUDIENCES: dict[str, str] = {
    "parents": "родители",
    "students": "обучающиеся",
    "educators": "педагоги",
    "all": "все желающие",
}
REMINDERS: tuple[tuple[str, timedelta], ...] = (("day", timedelta(days=1)), ("2h", timedelta(hours=2)))
EVENT_LENGTH = timedelta(hours=2)  # for the calendar entry; events have no end time


class SignupError(Exception):
    """A sign-up that cannot be made; the text is for the parent."""


@dataclass(frozen=True)
class EventDraft:
    title: str
    starts_at: datetime  # aware UTC
    timezone: str
    place: str
    organisation: str
    directions: tuple[str, ...]
    audience: str
    capacity: int | None
    description: str
    municipality_id: str | None
    photo_file_id: str | None = None


def local(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz_name))


def when_text(event: Event) -> str:
    return local(event.starts_at, event.timezone).strftime("%d.%m.%Y в %H:%M")


def reminder_text(event: Event, which: str) -> str:
    start = local(event.starts_at, event.timezone)
    lead = "завтра" if which == "day" else "через два часа"
    return (
        f"⏰ <b>Напоминание</b>: {lead}, {start.strftime('%d.%m.%Y')} в {start.strftime('%H:%M')}, — "
        f"«{escape(event.title)}».\n📍 {escape(event.place)}\n🏫 {escape(event.organisation)}\n\n"
        "Вы записались на это мероприятие. Если планы изменились, отмените запись кнопкой ниже."
    )


async def create_event(session: AsyncSession, draft: EventDraft, created_by: int | None) -> Event:
    """Record the event and its two reminders (each unique by its key)."""
    now = utcnow()
    event = Event(
        municipality_id=draft.municipality_id,
        title=draft.title,
        starts_at=draft.starts_at,
        timezone=draft.timezone,
        place=draft.place,
        organisation=draft.organisation,
        directions=list(draft.directions),
        audience=draft.audience,
        capacity=draft.capacity,
        description=draft.description,
        photo_file_id=draft.photo_file_id,
        created_by=created_by,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    for which, before in REMINDERS:
        due = event.starts_at - before
        if due <= now:
            continue  # created too late for this reminder
        session.add(
            Broadcast(
                kind="reminder",
                status="scheduled",
                text=reminder_text(event, which),
                target=Target(event_id=event.id).to_json(),
                event_id=event.id,
                dedup_key=f"event:{event.id}:{which}",
                scheduled_at=due,
                created_by=None,
                created_at=now,
                total=0,
            )
        )
    await session.flush()
    return event


async def signup_count(session: AsyncSession, event_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(EventSignup.event_id == event_id)) or 0)


async def signup_counts(session: AsyncSession, event_ids: list[int]) -> dict[int, int]:
    """Sign-ups per event in one query; events nobody signed up for are absent."""
    rows = await session.execute(
        select(EventSignup.event_id, func.count())
        .where(EventSignup.event_id.in_(event_ids))
        .group_by(EventSignup.event_id)
    )
    return {int(event_id): int(n) for event_id, n in rows}


async def is_signed_up(session: AsyncSession, event_id: int, user_id: int) -> bool:
    found = await session.scalar(
        select(EventSignup.id).where(EventSignup.event_id == event_id, EventSignup.user_id == user_id)
    )
    return found is not None


async def upcoming_events(session: AsyncSession, user: User | None, *, limit: int = 10) -> list[Event]:
    """Future events, filtered by the user's municipality and направленности; the events the
    user signed up for are always listed (their card is where the sign-up is cancelled)."""
    query = select(Event).where(Event.starts_at > utcnow()).order_by(Event.starts_at, Event.id)
    if user is None:
        return list(await session.scalars(query.limit(limit)))
    signed = set(await session.scalars(select(EventSignup.event_id).where(EventSignup.user_id == user.id)))
    if user.municipality_id:
        query = query.where(
            (Event.municipality_id == user.municipality_id)
            | (Event.municipality_id.is_(None))
            | Event.id.in_(signed)
        )
    events = list(await session.scalars(query))
    sub = await session.get(Subscription, user.id)
    wanted = set(sub.directions) if sub is not None else set()
    if wanted:
        events = [e for e in events if e.id in signed or not e.directions or wanted & set(e.directions)]
    return events[:limit]


async def sign_up(session: AsyncSession, event: Event, user: User) -> bool:
    """Sign up; False when already signed up. SignupError when full or past."""
    if event.starts_at <= utcnow():
        raise SignupError("Это мероприятие уже прошло.")
    if await is_signed_up(session, event.id, user.id):
        return False
    if event.capacity is not None:
        # Serialise sign-ups for one event on PostgreSQL (a row lock until commit);
        # SQLite already serialises writers, and its dialect leaves FOR UPDATE out.
        await session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    if event.capacity is not None and await signup_count(session, event.id) >= event.capacity:
        raise SignupError("К сожалению, все места уже заняты.")
    signup = EventSignup(event_id=event.id, user_id=user.id, created_at=utcnow())
    session.add(signup)
    await session.flush()
    if event.capacity is not None and await signup_count(session, event.id) > event.capacity:
        await session.delete(signup)  # someone took the last place at the same moment
        await session.flush()
        raise SignupError("К сожалению, последнее место только что заняли.")
    await record(
        session, Kind.EVENT_SIGNUP, user_id=user.id, municipality_id=event.municipality_id,
        topic=event.title, ref=str(event.id),
    )  # fmt: skip
    return True


async def cancel_signup(session: AsyncSession, event: Event, user: User) -> bool:
    signup = await session.scalar(
        select(EventSignup).where(EventSignup.event_id == event.id, EventSignup.user_id == user.id)
    )
    if signup is None:
        return False
    await session.delete(signup)
    await record(
        session, Kind.EVENT_SIGNUP_CANCELLED, user_id=user.id, municipality_id=event.municipality_id,
        topic=event.title, ref=str(event.id),
    )  # fmt: skip
    return True


async def signups(session: AsyncSession, event_id: int) -> list[EventSignup]:
    rows = await session.scalars(
        select(EventSignup).where(EventSignup.event_id == event_id).order_by(EventSignup.created_at)
    )
    return list(rows)


def event_card(event: Event, taken: int, signed_up: bool = False) -> str:
    dirs = [d.title for d in Direction if d.code in event.directions]
    lines = [
        f"<b>{escape(event.title)}</b>",
        f"🗓 {when_text(event)}",
        f"📍 {escape(event.place)}",
        f"🏫 {escape(event.organisation)}",
        f"👥 Для кого: {AUDIENCES.get(event.audience, escape(event.audience))}",
    ]
    if dirs:
        lines.append("🧭 Направленность: " + ", ".join(dirs))
    if event.capacity is not None:
        lines.append(f"🎟 Мест: {event.capacity}, свободно: {max(event.capacity - taken, 0)}")
    if event.description:
        lines.append("")
        lines.append(escape(event.description))
    if signed_up:
        lines.append("\n✅ Вы записаны.")
    return "\n".join(lines)


def ics_bytes(event: Event) -> bytes:
    """A calendar file with one event and a reminder two hours before."""
    from icalendar import Alarm, Calendar
    from icalendar import Event as IcsEvent

    cal = Calendar()
    cal.add("prodid", "-//mocbot//announcements//RU")
    cal.add("version", "2.0")
    item = IcsEvent()
    item.add("uid", f"mocbot-event-{event.id}@mocbot")
    item.add("dtstamp", utcnow())
    start = local(event.starts_at, event.timezone)
    item.add("dtstart", start)
    item.add("dtend", start + EVENT_LENGTH)
    item.add("summary", event.title)
    item.add("location", f"{event.place}, {event.organisation}")
    item.add("description", event.description)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", event.title)
    alarm.add("trigger", -timedelta(hours=2))
    item.add_component(alarm)
    cal.add_component(item)
    data: bytes = cal.to_ical()
    return data


async def open_days_source(session: AsyncSession, scope: ReportScope) -> list[dict[str, object]]:
    """Report figures: events held in the period with their sign-up counts."""
    count = select(func.count()).where(EventSignup.event_id == Event.id).correlate(Event).scalar_subquery()
    query = (
        select(Event, count)
        .where(Event.starts_at >= scope.start, Event.starts_at < scope.end)
        .order_by(Event.starts_at, Event.id)
    )
    if scope.municipality_id is not None:
        query = query.where(Event.municipality_id == scope.municipality_id)
    return [
        {
            "title": event.title,
            "date": local(event.starts_at, event.timezone).isoformat(),
            "signups": int(n or 0),
        }
        for event, n in await session.execute(query)
    ]
