"""Announcements: the only code that queries subscriptions, events, sign-ups, broadcasts and the outbox.

Repositories work inside the caller's unit of work and never commit; they return
frozen records, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Broadcast, Event, EventSignup, OutboxMessage, Subscription, User
from db.repositories.users import ages_on, children_of, today_utc
from db.upsert import insert_ignore

ACTIVE_BROADCAST = ("scheduled", "running")


@dataclass(frozen=True)
class Target:
    """Who a broadcast goes to; empty lists mean «any». Stored as JSON in `broadcasts.target`."""

    directions: tuple[str, ...] = ()
    ages: tuple[int, ...] = ()
    municipality: str | None = None
    event_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "directions": list(self.directions),
            "ages": list(self.ages),
            "municipality": self.municipality,
            "event_id": self.event_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(
            directions=tuple(str(d) for d in data.get("directions") or ()),
            ages=tuple(int(a) for a in data.get("ages") or ()),
            municipality=data.get("municipality"),
            event_id=int(data["event_id"]) if data.get("event_id") is not None else None,
        )


@dataclass(frozen=True)
class SubscriptionRecord:
    user_id: int
    active: bool
    directions: tuple[str, ...]  # Direction codes; empty: every направленность


@dataclass(frozen=True)
class EventRecord:
    id: int
    municipality_id: str | None
    title: str
    starts_at: datetime  # aware UTC
    timezone: str
    place: str
    organisation: str
    directions: tuple[str, ...]
    audience: str
    capacity: int | None
    description: str
    photo_file_id: str | None
    created_by: int | None
    created_at: datetime


@dataclass(frozen=True)
class SignupRecord:
    """A sign-up that stands (cancelled ones are kept apart, see `EventRepo.held`)."""

    event_id: int
    user_id: int  # negative after /forget: an anonymous number
    created_at: datetime
    name: str | None = None  # what the parent chose to give at sign-up, if anything
    phone: str | None = None


@dataclass(frozen=True)
class HeldEvent:
    """An event of a period with its sign-ups: standing ones (those forgotten by /forget
    included, anonymous) and cancelled ones."""

    event: EventRecord
    signups: int
    cancelled: int


@dataclass(frozen=True)
class BroadcastRecord:
    id: int
    kind: str  # broadcast | reminder
    status: str  # scheduled | running | done | cancelled
    text: str
    target: Target
    scheduled_at: datetime
    created_by: int | None
    progress_chat_id: int | None
    progress_message_id: int | None
    finished_at: datetime | None
    number: int | None = None  # among its kind: what staff see («Рассылка №3»)

    @property
    def shown_number(self) -> int:
        return self.number if self.number is not None else self.id


def _subscription(sub: Subscription) -> SubscriptionRecord:
    return SubscriptionRecord(sub.user_id, sub.active, tuple(sub.directions or ()))


def _event(event: Event) -> EventRecord:
    return EventRecord(
        id=event.id,
        municipality_id=event.municipality_id,
        title=event.title,
        starts_at=event.starts_at,
        timezone=event.timezone,
        place=event.place,
        organisation=event.organisation,
        directions=tuple(event.directions or ()),
        audience=event.audience,
        capacity=event.capacity,
        description=event.description,
        photo_file_id=event.photo_file_id,
        created_by=event.created_by,
        created_at=event.created_at,
    )


def _signup(s: EventSignup) -> SignupRecord:
    return SignupRecord(s.event_id, s.user_id, s.created_at, s.name, s.phone)


def _broadcast(b: Broadcast) -> BroadcastRecord:
    return BroadcastRecord(
        id=b.id,
        kind=b.kind,
        status=b.status,
        text=b.text,
        target=Target.from_json(b.target or {}),
        scheduled_at=b.scheduled_at,
        created_by=b.created_by,
        progress_chat_id=b.progress_chat_id,
        progress_message_id=b.progress_message_id,
        finished_at=b.finished_at,
        number=b.number,
    )


class SubscriptionRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> SubscriptionRecord | None:
        sub = await self.session.get(Subscription, user_id, populate_existing=True)
        return _subscription(sub) if sub is not None else None

    async def _ensure(self, user_id: int, now: datetime) -> None:
        """A row, switched off, if there is none (two updates may race: the insert ignores)."""
        await insert_ignore(
            self.session,
            Subscription.__table__,  # type: ignore[arg-type]
            {"user_id": user_id, "active": False, "directions": [], "updated_at": now},
        )

    async def set_active(self, user_id: int, active: bool, now: datetime) -> bool:
        """Switch announcements on or off; True when the flag changed."""
        if active:
            await self._ensure(user_id, now)
        result = await self.session.execute(
            update(Subscription)
            .where(Subscription.user_id == user_id, Subscription.active.is_not(active))
            .values(active=active, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_directions(self, user_id: int, directions: Iterable[str], now: datetime) -> None:
        """The направленности filter; a row switched off is created for someone not subscribed."""
        await self._ensure(user_id, now)
        await self.session.execute(
            update(Subscription)
            .where(Subscription.user_id == user_id)
            .values(directions=list(directions), updated_at=now)
        )

    async def delete(self, user_id: int) -> None:
        await self.session.execute(delete(Subscription).where(Subscription.user_id == user_id))


class EventRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        municipality_id: str | None,
        title: str,
        starts_at: datetime,
        timezone: str,
        place: str,
        organisation: str,
        directions: Iterable[str],
        audience: str,
        capacity: int | None,
        description: str,
        photo_file_id: str | None,
        created_by: int | None,
        now: datetime,
    ) -> EventRecord:
        event = Event(
            municipality_id=municipality_id,
            title=title,
            starts_at=starts_at,
            timezone=timezone,
            place=place,
            organisation=organisation,
            directions=list(directions),
            audience=audience,
            capacity=capacity,
            description=description,
            photo_file_id=photo_file_id,
            created_by=created_by,
            created_at=now,
        )
        self.session.add(event)
        await self.session.flush()
        return _event(event)

    async def get(self, event_id: int) -> EventRecord | None:
        event = await self.session.get(Event, event_id, populate_existing=True)
        return _event(event) if event is not None else None

    async def lock(self, event_id: int) -> None:
        """Serialise sign-ups for one event on PostgreSQL (a row lock until commit);
        SQLite already serialises writers, and its dialect leaves FOR UPDATE out."""
        await self.session.execute(select(Event.id).where(Event.id == event_id).with_for_update())

    async def upcoming(
        self,
        now: datetime,
        *,
        municipality_id: str | None = None,
        also: Iterable[int] = (),
        limit: int | None = None,
    ) -> list[EventRecord]:
        """Events starting after `now`, soonest first; with a municipality, those of it, those of
        no municipality and the events `also` (whatever their municipality)."""
        query = select(Event).where(Event.starts_at > now).order_by(Event.starts_at, Event.id)
        if municipality_id:
            query = query.where(
                (Event.municipality_id == municipality_id)
                | (Event.municipality_id.is_(None))
                | Event.id.in_(list(also))
            )
        if limit is not None:
            query = query.limit(limit)
        return [_event(e) for e in await self.session.scalars(query)]

    # Sign-ups: a cancelled one keeps its row with `cancelled_at` set; every count below is of
    # the standing ones (`_standing`) unless it says otherwise.
    @staticmethod
    def _standing() -> Any:
        return EventSignup.cancelled_at.is_(None)

    async def signed_event_ids(self, user_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(EventSignup.event_id).where(EventSignup.user_id == user_id, self._standing())
        )
        return {int(r) for r in rows}

    async def events_signed_up(self, user_id: int) -> list[EventRecord]:
        return [event for event, _ in await self.signups_of(user_id)]

    async def signups_of(self, user_id: int) -> list[tuple[EventRecord, SignupRecord]]:
        """One person's standing sign-ups with their events, soonest first (/mydata)."""
        rows = await self.session.execute(
            select(Event, EventSignup)
            .join(EventSignup, EventSignup.event_id == Event.id)
            .where(EventSignup.user_id == user_id, self._standing())
            .order_by(Event.starts_at, Event.id)
        )
        return [(_event(event), _signup(signup)) for event, signup in rows]

    async def signup_count(self, event_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).where(EventSignup.event_id == event_id, self._standing())
            )
            or 0
        )

    async def signup_counts(self, event_ids: Iterable[int]) -> dict[int, int]:
        """Sign-ups per event in one query; events nobody signed up for are absent."""
        rows = await self.session.execute(
            select(EventSignup.event_id, func.count())
            .where(EventSignup.event_id.in_(list(event_ids)), self._standing())
            .group_by(EventSignup.event_id)
        )
        return {int(event_id): int(n) for event_id, n in rows}

    async def is_signed_up(self, event_id: int, user_id: int) -> bool:
        found = await self.session.scalar(
            select(EventSignup.id).where(
                EventSignup.event_id == event_id, EventSignup.user_id == user_id, self._standing()
            )
        )
        return found is not None

    async def add_signup(self, event_id: int, user_id: int, now: datetime) -> None:
        """Sign up (the caller checked there is no standing sign-up); a cancelled one comes back."""
        result = await self.session.execute(
            update(EventSignup)
            .where(
                EventSignup.event_id == event_id,
                EventSignup.user_id == user_id,
                EventSignup.cancelled_at.is_not(None),
            )
            .values(cancelled_at=None, created_at=now)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            self.session.add(EventSignup(event_id=event_id, user_id=user_id, created_at=now))
        await self.session.flush()

    async def remove_signup(self, event_id: int, user_id: int, now: datetime | None = None) -> bool:
        """Cancel a standing sign-up (True when there was one); the name and phone go at once."""
        result = await self.session.execute(
            update(EventSignup)
            .where(EventSignup.event_id == event_id, EventSignup.user_id == user_id, self._standing())
            .values(cancelled_at=now or utcnow(), name=None, phone=None, contact_at=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_contact(
        self, event_id: int, user_id: int, now: datetime, *, name: str | None = None, phone: str | None = None
    ) -> bool:
        """Store the name or the phone a parent gave for their standing sign-up (True when stored)."""
        values: dict[str, Any] = {"contact_at": now}
        if name is not None:
            values["name"] = name
        if phone is not None:
            values["phone"] = phone
        result = await self.session.execute(
            update(EventSignup)
            .where(EventSignup.event_id == event_id, EventSignup.user_id == user_id, self._standing())
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def signups(self, event_id: int) -> list[SignupRecord]:
        """Standing sign-ups of one event, first come first."""
        rows = await self.session.scalars(
            select(EventSignup)
            .where(EventSignup.event_id == event_id, self._standing())
            .order_by(EventSignup.created_at, EventSignup.id)
        )
        return [_signup(s) for s in rows]

    async def cancelled_count(self, event_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).where(
                    EventSignup.event_id == event_id, EventSignup.cancelled_at.is_not(None)
                )
            )
            or 0
        )

    async def recent_and_upcoming(
        self, since: datetime, *, municipality_id: str | None = None, limit: int = 20
    ) -> list[EventRecord]:
        """Events starting after `since` (staff lists: today's event still shows after its start)."""
        query = select(Event).where(Event.starts_at > since).order_by(Event.starts_at, Event.id)
        if municipality_id is not None:
            query = query.where(Event.municipality_id == municipality_id)
        return [_event(e) for e in await self.session.scalars(query.limit(limit))]

    async def held(self, start: datetime, end: datetime, municipality_id: str | None) -> list[HeldEvent]:
        """Events starting in [start, end) with their standing and cancelled sign-ups."""
        standing = (
            select(func.count())
            .where(EventSignup.event_id == Event.id, EventSignup.cancelled_at.is_(None))
            .correlate(Event)
            .scalar_subquery()
        )
        cancelled = (
            select(func.count())
            .where(EventSignup.event_id == Event.id, EventSignup.cancelled_at.is_not(None))
            .correlate(Event)
            .scalar_subquery()
        )
        query = (
            select(Event, standing, cancelled)
            .where(Event.starts_at >= start, Event.starts_at < end)
            .order_by(Event.starts_at, Event.id)
        )
        if municipality_id is not None:
            query = query.where(Event.municipality_id == municipality_id)
        return [
            HeldEvent(_event(event), int(n or 0), int(c or 0))
            for event, n, c in await self.session.execute(query)
        ]

    async def erase_contacts(self, started_before: datetime) -> int:
        """Retention: names and phones of sign-ups for events that started before the time go."""
        past = select(Event.id).where(Event.starts_at < started_before)
        result = await self.session.execute(
            update(EventSignup)
            .where(EventSignup.event_id.in_(past), EventSignup.contact_at.is_not(None))
            .values(name=None, phone=None, contact_at=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget(self, user_id: int, anonymous_id: int) -> None:
        """/forget: sign-ups keep counting (as in the activity log) under an anonymous number, without
        the name and phone; events authored keep existing, without the author's id."""
        await self.session.execute(
            update(EventSignup)
            .where(EventSignup.user_id == user_id)
            .values(user_id=anonymous_id, name=None, phone=None, contact_at=None)
        )
        await self.session.execute(
            update(Event).where(Event.created_by == user_id).values(created_by=anonymous_id)
        )


class BroadcastRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recipients(self, target: Target) -> list[int]:
        """Telegram ids the segment reaches now, in a stable order."""
        if target.event_id is not None:
            rows = await self.session.execute(
                select(EventSignup.user_id)
                .join(User, User.id == EventSignup.user_id)
                .where(
                    EventSignup.event_id == target.event_id,
                    EventSignup.cancelled_at.is_(None),
                    User.is_active.is_(True),
                )
                .order_by(EventSignup.user_id)
            )
            return [r[0] for r in rows]
        query = (
            select(User.id, User.children, Subscription.directions)
            .join(Subscription, Subscription.user_id == User.id)
            .where(Subscription.active.is_(True), User.is_active.is_(True), User.consent_at.is_not(None))
            .order_by(User.id)
        )
        if target.municipality:
            query = query.where(User.municipality_id == target.municipality)
        wanted_dirs = set(target.directions)
        wanted_ages = set(target.ages)
        today = today_utc()
        result: list[int] = []
        for user_id, children, directions in await self.session.execute(query):
            if wanted_dirs and directions and not wanted_dirs & set(directions):
                continue
            # the ages now: a child given as 7 a year ago is 8 today
            if wanted_ages and not wanted_ages & set(ages_on(children_of(children), today)):
                continue
            result.append(int(user_id))
        return result

    async def add(
        self,
        *,
        kind: str,
        text: str,
        target: Target,
        scheduled_at: datetime,
        created_by: int | None,
        now: datetime,
        photo_file_id: str | None = None,
        photo_data: bytes | None = None,
        dedup_key: str | None = None,
        progress_chat_id: int | None = None,
        progress_message_id: int | None = None,
    ) -> BroadcastRecord:
        """A broadcast (or reminder) in status `scheduled`: the delivery worker starts it when due.

        It is numbered among its kind (`number`), the number staff see."""
        last = await self.session.scalar(select(func.max(Broadcast.number)).where(Broadcast.kind == kind))
        broadcast = Broadcast(
            kind=kind,
            number=int(last or 0) + 1,
            status="scheduled",
            text=text,
            photo_file_id=photo_file_id,
            photo_data=photo_data,
            target=target.to_json(),
            event_id=target.event_id,
            dedup_key=dedup_key,
            scheduled_at=scheduled_at,
            created_by=created_by,
            created_at=now,
            total=0,
            progress_chat_id=progress_chat_id,
            progress_message_id=progress_message_id,
        )
        self.session.add(broadcast)
        await self.session.flush()
        return _broadcast(broadcast)

    async def get(self, broadcast_id: int) -> BroadcastRecord | None:
        b = await self.session.get(Broadcast, broadcast_id, populate_existing=True)
        return _broadcast(b) if b is not None else None

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> bool:
        """Where the worker shows the progress, unless it has already chosen a message itself."""
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.progress_message_id.is_(None))
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def cancel(self, broadcast_id: int, now: datetime) -> BroadcastRecord | None:
        """Stop a scheduled or running broadcast; None when there is none such.

        Messages not yet sent are cancelled; those in flight finish, and the worker
        then writes the final summary.
        """
        current = await self.get(broadcast_id)
        if current is None or current.kind != "broadcast" or current.status not in ACTIVE_BROADCAST:
            return None
        was_scheduled = current.status == "scheduled"
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status.in_(ACTIVE_BROADCAST))
            .values(status="cancelled", finished_at=now if was_scheduled else None)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.state == "pending")
            .values(state="cancelled", updated_at=now)
        )
        return await self.get(broadcast_id)

    async def active(self) -> list[BroadcastRecord]:
        rows = await self.session.scalars(
            select(Broadcast)
            .where(Broadcast.kind == "broadcast", Broadcast.status.in_(ACTIVE_BROADCAST))
            .order_by(Broadcast.scheduled_at, Broadcast.id)
        )
        return [_broadcast(b) for b in rows]

    async def state_counts(self, broadcast_id: int) -> dict[str, int]:
        rows = await self.session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.state)
        )
        return {str(state): int(n) for state, n in rows}

    async def texts(self, broadcast_ids: Iterable[int]) -> dict[int, str]:
        """The texts (Telegram HTML as staff wrote them) of the broadcasts, by id."""
        ids = list(broadcast_ids)
        if not ids:
            return {}
        rows = await self.session.execute(select(Broadcast.id, Broadcast.text).where(Broadcast.id.in_(ids)))
        return {int(broadcast_id): str(text) for broadcast_id, text in rows}

    async def delivered_to(self, user_id: int) -> int:
        """Outbox rows (delivery marks) of one person."""
        return int(
            await self.session.scalar(select(func.count()).where(OutboxMessage.user_id == user_id)) or 0
        )

    async def forget(self, user_id: int, anonymous_id: int) -> None:
        """Nothing more is sent to this person; delivered rows keep the counts, without the id."""
        await self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.user_id == user_id, OutboxMessage.state == "pending")
        )
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.user_id == user_id).values(user_id=anonymous_id)
        )
        await self.session.execute(
            update(Broadcast).where(Broadcast.created_by == user_id).values(created_by=anonymous_id)
        )
