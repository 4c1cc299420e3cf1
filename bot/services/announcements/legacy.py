"""The session-level functions of before the services, for code that has not moved yet.

They work in the caller's session and transaction (the caller commits), with the old
semantics. Their callers, none of them in the announcements feature:
- `create_broadcast`, `cancel_broadcast`: bot/cli/announcements.py, bench/broadcast.py,
  tests/test_delivery.py
  (reached as `bot.services.announcements.broadcasts.<name>`);
- `create_event`, `sign_up`: tests/test_integration.py
  (reached as `bot.services.announcements.events.<name>`).
New code uses BroadcastService and EventService. Delete this module with its last caller:
it is the one module of the package that touches SQLAlchemy and the HTML views.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.announcements.broadcasts import BroadcastRefused, Problem, check_photo, check_time
from bot.services.announcements.events import REMINDERS, EventDraft, SignupError
from bot.views.announcements import check_text, reminder_texts
from db.base import utcnow
from db.repositories.activity import ActivityRepo, Kind
from db.repositories.announcements import BroadcastRecord, BroadcastRepo, EventRecord, EventRepo, Target


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


async def create_broadcast(
    session: AsyncSession,
    *,
    text: str,
    target: Target,
    created_by: int | None,
    scheduled_at: datetime | None = None,
    photo_file_id: str | None = None,
    photo_data: bytes | None = None,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    now: datetime | None = None,
) -> BroadcastRecord:
    """Check everything, then record the broadcast for the worker; raises BroadcastRefused."""
    now = now or utcnow()
    with_photo = photo_file_id is not None or photo_data is not None
    problems = check_text(text, with_photo)
    if photo_data is not None:
        problems += check_photo(photo_data)
    if scheduled_at is not None:
        problems += check_time(scheduled_at, now)
    repo = BroadcastRepo(session)
    if not problems and not await repo.recipients(target):
        problems.append(Problem("broadcast.segment_empty", "the segment has no recipients"))
    if problems:
        raise BroadcastRefused(problems)
    return await repo.add(
        kind="broadcast", text=text, target=target, scheduled_at=scheduled_at or now, created_by=created_by,
        now=now, photo_file_id=photo_file_id, photo_data=photo_data, progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )  # fmt: skip


async def cancel_broadcast(session: AsyncSession, broadcast_id: int) -> BroadcastRecord | None:
    return await BroadcastRepo(session).cancel(broadcast_id, utcnow())


async def create_event(session: AsyncSession, draft: EventDraft, created_by: int | None) -> EventRecord:
    """Record the event and its reminders."""
    now = utcnow()
    event = await EventRepo(session).add(
        municipality_id=draft.municipality_id, title=draft.title, starts_at=draft.starts_at,
        timezone=draft.timezone, place=draft.place, organisation=draft.organisation,
        directions=draft.directions, audience=draft.audience, capacity=draft.capacity,
        description=draft.description, photo_file_id=draft.photo_file_id, created_by=created_by, now=now,
    )  # fmt: skip
    texts = reminder_texts(draft)
    for which, before in REMINDERS:
        due = event.starts_at - before
        if due > now:
            await BroadcastRepo(session).add(
                kind="reminder", text=texts[which], target=Target(event_id=event.id), scheduled_at=due,
                created_by=None, now=now, dedup_key=f"event:{event.id}:{which}",
            )  # fmt: skip
    return event


async def sign_up(session: AsyncSession, event: _HasId, user: _HasId) -> bool:
    """Sign up; False when already signed up. SignupError when full or past."""
    repo = EventRepo(session)
    current = await repo.get(event.id)
    if current is None or current.starts_at <= utcnow():
        raise SignupError("Это мероприятие уже прошло.")
    if await repo.is_signed_up(current.id, user.id):
        return False
    if current.capacity is not None:
        await repo.lock(current.id)
        if await repo.signup_count(current.id) >= current.capacity:
            raise SignupError("К сожалению, все места уже заняты.")
    await repo.add_signup(current.id, user.id, utcnow())
    if current.capacity is not None and await repo.signup_count(current.id) > current.capacity:
        await repo.remove_signup(current.id, user.id)  # someone took the last place at the same moment
        raise SignupError("К сожалению, последнее место только что заняли.")
    await ActivityRepo(session).record(
        Kind.EVENT_SIGNUP, user_id=user.id, municipality_id=current.municipality_id,
        topic=current.title, ref=str(current.id),
    )  # fmt: skip
    return True
