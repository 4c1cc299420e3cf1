"""The MAX channel's aiogram `Bot`: a `MaxSession` under it, HTML by default, the sender on it."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import GetMe

from bot.channels import Channel, internal_id
from bot.channels.max.session import MaxSession


async def create_max_bot(
    token: str,
    api_url: str | None = None,
    *,
    sender_middleware: BaseRequestMiddleware | None = None,
    bot_id: int | None = None,
    **session_kwargs: Any,
) -> Bot:
    """An aiogram `Bot` that speaks MAX (`MaxSession`).

    `sender_middleware`: `SenderMiddleware(LocalSendLimiter(MAX_RATE), count_all_requests=True)`
    (MAX counts every request). `bot_id`: the MAX bot's user id; None asks `GET /me` (one
    request, outside the sender). The aiogram bot's id is the bot's internal id (2**53 + id), so
    FSM keys of the MAX bot never meet the Telegram bot's; its token is a synthetic
    `"<id>:max"` (aiogram wants `<int>:<str>`), the MAX token lives only in the session.
    """
    session = MaxSession(token, api_url, **session_kwargs)
    if bot_id is None:
        try:
            me = await session.make_request(Bot("1:max", session=session), GetMe())
        except BaseException:
            await session.close()
            raise
        aiogram_id = me.id
    else:
        aiogram_id = internal_id(Channel.MAX, bot_id)
    if sender_middleware is not None:
        session.middleware(sender_middleware)
    return Bot(f"{aiogram_id}:max", session=session, default=DefaultBotProperties(parse_mode="HTML"))
