"""The bot's own activity log, counted by the annual report.

Each feature records what it did with `record()`, choosing one of the kinds
below; the report aggregates by kind (events and distinct people), so adding a
feature never touches the report code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from db.base import utcnow
from db.models import ActivityEvent
from db.uow import Database


class Kind(StrEnum):
    # FAQ: topic = entry id, outcome = answer | suggest | fallback | smalltalk
    FAQ_QUESTION = "faq.question"
    # Hand-off to staff: ref = question id; HANDOFF_ANSWERED has value = seconds waited
    HANDOFF_CREATED = "handoff.created"
    HANDOFF_ANSWERED = "handoff.answered"
    # Program search: topic = direction (or None), age = age (or None), value = results found
    PROGRAM_SEARCH = "catalogue.search"
    PROGRAM_VIEW = "catalogue.view"
    # Broadcast finished: ref = broadcast id, value = recipients reached
    BROADCAST_SENT = "broadcast.sent"
    # Open days and other events: ref = event id, topic = event title
    EVENT_SIGNUP = "event.signup"
    EVENT_SIGNUP_CANCELLED = "event.signup_cancelled"
    SUBSCRIBED = "subscription.on"
    UNSUBSCRIBED = "subscription.off"


async def record(
    session: AsyncSession,
    kind: Kind,
    *,
    user_id: int | None = None,
    municipality_id: str | None = None,
    topic: str | None = None,
    outcome: str | None = None,
    age: int | None = None,
    value: float | None = None,
    ref: str | None = None,
    occurred_at: datetime | None = None,
) -> None:
    """Record one activity row, written only if the caller's transaction commits.

    With an `ActivityWriter` running for the session's engine (the bot), the row is kept
    in `session.info` and handed to the writer when the transaction commits (dropped on
    rollback); the writer inserts it in a batch shortly after. Without one (CLI, tests,
    scripts) the row is added to the session and inserted in the same transaction.
    """
    row = {
        "occurred_at": occurred_at or utcnow(),
        "kind": str(kind),
        "user_id": user_id,
        "municipality_id": municipality_id,
        "topic": topic[:128] if topic else topic,
        "outcome": outcome,
        "age": age,
        "value": value,
        "ref": ref,
    }
    writer = _WRITERS.get(session.sync_session.bind) if _WRITERS else None
    if writer is None:
        session.add(ActivityEvent(**row))
        return
    if not session.in_transaction():
        session.sync_session.begin()  # as session.add() would: the row belongs to this transaction
    session.info.setdefault(_PENDING, []).append(row)


def forget_buffered(session: AsyncSession, user_id: int, anonymous_id: int) -> None:
    """Make rows of `user_id` not yet written by the writer anonymous too, once `session` commits.

    `/forget` rewrites the user's rows in the table; rows still waiting in the writer's
    buffer (or in a batch being written) would otherwise arrive later with the real id.
    """
    if _WRITERS:
        session.info.setdefault(_FORGOTTEN, []).append((user_id, anonymous_id))


# --- deferred writing -------------------------------------------------------------------

_PENDING = "mocbot_activity"
_FORGOTTEN = "mocbot_activity_forgotten"
_MARKS = "mocbot_activity_marks"
_WRITER = "mocbot_activity_writer"
_WRITERS: dict[Any, ActivityWriter] = {}

logger = logging.getLogger(__name__)


class ActivityWriter:
    """Inserts committed activity rows in batches, off the update's hot path.

    `start()` registers it for its engine: from then on `record()` only appends a dict to
    the session, and the session's commit hands the rows here. A background task writes
    them with one executemany INSERT per batch every `interval` seconds or as soon as
    `batch_size` rows wait. `stop()` unregisters it (new rows go the synchronous way
    again) and writes everything still buffered.
    """

    def __init__(self, database: Database, *, interval: float = 0.5, batch_size: int = 500) -> None:
        self.database = database
        self.engine = database.engine
        self.interval = interval
        self.batch_size = batch_size
        self._buffer: list[dict[str, Any]] = []
        # Other log tables (e.g. FAQ questions): rows inserted with the next batch, same turn.
        self._tables: dict[Any, list[dict[str, Any]]] = {}
        self._late: dict[int, int] = {}  # forgotten while a batch was being written
        self._wake = asyncio.Event()
        self._stopping = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.written = 0
        self.batches = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._stopping

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def idle(self) -> bool:
        return not self._buffer and not self._tables

    async def start(self) -> None:
        key = self.engine.sync_engine
        if key in _WRITERS:
            raise RuntimeError("an activity writer is already running for this engine")
        self._stopping = False
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="activity-writer")
        _WRITERS[key] = self

    async def stop(self) -> None:
        """Unregister, wait for the loop to end and write everything that is left."""
        if _WRITERS.get(self.engine.sync_engine) is self:
            del _WRITERS[self.engine.sync_engine]
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        try:
            await self.flush()
        except Exception:
            # Shutdown goes on (storage, engine); the rows are lost, and the log says how many.
            logger.exception("activity writer: %d activity rows could not be written", len(self._buffer))
        self._closed = True

    def put(self, rows: list[dict[str, Any]]) -> None:
        """Rows of a committed transaction (called from the session's after_commit hook)."""
        if self._closed:
            # Only reachable when a commit finishes after stop() has written the last batch.
            logger.error("activity writer stopped: %d committed activity rows not written", len(rows))
            return
        self._buffer.extend(rows)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    def put_rows(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """Log rows of another table (an ORM model), written in the next batch."""
        if self._closed:
            logger.error("activity writer stopped: %d %s rows not written", len(rows), table)
            return
        self._tables.setdefault(table, []).extend(rows)
        if sum(len(v) for v in self._tables.values()) >= self.batch_size:
            self._wake.set()

    @property
    def pending_tables(self) -> int:
        return sum(len(v) for v in self._tables.values())

    def forgotten(self, user_id: int, anonymous_id: int) -> None:
        """A committed /forget: anonymise the user's buffered rows and any batch in flight."""
        for row in self._buffer:
            if row["user_id"] == user_id:
                row["user_id"] = anonymous_id
        if self._lock.locked():
            self._late[user_id] = anonymous_id

    async def flush(self) -> None:
        """Write all buffered rows now, batch by batch."""
        async with self._lock:
            while self._tables:
                table, rows = self._tables.popitem()
                try:
                    async with self.database.write() as uow:
                        await uow.session.execute(insert(table), rows)
                except BaseException:
                    self._tables.setdefault(table, [])[:0] = rows  # kept for the next attempt
                    raise
            while self._buffer:
                batch = self._buffer[: self.batch_size]
                del self._buffer[: self.batch_size]
                self._late.clear()
                try:
                    async with self.database.write() as uow:  # takes its turn with every other writer
                        await uow.session.execute(insert(ActivityEvent), batch)
                except BaseException:
                    self._buffer[:0] = batch  # kept for the next attempt
                    raise
                self.written += len(batch)
                self.batches += 1
                while self._late:
                    late, self._late = self._late, {}
                    async with self.database.write() as uow:
                        for user_id, anonymous_id in late.items():
                            await uow.session.execute(
                                update(ActivityEvent)
                                .where(ActivityEvent.user_id == user_id)
                                .values(user_id=anonymous_id)
                            )

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            if self._stopping:
                break
            try:
                await self.flush()
            except Exception:
                logger.exception("writing %d activity rows failed; retrying", len(self._buffer))


def _writer_for(session: Session) -> ActivityWriter | None:
    return _WRITERS.get(session.bind) if _WRITERS else None


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its rows stay pending until the whole transaction commits
    rows = session.info.get(_PENDING)
    writer = _writer_for(session)
    if writer is not None:
        # The writer that takes the rows, even if stop() unregisters it while the commit runs.
        if rows or session.info.get(_FORGOTTEN):
            session.info[_WRITER] = writer
    elif rows:
        # The writer stopped between record() and this commit: insert in this transaction.
        session.execute(insert(ActivityEvent), list(rows))
        rows.clear()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info or session.in_nested_transaction():
        return
    rows = session.info.pop(_PENDING, None)
    forgotten = session.info.pop(_FORGOTTEN, None)
    writer = session.info.pop(_WRITER, None)
    if writer is None:
        return
    if rows:
        writer.put(rows)
    for user_id, anonymous_id in forgotten or ():
        writer.forgotten(user_id, anonymous_id)


@event.listens_for(Session, "after_transaction_create")
def _after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested and session.info.get(_PENDING):
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info[_PENDING])


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if not session.info:
        return
    if previous_transaction.nested:
        # A savepoint rolled back: drop only what was recorded inside it.
        mark = session.info.get(_MARKS, {}).pop(previous_transaction, 0)
        del session.info.get(_PENDING, [])[mark:]
    else:
        _discard(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if session.info and transaction.parent is None and not transaction.nested:
        _discard(session)  # closed without a commit: nothing of it is written


def _discard(session: Session) -> None:
    for key in (_PENDING, _FORGOTTEN, _MARKS, _WRITER):
        session.info.pop(key, None)


class ActivityRepo:
    """The activity log for a unit of work: `uow.repo(ActivityRepo).record(Kind.X, ...)`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, kind: Kind, **fields: Any) -> None:
        await record(self.session, kind, **fields)

    def forget_buffered(self, user_id: int, anonymous_id: int) -> None:
        forget_buffered(self.session, user_id, anonymous_id)


class ActivityLogRepo:
    """Per-person queries of the activity log (/mydata, /forget)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_of_user(self, user_id: int) -> int:
        from sqlalchemy import func, select

        count = await self.session.scalar(select(func.count()).where(ActivityEvent.user_id == user_id))
        return int(count or 0)

    async def anonymise(self, user_id: int, anonymous_id: int) -> None:
        forget_buffered(self.session, user_id, anonymous_id)
        await self.session.execute(
            update(ActivityEvent).where(ActivityEvent.user_id == user_id).values(user_id=anonymous_id)
        )
