"""MAX as a channel of the same aiogram bot: an aiogram `Bot` whose session speaks MAX.

Handlers stay as they are: `message.answer(...)`, `query.message.edit_text(...)`,
`bot.send_document(...)` go through `MaxSession`, which makes MAX Bot API calls with `maxapi`
and turns MAX's answers and errors into aiogram's. Inbound, MAX updates become aiogram
`Update`s with internal ids (`MaxInbound`), fed to the same Dispatcher by `MaxPolling` or the
webhook handler. docs/max-channel.md has the why; `bot/local_max_api.py` is the stand-in.

    bot = await create_max_bot(token, api_url, sender_middleware=SenderMiddleware(
        LocalSendLimiter(28), count_all_requests=True))
    polling = MaxPolling(bot, dp, on_stopped=mark_inactive, channel=Channel.MAX)
    await polling.start() ... await polling.stop(); await bot.session.close()
"""

from bot.channels.max.factory import create_max_bot
from bot.channels.max.inbound import MaxInbound, OnStopped
from bot.channels.max.polling import MaxPolling
from bot.channels.max.render import TEXT_LIMIT, MessageIds, split_html, to_max_html
from bot.channels.max.session import DEFAULT_API_URL, MaxRefused, MaxSession, UnsupportedMethod
from bot.channels.max.webhook import SECRET_HEADER, max_webhook_handler, subscribe_max_webhook

__all__ = [
    "DEFAULT_API_URL",
    "SECRET_HEADER",
    "TEXT_LIMIT",
    "MaxInbound",
    "MaxPolling",
    "MaxRefused",
    "MaxSession",
    "MessageIds",
    "OnStopped",
    "UnsupportedMethod",
    "create_max_bot",
    "max_webhook_handler",
    "split_html",
    "subscribe_max_webhook",
    "to_max_html",
]
