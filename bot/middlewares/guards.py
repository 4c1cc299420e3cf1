from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.services.roles import Role

logger = logging.getLogger(__name__)

STAFF_ONLY_TEXT = "Эта команда доступна только сотрудникам МОЦ."
ADMIN_ONLY_TEXT = "Эта команда доступна только администраторам бота."


async def _refuse(event: TelegramObject, text: str) -> None:
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    elif isinstance(event, Message):
        await event.answer(text)


class RoleGuard(BaseMiddleware):
    """Server-side role check for every message and button a handler takes.

    A router gets `RoleGuard(Role.STAFF)` as an inner middleware; a single
    handler may ask for more with `flags={"role": Role.ADMIN}`. The check runs
    after the handler's filters matched, so a parent who sends a staff command
    or forges a staff button gets a refusal, not silence.
    """

    def __init__(self, required: Role = Role.PARENT) -> None:
        self.required = required

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        flagged = get_flag(data, "role")
        required = max(self.required, Role(flagged)) if flagged is not None else self.required
        role: Role = data.get("role", Role.PARENT)
        if role < required:
            user = data.get("event_from_user")
            logger.warning(
                "refused %s to user %s (role %s)", required.name, user.id if user else None, role.name
            )
            await _refuse(event, ADMIN_ONLY_TEXT if required is Role.ADMIN else STAFF_ONLY_TEXT)
            return None
        return await handler(event, data)


class ConsentGate(BaseMiddleware):
    """Until a user accepts the personal data notice only flagged handlers run.

    Handlers that must work before consent (/start, /help, the consent button,
    /mydata, /forget, /cancel) carry `flags={"no_consent": True}`. Staff and
    admins, and anything outside private chats (the staff chat), pass.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("user")
        chat = data.get("event_chat")
        if (
            user is None
            or user.consent_at is not None
            or get_flag(data, "no_consent")
            or data.get("role", Role.PARENT) >= Role.STAFF
            or (chat is not None and chat.type != ChatType.PRIVATE)
        ):
            return await handler(event, data)
        from bot.keyboards import consent_keyboard

        content = data["content"].current
        text = content.text("consent_required") + "\n\n" + content.text("consent")
        if isinstance(event, CallbackQuery):
            await event.answer("Сначала нужно согласие на обработку данных.", show_alert=True)
            if isinstance(event.message, Message):
                await event.message.answer(text, reply_markup=consent_keyboard())
        elif isinstance(event, Message):
            await event.answer(text, reply_markup=consent_keyboard())
        return None
