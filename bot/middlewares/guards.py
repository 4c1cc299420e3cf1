from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.enums import ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot import texts
from bot.services.roles import Role

logger = logging.getLogger(__name__)


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
            key = "common.admin_only" if required is Role.ADMIN else "common.staff_only"
            await _refuse(event, texts.text(key))
            return None
        return await handler(event, data)


class ConsentGate(BaseMiddleware):
    """Until a user accepts the personal data notice only flagged handlers run.

    Handlers that must work before consent (/start, /help, the consent and municipality
    buttons, /mydata, /forget, /cancel) carry `flags={"no_consent": True}`. Staff and
    admins, and anything outside private chats (the staff chat), pass.

    Everyone else gets the consent (with several municipalities, the choice of the
    municipality first, so the consent names the right МОЦ). A question they typed is
    kept in the FSM, not the database, and answered right after consent.
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
        from bot import dialogs
        from bot.views.start import consent_request

        store = data["content"]
        content = store.current
        state: FSMContext | None = data.get("state")
        kept = False
        place = None
        if state is not None:
            if isinstance(event, Message) and not _small_talk(store, event.text):
                kept = await dialogs.keep_question(state, event)
            place = await dialogs.chosen_place(state)
        text, markup = consent_request(content, place, kept=kept)
        if isinstance(event, CallbackQuery):
            await event.answer(content.text("start.consent_first_alert"), show_alert=True)
            if isinstance(event.message, Message):
                await event.message.answer(text, reply_markup=markup)
        elif isinstance(event, Message):
            await event.answer(text, reply_markup=markup)
        return None


def _small_talk(store: Any, text: str | None) -> bool:
    """«Здравствуйте», «спасибо»: not a question to keep for after the consent."""
    if not text or "faq" not in store.current.sections:
        return False
    from bot.services.faq.engine import engine_for
    from bot.services.faq.matcher import Decision

    return bool(engine_for(store).matcher.match(text).decision is Decision.SMALLTALK)


_REFUSALS = {"STAFF_ONLY_TEXT": "common.staff_only", "ADMIN_ONLY_TEXT": "common.admin_only"}


def __getattr__(name: str) -> str:
    """STAFF_ONLY_TEXT and ADMIN_ONLY_TEXT, for code that still imports them: the live texts."""
    if name in _REFUSALS:
        return texts.text(_REFUSALS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
