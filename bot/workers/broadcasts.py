"""The broadcast worker: sends broadcasts and reminders from the outbox (the Telegram side).

It runs in the bot process (started on `dp.startup`), never inside a handler. Every
database step is a short unit of work of `DeliveryService`
(bot/services/announcements/delivery.py); none is held across a request.

At most once: a row is claimed (pending → sending, committed) before its request and
its result is committed after. Rows still `sending` at start were in flight when the
process died and become `uncertain`, never sent again. A send slot is released only
after its result is written, so at most `concurrency` rows can ever be uncertain; and
only QUEUE_AHEAD claimed rows wait in the sender's queue at a time (an innermost request
middleware, `OnTheWire`, says when a request got its slot), so a crash usually leaves
just those and the few requests on the wire.

Speed: every request passes the bot's one sender (bot/sender.py) at BULK priority.
The sender hands out evenly spaced slots at TELEGRAM_RATE for the whole bot (replies to
people and notices go first), so this worker has no limiter of its own: it keeps up
to `concurrency` requests in flight so that a slow round trip does not lower the rate,
and one chat gets at most one message per second. A 429 pauses the whole bot in the
sender, which repeats the request; the worker stores the end of the pause in the
database, so that a restart waits too, and claims nothing while it lasts. 5xx,
time-outs and network errors are not retried by the sender but here, on the row,
after a growing delay; then the row fails.

Channels: one worker per messenger, each with its own bot, sender and rate, claiming only
the rows of its people (MAX people have internal ids from 2**53, bot/channels). The
Telegram worker is the primary: it recovers rows left in flight at start, starts due
broadcasts, edits the staff's progress message and stores a 429 pause; a MAX worker only
sends (a MAX 429 pauses MAX only, in memory). Both rows and progress live in the one
outbox, so a broadcast's progress and summary count both channels.

Staff see a progress message that is edited as the broadcast goes (direct edits);
one-off notes (a late start, a skipped reminder, a summary with nowhere to edit) go
through the notice outbox, queued by the service with the change they report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

from bot.channels import Channel
from bot.sender import Priority, SenderMiddleware, SendLimiter, sending_as
from bot.services.announcements.delivery import (
    BATCH,
    BroadcastContent,
    DeliveryResult,
    DeliveryService,
    DueRow,
    Finished,
    Progress,
    StartNote,
)
from bot.settings import Settings
from bot.views.announcements import (
    broadcast_cancel_keyboard,
    progress_text,
    reminder_keyboard,
    start_note_text,
    starting_text,
    summary_text,
    unsubscribe_keyboard,
)

logger = logging.getLogger(__name__)

CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
RETRY_DELAYS = (2.0, 8.0, 30.0)  # backoff for network errors and 5xx; then failed
GONE = ("chat not found", "user is deactivated", "peer_id_invalid")
# Claimed rows allowed to wait in the sender's queue for a send slot. Enough that the queue
# never runs dry between two slots; few, because a row waiting there is already `sending`
# and becomes `uncertain` (never sent) if the process dies.
QUEUE_AHEAD = 3

_on_the_wire: ContextVar[Callable[[], None] | None] = ContextVar("mocbot_broadcast_on_wire", default=None)


class OnTheWire(BaseRequestMiddleware):
    """The innermost request middleware: tells the broadcast worker that its request has
    passed the sender (it has its send slot) and is going out now."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        callback = _on_the_wire.get()
        if callback is not None:
            callback()
        return await make_request(bot, method)


def _install_on_the_wire(bot: Bot) -> None:
    """Register `OnTheWire` on the bot's session, inside the sender (registered first), once."""
    if not any(isinstance(m, OnTheWire) for m in bot.session.middleware):
        bot.session.middleware(OnTheWire())


def _now() -> datetime:
    return datetime.now(UTC)


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def sender_limiter(bot: Bot) -> SendLimiter | None:
    """The limiter of the sender installed on the bot's session (None without one)."""
    for middleware in bot.session.middleware:
        if isinstance(middleware, SenderMiddleware):
            return middleware.limiter
    return None


@dataclass
class _Sending:
    """One broadcast as this worker sends it: its content and the photo's file_id once known."""

    content: BroadcastContent
    photo_file_id: str | None
    upload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def markup(self) -> InlineKeyboardMarkup:
        if self.content.kind == "reminder" and self.content.event_id is not None:
            return reminder_keyboard(self.content.event_id)
        return unsubscribe_keyboard()


@dataclass
class _Speed:
    last_edit: float = 0.0
    last_text: str = ""
    first_done: int | None = None
    first_at: float = 0.0

    def rate(self, done: int) -> float:
        now = time.monotonic()
        if self.first_done is None:
            self.first_done, self.first_at = done, now
        elapsed = now - self.first_at
        return (done - self.first_done) / elapsed if elapsed > 1 else 0.0


class BroadcastWorker:
    def __init__(
        self,
        bot: Bot,
        delivery: DeliveryService,
        settings: Settings,
        *,
        concurrency: int | None = None,
        ahead: int = QUEUE_AHEAD,
        tick: float = 0.5,
        progress_interval: float = 3.0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        channel: Channel = Channel.TELEGRAM,
    ) -> None:
        self.bot = bot
        self.channel = channel
        self.primary = channel is Channel.TELEGRAM  # recovery, staff progress, the stored pause
        self.delivery = delivery
        self.settings = settings
        self.tick = tick
        self.progress_interval = progress_interval
        self.retry_delays = retry_delays
        self.concurrency = concurrency or settings.broadcast_concurrency
        self.limiter = sender_limiter(bot)
        _install_on_the_wire(bot)
        self._slots = asyncio.Semaphore(self.concurrency)  # rows in flight, until the result is written
        self._ahead = asyncio.Semaphore(max(1, min(ahead, self.concurrency)))  # rows waiting for a slot
        self._results: asyncio.Queue[tuple[DeliveryResult, asyncio.Future[None]]] = asyncio.Queue()
        self._sending: dict[int, _Sending] = {}
        self._chat_last: dict[int, float] = {}
        self._speed: dict[int, _Speed] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._paused_until: datetime | None = None  # the end of a 429 pause, as stored
        self._stopping = False
        self._wake = asyncio.Event()
        self.uncertain_at_start = 0

    # --- lifetime -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start; a second channel's worker must start after the primary has recovered."""
        if self.primary:
            await self.recover()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._writer(), name=f"broadcast-writer-{self.channel}"),
            loop.create_task(self._feeder(), name=f"broadcast-feeder-{self.channel}"),
            loop.create_task(self._housekeeper(), name=f"broadcast-housekeeper-{self.channel}"),
        ]
        logger.info("broadcast worker (%s) started: %d in flight", self.channel.label, self.concurrency)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let requests in flight finish and their results be written."""
        self._stopping = True
        self._wake.set()
        if not self._tasks:  # never started
            return
        writer, feeder, housekeeper = self._tasks
        # Let the feeder finish its group and the housekeeper its round (a summary being written).
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            rounds = asyncio.gather(feeder, housekeeper, return_exceptions=True)
            await asyncio.wait_for(asyncio.shield(rounds), timeout=2.0)
        for task in (feeder, housekeeper):
            task.cancel()
        await asyncio.gather(feeder, housekeeper, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        self._tasks = []
        logger.info("broadcast worker stopped")

    def wake(self) -> None:
        """Look for due broadcasts and rows now instead of at the next tick."""
        self._wake.set()

    async def recover(self) -> None:
        """Rows left `sending` by a dead process become `uncertain`; a stored pause holds."""
        recovery = await self.delivery.recover()
        self.uncertain_at_start = recovery.uncertain
        if recovery.paused_until is not None:
            self._paused_until = recovery.paused_until
            left = (recovery.paused_until - _now()).total_seconds()
            if self.limiter is not None and left > 0:
                self.limiter.pause(left)  # Telegram's pause is for the whole bot
        if self.uncertain_at_start:
            logger.warning(
                "%d message(s) were in flight when the bot stopped: marked uncertain, not re-sent",
                self.uncertain_at_start,
            )

    # --- the 429 pause -------------------------------------------------------------------------
    def _pause_left(self) -> float:
        own = (self._paused_until - _now()).total_seconds() if self._paused_until is not None else 0.0
        sender = self.limiter.paused_for() if self.limiter is not None else 0.0
        return max(own, sender, 0.0)

    async def _store_pause(self) -> None:
        """A pause the sender is waiting out (whoever got the 429) is stored, once."""
        left = self.limiter.paused_for() if self.limiter is not None else 0.0
        if left <= 0 or not self.primary:
            return
        until = _now() + timedelta(seconds=left)
        if self._paused_until is not None and until <= self._paused_until + timedelta(seconds=0.5):
            return
        self._paused_until = until
        await self.delivery.pause_until(until)

    async def _pause(self, seconds: float) -> None:
        """A 429 reached the worker (the sender gave up waiting, or there is none)."""
        if self.limiter is not None:
            self.limiter.pause(seconds)
        until = _now() + timedelta(seconds=seconds)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until
            logger.warning("%s asked to retry after %.0f s: its sending paused", self.channel.label, seconds)
            if self.primary:
                await self.delivery.pause_until(until)

    async def _wait_pause(self) -> None:
        while not self._stopping:
            left = self._pause_left()
            if left <= 0:
                return
            await self._store_pause()
            await asyncio.sleep(min(left, 0.5))

    # --- the feeder: claims rows and starts sends ---------------------------------------------
    async def _feeder(self) -> None:
        while not self._stopping:
            try:
                started = await self._feed_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("broadcast feeder failed; retrying")
                started = 0
            if not started:
                await self._sleep(min(self.tick, 0.2))

    async def _feed_once(self) -> int:
        await self._wait_pause()
        rows = await self.delivery.due_rows(BATCH, channel=str(self.channel))
        eligible: list[DueRow] = []
        chats: set[int] = set()
        now = time.monotonic()
        for row in rows:
            if row.user_id in chats or now - self._chat_last.get(row.user_id, -CHAT_INTERVAL) < CHAT_INTERVAL:
                continue  # this chat got a message less than a second ago; come back later
            chats.add(row.user_id)
            eligible.append(row)
        started = 0
        position = 0
        while position < len(eligible) and not self._stopping:
            # Claim as many rows as may be in flight and queued now, in one unit of work.
            await self._take()
            group = [eligible[position]]
            position += 1
            while position < len(eligible) and not self._slots.locked() and not self._ahead.locked():
                await self._take()
                group.append(eligible[position])
                position += 1
            try:
                await self._wait_pause()
                if self._stopping:
                    raise asyncio.CancelledError
                claimed = await self.delivery.claim([row.id for row in group])
            except BaseException:
                for _ in group:
                    self._give_back()
                raise
            unsent = [row.id for row in group if row.id in claimed]
            try:
                for row in group:
                    if row.id not in claimed or self._stopping:
                        self._give_back()
                        continue
                    sending = await self._broadcast(row.broadcast_id)
                    self._chat_last[row.user_id] = time.monotonic()
                    task = asyncio.get_running_loop().create_task(
                        self._deliver(row, sending, claimed[row.id])
                    )
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
                    unsent.remove(row.id)
                    started += 1
            finally:
                if unsent:  # claimed but never requested (stopping): give them back untouched
                    await asyncio.shield(self.delivery.unclaim(unsent))
        if len(self._chat_last) > 50_000:
            cutoff = time.monotonic() - CHAT_INTERVAL
            self._chat_last = {k: v for k, v in self._chat_last.items() if v > cutoff}
        return started

    async def _take(self) -> None:
        await self._slots.acquire()
        try:
            await self._ahead.acquire()
        except BaseException:
            self._slots.release()
            raise

    def _give_back(self) -> None:
        self._ahead.release()
        self._slots.release()

    async def _broadcast(self, broadcast_id: int) -> _Sending | None:
        sending = self._sending.get(broadcast_id)
        if sending is None:
            content = await self.delivery.content(broadcast_id)
            if content is None:
                return None
            # a stored file id is Telegram's: the MAX session fetches it through the Telegram bot
            # and uploads it once; then the MAX token is reused (kept in memory, not stored)
            sending = _Sending(content, content.photo_file_id)
            self._sending[broadcast_id] = sending
        return sending

    # --- one send ---------------------------------------------------------------------------------
    async def _deliver(self, row: DueRow, sending: _Sending | None, attempt: int) -> None:
        queued = [True]

        def on_the_wire() -> None:  # the request has its send slot: the next row may queue
            if queued:
                queued.clear()
                self._ahead.release()

        token = _on_the_wire.set(on_the_wire)
        try:
            if sending is None:
                result = DeliveryResult(row.id, "failed", "the broadcast is gone")
            else:
                result = await self._send(row, sending, attempt)
        except Exception as exc:  # never lose the slot or the row
            logger.exception("unexpected error sending broadcast %s to %s", row.broadcast_id, row.user_id)
            result = DeliveryResult(row.id, "failed", _short(exc))
        finally:
            _on_the_wire.reset(token)
            on_the_wire()  # also when the request never got that far
        try:
            await self._write(result)
        finally:
            self._slots.release()

    async def _send(self, row: DueRow, sending: _Sending, attempt: int) -> DeliveryResult:
        try:
            with sending_as(Priority.BULK, retry_server_errors=False):
                await self._request(sending, row.user_id)
        except TelegramRetryAfter as exc:  # the sender waited as long as it would: not delivered
            await self._pause(float(exc.retry_after))
            return DeliveryResult(row.id, "pending", _short(exc))  # safe to send later
        except TelegramForbiddenError as exc:
            return DeliveryResult(row.id, "blocked", _short(exc), deactivate=True)
        except TelegramBadRequest as exc:
            if any(marker in exc.message.lower() for marker in GONE):
                return DeliveryResult(row.id, "blocked", _short(exc), deactivate=True)
            return DeliveryResult(row.id, "failed", _short(exc))
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as exc:
            if attempt <= len(self.retry_delays):
                retry_at = _now() + timedelta(seconds=self.retry_delays[attempt - 1])
                self._wake.set()
                return DeliveryResult(row.id, "pending", _short(exc), retry_at=retry_at)
            return DeliveryResult(row.id, "failed", f"gave up after {attempt} attempts: {_short(exc)}")
        return DeliveryResult(row.id, "sent")

    async def _request(self, sending: _Sending, chat_id: int) -> None:
        content, markup = sending.content, sending.markup()
        if sending.photo_file_id is None and content.photo_data is not None:
            async with sending.upload_lock:  # upload the photo once, then reuse its file_id
                if sending.photo_file_id is None:
                    photo = BufferedInputFile(content.photo_data, filename="photo.jpg")
                    message = await self.bot.send_photo(
                        chat_id, photo, caption=content.text, reply_markup=markup
                    )
                    try:
                        await self._remember_photo(sending, message)
                    except Exception:  # the message is sent; only the reuse of the upload is lost
                        logger.warning("could not store the photo's file_id", exc_info=True)
                    return
        if sending.photo_file_id is not None:
            await self.bot.send_photo(
                chat_id, sending.photo_file_id, caption=content.text, reply_markup=markup
            )
        else:
            await self.bot.send_message(chat_id, content.text, reply_markup=markup)

    async def _remember_photo(self, sending: _Sending, message: Message) -> None:
        if not message.photo:
            return
        sending.photo_file_id = message.photo[-1].file_id
        if self.primary:  # a Telegram file id is stored; another channel's upload is reused in memory
            await self.delivery.remember_photo(sending.content.id, sending.photo_file_id)

    # --- results ------------------------------------------------------------------------------------
    async def _write(self, result: DeliveryResult) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._results.put_nowait((result, future))
        await future

    async def _writer(self) -> None:
        """Write results in small units of work: whatever finished since the last commit."""
        while True:
            batch = [await self._results.get()]
            while not self._results.empty():
                batch.append(self._results.get_nowait())
            try:
                await self.delivery.record([result for result, _ in batch])
            except Exception:
                # The rows stay `sending` and become `uncertain` at the next start: never re-sent.
                logger.exception("could not record %d delivery result(s)", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    # --- housekeeping: start due broadcasts, progress, summaries ---------------------------------
    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _housekeeper(self) -> None:
        while not self._stopping:
            try:
                await self._store_pause()
                if self.primary:
                    await self.start_due()
                    await self.report_progress()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("broadcast housekeeping failed; retrying")
            await self._sleep(self.tick)

    def _note_text(self, note: StartNote) -> str:
        return start_note_text(note, self.settings.tz)

    async def start_due(self) -> None:
        """Start the broadcasts whose time has come; a broadcast gets its progress message."""
        for started in await self.delivery.start_due(self._note_text):
            self._wake.set()
            if started.status != "running" or started.kind != "broadcast":
                continue
            if started.progress_message_id is not None:
                continue
            chat = started.progress_chat_id or self.settings.staff_chat_id
            if chat is None:
                continue
            sent = await self._staff_send(chat, starting_text(started.number or started.id, started.total))
            if sent is not None:
                await self.delivery.set_progress_message(started.id, chat, sent.message_id)

    async def report_progress(self) -> None:
        for progress in await self.delivery.progress():
            if progress.complete:
                finished = await self.delivery.finish(progress.broadcast.id, summary_text)
                if finished is not None:
                    await self._finished(finished)
            else:
                await self._edit_progress(progress)

    async def _edit_progress(self, progress: Progress) -> None:
        b = progress.broadcast
        if b.kind != "broadcast" or b.progress_chat_id is None or b.progress_message_id is None:
            return
        speed = self._speed.setdefault(b.id, _Speed())
        rate = speed.rate(progress.done)
        if time.monotonic() - speed.last_edit < self.progress_interval:
            return
        text = progress_text(progress, rate)
        if text == speed.last_text:
            return  # Telegram would refuse it as «not modified»: no slot spent on it
        speed.last_edit, speed.last_text = time.monotonic(), text
        markup = broadcast_cancel_keyboard(b.id)
        await self._staff_edit(b.progress_chat_id, b.progress_message_id, text, markup)

    async def _finished(self, finished: Finished) -> None:
        b = finished.broadcast
        self._sending.pop(b.id, None)
        self._speed.pop(b.id, None)
        if b.kind == "broadcast" and b.progress_chat_id is not None and b.progress_message_id is not None:
            await self._staff_edit(
                b.progress_chat_id, b.progress_message_id, summary_text(finished), None, final=True
            )
        # without a progress message the service queued the summary for the staff chat

    # --- staff messages -----------------------------------------------------------------------------
    async def _staff_send(self, chat_id: int, text: str) -> Message | None:
        if self._stopping and self._pause_left() > 0:
            return None  # stopped while Telegram still wants a pause: send nothing
        try:
            with sending_as(Priority.BULK):  # the broadcast's own traffic, in turn with its sends
                return await self.bot.send_message(chat_id, text)
        except TelegramRetryAfter as exc:
            await self._pause(float(exc.retry_after))
        except Exception:
            logger.warning("could not send a staff message to %s", chat_id, exc_info=True)
        return None

    async def _staff_edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None,
        *, final: bool = False,
    ) -> None:  # fmt: skip
        if self._stopping and self._pause_left() > 0:
            return
        try:
            # A progress edit is not retried on 5xx (the next one shows newer figures); the summary is.
            with sending_as(Priority.BULK, retry_server_errors=final):
                await self.bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                logger.warning("could not edit progress message: %s", exc.message)
        except TelegramRetryAfter as exc:
            await self._pause(float(exc.retry_after))
        except Exception:
            logger.warning("could not edit progress message", exc_info=True)
