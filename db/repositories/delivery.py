"""Delivery of broadcasts: the only code that queries the outbox rows and the 429 pause for sending.

The broadcast outbox is at most once: a row is claimed `pending → sending` (committed
before the request), its result is written after, and a row found `sending` when a
worker starts was in flight when the process died and becomes `uncertain`, never
sent again. The repository works in the caller's unit of work and never commits; it
returns frozen records, never ORM rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.identity import MAX, MAX_ID_BASE
from db.models import Broadcast, DeliveryPause, OutboxMessage, User
from db.repositories.announcements import Target

PAUSE_KEY = "global"
FAN_OUT_CHUNK = 5000  # outbox rows per INSERT when a broadcast starts


@dataclass(frozen=True)
class DueRow:
    """An outbox row ready to be sent."""

    id: int
    broadcast_id: int
    user_id: int


@dataclass(frozen=True)
class BroadcastContent:
    """What a worker needs to send one broadcast (read once per broadcast)."""

    id: int
    kind: str  # broadcast | reminder
    text: str  # Telegram HTML, checked when it was recorded
    event_id: int | None
    photo_file_id: str | None
    photo_data: bytes | None


@dataclass(frozen=True)
class DueBroadcast:
    """A scheduled broadcast whose time has come."""

    id: int
    kind: str
    target: Target
    event_id: int | None
    dedup_key: str | None
    scheduled_at: datetime
    number: int | None = None  # what staff see: numbered among broadcasts (or among reminders)


@dataclass(frozen=True)
class UnfinishedBroadcast:
    """A started broadcast not yet summed up (running, or cancelled while running)."""

    id: int
    kind: str
    status: str  # running | cancelled
    total: int
    target: Target
    started_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None
    number: int | None = None  # what staff see: numbered among broadcasts (or among reminders)

    @property
    def shown_number(self) -> int:
        return self.number or self.id


@dataclass(frozen=True)
class DeliveryResult:
    """How one claimed row ended.

    state: sent | blocked | failed | pending (sent again later). A `pending` result with no
    `retry_at` is a 429 the sender gave up waiting on: not delivered, and not an attempt."""

    row_id: int
    state: str
    error: str | None = None
    retry_at: datetime | None = None
    deactivate: bool = False  # the person blocked the bot or is gone


def _unfinished(b: Broadcast) -> UnfinishedBroadcast:
    return UnfinishedBroadcast(
        id=b.id,
        kind=b.kind,
        status=b.status,
        total=b.total,
        target=Target.from_json(b.target or {}),
        started_at=b.started_at,
        progress_chat_id=b.progress_chat_id,
        progress_message_id=b.progress_message_id,
        number=b.number,
    )


class DeliveryRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- start-up and the pause -------------------------------------------------------
    async def mark_in_flight_uncertain(self, now: datetime) -> int:
        """Rows left `sending` by a process that died become `uncertain`; how many."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "sending")
            .values(state="uncertain", error="in flight when the bot stopped", updated_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def paused_until(self) -> datetime | None:
        pause = await self.session.get(DeliveryPause, PAUSE_KEY, populate_existing=True)
        return pause.resume_at if pause is not None else None

    async def set_pause(self, until: datetime) -> None:
        """Store the end of a 429 pause (it survives a restart)."""
        await self.session.merge(DeliveryPause(name=PAUSE_KEY, resume_at=until))
        await self.session.flush()

    # --- rows -------------------------------------------------------------------------------
    async def due_rows(self, now: datetime, limit: int, channel: str | None = None) -> list[DueRow]:
        """Pending rows of running broadcasts whose retry time (if any) has come, oldest first;
        with `channel`, only rows of that channel's people (db/identity.py)."""
        where = [
            OutboxMessage.state == "pending",
            Broadcast.status == "running",
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        ]
        if channel == MAX:
            where.append(OutboxMessage.user_id >= MAX_ID_BASE)
        elif channel is not None:
            where.append(OutboxMessage.user_id < MAX_ID_BASE)
        rows = await self.session.execute(
            select(OutboxMessage.id, OutboxMessage.broadcast_id, OutboxMessage.user_id)
            .join(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
            .where(*where)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return [DueRow(int(i), int(b), int(u)) for i, b, u in rows]

    async def claim(self, row_ids: Sequence[int], now: datetime) -> dict[int, int]:
        """pending → sending; the rows this caller got, each with its attempt number."""
        if not row_ids:
            return {}
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.state == "pending")
            .values(state="sending", attempts=OutboxMessage.attempts + 1, updated_at=now)
            .returning(OutboxMessage.id, OutboxMessage.attempts)
        )
        return {int(row_id): int(attempts) for row_id, attempts in result.all()}

    async def unclaim(self, row_ids: Sequence[int], now: datetime) -> None:
        """Rows claimed but never requested go back to `pending`, the attempt not counted."""
        if not row_ids:
            return
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.state == "sending")
            .values(state="pending", attempts=OutboxMessage.attempts - 1, updated_at=now)
        )

    async def record(self, results: Iterable[DeliveryResult], now: datetime) -> None:
        """Write the results of claimed rows; the people who blocked the bot become inactive.

        A row a restart marked `uncertain` in the meantime still takes its result."""
        results = list(results)
        groups: dict[tuple[str, str | None, datetime | None], list[int]] = {}
        for r in results:
            groups.setdefault((r.state, r.error, r.retry_at), []).append(r.row_id)
        for (state, error, retry_at), ids in groups.items():
            values: dict[str, Any] = {
                "state": state,
                "error": error,
                "next_attempt_at": retry_at,
                "updated_at": now,
            }
            if state == "pending" and retry_at is None:
                values["attempts"] = OutboxMessage.attempts - 1  # a 429 is not an attempt
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.state.in_(("sending", "uncertain")))
                .values(**values)
            )
        gone = [r.row_id for r in results if r.deactivate]
        if gone:
            users = select(OutboxMessage.user_id).where(OutboxMessage.id.in_(gone))
            await self.session.execute(update(User).where(User.id.in_(users)).values(is_active=False))

    # --- broadcasts -------------------------------------------------------------------------
    async def content(self, broadcast_id: int) -> BroadcastContent | None:
        b = await self.session.get(Broadcast, broadcast_id)
        if b is None:
            return None
        return BroadcastContent(b.id, b.kind, b.text, b.event_id, b.photo_file_id, b.photo_data)

    async def set_photo_file_id(self, broadcast_id: int, file_id: str) -> None:
        await self.session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(photo_file_id=file_id)
        )

    async def due_broadcasts(self, now: datetime) -> list[DueBroadcast]:
        rows = await self.session.scalars(
            select(Broadcast)
            .where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now)
            .order_by(Broadcast.scheduled_at, Broadcast.id)
        )
        return [
            DueBroadcast(
                b.id,
                b.kind,
                Target.from_json(b.target or {}),
                b.event_id,
                b.dedup_key,
                b.scheduled_at,
                b.number,
            )
            for b in rows
        ]

    async def mark_started(self, broadcast_id: int, now: datetime) -> bool:
        """scheduled → running; False when another worker started it or it was cancelled."""
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled")
            .values(status="running", started_at=now)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def fan_out(self, broadcast_id: int, user_ids: Sequence[int], note: str | None) -> None:
        """One pending outbox row per recipient; `total` is their number."""
        for start in range(0, len(user_ids), FAN_OUT_CHUNK):
            await self.session.execute(
                insert(OutboxMessage),
                [
                    {"broadcast_id": broadcast_id, "user_id": uid, "state": "pending", "attempts": 0}
                    for uid in user_ids[start : start + FAN_OUT_CHUNK]
                ],
            )
        await self.session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(total=len(user_ids), note=note)
        )

    async def drop_started(self, broadcast_id: int, now: datetime, note: str) -> None:
        """A started reminder that must not go out after all: cancelled and finished at once."""
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status="cancelled", finished_at=now, note=note[:300])
        )

    async def unfinished(self) -> list[UnfinishedBroadcast]:
        rows = await self.session.scalars(
            select(Broadcast)
            .where(
                Broadcast.status.in_(("running", "cancelled")),
                Broadcast.finished_at.is_(None),
                Broadcast.started_at.is_not(None),
            )
            .order_by(Broadcast.id)
        )
        return [_unfinished(b) for b in rows]

    async def get_unfinished(self, broadcast_id: int) -> UnfinishedBroadcast | None:
        b = await self.session.get(Broadcast, broadcast_id, populate_existing=True)
        return _unfinished(b) if b is not None and b.finished_at is None else None

    async def state_counts_of(self, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Outbox rows by state for several broadcasts in one query."""
        counts: dict[int, dict[str, int]] = {i: {} for i in broadcast_ids}
        if not broadcast_ids:
            return counts
        rows = await self.session.execute(
            select(OutboxMessage.broadcast_id, OutboxMessage.state, func.count())
            .where(OutboxMessage.broadcast_id.in_(list(broadcast_ids)))
            .group_by(OutboxMessage.broadcast_id, OutboxMessage.state)
        )
        for broadcast_id, state, n in rows:
            counts[int(broadcast_id)][str(state)] = int(n)
        return counts

    async def mark_finished(self, broadcast_id: int, now: datetime) -> str | None:
        """Sum a broadcast up once: `done`, or `cancelled` when staff stopped it; None when
        another worker already did."""
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.finished_at.is_(None))
            .values(
                status=case((Broadcast.status == "cancelled", "cancelled"), else_="done"), finished_at=now
            )
            .returning(Broadcast.status)
        )
        status = result.scalar_one_or_none()
        return str(status) if status is not None else None
