from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser

from bot.services.roles import Role
from bot.services.users import SeenWriter, UserService


class UserMiddleware(BaseMiddleware):
    """Look the person up and resolve the role; nothing is written here.

    `data["user"]` is a frozen `UserRecord` (an unstored one for someone new: no row is
    created just because they wrote). Last-seen stamps go to the batching `SeenWriter`.
    """

    def __init__(self, users: UserService, seen: SeenWriter | None = None) -> None:
        self.users = users
        self.seen = seen

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            data["user"] = None
            data["role"] = Role.PARENT
            return await handler(event, data)
        user = await self.users.lookup(tg_user.id)
        if self.seen is not None and user.consent_at is not None:
            self.seen.note(user.id)
        data["user"] = user
        data["role"] = self.users.role_of(user)
        return await handler(event, data)
