"""The one way out (bot/sender.py): pacing, priorities, 429 pauses, retries; and no
secret in a log line."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest
from aiogram.exceptions import TelegramNetworkError

from bot.app import create_bot
from bot.cli.core import SecretFilter
from bot.local_api import LocalBotSession
from bot.sender import (
    LocalSendLimiter,
    Priority,
    RetryPolicy,
    SenderMiddleware,
    counts_as_message,
    sending_as,
)
from bot.settings import Settings


def _settings() -> Settings:
    return Settings(_env_file=None, bot_token=None)  # type: ignore[call-arg]


async def test_slots_are_evenly_spaced_and_never_exceed_a_strict_window() -> None:
    limiter = LocalSendLimiter(rate=50)
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire(Priority.BULK)
        times.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(60)))
    await limiter.close()
    times.sort()
    # at most rate + 1 in any window of one second, and no burst at the start
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start < 1.0)
        assert in_window <= 51
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) > 0.015  # 20 ms nominal; never two slots at once


async def test_interactive_requests_go_before_waiting_bulk_ones() -> None:
    limiter = LocalSendLimiter(rate=20)
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    bulk = [asyncio.create_task(take(f"bulk{i}", Priority.BULK)) for i in range(6)]
    await asyncio.sleep(0.12)  # a few bulk slots are gone, the rest wait
    reply = asyncio.create_task(take("reply", Priority.INTERACTIVE))
    notice = asyncio.create_task(take("notice", Priority.NOTICE))
    await asyncio.gather(*bulk, reply, notice)
    await limiter.close()
    first_waiting = order.index("reply")
    assert order[first_waiting + 1] == "notice"
    assert first_waiting < 5 and order[-1].startswith("bulk")


async def test_a_pause_holds_every_slot() -> None:
    limiter = LocalSendLimiter(rate=100)
    await limiter.acquire(Priority.INTERACTIVE)
    limiter.pause(0.4)
    started = time.monotonic()
    await limiter.acquire(Priority.INTERACTIVE)
    await limiter.close()
    assert time.monotonic() - started >= 0.38


async def test_429_pauses_and_the_request_is_repeated() -> None:
    session = LocalBotSession()
    sender = SenderMiddleware(LocalSendLimiter(rate=100))
    bot = create_bot(_settings(), session=session, token="42:t", sender=sender)
    session.fail_next(429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    await bot.send_message(1, "hello")
    assert time.monotonic() - started >= 0.95
    assert [s.text for s in session.sent] == ["hello"] and sender.retries == 1
    await sender.limiter.close()


async def test_server_errors_are_retried_within_bounds_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    session = LocalBotSession()
    sender = SenderMiddleware(LocalSendLimiter(rate=100), RetryPolicy(server_error_delays=(0.01, 0.01)))
    bot = create_bot(_settings(), session=session, token="42:t", sender=sender)
    session.fail_next(502, "Bad Gateway")
    await bot.send_message(1, "once")
    assert [s.text for s in session.sent] == ["once"]
    for _ in range(3):
        session.fail_next(0, "Request timeout error")
    with caplog.at_level(logging.WARNING), pytest.raises(TelegramNetworkError):
        await bot.send_message(1, "never")
    assert sender.failures == 1 and "finally failed" in caplog.text
    # the outbox worker retries on its rows: no retry inside the sender for it
    session.fail_next(502, "Bad Gateway")
    with sending_as(Priority.BULK, retry_server_errors=False), pytest.raises(Exception, match="Bad Gateway"):
        await bot.send_message(1, "bulk")
    await sender.limiter.close()


def test_which_methods_count_as_messages() -> None:
    assert counts_as_message("sendMessage") and counts_as_message("editMessageText")
    assert counts_as_message("copyMessage") and counts_as_message("sendDocument")
    assert not counts_as_message("answerCallbackQuery") and not counts_as_message("getUpdates")
    assert not counts_as_message("sendChatAction")


class _CountingLimiter(LocalSendLimiter):
    acquired: int = 0

    async def acquire(self, priority: Priority) -> None:
        self.acquired += 1
        await super().acquire(priority)


async def test_count_all_requests_gives_every_request_a_slot() -> None:
    """MAX counts every request (answers, /me, uploads) against its 30 per second: its bot's
    sender takes a slot for each; Telegram's only for messages."""
    for count_all, expected in ((False, 1), (True, 3)):
        session = LocalBotSession()
        limiter = _CountingLimiter(rate=100)
        sender = SenderMiddleware(limiter, count_all_requests=count_all)
        bot = create_bot(_settings(), session=session, token="42:t", sender=sender)
        await bot.get_me()
        await bot.send_chat_action(1, "typing")
        await bot.send_message(1, "hello")
        assert limiter.acquired == expected, count_all
        await limiter.close()


def test_the_token_never_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456:AAH-secret-part_xyz"
    record_filter = SecretFilter([token, token.partition(":")[2]])
    logger = logging.getLogger("mocbot.test.secrets")
    handler = logging.StreamHandler()
    caplog.handler.addFilter(record_filter)
    try:
        logger.error("request to https://api.telegram.org/bot%s/sendMessage failed", token)
        try:
            raise OSError(f"Cannot connect to host https://api.telegram.org/bot{token}/getUpdates")
        except OSError:
            logger.exception("polling failed")
        logger.warning("half of it: %s", token.partition(":")[2])
    finally:
        caplog.handler.removeFilter(record_filter)
        handler.close()
    text = caplog.text
    assert "secret-part" not in text and "<BOT_TOKEN>" in text
    assert "Cannot connect to host" in text  # the traceback is kept, cleaned


def test_filters_run_inline_not_in_a_thread_pool(tester: object) -> None:
    """aiogram would run every magic filter through asyncio.to_thread; create_app runs them inline."""
    from bot.app import App

    assert isinstance(getattr(tester, "app", None), App)
    dp = tester.app.dispatcher  # type: ignore[attr-defined]
    filters = [
        f
        for router in dp.chain_tail
        for observer in router.observers.values()
        for handler in [*observer.handlers, observer._handler]
        for f in handler.filters or ()
    ]
    assert len(filters) > 50
    assert all(f.awaitable for f in filters)
