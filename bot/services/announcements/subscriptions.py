"""Subscriptions and the recipients of a broadcast segment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.directions import Direction
from bot.services.activity import Kind, record
from db.base import utcnow
from db.models import EventSignup, Subscription, User

MIN_AGE = 5
MAX_AGE = 18
MAX_CHILDREN = 8


async def get_subscription(session: AsyncSession, user_id: int) -> Subscription | None:
    return await session.get(Subscription, user_id)


async def subscribe(session: AsyncSession, user: User) -> bool:
    """Turn announcements on; False when they already were."""
    sub = await session.get(Subscription, user.id)
    if sub is not None and sub.active:
        return False
    if sub is None:
        session.add(Subscription(user_id=user.id, active=True, directions=[], updated_at=utcnow()))
    else:
        sub.active = True
        sub.updated_at = utcnow()
    await record(session, Kind.SUBSCRIBED, user_id=user.id, municipality_id=user.municipality_id)
    return True


async def unsubscribe(session: AsyncSession, user: User) -> bool:
    """Turn announcements off (filters are kept); False when they were not on."""
    sub = await session.get(Subscription, user.id)
    if sub is None or not sub.active:
        return False
    sub.active = False
    sub.updated_at = utcnow()
    await record(session, Kind.UNSUBSCRIBED, user_id=user.id, municipality_id=user.municipality_id)
    return True


async def toggle_direction(session: AsyncSession, user: User, direction: Direction) -> list[str]:
    sub = await session.get(Subscription, user.id)
    if sub is None:
        sub = Subscription(user_id=user.id, active=False, directions=[], updated_at=utcnow())
        session.add(sub)
    codes = list(sub.directions)
    if direction.code in codes:
        codes.remove(direction.code)
    else:
        codes.append(direction.code)
    sub.directions = [d.code for d in Direction if d.code in codes]
    sub.updated_at = utcnow()
    return sub.directions


def parse_ages(text: str) -> list[int]:
    """Children's ages from «7, 12» / «7 и 12»; ValueError with a Russian reason."""
    cleaned = text.replace(",", " ").replace(";", " ").replace(" и ", " ")
    parts = [p for p in cleaned.split() if p]
    if not parts:
        raise ValueError("Напишите возраст числом, например: 7 или 7, 12.")
    ages: list[int] = []
    for part in parts:
        word = part.rstrip(".")
        if word in {"лет", "года", "год"}:
            continue
        if not word.isdigit() or len(word) > 3:
            raise ValueError(f"«{part[:20]}» — не число. Напишите возраст цифрами, например: 7, 12.")
        age = int(word)
        if not MIN_AGE <= age <= MAX_AGE:
            raise ValueError(
                f"Возраст {age} вне диапазона: бот работает с детьми от {MIN_AGE} до {MAX_AGE} лет."
            )
        ages.append(age)
    if not ages:
        raise ValueError("Напишите возраст числом, например: 7 или 7, 12.")
    if len(ages) > MAX_CHILDREN:
        raise ValueError(f"Можно указать не больше {MAX_CHILDREN} детей.")
    return sorted(ages)


@dataclass(frozen=True)
class Target:
    """Who a broadcast goes to; empty lists mean «any»."""

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

    def describe(self, municipality_names: dict[str, str] | None = None) -> str:
        if self.event_id is not None:
            return f"записавшиеся на мероприятие №{self.event_id}"
        parts: list[str] = []
        if self.directions:
            titles = [d.title for d in Direction if d.code in self.directions]
            parts.append("направленность: " + ", ".join(titles))
        if self.ages:
            parts.append("возраст детей: " + ", ".join(str(a) for a in self.ages))
        if self.municipality:
            names = municipality_names or {}
            parts.append("муниципалитет: " + names.get(self.municipality, self.municipality))
        return "все подписчики" + (" (" + "; ".join(parts) + ")" if parts else "")


async def recipients(session: AsyncSession, target: Target) -> list[int]:
    """Telegram ids the segment reaches now, in a stable order."""
    if target.event_id is not None:
        rows = await session.execute(
            select(EventSignup.user_id)
            .join(User, User.id == EventSignup.user_id)
            .where(EventSignup.event_id == target.event_id, User.is_active.is_(True))
            .order_by(EventSignup.user_id)
        )
        return [r[0] for r in rows]
    query = (
        select(User.id, User.child_ages, Subscription.directions)
        .join(Subscription, Subscription.user_id == User.id)
        .where(Subscription.active.is_(True), User.is_active.is_(True), User.consent_at.is_not(None))
        .order_by(User.id)
    )
    if target.municipality:
        query = query.where(User.municipality_id == target.municipality)
    wanted_dirs = set(target.directions)
    wanted_ages = set(target.ages)
    result: list[int] = []
    for user_id, ages, directions in await session.execute(query):
        if wanted_dirs and directions and not wanted_dirs & set(directions):
            continue
        if wanted_ages and not wanted_ages & set(ages or ()):
            continue
        result.append(int(user_id))
    return result
