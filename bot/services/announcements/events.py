"""Open days and other events: creation with reminders, sign-ups, the .ics file, the report source.

Each method of `EventService` is one short unit of work; writes commit before the method
returns, and the handler speaks only afterwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.content import Content
from bot.services.plugins import ReportScope
from bot.services.users import UserRecord
from bot.settings import Settings
from db.base import utcnow
from db.repositories.activity import ActivityRepo, Kind
from db.repositories.announcements import (
    BroadcastRepo,
    EventRecord,
    EventRepo,
    HeldEvent,
    SignupRecord,
    SubscriptionRepo,
    Target,
)
from db.uow import Database, UnitOfWork

__all__ = [
    "AUDIENCES",
    "CONTACT_RETENTION",
    "EVENT_LENGTH",
    "REMINDERS",
    "ContactRefused",
    "EventCard",
    "EventDraft",
    "EventInPast",
    "EventListing",
    "EventRecord",
    "EventService",
    "EventSignups",
    "SignupError",
    "SignupRecord",
    "SignupResult",
    "SignupSheet",
    "clean_name",
    "clean_phone",
    "ics_bytes",
    "local",
    "open_days_source",
    "when_text",
]

# Who an event is for; the words are content events.audience_<code>.
AUDIENCES: tuple[str, ...] = ("parents", "students", "educators", "all")
REMINDERS: tuple[tuple[str, timedelta], ...] = (("day", timedelta(days=1)), ("2h", timedelta(hours=2)))
EVENT_LENGTH = timedelta(hours=2)  # for the calendar entry; events have no end time
# The name and phone a parent gives at sign-up are erased this long after the event's start
# (the sign-up itself stays, anonymous, for the counts). The consent line says so.
CONTACT_RETENTION = timedelta(days=30)
# Staff lists show events that started up to this long ago: the list is needed at the door.
STAFF_LIST_SINCE = timedelta(days=1)


class SignupError(Exception):
    """A sign-up that cannot be made; `key` names the text for the parent
    (content/texts/announcements.yaml)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ContactRefused(ValueError):
    """What the parent typed is not a name (or a phone); `key` names the text that says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


NAME_MAX = 100
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[-'’. ]+[^\W\d_]+)*\.?$")
# Words that start a question or a sentence, never a name: «как записаться», «а во сколько».
_NOT_NAMES = frozenset(
    {
        "а", "но", "как", "что", "где", "когда", "куда", "откуда", "почему", "зачем", "сколько",
        "можно", "нужно", "надо", "какой", "какая", "какие", "каком", "чем", "кто", "есть", "нет",
        "да", "не", "хочу", "подскажите", "скажите", "здравствуйте", "привет", "добрый", "доброе",
        "спасибо", "пожалуйста", "запишите", "записаться", "запись", "кружок", "секция", "сертификат",
        "навигатор", "вопрос",
    }
)  # fmt: skip


def clean_name(text: str) -> str:
    """The name a parent wants to be listed under: letters, spaces, hyphens; 2–100 characters,
    at most four words, none of them a question word. ContactRefused otherwise."""
    name = " ".join(text.split())
    if len(name) < 2 or len(name) > NAME_MAX:
        raise ContactRefused("signup.name_length")
    words = name.lower().replace("ё", "е").split()
    if len(words) > 4 or not _NAME_CHARS.match(name) or any(w.strip(".") in _NOT_NAMES for w in words):
        raise ContactRefused("signup.name_not_a_name")
    return name


def clean_phone(text: str) -> str:
    """A phone number in one readable form: «+7 914 123-45-67» (Russian numbers, 8… or +7… or 9…
    with any spaces, brackets and hyphens), or «+<digits>» for another country's. ContactRefused
    for anything else."""
    raw = text.strip()
    if not raw or re.search(r"[^\d\s()+\-.]", raw):
        raise ContactRefused("signup.phone_bad")
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    elif not (len(digits) == 10 and digits[0] == "9"):
        if raw.startswith("+") and 10 <= len(digits) <= 15:
            return "+" + digits
        raise ContactRefused("signup.phone_bad")
    return f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


class EventInPast(Exception):
    """The event's start has passed while the staff member was filling in the form."""


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


@dataclass(frozen=True)
class EventCard:
    event: EventRecord
    taken: int
    signed_up: bool


@dataclass(frozen=True)
class SignupResult:
    event: EventRecord
    changed: bool  # False: already signed up (or, cancelling, was not)
    signed_up: bool  # the state now
    taken: int  # sign-ups now


@dataclass(frozen=True)
class EventListing:
    """Upcoming events for one person, and whether they get the announcements."""

    events: tuple[EventRecord, ...]
    subscribed: bool
    signed: frozenset[int] = frozenset()  # ids of the events the person signed up for


@dataclass(frozen=True)
class EventSignups:
    """Who is coming: standing sign-ups, first come first, and how many cancelled."""

    event: EventRecord
    signups: tuple[SignupRecord, ...]
    cancelled: int = 0

    @property
    def named(self) -> int:
        return sum(1 for s in self.signups if s.name)


@dataclass(frozen=True)
class SignupSheet:
    """The list of one event and the same as an XLSX file for staff."""

    signups: EventSignups
    xlsx: bytes


def local(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz_name))


def when_text(event: EventRecord | EventDraft) -> str:
    """«25.08.2026 в 18:00» in the event's own time zone (plain text; content events.when)."""
    start = local(event.starts_at, event.timezone)
    return texts.text(
        "events.when", event.municipality_id, date=start.strftime("%d.%m.%Y"), time=start.strftime("%H:%M")
    )


class EventService:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    # --- staff ----------------------------------------------------------------------------
    async def create(
        self, draft: EventDraft, *, created_by: int | None, reminder_texts: Mapping[str, str]
    ) -> EventRecord:
        """Record the event and its reminders (`reminder_texts` by the names in REMINDERS; each
        reminder is unique by its key, and one already due when the event is created is left out).
        EventInPast when the start has passed."""
        now = utcnow()
        if draft.starts_at <= now:
            raise EventInPast
        async with self.database.write() as uow:
            event = await uow.repo(EventRepo).add(
                municipality_id=draft.municipality_id,
                title=draft.title,
                starts_at=draft.starts_at,
                timezone=draft.timezone,
                place=draft.place,
                organisation=draft.organisation,
                directions=draft.directions,
                audience=draft.audience,
                capacity=draft.capacity,
                description=draft.description,
                photo_file_id=draft.photo_file_id,
                created_by=created_by,
                now=now,
            )
            for which, before in REMINDERS:
                due = event.starts_at - before
                if due <= now:
                    continue  # created too late for this reminder
                await uow.repo(BroadcastRepo).add(
                    kind="reminder",
                    text=reminder_texts[which],
                    target=Target(event_id=event.id),
                    scheduled_at=due,
                    created_by=None,
                    now=now,
                    dedup_key=f"event:{event.id}:{which}",
                )
        return event

    async def upcoming_with_counts(self, limit: int = 20) -> list[tuple[EventRecord, int]]:
        """Future events of every municipality with their sign-up counts (for staff)."""
        async with self.database.read() as uow:
            repo = uow.repo(EventRepo)
            events = await repo.upcoming(utcnow(), limit=limit)
            taken = await repo.signup_counts(e.id for e in events)
        return [(e, taken.get(e.id, 0)) for e in events]

    async def upcoming(self, limit: int = 20) -> list[EventRecord]:
        """Future events of every municipality (for staff)."""
        async with self.database.read() as uow:
            events = await uow.repo(EventRepo).upcoming(utcnow(), limit=limit)
        return events

    async def signup_overview(
        self, municipality_id: str | None = None, limit: int = 20
    ) -> list[tuple[EventRecord, int]]:
        """Events for the staff list with their sign-up counts: upcoming ones and those that started
        within the last day (the list is needed at the door); of one municipality or all."""
        async with self.database.read() as uow:
            repo = uow.repo(EventRepo)
            events = await repo.recent_and_upcoming(
                utcnow() - STAFF_LIST_SINCE, municipality_id=municipality_id, limit=limit
            )
            taken = await repo.signup_counts(e.id for e in events)
        return [(e, taken.get(e.id, 0)) for e in events]

    async def signups(self, event_id: int) -> EventSignups | None:
        """Who signed up for the event (names and phones as the parents gave them)."""
        async with self.database.read() as uow:
            repo = uow.repo(EventRepo)
            event = await repo.get(event_id)
            if event is None:
                return None
            rows = await repo.signups(event_id)
            cancelled = await repo.cancelled_count(event_id)
        return EventSignups(event, tuple(rows), cancelled)

    async def signup_sheet(self, event_id: int, content: Content) -> SignupSheet | None:
        """The list as an XLSX file, rendered off the event loop after the read unit closed."""
        found = await self.signups(event_id)
        if found is None:
            return None
        from bot.services.announcements.signup_sheet import signups_xlsx

        data = await asyncio.to_thread(signups_xlsx, found, content)
        return SignupSheet(found, data)

    async def erase_old_contacts(self, now: datetime | None = None) -> int:
        """Retention: names and phones given at sign-up go CONTACT_RETENTION after the event."""
        async with self.database.write() as uow:
            erased = await uow.repo(EventRepo).erase_contacts((now or utcnow()) - CONTACT_RETENTION)
        return erased

    # --- parents --------------------------------------------------------------------------
    async def listing(self, user: UserRecord, *, limit: int = 10) -> EventListing:
        """Future events, filtered by the person's municipality and направленности; the events
        they signed up for are always listed (their card is where the sign-up is cancelled)."""
        async with self.database.read() as uow:
            repo = uow.repo(EventRepo)
            signed = await repo.signed_event_ids(user.id)
            events = await repo.upcoming(utcnow(), municipality_id=user.municipality_id, also=signed)
            sub = await uow.repo(SubscriptionRepo).get(user.id)
        wanted = set(sub.directions) if sub is not None else set()
        if wanted:
            events = [e for e in events if e.id in signed or not e.directions or wanted & set(e.directions)]
        return EventListing(tuple(events[:limit]), sub is not None and sub.active, frozenset(signed))

    async def get(self, event_id: int) -> EventRecord | None:
        async with self.database.read() as uow:
            event = await uow.repo(EventRepo).get(event_id)
        return event

    async def card(self, event_id: int, user_id: int) -> EventCard | None:
        async with self.database.read() as uow:
            repo = uow.repo(EventRepo)
            event = await repo.get(event_id)
            if event is None:
                return None
            taken = await repo.signup_count(event_id)
            signed = await repo.is_signed_up(event_id, user_id)
        return EventCard(event, taken, signed)

    async def ics(self, event_id: int, towns: Mapping[str, str] | None = None) -> bytes | None:
        """The calendar file of the event, or None when there is no such event. `towns`: municipality
        names by id, so the calendar's location names the town as well as the street."""
        event = await self.get(event_id)
        if event is None:
            return None
        return ics_bytes(event, (towns or {}).get(event.municipality_id or ""))

    async def sign_up(self, event_id: int, user: UserRecord) -> SignupResult | None:
        """Sign up (changed=False when already signed up); None when there is no such event.
        SignupError when the event is full or past."""
        async with self.database.write() as uow:
            repo = uow.repo(EventRepo)
            event = await repo.get(event_id)
            if event is None:
                return None
            if event.starts_at <= utcnow():
                raise SignupError("signup.past")
            changed = not await repo.is_signed_up(event_id, user.id)
            if changed:
                if event.capacity is not None:
                    await repo.lock(event_id)
                    if await repo.signup_count(event_id) >= event.capacity:
                        raise SignupError("signup.full")
                await repo.add_signup(event_id, user.id, utcnow())
                if event.capacity is not None and await repo.signup_count(event_id) > event.capacity:
                    # someone took the last place at the same moment; raising rolls the sign-up back
                    raise SignupError("signup.last_place_taken")
                await uow.repo(ActivityRepo).record(
                    Kind.EVENT_SIGNUP, user_id=user.id, municipality_id=event.municipality_id,
                    topic=event.title, ref=str(event.id),
                )  # fmt: skip
            taken = await repo.signup_count(event_id)
        return SignupResult(event, changed, True, taken)

    async def cancel_signup(self, event_id: int, user: UserRecord) -> SignupResult | None:
        """Cancel the sign-up (changed=False when there was none); None when there is no such event."""
        async with self.database.write() as uow:
            repo = uow.repo(EventRepo)
            event = await repo.get(event_id)
            if event is None:
                return None
            changed = await repo.remove_signup(event_id, user.id, utcnow())
            if changed:
                await uow.repo(ActivityRepo).record(
                    Kind.EVENT_SIGNUP_CANCELLED, user_id=user.id, municipality_id=event.municipality_id,
                    topic=event.title, ref=str(event.id),
                )  # fmt: skip
            taken = await repo.signup_count(event_id)
        return SignupResult(event, changed, False, taken)

    async def set_contact(
        self, event_id: int, user: UserRecord, *, name: str | None = None, phone: str | None = None
    ) -> bool:
        """Keep the name or phone the parent gave (checked by clean_name / clean_phone) with their
        sign-up; False when there is no standing sign-up any more (cancelled meanwhile)."""
        async with self.database.write() as uow:
            repo = uow.repo(EventRepo)
            stored = await repo.set_contact(event_id, user.id, utcnow(), name=name, phone=phone)
        return stored


def ics_bytes(event: EventRecord, town: str | None = None) -> bytes:
    """A calendar file with one event and a reminder two hours before; the location names the town
    (unless the place already does), so a phone's map finds it."""
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
    place = event.place
    if town and town.lower().replace("ё", "е") not in place.lower().replace("ё", "е"):
        place = f"{town}, {place}"
    item.add("location", f"{place}, {event.organisation}")
    item.add("description", event.description)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", event.title)
    alarm.add("trigger", -timedelta(hours=2))
    item.add_component(alarm)
    cal.add_component(item)
    data: bytes = cal.to_ical()
    return data


def _held_item(item: HeldEvent) -> dict[str, Any]:
    event = item.event
    return {
        "title": event.title,
        "date": local(event.starts_at, event.timezone).isoformat(),
        "municipality": event.municipality_id,
        "signups": item.signups,
        "cancelled": item.cancelled,
    }


async def open_days_source(uow: UnitOfWork, scope: ReportScope) -> list[dict[str, Any]]:
    """Report figures: events held in the period with their sign-ups. `signups` are the sign-ups
    that stand (a parent who used /forget still counts, anonymously, as in the activity log);
    `cancelled` those cancelled. The paragraph and the tables both read these numbers."""
    held = await uow.repo(EventRepo).held(scope.start, scope.end, scope.municipality_id)
    return [_held_item(item) for item in held]
