from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.upsert import insert_ignore


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_or_create(self, user_id: int) -> User:
        """The user's row, created with only the id if missing.

        Two updates of a new user can arrive at once (polling handles updates
        concurrently); the insert ignores a row the other one just created.
        """
        user = await self.session.get(User, user_id)
        if user is None:
            await insert_ignore(
                self.session,
                User.__table__,  # type: ignore[arg-type]
                {"id": user_id, "child_ages": [], "role": "parent", "is_active": True},
            )
            user = await self.session.get(User, user_id, populate_existing=True)
            assert user is not None
        return user

    async def list_by_role(self, role: str) -> list[User]:
        rows = await self.session.scalars(select(User).where(User.role == role).order_by(User.id))
        return list(rows)

    async def set_inactive(self, user_id: int) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(is_active=False))

    async def touch(self, user: User, now: datetime) -> None:
        if user.consent_at is not None:
            user.last_seen_at = now
            if user.first_seen_at is None:
                user.first_seen_at = now

    async def delete(self, user_id: int) -> None:
        await self.session.execute(delete(User).where(User.id == user_id))
