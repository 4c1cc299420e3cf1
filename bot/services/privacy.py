"""What is stored about a user (/mydata) and deleting it (/forget).

Each feature that stores something about a person registers a `DataOwner` so
both commands stay complete without this module knowing every table.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.html import escape
from db.models import ActivityEvent, User
from db.repositories.users import UserRepo

Describe = Callable[[AsyncSession, User, Content, ZoneInfo], Awaitable[list[str]]]
Forget = Callable[[AsyncSession, int, int], Awaitable[None]]


@dataclass(frozen=True)
class DataOwner:
    name: str
    describe: Describe
    # forget(session, user_id, anonymous_id): delete personal rows, or re-key rows
    # kept for statistics to `anonymous_id` (a negative number no person has).
    forget: Forget


_OWNERS: list[DataOwner] = []


def register_owner(owner: DataOwner) -> None:
    if all(o.name != owner.name for o in _OWNERS):
        _OWNERS.append(owner)


def _fmt(dt: object, tz: ZoneInfo) -> str:
    from datetime import datetime

    if isinstance(dt, datetime):
        return dt.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    return "—"


async def _describe_user(session: AsyncSession, user: User, content: Content, tz: ZoneInfo) -> list[str]:
    if user.consent_at is None:
        return [
            f"• Идентификатор Telegram: <code>{user.id}</code>",
            "• Согласие на обработку данных ещё не дано — кроме идентификатора ничего не хранится.",
        ]
    lines = [
        f"• Идентификатор Telegram: <code>{user.id}</code>",
        f"• Согласие на обработку данных: {_fmt(user.consent_at, tz)}",
        f"• Первое и последнее обращение: {_fmt(user.first_seen_at, tz)} — {_fmt(user.last_seen_at, tz)}",
    ]
    if user.municipality_id:
        lines.append(f"• Муниципалитет: {escape(content.municipality(user.municipality_id).name)}")
    if user.child_ages:
        lines.append("• Возраст детей: " + ", ".join(str(a) for a in user.child_ages))
    count = await session.scalar(select(func.count()).where(ActivityEvent.user_id == user.id))
    if count:
        lines.append(f"• Записей в журнале действий бота (для годового отчёта, без текста): {count}")
    return lines


async def _forget_activity(session: AsyncSession, user_id: int, anonymous_id: int) -> None:
    await session.execute(
        update(ActivityEvent).where(ActivityEvent.user_id == user_id).values(user_id=anonymous_id)
    )


register_owner(DataOwner("activity", _describe_user, _forget_activity))


async def describe(session: AsyncSession, user: User, content: Content, tz: ZoneInfo) -> list[str]:
    from bot.features import load_features

    load_features()
    lines: list[str] = []
    for owner in _OWNERS:
        lines.extend(await owner.describe(session, user, content, tz))
    return lines


def new_anonymous_id() -> int:
    """A negative id no Telegram user has; keeps distinct-people counts after /forget."""
    return -secrets.randbelow(2**62) - 1


async def forget(session: AsyncSession, user_id: int) -> None:
    """Delete everything personal about `user_id` in the caller's transaction."""
    from bot.features import load_features

    load_features()
    anonymous_id = new_anonymous_id()
    for owner in reversed(_OWNERS):
        await owner.forget(session, user_id, anonymous_id)
    await UserRepo(session).delete(user_id)
