"""The notice worker: sends queued messages to other people (bot/services/outbox.py).

At most once: a row is claimed (pending → sending, committed) before its request and
its result is committed after. Rows still `sending` at start were in flight when the
process died and become `uncertain` (never re-sent). Every request passes the bot's
sender at NOTICE priority: after the replies to people who just wrote, before
broadcasts. The sender pauses on 429 for everybody; 5xx and network errors are
retried here, on the row, with a growing delay, then the row fails and whoever
asked (`on_fail_chat_id`) is told.

A notice with a photo (a parent's screenshot, by its Telegram file id) is sent as that
photo with the text as its caption; one with `reply_to_message_id` answers that message
of its chat (a parent's reply appears under the hand-off it continues), and is still
sent if that message has been deleted.

Pacing per chat: a group chat (the staff chat) gets at most 20 messages a minute,
a private chat one per second.

Channels: a row's chat is an internal id (bot/channels), so the row says which messenger
it goes to: Telegram ids through the Telegram bot, MAX people through the MAX bot, each
with its own sender and rate. A MAX row with no MAX bot configured fails with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from bot.channels import Channel, channel_of
from bot.channels.max.session import FILE_ID_PREFIX as MAX_FILE_PREFIX
from bot.sender import Priority, sending_as
from bot.services.outbox import NoticeRecord, OutboxService

logger = logging.getLogger(__name__)

GROUP_INTERVAL = 3.0  # Telegram: about 20 messages a minute into one group
PRIVATE_INTERVAL = 1.0
RETRY_DELAYS = (2.0, 8.0, 30.0, 120.0, 600.0)
GONE = ("chat not found", "user is deactivated", "peer_id_invalid", "bot was kicked")


def keyboard(notice: NoticeRecord) -> InlineKeyboardMarkup | None:
    if not notice.buttons:
        return None
    rows = [
        [
            InlineKeyboardButton(text=text, url=value)
            if kind == "url"
            else InlineKeyboardButton(text=text, callback_data=value)
            for text, kind, value in row
        ]
        for row in notice.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


class NoChannel(Exception):
    """The row's messenger has no bot in this process."""


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class NoticeWorker:
    def __init__(
        self,
        bot: Bot,
        outbox: OutboxService,
        *,
        concurrency: int = 4,
        idle: float = 5.0,
        group_interval: float = GROUP_INTERVAL,
        private_interval: float = PRIVATE_INTERVAL,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        bots: dict[Channel, Bot] | None = None,
    ) -> None:
        self.retry_delays = retry_delays
        self.bots: dict[Channel, Bot] = {Channel.TELEGRAM: bot, **(bots or {})}
        self.outbox = outbox
        self.idle = idle
        self.group_interval = group_interval
        self.private_interval = private_interval
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._chat_next: dict[int, float] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.uncertain_at_start = 0
        outbox.on_new(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self.uncertain_at_start = await self.outbox.recover()
        if self.uncertain_at_start:
            logger.warning(
                "%d notice(s) were in flight when the bot stopped: marked uncertain, not re-sent",
                self.uncertain_at_start,
            )
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="notice-worker")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                started = await self.run_once()
            except Exception:
                logger.exception("notice worker: a round failed; retrying")
                started = 0
            if started:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle)

    async def run_once(self) -> int:
        """Start sending every due notice whose chat may get a message now; returns how many."""
        started = 0
        waiting_chat = False
        for notice in await self.outbox.due():
            if self._stopping:
                break
            now = time.monotonic()
            if self._chat_next.get(notice.chat_id, 0.0) > now:
                waiting_chat = True
                continue
            await self._slots.acquire()
            try:
                claimed = await self.outbox.claim(notice.id)
            except BaseException:
                self._slots.release()
                raise
            if not claimed:
                self._slots.release()
                continue
            interval = self.group_interval if notice.chat_id < 0 else self.private_interval
            self._chat_next[notice.chat_id] = time.monotonic() + interval
            task = asyncio.get_running_loop().create_task(self._deliver(notice))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            started += 1
        if waiting_chat and not started:
            await asyncio.sleep(0.2)  # a chat's pacing holds the rest back
            return 1
        return started

    async def drain(self) -> None:
        """Send everything due now and wait for the results (tests and the console)."""
        while await self.run_once() or self._inflight:
            if self._inflight:
                await asyncio.wait(list(self._inflight))

    async def _deliver(self, notice: NoticeRecord) -> None:
        try:
            await self._send(notice)
        except Exception:
            logger.exception("notice %s: recording the result failed", notice.id)
        finally:
            self._slots.release()

    async def _request(self, notice: NoticeRecord) -> Message:
        """One request: a photo with the text as its caption, or a text message."""
        channel = channel_of(notice.chat_id)
        bot = self.bots.get(channel)
        if bot is None:
            raise NoChannel(f"{channel.label} is not configured (no bot token for it)")
        reply = (
            ReplyParameters(message_id=notice.reply_to_message_id, allow_sending_without_reply=True)
            if notice.reply_to_message_id is not None
            else None
        )
        if notice.photo_file_id:
            return await bot.send_photo(
                notice.chat_id,
                await self._photo_for(channel, notice.photo_file_id),
                caption=notice.text or None,
                reply_markup=keyboard(notice),
                reply_parameters=reply,
            )
        return await bot.send_message(
            notice.chat_id,
            notice.text,
            reply_markup=keyboard(notice),
            disable_web_page_preview=notice.disable_preview or None,
            reply_parameters=reply,
        )

    async def _photo_for(self, channel: Channel, file_id: str) -> str | BufferedInputFile:
        """A file id of another messenger (a MAX parent's screenshot going to the Telegram staff
        chat) is fetched through that messenger's bot and sent as bytes."""
        source = Channel.MAX if file_id.startswith(MAX_FILE_PREFIX) else Channel.TELEGRAM
        if source is channel:
            return file_id
        other = self.bots.get(source)
        if other is None:
            raise NoChannel(f"the photo is a {source.label} file and {source.label} is not configured")
        buffer = await other.download(file_id)
        if buffer is None:
            raise NoChannel(f"the {source.label} photo could not be downloaded")
        return BufferedInputFile(buffer.read(), filename="photo.jpg")

    async def _send(self, notice: NoticeRecord) -> None:
        try:
            with sending_as(Priority.NOTICE, retry_server_errors=False):
                message = await self._request(notice)
        except TelegramRetryAfter as exc:  # the sender gave up waiting: not delivered, try later
            await self.outbox.retry(notice.id, _short(exc), float(exc.retry_after))
            return
        except TelegramForbiddenError as exc:
            await self.outbox.gave_up(notice, "blocked", _short(exc))
            return
        except TelegramBadRequest as exc:
            gone = any(marker in exc.message.lower() for marker in GONE)
            await self.outbox.gave_up(notice, "blocked" if gone else "failed", _short(exc))
            return
        except NoChannel as exc:
            await self.outbox.gave_up(notice, "failed", str(exc))
            return
        except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
            attempt = notice.attempts + 1  # this one (the record was read before the claim)
            if attempt <= len(self.retry_delays):
                await self.outbox.retry(notice.id, _short(exc), self.retry_delays[attempt - 1])
                self.wake()
            else:
                await self.outbox.gave_up(
                    notice, "failed", f"gave up after {attempt} attempts: {_short(exc)}"
                )
            return
        await self.outbox.sent(notice.id, message.message_id)
