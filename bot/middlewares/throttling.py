from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

THROTTLED_TEXT = "Слишком часто 🙂 Подождите несколько секунд и попробуйте снова."


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class ThrottlingMiddleware(BaseMiddleware):
    """Per-user token bucket on every update, before any database work.

    A user may send `burst` updates at once and `rate` per second after that. The
    first update over the limit gets one polite answer; the rest of the flood is
    dropped silently until the bucket refills.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def _cleanup(self, now: float) -> None:
        if len(self._buckets) > 10_000:
            full_after = self.burst / self.rate
            self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """Return (allowed, should_warn)."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            self._cleanup(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= 1:
                bucket.warned = False
            return True, False
        if bucket.warned:
            return False, False
        bucket.warned = True
        return False, True

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update):
            return await handler(event, data)
        allowed, warn = self.allow(user.id)
        if allowed:
            return await handler(event, data)
        if warn:
            if event.message is not None:
                await event.message.answer(THROTTLED_TEXT)
            elif event.callback_query is not None:
                await event.callback_query.answer(THROTTLED_TEXT)
        return None
