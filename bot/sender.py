"""The one way out: every Bot API request passes this session middleware.

It knows Telegram's limits, so no handler, worker or console path has to:

- **One bot-wide rate.** Messages (send*, copy*, forward*, edit*) take a slot of a
  `SendLimiter`: evenly spaced slots at `rate` per second, handed out by priority —
  interactive replies first, then notices to other people (hand-offs, staff answers),
  then broadcasts. Slots are evenly spaced on purpose: Telegram's limit behaves like
  a strict window, and bursts would earn 429s.
- **429 is a pause, not a failure.** `retry_after` pauses *every* request of the bot
  (all priorities) and the request is repeated afterwards; a reply is delayed, never
  dropped.
- **5xx and time-outs are retried** with a short backoff, a bounded number of times;
  what finally fails is logged with the method, chat and reason and re-raised, so the
  caller (the outbox worker) records it on its row.

The limiter is an interface: the in-process `LocalSendLimiter` serves one process;
a shared implementation (e.g. in Redis) can replace it when the outbox worker runs
as its own process, without touching any caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

logger = logging.getLogger(__name__)


class Priority(IntEnum):
    """Lower goes first."""

    INTERACTIVE = 0  # the reply to the person who just wrote
    NOTICE = 1  # a message to someone else: hand-off, staff answer, staff notice
    BULK = 2  # broadcasts and reminders


_priority: ContextVar[Priority] = ContextVar("mocbot_send_priority", default=Priority.INTERACTIVE)
_retry_server_errors: ContextVar[bool] = ContextVar("mocbot_retry_server_errors", default=True)


@contextlib.contextmanager
def sending_as(priority: Priority, *, retry_server_errors: bool = True) -> Iterator[None]:
    """Requests made inside take `priority`; the outbox worker retries 5xx itself (on its rows)."""
    token = _priority.set(priority)
    token_retry = _retry_server_errors.set(retry_server_errors)
    try:
        yield
    finally:
        _priority.reset(token)
        _retry_server_errors.reset(token_retry)


# Methods that put a message into a chat (or change one): these count against the limit.
_MESSAGE_PREFIXES = ("send", "copy", "forward", "edit")
_NOT_MESSAGES = frozenset({"sendchataction"})


def counts_as_message(method_name: str) -> bool:
    name = method_name.lower()
    return name.startswith(_MESSAGE_PREFIXES) and name not in _NOT_MESSAGES


class SendLimiter(Protocol):
    async def acquire(self, priority: Priority) -> None:
        """Wait for a send slot."""

    def pause(self, seconds: float) -> None:
        """No slot for anyone during the next `seconds` (Telegram said 429)."""

    def paused_for(self) -> float:
        """Seconds left of a pause (0 when not paused)."""

    async def close(self) -> None:
        """Stop handing out slots; waiters get an error."""


@dataclass
class LocalSendLimiter:
    """Evenly spaced slots at `rate` per second for one process, highest priority first.

    A scheduler task hands out one slot every 1/rate seconds to the best waiter; it
    sleeps when nobody waits, and the first slot after a quiet spell is immediate.
    In any window of one second at most `rate` + 1 slots are given, so a rate set a
    little below Telegram's (29 for 30) never crosses a strict one-second window.
    """

    rate: float
    _waiters: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _next_slot: float = 0.0
    _paused_until: float = 0.0
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _closed: bool = False

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / self.rate

    async def acquire(self, priority: Priority) -> None:
        if self._closed:
            raise RuntimeError("the send limiter is closed")
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._schedule(), name="send-limiter")
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._seq), future))
        assert self._wake is not None
        self._wake.set()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                pass  # the slot was given and is lost: harmless, the next one comes on time
            raise

    def pause(self, seconds: float) -> None:
        until = time.monotonic() + max(seconds, 0.0)
        if until > self._paused_until:
            self._paused_until = until
            logger.warning("Telegram asked to wait %.1f s: every request is paused", seconds)

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())

    async def close(self) -> None:
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._task
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_exception(RuntimeError("the send limiter is closed"))

    async def _schedule(self) -> None:
        assert self._wake is not None
        while True:
            # Drop waiters that gave up (their task was cancelled).
            while self._waiters and self._waiters[0][2].done():
                heapq.heappop(self._waiters)
            if not self._waiters:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            scheduled = max(self._next_slot, self._paused_until)
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
                continue  # re-check: a pause may have come, a better waiter may have arrived
            _, _, future = heapq.heappop(self._waiters)
            if future.done():
                continue
            future.set_result(None)
            # Keep to the schedule: a sleep that woke a little late must not push every later
            # slot back (that drift alone cost 2-5 % of the rate), so the next slot is one
            # interval after this one's scheduled time, though never closer than 0.85 of an
            # interval to it (no burst). Scheduled times stay an interval apart, which keeps
            # the promise above. After a quiet spell the schedule starts again from now.
            if now - scheduled >= self.interval:
                self._next_slot = now + self.interval
            else:
                self._next_slot = max(scheduled + self.interval, now + self.interval * 0.85)


@dataclass(frozen=True)
class RetryPolicy:
    server_error_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    max_retry_after_total: float = 600.0  # give up a single request after this much 429 waiting


class SenderMiddleware(BaseRequestMiddleware):
    """The bot session's request middleware: limits, pauses and retries (module docstring)."""

    def __init__(
        self, limiter: SendLimiter, policy: RetryPolicy | None = None, *, count_all_requests: bool = False
    ) -> None:
        """`count_all_requests`: every request takes a slot, not only messages (MAX counts every
        request against its 30 per second: answers, edits, uploads, `/me`)."""
        self.limiter = limiter
        self.policy = policy or RetryPolicy()
        self.count_all_requests = count_all_requests
        self.failures = 0  # requests that finally failed (for benchmarks and tests)
        self.retries = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = getattr(type(method), "__api_method__", type(method).__name__)
        is_message = self.count_all_requests or counts_as_message(name)
        priority = _priority.get()
        server_attempt = 0
        waited_429 = 0.0
        while True:
            if is_message:
                await self.limiter.acquire(priority)
            else:
                pause = self.limiter.paused_for()
                if pause > 0:
                    await asyncio.sleep(pause)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.limiter.pause(float(exc.retry_after))
                waited_429 += float(exc.retry_after)
                self.retries += 1
                if waited_429 > self.policy.max_retry_after_total:
                    self._failed(name, method, exc)
                    raise
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
                if not _retry_server_errors.get() or server_attempt >= len(self.policy.server_error_delays):
                    self._failed(name, method, exc)
                    raise
                delay = self.policy.server_error_delays[server_attempt]
                server_attempt += 1
                self.retries += 1
                logger.info(
                    "%s failed (%s), retry %d in %.1f s", name, type(exc).__name__, server_attempt, delay
                )
                await asyncio.sleep(delay)

    def _failed(self, name: str, method: TelegramMethod[TelegramType], exc: BaseException) -> None:
        self.failures += 1
        chat = getattr(method, "chat_id", None)
        logger.warning("%s to chat %s finally failed: %s: %s", name, chat, type(exc).__name__, exc)
