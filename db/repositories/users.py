"""Users: the only code that queries the `users` table. Returns frozen records, never ORM rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.models.user import children_json
from db.upsert import insert_ignore


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class ChildAge:
    """A child's age as the parent gave it and the day they gave it — what stays true.

    The age now is computed from it: one year more on every anniversary of `given_on`. It may
    run up to a year behind the real birthday, exactly as the age was when it was given, and
    never drifts further. (A birth month would be more exact, but it is more than a parent
    needs to tell a bot and, with the Telegram id, closer to identifying the child.)
    """

    age: int
    given_on: date

    def age_on(self, day: date) -> int:
        passed = day.year - self.given_on.year
        if (day.month, day.day) < (self.given_on.month, self.given_on.day):
            passed -= 1
        return self.age + max(passed, 0)

    @classmethod
    def parse(cls, item: Any) -> ChildAge | None:
        """One stored {"age": 7, "on": "2025-03-01"}; None for anything else."""
        try:
            return cls(int(item["age"]), date.fromisoformat(str(item["on"])))
        except (KeyError, TypeError, ValueError):
            return None


def children_of(raw: Sequence[Any] | None) -> tuple[ChildAge, ...]:
    return tuple(child for child in (ChildAge.parse(item) for item in raw or ()) if child is not None)


def ages_on(children: Iterable[ChildAge], day: date) -> tuple[int, ...]:
    """The children's ages on `day`, youngest first."""
    return tuple(sorted(child.age_on(day) for child in children))


@dataclass(frozen=True)
class UserRecord:
    """What the bot knows about one person. `stored` is False for someone never written down."""

    id: int
    consent_at: datetime | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    role: str = "parent"
    municipality_id: str | None = None
    children: tuple[ChildAge, ...] = ()  # ages as given, with the day; see `child_ages`
    is_active: bool = True
    role_granted_by: int | None = None
    role_granted_at: datetime | None = None
    stored: bool = True

    @classmethod
    def unknown(cls, user_id: int) -> UserRecord:
        return cls(id=user_id, stored=False)

    @property
    def child_ages(self) -> tuple[int, ...]:
        """The children's ages today (computed: an age given a year ago is one more now)."""
        return ages_on(self.children, today_utc())


def _record(user: User) -> UserRecord:
    return UserRecord(
        id=user.id,
        consent_at=user.consent_at,
        first_seen_at=user.first_seen_at,
        last_seen_at=user.last_seen_at,
        role=user.role,
        municipality_id=user.municipality_id,
        children=children_of(user.children),
        is_active=user.is_active,
        role_granted_by=user.role_granted_by,
        role_granted_at=user.role_granted_at,
    )


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> UserRecord | None:
        user = await self.session.get(User, user_id, populate_existing=True)
        return _record(user) if user is not None else None

    async def ensure(self, user_id: int) -> None:
        """Create the row with only the id if it is missing (two updates may race: the insert ignores)."""
        await insert_ignore(
            self.session,
            User.__table__,  # type: ignore[arg-type]
            {"id": user_id, "children": [], "role": "parent", "is_active": True},
        )

    async def give_consent(self, user_id: int, now: datetime, municipality_id: str | None) -> bool:
        """Record consent; False when it had been given before (nothing changes then)."""
        await self.ensure(user_id)
        values: dict[str, object] = {"consent_at": now, "first_seen_at": now, "last_seen_at": now}
        if municipality_id is not None:
            values["municipality_id"] = func.coalesce(User.municipality_id, municipality_id)
        result = await self.session.execute(
            update(User).where(User.id == user_id, User.consent_at.is_(None)).values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_municipality(self, user_id: int, municipality_id: str) -> None:
        await self.ensure(user_id)
        await self.session.execute(
            update(User).where(User.id == user_id).values(municipality_id=municipality_id)
        )

    async def set_child_ages(self, user_id: int, ages: Iterable[int], given_on: date) -> None:
        """The children's ages as the parent gives them today (replacing what was stored)."""
        await self.ensure(user_id)
        await self.session.execute(
            update(User).where(User.id == user_id).values(children=children_json(list(ages), given_on))
        )

    async def set_active(self, user_id: int, active: bool) -> bool:
        """True when the flag changed."""
        result = await self.session.execute(
            update(User).where(User.id == user_id, User.is_active.is_not(active)).values(is_active=active)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_inactive_many(self, user_ids: Iterable[int]) -> None:
        ids = list(user_ids)
        if ids:
            await self.session.execute(update(User).where(User.id.in_(ids)).values(is_active=False))

    async def set_role(self, user_id: int, role: str, granted_by: int | None, now: datetime | None) -> None:
        await self.ensure(user_id)
        await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(role=role, role_granted_by=granted_by, role_granted_at=now)
        )

    async def list_by_role(self, role: str) -> list[UserRecord]:
        rows = await self.session.scalars(select(User).where(User.role == role).order_by(User.id))
        return [_record(u) for u in rows]

    async def touch_many(self, seen: dict[int, datetime]) -> None:
        """Last-seen stamps of consenting users, written in one statement per batch."""
        if not seen:
            return
        stamp = case(seen, value=User.id)
        await self.session.execute(
            update(User)
            .where(User.id.in_(list(seen)), User.consent_at.is_not(None))
            .values(last_seen_at=stamp, first_seen_at=func.coalesce(User.first_seen_at, stamp))
        )

    async def delete(self, user_id: int) -> None:
        await self.session.execute(delete(User).where(User.id == user_id))
