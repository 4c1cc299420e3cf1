from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.roles import Role, resolve_role
from bot.settings import Settings
from db.base import utcnow
from db.repositories.users import UserRepo


class UserMiddleware(BaseMiddleware):
    """Upsert the user (first/last seen after consent) and look up the role."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        settings: Settings = data["settings"]
        if tg_user is None or tg_user.is_bot:
            data["user"] = None
            data["role"] = Role.PARENT
            return await handler(event, data)
        session: AsyncSession = data["session"]
        repo = UserRepo(session)
        user = await repo.get_or_create(tg_user.id)
        await repo.touch(user, utcnow())
        data["user"] = user
        data["role"] = resolve_role(tg_user.id, user, settings)
        return await handler(event, data)
