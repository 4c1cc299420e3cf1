"""Announcements: subscriptions, events with sign-ups and reminders, broadcasts.

Importing the package registers its privacy owner (subscriptions, sign-ups,
outbox rows, authored broadcasts and events) and the "open_days" report source.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.directions import Direction
from bot.html import escape
from bot.services import privacy
from bot.services.announcements.events import open_days_source, when_text
from bot.services.report_sources import register_source
from db.models import Broadcast, Event, EventSignup, OutboxMessage, Subscription, User


async def _describe(session: AsyncSession, user: User, content: Content, tz: ZoneInfo) -> list[str]:
    lines: list[str] = []
    sub = await session.get(Subscription, user.id)
    if sub is not None:
        state = "включена" if sub.active else "выключена"
        dirs = [d.title for d in Direction if d.code in sub.directions]
        lines.append(f"• Подписка на новости: {state}" + (" (" + ", ".join(dirs) + ")" if dirs else ""))
    rows = await session.execute(
        select(Event)
        .join(EventSignup, EventSignup.event_id == Event.id)
        .where(EventSignup.user_id == user.id)
    )
    for (event,) in rows:
        lines.append(f"• Запись на мероприятие: {escape(event.title)}, {when_text(event)}")
    received = await session.scalar(select(func.count()).where(OutboxMessage.user_id == user.id))
    if received:
        lines.append(f"• Отметки о доставке рассылок: {received}")
    return lines


async def _forget(session: AsyncSession, user_id: int, anonymous_id: int) -> None:
    await session.execute(delete(Subscription).where(Subscription.user_id == user_id))
    await session.execute(delete(EventSignup).where(EventSignup.user_id == user_id))
    # Nothing more is sent to this person; delivered rows keep the counts, without the id.
    await session.execute(
        delete(OutboxMessage).where(OutboxMessage.user_id == user_id, OutboxMessage.state == "pending")
    )
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.user_id == user_id).values(user_id=anonymous_id)
    )
    await session.execute(
        update(Broadcast).where(Broadcast.created_by == user_id).values(created_by=anonymous_id)
    )
    await session.execute(update(Event).where(Event.created_by == user_id).values(created_by=anonymous_id))


privacy.register_owner(privacy.DataOwner("announcements", _describe, _forget))
register_source("open_days", open_days_source)
