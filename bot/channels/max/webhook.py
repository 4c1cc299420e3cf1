"""MAX webhook deliveries into the aiogram Dispatcher (production; `polling.py` for development).

MAX posts each update as JSON to the subscribed URL with the subscription's secret in
`X-Max-Bot-Api-Secret`. The handler checks it (constant time), translates, feeds the update as
a task and answers 200 at once, so a slow handler never makes MAX redeliver.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import SetWebhook
from aiohttp import web

from bot.channels.max.inbound import MaxInbound, OnStopped
from bot.channels.max.session import MaxSession

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Max-Bot-Api-Secret"
UPDATE_TYPES = ("message_created", "message_callback", "bot_started", "bot_stopped")


def max_webhook_handler(
    bot: Bot,
    dispatcher: Dispatcher,
    *,
    secret: str,
    inbound: MaxInbound | None = None,
    on_stopped: OnStopped | None = None,
    **feed_kwargs: Any,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler: `app.router.add_post(path, max_webhook_handler(bot, dp, secret=...))`."""
    if not secret:
        raise ValueError("a MAX webhook needs a secret (MAX_WEBHOOK_SECRET)")
    translator = inbound or MaxInbound(bot=bot, on_stopped=on_stopped)
    tasks: set[asyncio.Task[Any]] = set()
    expected = secret.encode()

    async def feed(update: Any) -> None:
        try:
            await dispatcher.feed_update(bot, update, **feed_kwargs)
        except Exception:
            logger.exception("MAX update %s failed", update.update_id)

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            logger.warning("MAX webhook: a delivery with a wrong secret refused (from %s)", request.remote)
            return web.Response(status=401)
        try:
            raw = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(raw, dict):
            return web.Response(status=400)
        update = await translator.process(raw)
        if update is not None:
            task = asyncio.create_task(feed(update))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return web.json_response({"ok": True})

    return handle


async def subscribe_max_webhook(
    bot: Bot, url: str, *, secret: str, update_types: Sequence[str] = UPDATE_TYPES
) -> None:
    """`POST /subscriptions` on start: MAX delivers `update_types` to `url` with `secret`."""
    if not isinstance(bot.session, MaxSession):
        raise TypeError("subscribe_max_webhook needs a bot created by create_max_bot")
    await bot.session.call(
        SetWebhook(url=url),
        "POST",
        "/subscriptions",
        json={"url": url, "update_types": list(update_types), "secret": secret},
    )
    logger.info("MAX webhook subscribed: %s", url)
