from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, TelegramObject

_answered: ContextVar[set[str] | None] = ContextVar("mocbot_answered_callbacks", default=None)


class AnsweredTracker(BaseRequestMiddleware):
    """Notes which callback queries a handler answered itself (bot session level)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        response = await make_request(bot, method)
        answered = _answered.get()
        if isinstance(method, AnswerCallbackQuery) and answered is not None:
            answered.add(method.callback_query_id)
        return response


class AutoAnswerMiddleware(BaseMiddleware):
    """Answer every callback query exactly once so no button spins forever.

    Unlike aiogram's CallbackAnswerMiddleware it lets handlers call
    `query.answer("text", show_alert=True)` themselves and only answers the
    queries nobody answered (Telegram refuses a second answer).
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        token = _answered.set(set())
        try:
            result = await handler(event, data)
        finally:
            answered = _answered.get() or set()
            _answered.reset(token)
        if event.id not in answered:
            await event.answer()
        return result
