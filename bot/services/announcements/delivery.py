"""The delivery worker: sends broadcasts and reminders from the persistent outbox.

It runs in the bot process (started on `dp.startup`), never inside a handler.

Exactly-at-most-once: every (broadcast, recipient) is one outbox row with a
unique key. A row is claimed with a conditional UPDATE (pending → sending) and
committed *before* the request goes out, and its result (sent / blocked /
failed, or pending again after a 429 or a retryable error) is committed after.
A row still `sending` when the worker starts was in flight when the process
died: Telegram may or may not have delivered it, so it becomes `uncertain` and
is never sent again. A send slot is released only after its result is written,
so at most `BROADCAST_CONCURRENCY` rows can ever be uncertain.

Speed: a global rate limiter (BROADCAST_RATE per second) paces the claims, and
up to BROADCAST_CONCURRENCY requests are in flight at once, so a slow round trip
does not lower the rate; one chat gets at most one message per second.
`TelegramRetryAfter` pauses all sending until a resume time stored in the
database, so the pause survives a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.html import escape
from bot.services.activity import Kind, record
from bot.services.announcements.broadcasts import state_counts
from bot.services.announcements.callbacks import (
    broadcast_cancel_keyboard,
    reminder_keyboard,
    unsubscribe_keyboard,
)
from bot.services.announcements.subscriptions import Target, recipients
from bot.services.when import moment_text
from bot.settings import Settings
from db.base import utcnow
from db.models import Broadcast, DeliveryPause, Event, OutboxMessage, User

logger = logging.getLogger(__name__)

PAUSE_KEY = "global"
CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
RETRY_DELAYS = (2.0, 8.0, 30.0)  # backoff for network errors and 5xx; then failed
LATE_GRACE = timedelta(minutes=2)  # a start later than this after its time is "late"
BATCH = 500


class RateLimiter:
    """Evenly spaced slots at `rate` per second (a token bucket).

    After a stall (a slow database write, a busy event loop) up to a quarter of a
    second of missed slots may be caught up, never more: over any window the
    count stays within rate × window + burst, which is what Telegram's own
    bucket allows.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.interval = 1.0 / rate
        self.burst = burst if burst is not None else max(1.0, rate / 4)
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            slot = max(self._next, now - (self.burst - 1) * self.interval)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)


@dataclass
class _Snapshot:
    """What the worker needs to send one broadcast (loaded once)."""

    id: int
    kind: str
    text: str
    event_id: int | None
    photo_file_id: str | None
    photo_data: bytes | None
    upload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def markup(self) -> InlineKeyboardMarkup:
        if self.kind == "reminder" and self.event_id is not None:
            return reminder_keyboard(self.event_id)
        return unsubscribe_keyboard()


@dataclass(frozen=True)
class _Outcome:
    state: str  # sent | blocked | failed | pending
    error: str | None = None
    retry_at: datetime | None = None  # set for a retryable error; None with "pending" means a 429
    deactivate: bool = False


@dataclass
class _Progress:
    last_edit: float = 0.0
    first_done: int | None = None
    first_at: float = 0.0


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} ч {minutes} мин"
    if minutes:
        return f"{minutes} мин {sec} с"
    return f"{sec} с"


class DeliveryWorker:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        tick: float = 0.5,
        progress_interval: float = 3.0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.tick = tick
        self.progress_interval = progress_interval
        self.retry_delays = retry_delays
        self.limiter = RateLimiter(settings.broadcast_rate)
        self._slots = asyncio.Semaphore(settings.broadcast_concurrency)
        self._db_lock = asyncio.Lock()
        self._results: asyncio.Queue[tuple[int, _Outcome, asyncio.Future[None]]] = asyncio.Queue()
        self._snapshots: dict[int, _Snapshot] = {}
        self._chat_last: dict[int, float] = {}
        self._progress: dict[int, _Progress] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._paused_until: datetime | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self.uncertain_at_start = 0

    # --- lifetime ---------------------------------------------------------------------
    async def start(self) -> None:
        await self.recover()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._writer(), name="delivery-writer"),
            loop.create_task(self._feeder(), name="delivery-feeder"),
            loop.create_task(self._housekeeper(), name="delivery-housekeeper"),
        ]
        logger.info(
            "delivery worker started: %.1f msg/s, %d in flight",
            self.settings.broadcast_rate,
            self.settings.broadcast_concurrency,
        )

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let requests in flight finish and their results be written."""
        self._stopping = True
        self._wake.set()
        if not self._tasks:  # never started
            return
        feeder, housekeeper, writer = self._tasks[1], self._tasks[2], self._tasks[0]
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(feeder), timeout=2.0)  # let it finish its group
        for task in (feeder, housekeeper):
            task.cancel()
        await asyncio.gather(feeder, housekeeper, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        logger.info("delivery worker stopped")

    def wake(self) -> None:
        """Look for due broadcasts now instead of at the next tick."""
        self._wake.set()

    async def recover(self) -> None:
        """Rows left `sending` by a dead process become `uncertain`; reload the pause."""
        async with self._db_lock, self.sessionmaker() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.state == "sending")
                .values(state="uncertain", error="in flight when the bot stopped", updated_at=utcnow())
            )
            self.uncertain_at_start = int(result.rowcount or 0)  # type: ignore[attr-defined]
            pause = await session.get(DeliveryPause, PAUSE_KEY)
            if pause is not None and pause.resume_at > utcnow():
                self._paused_until = pause.resume_at
            await session.commit()
        if self.uncertain_at_start:
            logger.warning(
                "%d message(s) were in flight when the bot stopped: marked uncertain, not re-sent",
                self.uncertain_at_start,
            )

    # --- pause after 429 --------------------------------------------------------------
    async def _pause(self, seconds: float) -> None:
        until = utcnow() + timedelta(seconds=seconds)
        if self._paused_until is not None and self._paused_until >= until:
            return
        self._paused_until = until
        logger.warning("Telegram asked to retry after %.0f s: all sending paused", seconds)
        async with self._db_lock, self.sessionmaker() as session:
            await session.merge(DeliveryPause(name=PAUSE_KEY, resume_at=until))
            await session.commit()

    async def _wait_pause(self) -> None:
        while self._paused_until is not None and not self._stopping:
            left = (self._paused_until - utcnow()).total_seconds()
            if left <= 0:
                self._paused_until = None
                break
            await asyncio.sleep(min(left, 1.0))

    # --- the feeder: claims rows and starts sends -----------------------------------------
    async def _feeder(self) -> None:
        while not self._stopping:
            try:
                started = await self._feed_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery feeder failed; retrying")
                started = 0
            if not started:
                await self._sleep(min(self.tick, 0.2))

    async def _feed_once(self) -> int:
        await self._wait_pause()
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.broadcast_id, OutboxMessage.user_id)
                    .join(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
                    .where(
                        OutboxMessage.state == "pending",
                        Broadcast.status == "running",
                        or_(
                            OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= utcnow()
                        ),
                    )
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
                )
            ).all()
        eligible: list[tuple[int, int, int]] = []
        chats: set[int] = set()
        now = time.monotonic()
        for row_id, broadcast_id, user_id in rows:
            if user_id in chats or now - self._chat_last.get(user_id, -CHAT_INTERVAL) < CHAT_INTERVAL:
                continue  # this chat got a message less than a second ago; come back later
            chats.add(user_id)
            eligible.append((row_id, broadcast_id, user_id))
        started = 0
        position = 0
        while position < len(eligible) and not self._stopping:
            # Claim as many rows as there are free send slots, in one transaction.
            await self._slots.acquire()
            group = [eligible[position]]
            position += 1
            while position < len(eligible) and not self._slots.locked():
                await self._slots.acquire()
                group.append(eligible[position])
                position += 1
            try:
                await self._wait_pause()
                if self._stopping:
                    raise asyncio.CancelledError
                claimed = await self._claim([row_id for row_id, _, _ in group])
            except BaseException:
                for _ in group:
                    self._slots.release()
                raise
            unsent = [row_id for row_id, _, _ in group if row_id in claimed]
            try:
                for row_id, broadcast_id, user_id in group:
                    if row_id not in claimed or self._stopping:
                        self._slots.release()
                        continue
                    snapshot = await self._snapshot(broadcast_id)
                    await self._wait_pause()
                    await self.limiter.acquire()
                    self._chat_last[user_id] = time.monotonic()
                    task = asyncio.get_running_loop().create_task(self._deliver(row_id, snapshot, user_id))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
                    unsent.remove(row_id)
                    started += 1
            finally:
                if unsent:  # claimed but never requested (stopping): give them back untouched
                    await asyncio.shield(self._unclaim(unsent))
        if len(self._chat_last) > 50_000:
            cutoff = time.monotonic() - CHAT_INTERVAL
            self._chat_last = {k: v for k, v in self._chat_last.items() if v > cutoff}
        return started

    async def _snapshot(self, broadcast_id: int) -> _Snapshot:
        snapshot = self._snapshots.get(broadcast_id)
        if snapshot is None:
            async with self.sessionmaker() as session:
                b = await session.get(Broadcast, broadcast_id)
                assert b is not None
                snapshot = _Snapshot(b.id, b.kind, b.text, b.event_id, b.photo_file_id, b.photo_data)
            self._snapshots[broadcast_id] = snapshot
        return snapshot

    async def _claim(self, row_ids: list[int]) -> set[int]:
        """pending → sending, committed before any request; returns the rows this worker got."""
        async with self._db_lock, self.sessionmaker() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(row_ids), OutboxMessage.state == "pending")
                .values(state="sending", attempts=OutboxMessage.attempts + 1, updated_at=utcnow())
                .returning(OutboxMessage.id)
            )
            claimed = {int(row_id) for row_id in result.scalars()}
            await session.commit()
        return claimed

    async def _unclaim(self, row_ids: list[int]) -> None:
        async with self._db_lock, self.sessionmaker() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(row_ids), OutboxMessage.state == "sending")
                .values(state="pending", attempts=OutboxMessage.attempts - 1, updated_at=utcnow())
            )
            await session.commit()

    # --- one send ---------------------------------------------------------------------
    async def _deliver(self, row_id: int, snapshot: _Snapshot, user_id: int) -> None:
        try:
            outcome = await self._send(snapshot, user_id, row_id)
        except Exception as exc:  # never lose the slot or the row
            logger.exception("unexpected error sending broadcast %s to %s", snapshot.id, user_id)
            outcome = _Outcome("failed", _short(exc))
        try:
            await self._write(row_id, outcome)
        finally:
            self._slots.release()

    async def _send(self, snapshot: _Snapshot, chat_id: int, row_id: int) -> _Outcome:
        try:
            await self._request(snapshot, chat_id)
        except TelegramRetryAfter as exc:
            await self._pause(float(exc.retry_after))
            return _Outcome("pending", _short(exc))  # not delivered: safe to send later
        except TelegramForbiddenError as exc:
            return _Outcome("blocked", _short(exc), deactivate=True)
        except TelegramBadRequest as exc:
            text = exc.message.lower()
            if "chat not found" in text or "user is deactivated" in text or "peer_id_invalid" in text:
                return _Outcome("blocked", _short(exc), deactivate=True)
            return _Outcome("failed", _short(exc))
        except (TelegramNetworkError, TelegramServerError, TimeoutError) as exc:
            attempts = await self._attempts(row_id)
            if attempts <= len(self.retry_delays):
                delay = self.retry_delays[attempts - 1]
                return _Outcome("pending", _short(exc), retry_at=utcnow() + timedelta(seconds=delay))
            return _Outcome("failed", f"gave up after {attempts} attempts: {_short(exc)}")
        return _Outcome("sent")

    async def _attempts(self, row_id: int) -> int:
        async with self.sessionmaker() as session:
            return int(
                await session.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == row_id)) or 1
            )

    async def _request(self, snapshot: _Snapshot, chat_id: int) -> None:
        markup = snapshot.markup()
        if snapshot.photo_file_id is None and snapshot.photo_data is not None:
            async with snapshot.upload_lock:  # upload the photo once, then reuse its file_id
                if snapshot.photo_file_id is None:
                    photo = BufferedInputFile(snapshot.photo_data, filename="photo.jpg")
                    message = await self.bot.send_photo(
                        chat_id, photo, caption=snapshot.text, reply_markup=markup
                    )
                    try:
                        await self._remember_photo(snapshot, message)
                    except Exception:  # the message is sent; only the reuse of the upload is lost
                        logger.warning("could not store the photo's file_id", exc_info=True)
                    return
        if snapshot.photo_file_id is not None:
            await self.bot.send_photo(
                chat_id, snapshot.photo_file_id, caption=snapshot.text, reply_markup=markup
            )
        else:
            await self.bot.send_message(chat_id, snapshot.text, reply_markup=markup)

    async def _remember_photo(self, snapshot: _Snapshot, message: Message) -> None:
        if not message.photo:
            return
        snapshot.photo_file_id = message.photo[-1].file_id
        async with self._db_lock, self.sessionmaker() as session:
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == snapshot.id)
                .values(photo_file_id=snapshot.photo_file_id)
            )
            await session.commit()

    # --- results ----------------------------------------------------------------------
    async def _write(self, row_id: int, outcome: _Outcome) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._results.put_nowait((row_id, outcome, future))
        await future

    async def _writer(self) -> None:
        """Write results in small transactions: whatever finished since the last commit."""
        while True:
            batch = [await self._results.get()]
            while not self._results.empty():
                batch.append(self._results.get_nowait())
            try:
                async with self._db_lock, self.sessionmaker() as session:
                    now = utcnow()
                    groups: dict[tuple[str, str | None, datetime | None], list[int]] = {}
                    for row_id, outcome, _ in batch:
                        groups.setdefault((outcome.state, outcome.error, outcome.retry_at), []).append(row_id)
                    for (state, error, retry_at), ids in groups.items():
                        values: dict[str, Any] = {
                            "state": state,
                            "error": error,
                            "next_attempt_at": retry_at,
                            "updated_at": now,
                        }
                        if state == "pending" and retry_at is None:
                            values["attempts"] = OutboxMessage.attempts - 1  # a 429 is not an attempt
                        await session.execute(
                            update(OutboxMessage)
                            .where(
                                OutboxMessage.id.in_(ids), OutboxMessage.state.in_(("sending", "uncertain"))
                            )
                            .values(**values)
                        )
                    blocked = [row_id for row_id, outcome, _ in batch if outcome.deactivate]
                    if blocked:
                        users = select(OutboxMessage.user_id).where(OutboxMessage.id.in_(blocked))
                        await session.execute(update(User).where(User.id.in_(users)).values(is_active=False))
                    await session.commit()
            except Exception:
                # The rows stay `sending` and become `uncertain` at the next start: never re-sent.
                logger.exception("could not record %d delivery result(s)", len(batch))
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)

    # --- housekeeping: start due broadcasts, progress, summaries ------------------------------
    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _housekeeper(self) -> None:
        while not self._stopping:
            try:
                await self.start_due()
                await self.report_progress()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery housekeeping failed; retrying")
            await self._sleep(self.tick)

    async def start_due(self) -> None:
        async with self.sessionmaker() as session:
            due = list(
                await session.scalars(
                    select(Broadcast.id)
                    .where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= utcnow())
                    .order_by(Broadcast.scheduled_at, Broadcast.id)
                )
            )
        for broadcast_id in due:
            await self._start(broadcast_id)

    async def _start(self, broadcast_id: int) -> None:
        notes: list[str] = []
        async with self._db_lock, self.sessionmaker() as session:
            now = utcnow()
            claimed = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled")
                .values(status="running", started_at=now)
            )
            if int(claimed.rowcount or 0) != 1:  # type: ignore[attr-defined]
                return  # another worker started it
            b = await session.get(Broadcast, broadcast_id)
            assert b is not None
            late = now - b.scheduled_at
            skip_reason = await self._reminder_skip_reason(session, b, now) if b.kind == "reminder" else None
            if skip_reason:
                b.status, b.finished_at, b.note = "cancelled", now, skip_reason
                notes.append(f"⚠️ Напоминание №{b.number or b.id} не отправлено: {escape(skip_reason)}.")
            else:
                ids = await recipients(session, Target.from_json(b.target))
                if ids:
                    await session.execute(
                        insert(OutboxMessage),
                        [
                            {"broadcast_id": b.id, "user_id": uid, "state": "pending", "attempts": 0}
                            for uid in ids
                        ],
                    )
                b.total = len(ids)
                if late > LATE_GRACE:
                    local = moment_text(b.scheduled_at, self.settings.timezone)
                    what = "Напоминание" if b.kind == "reminder" else "Рассылка"
                    planned = "было запланировано" if b.kind == "reminder" else "была запланирована"
                    b.note = f"started late by {int(late.total_seconds())} s"
                    notes.append(
                        f"⚠️ {what} №{b.number or b.id} {planned} на {local}, но бот в это время не работал. "
                        f"Отправляю сейчас, с опозданием на {_duration(late.total_seconds())}."
                    )
            await session.commit()
            number = b.number or b.id  # what staff see: counted among broadcasts
            kind, status, chat_id, message_id, total = (
                b.kind,
                b.status,
                b.progress_chat_id,
                b.progress_message_id,
                b.total,
            )
        for note in notes:
            await self._tell_staff(note)
        if status == "running" and kind == "broadcast" and message_id is None:
            chat = chat_id or self.settings.staff_chat_id
            if chat is not None:
                sent = await self._safe_send(
                    chat, f"📣 Рассылка №{number}: начинаю отправку (получателей: {total})."
                )
                if sent is not None:
                    async with self._db_lock, self.sessionmaker() as session:
                        await session.execute(
                            update(Broadcast)
                            .where(Broadcast.id == broadcast_id)
                            .values(progress_chat_id=chat, progress_message_id=sent.message_id)
                        )
                        await session.commit()
        self._wake.set()
        logger.info("broadcast %s started: %d recipients", broadcast_id, total)

    async def _reminder_skip_reason(self, session: AsyncSession, b: Broadcast, now: datetime) -> str | None:
        event = await session.get(Event, b.event_id) if b.event_id is not None else None
        if event is None:
            return "мероприятие удалено"
        if event.starts_at <= now:
            return f"мероприятие «{event.title}» уже началось"
        if b.dedup_key and b.dedup_key.endswith(":day") and event.starts_at - now <= timedelta(hours=2):
            return f"до мероприятия «{event.title}» меньше двух часов, уйдёт только второе напоминание"
        return None

    async def report_progress(self) -> None:
        async with self.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(Broadcast).where(
                        Broadcast.status.in_(("running", "cancelled")),
                        Broadcast.finished_at.is_(None),
                        Broadcast.started_at.is_not(None),
                    )
                )
            )
            counts = {b.id: await state_counts(session, b.id) for b in rows}
        for b in rows:
            c = counts[b.id]
            if c.get("pending", 0) + c.get("sending", 0) == 0 or (
                b.status == "cancelled" and c.get("sending", 0) == 0
            ):
                await self._finish(b, c)
            else:
                await self._edit_progress(b, c)

    def _progress_text(self, b: Broadcast, c: dict[str, int]) -> tuple[str, str]:
        done = c.get("sent", 0) + c.get("blocked", 0) + c.get("failed", 0) + c.get("uncertain", 0)
        left = c.get("pending", 0) + c.get("sending", 0)
        p = self._progress.setdefault(b.id, _Progress())
        now = time.monotonic()
        if p.first_done is None:
            p.first_done, p.first_at = done, now
        elapsed = now - p.first_at
        rate = (done - p.first_done) / elapsed if elapsed > 1 else 0.0
        eta = f", до конца ≈ {_duration(left / rate)}" if rate > 0 else ""
        body = (
            f"Доставлено: {c.get('sent', 0)} из {b.total}\n"
            f"Заблокировали бота: {c.get('blocked', 0)}\n"
            f"Ошибки: {c.get('failed', 0)}\n"
            + (f"Неизвестно (сбой во время отправки): {c['uncertain']}\n" if c.get("uncertain") else "")
            + f"Осталось: {left}"
        )
        speed = f"{rate:.1f}".replace(".", ",")  # a Russian decimal comma
        return body, f"Скорость: {speed} сообщ./с{eta}"

    async def _edit_progress(self, b: Broadcast, c: dict[str, int]) -> None:
        if b.kind != "broadcast" or b.progress_chat_id is None or b.progress_message_id is None:
            return
        p = self._progress.setdefault(b.id, _Progress())
        if time.monotonic() - p.last_edit < self.progress_interval:
            return
        body, speed = self._progress_text(b, c)
        p.last_edit = time.monotonic()
        await self._safe_edit(
            b.progress_chat_id,
            b.progress_message_id,
            f"📣 <b>Рассылка №{b.number or b.id}: идёт отправка</b>\n{body}\n{speed}",
            broadcast_cancel_keyboard(b.id, b.number),
        )

    async def _finish(self, b: Broadcast, c: dict[str, int]) -> None:
        async with self._db_lock, self.sessionmaker() as session:
            now = utcnow()
            new_status = "cancelled" if b.status == "cancelled" else "done"
            result = await session.execute(
                update(Broadcast)
                .where(Broadcast.id == b.id, Broadcast.finished_at.is_(None))
                .values(status=new_status, finished_at=now)
            )
            if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
                return
            reached = c.get("sent", 0)
            if b.kind == "broadcast":
                # user_id stays empty: the figure is `value` (people reached), not the author
                await record(session, Kind.BROADCAST_SENT, ref=str(b.id), value=reached,
                             municipality_id=Target.from_json(b.target).municipality)  # fmt: skip
            await session.commit()
        body, _ = self._progress_text(b, c)
        self._snapshots.pop(b.id, None)
        self._progress.pop(b.id, None)
        if b.kind != "broadcast":
            logger.info("reminder %s done: %s", b.id, c)
            return
        took = _duration((now - (b.started_at or now)).total_seconds())
        head = (
            f"⛔ <b>Рассылка №{b.number or b.id} остановлена</b>"
            if new_status == "cancelled"
            else f"✅ <b>Рассылка №{b.number or b.id} завершена</b> за {took}"
        )
        text = f"{head}\n{body}"
        if b.progress_chat_id is not None and b.progress_message_id is not None:
            await self._safe_edit(b.progress_chat_id, b.progress_message_id, text, None)
        elif self.settings.staff_chat_id is not None:
            await self._safe_send(self.settings.staff_chat_id, text)
        logger.info("broadcast %s %s: %s", b.id, new_status, c)

    # --- staff messages -----------------------------------------------------------------
    async def _tell_staff(self, text: str) -> None:
        if self.settings.staff_chat_id is None:
            logger.warning("no STAFF_CHAT_ID to tell: %s", text)
            return
        await self._safe_send(self.settings.staff_chat_id, text)

    async def _safe_send(self, chat_id: int, text: str) -> Message | None:
        for _ in range(3):
            await self._wait_pause()
            if self._stopping and self._paused_until is not None:
                return None  # stopped while Telegram still wants a pause: send nothing
            await self.limiter.acquire()
            try:
                return await self.bot.send_message(chat_id, text)
            except TelegramRetryAfter as exc:
                await self._pause(float(exc.retry_after))
            except Exception:
                logger.warning("could not send a staff message to %s", chat_id, exc_info=True)
                return None
        return None

    async def _safe_edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        await self._wait_pause()
        if self._stopping and self._paused_until is not None:
            return
        await self.limiter.acquire()
        try:
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
