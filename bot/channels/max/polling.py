"""Long polling of MAX (`GET /updates` with a marker) into the aiogram Dispatcher.

MAX calls long polling fit for development and tests (production: the webhook, `webhook.py`);
the console and the tests use it. Each translated update is fed as a task of its own, as
aiogram's `handle_as_tasks` does; the marker advances past every update of a batch, the
skipped ones included, so an update the bot does not translate never stalls the poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetUpdates

from bot.channels.max.inbound import MaxInbound, OnStopped
from bot.channels.max.session import MaxSession

logger = logging.getLogger(__name__)

BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class MaxPolling:
    """`await polling.start()` … `await polling.stop()`; or `await polling.run()` until cancelled."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        inbound: MaxInbound | None = None,
        on_stopped: OnStopped | None = None,
        timeout: int = 30,
        limit: int = 100,
        backoff: Sequence[float] = BACKOFF,
        **feed_kwargs: Any,
    ) -> None:
        if not isinstance(bot.session, MaxSession):
            raise TypeError("MaxPolling needs a bot created by create_max_bot (a MaxSession)")
        self.bot = bot
        self.session: MaxSession = bot.session
        self.dispatcher = dispatcher
        self.inbound = inbound or MaxInbound(self.session, bot=bot, on_stopped=on_stopped)
        self.timeout = timeout
        self.limit = limit
        self.backoff = tuple(backoff)
        self.feed_kwargs = feed_kwargs
        self.marker: int | None = None
        self.polls = 0
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="max-polling")

    async def stop(self, *, wait_handlers: float = 10.0) -> None:
        """Stop polling; let updates already being handled finish (at most `wait_handlers` s)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._handlers:
            _, pending = await asyncio.wait(set(self._handlers), timeout=wait_handlers)
            for task in pending:
                task.cancel()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                batch = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                logger.warning(
                    "MAX long polling failed (%s), again in %.1f s",
                    self.session.redact(f"{type(exc).__name__}: {exc}")[:300],
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            if batch == 0 and self.timeout == 0:
                await asyncio.sleep(0.05)  # a poll that does not wait must not spin

    async def poll_once(self) -> int:
        """One `GET /updates`; feeds its updates as tasks; returns how many MAX sent."""
        params: dict[str, Any] = {"timeout": self.timeout, "limit": self.limit}
        if self.marker is not None:
            params["marker"] = self.marker
        # A request of its own, outside the sender: a long poll must not hold a send slot.
        answer = await self.session.call(
            GetUpdates(), "GET", "/updates", params=params, timeout=self.timeout + 15
        )
        self.polls += 1
        updates = answer.get("updates") or []
        for raw in updates:
            if not isinstance(raw, dict):
                continue
            try:
                update = await self.inbound.process(raw)
            except Exception:  # a bug in one update must not stop the poll
                logger.exception("MAX update %s could not be translated", raw.get("update_type"))
                continue
            if update is not None:
                self._feed(update)
        marker = answer.get("marker")
        if isinstance(marker, int):
            self.marker = marker
        return len(updates)

    def _feed(self, update: Any) -> None:
        task = asyncio.create_task(self._handle(update))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, update: Any) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update, **self.feed_kwargs)
        except TelegramAPIError as exc:
            logger.warning("MAX update %s: %s", update.update_id, self.session.redact(str(exc)))
        except Exception:
            logger.exception("MAX update %s failed", update.update_id)

    async def idle(self) -> None:
        """Wait until every update fed so far is handled (tests)."""
        while self._handlers:
            await asyncio.gather(*list(self._handlers), return_exceptions=True)
