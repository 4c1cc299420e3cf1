"""Announcements: subscriptions, events with sign-ups and reminders, broadcasts.

Importing the package does nothing; `parts()` declares what it contributes beyond its
handlers: the privacy owner "announcements" (subscriptions, sign-ups, outbox rows,
authored broadcasts and events) and the "open_days" report source.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.content import Content
from bot.directions import Direction
from bot.services.announcements.events import open_days_source, when_text
from bot.services.plugins import DataOwner, FeatureParts
from bot.services.users import UserRecord
from db.repositories.announcements import BroadcastRepo, EventRepo, SubscriptionRepo
from db.uow import UnitOfWork

__all__ = ["parts"]


async def describe(uow: UnitOfWork, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
    """What the feature stores about `user`, as plain-text lines for /mydata."""
    lines: list[str] = []
    sub = await uow.repo(SubscriptionRepo).get(user.id)
    if sub is not None:
        state = "включена" if sub.active else "выключена"
        dirs = [d.title for d in Direction if d.code in sub.directions]
        lines.append(f"• Подписка на новости: {state}" + (" (" + ", ".join(dirs) + ")" if dirs else ""))
    for event in await uow.repo(EventRepo).events_signed_up(user.id):
        lines.append(f"• Запись на мероприятие: {event.title}, {when_text(event)}")
    received = await uow.repo(BroadcastRepo).delivered_to(user.id)
    if received:
        lines.append(f"• Отметки о доставке рассылок: {received}")
    return lines


async def forget(uow: UnitOfWork, user_id: int, anonymous_id: int) -> None:
    """/forget: the subscription and sign-ups go, nothing more is sent; delivery marks and
    authored broadcasts and events stay for the counts, re-keyed to `anonymous_id`."""
    await uow.repo(SubscriptionRepo).delete(user_id)
    await uow.repo(EventRepo).forget(user_id, anonymous_id)
    await uow.repo(BroadcastRepo).forget(user_id, anonymous_id)


def parts() -> FeatureParts:
    return FeatureParts(
        name="announcements",
        data_owner=DataOwner("announcements", describe, forget),
        report_sources={"open_days": open_days_source},
    )
