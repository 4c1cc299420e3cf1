"""The outbox for messages to other people: services queue, the notice worker sends.

A service that tells someone other than the current person (a hand-off to the staff
chat, a specialist's answer to a parent, the morning digest) calls `enqueue()` inside
its own write unit of work: the row commits with the change it reports, and the worker
is woken after the commit. The worker (bot/workers/notices.py) claims, sends and
records each row through the methods below, each one short unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from db.base import utcnow
from db.repositories.notices import RETENTION, NoticeDraft, NoticeRecord, NoticeRepo
from db.uow import Database, UnitOfWork

logger = logging.getLogger(__name__)

__all__ = ["NoticeDraft", "NoticeRecord", "OutboxService"]


class OutboxService:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._listeners: list[Callable[[], None]] = []

    def on_new(self, listener: Callable[[], None]) -> None:
        """Called after a commit that queued something (the worker's wake-up)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    async def enqueue(self, uow: UnitOfWork, draft: NoticeDraft) -> None:
        """Queue `draft` in the caller's write unit; it is sent only if that unit commits."""
        await uow.repo(NoticeRepo).add(draft)
        uow.after_commit(self._notify)

    async def send_later(self, draft: NoticeDraft) -> None:
        """Queue `draft` in a unit of its own."""
        async with self.database.write() as uow:
            await self.enqueue(uow, draft)

    # --- the worker's side ------------------------------------------------------------
    async def recover(self) -> int:
        async with self.database.write() as uow:
            return await uow.repo(NoticeRepo).mark_in_flight_uncertain()

    async def due(self, limit: int = 50) -> list[NoticeRecord]:
        async with self.database.read() as uow:
            return await uow.repo(NoticeRepo).due(utcnow(), limit)

    async def next_due_at(self) -> datetime | None:
        async with self.database.read() as uow:
            return await uow.repo(NoticeRepo).next_due_at()

    async def claim(self, notice_id: int) -> bool:
        async with self.database.write() as uow:
            return await uow.repo(NoticeRepo).claim(notice_id)

    async def sent(self, notice_id: int, message_id: int | None) -> None:
        async with self.database.write() as uow:
            await uow.repo(NoticeRepo).finish(notice_id, "sent", sent_message_id=message_id)

    async def retry(self, notice_id: int, error: str, delay: float) -> None:
        async with self.database.write() as uow:
            await uow.repo(NoticeRepo).finish(
                notice_id, "pending", error=error[:300], retry_at=utcnow() + timedelta(seconds=delay)
            )

    async def gave_up(self, notice: NoticeRecord, state: str, error: str) -> None:
        """blocked or failed for good; whoever asked to be told (`on_fail_*`) is told."""
        logger.warning(
            "notice %s (%s) to chat %s %s: %s", notice.id, notice.purpose, notice.chat_id, state, error
        )
        async with self.database.write() as uow:
            await uow.repo(NoticeRepo).finish(notice.id, state, error=error[:300])
            if notice.on_fail_chat_id is not None and notice.on_fail_text:
                await self.enqueue(
                    uow,
                    NoticeDraft(
                        chat_id=notice.on_fail_chat_id,
                        text=notice.on_fail_text,
                        purpose="staff_notice",
                        ref=f"notice:{notice.id}",
                        dedup_key=f"failed-notice:{notice.id}",
                    ),
                )

    async def counts(self) -> dict[str, int]:
        async with self.database.read() as uow:
            return await uow.repo(NoticeRepo).counts()

    async def get(self, notice_id: int) -> NoticeRecord | None:
        async with self.database.read() as uow:
            return await uow.repo(NoticeRepo).get(notice_id)

    async def clean_up(self, now: datetime | None = None) -> int:
        """Retention: finished notices older than 90 days are deleted."""
        async with self.database.write() as uow:
            return await uow.repo(NoticeRepo).delete_finished_before((now or utcnow()) - RETENTION)
