"""Delivering broadcasts and reminders: every database step of the broadcast worker.

The worker (bot/workers/broadcasts.py) is the Telegram side: it sends, paces and shows
the progress. Each step it needs from the database is one short unit of work here, and
none of them is held across a request:

- `recover` at start: rows still `sending` were in flight when the process died;
  Telegram may or may not have delivered them, so they become `uncertain` and are never
  sent again (at most once). The stored 429 pause is read back.
- `claim` (pending → sending) commits *before* the request; `record` writes the results
  after it, a few at a time; `unclaim` gives back rows never requested (stopping).
- `start_due` starts the broadcasts whose time has come (scheduled → running and one
  outbox row per recipient, in one unit); a start later than its time, or a reminder
  that must not go out any more, is told to staff through the notice outbox, queued in
  the same unit, so the note survives a restart.
- `progress` reads the counts; `finish` sums a broadcast up once (and logs
  `broadcast.sent`).
- `pause_until` stores the end of a 429 pause so that a restart waits too.

Texts for people are the worker's (bot/views/announcements.py): the service takes a
renderer where a notice is queued in its unit, as the other services do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.services.outbox import NoticeDraft, OutboxService
from bot.settings import Settings
from db.base import utcnow
from db.repositories.activity import ActivityRepo, Kind
from db.repositories.announcements import BroadcastRecord, BroadcastRepo, EventRepo
from db.repositories.delivery import (
    BroadcastContent,
    DeliveryRepo,
    DeliveryResult,
    DueBroadcast,
    DueRow,
    UnfinishedBroadcast,
)
from db.uow import Database, UnitOfWork

__all__ = [
    "BATCH",
    "LATE_GRACE",
    "BroadcastContent",
    "DeliveryResult",
    "DeliveryService",
    "DueRow",
    "Finished",
    "Progress",
    "Recovery",
    "StartNote",
    "Started",
    "UnfinishedBroadcast",
]

logger = logging.getLogger(__name__)

LATE_GRACE = timedelta(minutes=2)  # a start later than this after its time is "late"
BATCH = 500  # due rows read at once


@dataclass(frozen=True)
class Recovery:
    uncertain: int  # rows in flight when the process died, now `uncertain`
    paused_until: datetime | None  # a 429 pause still running, if any


@dataclass(frozen=True)
class StartNote:
    """What staff are told when a broadcast starts: it is late, or a reminder is skipped."""

    broadcast_id: int
    kind: str  # broadcast | reminder
    scheduled_at: datetime  # aware UTC
    late_by: float  # seconds after its time
    skipped: str | None = None  # plain text: why the reminder is not sent
    number: int | None = None  # what staff see (numbered among its kind)

    @property
    def shown_number(self) -> int:
        return self.number or self.broadcast_id


@dataclass(frozen=True)
class Started:
    id: int
    kind: str
    status: str  # running, or cancelled (a reminder skipped)
    total: int
    progress_chat_id: int | None
    progress_message_id: int | None
    number: int | None = None  # what staff see (numbered among its kind)


@dataclass(frozen=True)
class Progress:
    """A started broadcast with its outbox rows by state."""

    broadcast: UnfinishedBroadcast
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        c = self.counts
        return c.get("sent", 0) + c.get("blocked", 0) + c.get("failed", 0) + c.get("uncertain", 0)

    @property
    def left(self) -> int:
        return self.counts.get("pending", 0) + self.counts.get("sending", 0)

    @property
    def complete(self) -> bool:
        """Nothing left to send, or cancelled and nothing in flight any more."""
        in_flight = self.counts.get("sending", 0)
        return self.left == 0 or (self.broadcast.status == "cancelled" and in_flight == 0)


@dataclass(frozen=True)
class Finished:
    broadcast: UnfinishedBroadcast
    status: str  # done | cancelled
    counts: dict[str, int]
    finished_at: datetime

    @property
    def took(self) -> float:
        started = self.broadcast.started_at or self.finished_at
        return (self.finished_at - started).total_seconds()


NoteRenderer = Callable[[StartNote], str]
SummaryRenderer = Callable[[Finished], str]


class DeliveryService:
    def __init__(self, database: Database, settings: Settings, outbox: OutboxService) -> None:
        self.database = database
        self.settings = settings
        self.outbox = outbox

    # --- start-up and the 429 pause ----------------------------------------------------------
    async def recover(self) -> Recovery:
        async with self.database.write() as uow:
            repo = uow.repo(DeliveryRepo)
            uncertain = await repo.mark_in_flight_uncertain(utcnow())
            paused_until = await repo.paused_until()
        if paused_until is not None and paused_until <= utcnow():
            paused_until = None
        return Recovery(uncertain, paused_until)

    async def pause_until(self, until: datetime) -> None:
        async with self.database.write() as uow:
            await uow.repo(DeliveryRepo).set_pause(until)

    # --- rows ----------------------------------------------------------------------------------
    async def due_rows(self, limit: int = BATCH, channel: str | None = None) -> list[DueRow]:
        """Due rows, of one channel's people ('tg', 'max') or of all."""
        async with self.database.read() as uow:
            rows = await uow.repo(DeliveryRepo).due_rows(utcnow(), limit, channel)
        return rows

    async def claim(self, row_ids: Sequence[int]) -> dict[int, int]:
        """pending → sending, committed before any request: the rows this worker got, each with
        its attempt number (1 for the first)."""
        async with self.database.write() as uow:
            claimed = await uow.repo(DeliveryRepo).claim(row_ids, utcnow())
        return claimed

    async def unclaim(self, row_ids: Sequence[int]) -> None:
        async with self.database.write() as uow:
            await uow.repo(DeliveryRepo).unclaim(row_ids, utcnow())

    async def record(self, results: Sequence[DeliveryResult]) -> None:
        async with self.database.write() as uow:
            await uow.repo(DeliveryRepo).record(results, utcnow())

    async def content(self, broadcast_id: int) -> BroadcastContent | None:
        async with self.database.read() as uow:
            content = await uow.repo(DeliveryRepo).content(broadcast_id)
        return content

    async def remember_photo(self, broadcast_id: int, file_id: str) -> None:
        """The uploaded photo's file_id: the other recipients get it without a new upload."""
        async with self.database.write() as uow:
            await uow.repo(DeliveryRepo).set_photo_file_id(broadcast_id, file_id)

    # --- starting ------------------------------------------------------------------------------
    async def start_due(self, render_note: NoteRenderer) -> list[Started]:
        """Start every broadcast whose time has come, each in a unit of its own."""
        async with self.database.read() as uow:
            due = await uow.repo(DeliveryRepo).due_broadcasts(utcnow())
        started: list[Started] = []
        for broadcast in due:
            result = await self._start(broadcast, render_note)
            if result is not None:
                started.append(result)
        return started

    async def _start(self, b: DueBroadcast, render_note: NoteRenderer) -> Started | None:
        # Who gets it and whether a reminder still makes sense are read before the write turn.
        now = utcnow()
        async with self.database.read() as uow:
            skipped = await self._reminder_skip_reason(uow.repo(EventRepo), b, now)
            ids = [] if skipped else await uow.repo(BroadcastRepo).recipients(b.target)
        late = (now - b.scheduled_at).total_seconds()
        note: StartNote | None = None
        async with self.database.write() as uow:
            repo = uow.repo(DeliveryRepo)
            if not await repo.mark_started(b.id, now):
                return None  # another worker started it, or staff cancelled it meanwhile
            if skipped:
                await repo.drop_started(b.id, now, skipped)
                note = StartNote(b.id, b.kind, b.scheduled_at, late, skipped, b.number)
            else:
                is_late = now - b.scheduled_at > LATE_GRACE
                await repo.fan_out(b.id, ids, f"started late by {int(late)} s" if is_late else None)
                if is_late:
                    note = StartNote(b.id, b.kind, b.scheduled_at, late, number=b.number)
            if note is not None:
                await self._tell_staff(uow, note, render_note)
            record = await repo.get_unfinished(b.id)
        status = "cancelled" if skipped else "running"
        logger.info("%s %s %s: %d recipients", b.kind, b.id, "skipped" if skipped else "started", len(ids))
        return Started(
            b.id,
            b.kind,
            status,
            len(ids),
            record.progress_chat_id if record is not None else None,
            record.progress_message_id if record is not None else None,
            b.number,
        )

    @staticmethod
    async def _reminder_skip_reason(events: EventRepo, b: DueBroadcast, now: datetime) -> str | None:
        if b.kind != "reminder":
            return None
        event = await events.get(b.event_id) if b.event_id is not None else None
        if event is None:
            return "мероприятие удалено"
        if event.starts_at <= now:
            return f"мероприятие «{event.title}» уже началось"
        if b.dedup_key and b.dedup_key.endswith(":day") and event.starts_at - now <= timedelta(hours=2):
            return f"до мероприятия «{event.title}» меньше двух часов, уйдёт только второе напоминание"
        return None

    async def _tell_staff(self, uow: UnitOfWork, note: StartNote, render_note: NoteRenderer) -> None:
        chat_id = self.settings.staff_chat_id
        text = render_note(note)
        if chat_id is None:
            logger.warning("no STAFF_CHAT_ID to tell: %s", text)
            return
        what = "skipped" if note.skipped else "late"
        draft = NoticeDraft(
            chat_id=chat_id,
            text=text,
            purpose="staff_notice",
            ref=f"broadcast:{note.broadcast_id}",
            dedup_key=f"broadcast:{note.broadcast_id}:{what}",
        )
        await self.outbox.enqueue(uow, draft)

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> bool:
        """The message the worker edits with the progress, unless one is chosen already."""
        async with self.database.write() as uow:
            changed = await uow.repo(BroadcastRepo).set_progress_message(broadcast_id, chat_id, message_id)
        return changed

    # --- progress and the end ------------------------------------------------------------------
    async def progress(self) -> list[Progress]:
        """Every started broadcast not yet summed up, with its counts (a read: no write turn)."""
        async with self.database.read() as uow:
            repo = uow.repo(DeliveryRepo)
            unfinished = await repo.unfinished()
            counts = await repo.state_counts_of([b.id for b in unfinished])
        return [Progress(b, counts[b.id]) for b in unfinished]

    async def finish(self, broadcast_id: int, render_summary: SummaryRenderer) -> Finished | None:
        """Sum the broadcast up once: `done` (or `cancelled`), the people reached logged as
        `broadcast.sent`. With no progress message to edit, the summary goes to the staff chat
        through the notice outbox. None when another worker did it already."""
        now = utcnow()
        async with self.database.write() as uow:
            repo = uow.repo(DeliveryRepo)
            broadcast = await repo.get_unfinished(broadcast_id)
            if broadcast is None:
                return None
            status = await repo.mark_finished(broadcast_id, now)
            if status is None:
                return None
            counts = (await repo.state_counts_of([broadcast_id]))[broadcast_id]
            finished = Finished(broadcast, status, counts, now)
            if broadcast.kind == "broadcast":
                # user_id stays empty: the figure is `value` (people reached), not the author
                await uow.repo(ActivityRepo).record(
                    Kind.BROADCAST_SENT, ref=str(broadcast_id), value=counts.get("sent", 0),
                    municipality_id=broadcast.target.municipality,
                )  # fmt: skip
                chat_id = self.settings.staff_chat_id
                if broadcast.progress_message_id is None and chat_id is not None:
                    draft = NoticeDraft(
                        chat_id=chat_id,
                        text=render_summary(finished),
                        purpose="staff_notice",
                        ref=f"broadcast:{broadcast_id}",
                        dedup_key=f"broadcast:{broadcast_id}:summary",
                    )
                    await self.outbox.enqueue(uow, draft)
        logger.info("%s %s %s: %s", broadcast.kind, broadcast_id, status, counts)
        return finished

    # --- reading -------------------------------------------------------------------------------
    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Outbox rows of one broadcast by state."""
        async with self.database.read() as uow:
            counts = await uow.repo(BroadcastRepo).state_counts(broadcast_id)
        return counts

    async def broadcast(self, broadcast_id: int) -> BroadcastRecord | None:
        async with self.database.read() as uow:
            record = await uow.repo(BroadcastRepo).get(broadcast_id)
        return record
