"""Notices: durable messages to other people (see db/models/notices.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models import Notice
from db.upsert import insert_ignore


@dataclass(frozen=True)
class NoticeDraft:
    chat_id: int
    text: str
    purpose: str
    user_id: int | None = None
    ref: str | None = None
    buttons: tuple[tuple[tuple[str, str, str], ...], ...] = ()  # rows of (text, kind: data|url, value)
    disable_preview: bool = False
    on_fail_chat_id: int | None = None
    on_fail_text: str | None = None
    dedup_key: str | None = None
    not_before: datetime | None = None
    photo_file_id: str | None = None  # sent as a photo with `text` as its caption (≤ 1024 characters)
    reply_to_message_id: int | None = None  # a message of the same chat this one answers


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    chat_id: int
    user_id: int | None
    purpose: str
    ref: str | None
    text: str
    buttons: tuple[tuple[tuple[str, str, str], ...], ...]
    disable_preview: bool
    on_fail_chat_id: int | None
    on_fail_text: str | None
    attempts: int
    state: str
    error: str | None
    sent_message_id: int | None
    photo_file_id: str | None = None
    reply_to_message_id: int | None = None


def _buttons_json(rows: tuple[tuple[tuple[str, str, str], ...], ...]) -> list[Any] | None:
    if not rows:
        return None
    return [[{"text": t, kind: value} for t, kind, value in row] for row in rows]


def _buttons_tuple(raw: list[Any] | None) -> tuple[tuple[tuple[str, str, str], ...], ...]:
    rows: list[tuple[tuple[str, str, str], ...]] = []
    for row in raw or []:
        cells = []
        for cell in row:
            kind = "url" if "url" in cell else "data"
            cells.append((str(cell["text"]), kind, str(cell[kind])))
        rows.append(tuple(cells))
    return tuple(rows)


def _record(n: Notice) -> NoticeRecord:
    return NoticeRecord(
        id=n.id,
        chat_id=n.chat_id,
        user_id=n.user_id,
        purpose=n.purpose,
        ref=n.ref,
        text=n.text,
        buttons=_buttons_tuple(n.buttons),
        disable_preview=n.disable_preview,
        on_fail_chat_id=n.on_fail_chat_id,
        on_fail_text=n.on_fail_text,
        attempts=n.attempts,
        state=n.state,
        error=n.error,
        sent_message_id=n.sent_message_id,
        photo_file_id=n.photo_file_id,
        reply_to_message_id=n.reply_to_message_id,
    )


class NoticeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, draft: NoticeDraft) -> None:
        """Queue a notice; one with an existing `dedup_key` is silently not queued again."""
        values = {
            "chat_id": draft.chat_id,
            "user_id": draft.user_id,
            "purpose": draft.purpose,
            "ref": draft.ref,
            "text": draft.text,
            "buttons": _buttons_json(draft.buttons),
            "disable_preview": draft.disable_preview,
            "on_fail_chat_id": draft.on_fail_chat_id,
            "on_fail_text": draft.on_fail_text,
            "dedup_key": draft.dedup_key,
            "photo_file_id": draft.photo_file_id,
            "reply_to_message_id": draft.reply_to_message_id,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": draft.not_before or utcnow(),
            "created_at": utcnow(),
        }
        if draft.dedup_key is None:
            self.session.add(Notice(**values))
            await self.session.flush()
        else:
            await insert_ignore(self.session, Notice.__table__, values)  # type: ignore[arg-type]

    async def due(self, now: datetime, limit: int) -> list[NoticeRecord]:
        rows = await self.session.scalars(
            select(Notice)
            .where(Notice.state == "pending", Notice.next_attempt_at <= now)
            .order_by(Notice.next_attempt_at, Notice.id)
            .limit(limit)
        )
        return [_record(n) for n in rows]

    async def next_due_at(self) -> datetime | None:
        value: datetime | None = await self.session.scalar(
            select(func.min(Notice.next_attempt_at)).where(Notice.state == "pending")
        )
        return value

    async def claim(self, notice_id: int) -> bool:
        """pending → sending; False when another worker (or a cancel) got there first."""
        result = await self.session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.state == "pending")
            .values(state="sending", attempts=Notice.attempts + 1, updated_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish(
        self,
        notice_id: int,
        state: str,
        *,
        error: str | None = None,
        sent_message_id: int | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state, "error": error, "updated_at": utcnow()}
        if sent_message_id is not None:
            values["sent_message_id"] = sent_message_id
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        await self.session.execute(update(Notice).where(Notice.id == notice_id).values(**values))

    async def mark_in_flight_uncertain(self) -> int:
        result = await self.session.execute(
            update(Notice)
            .where(Notice.state == "sending")
            .values(state="uncertain", error="in flight when the bot stopped", updated_at=utcnow())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def sent_message_of(self, chat_id: int, purpose: str, ref: str) -> int | None:
        """The message id a notice (`purpose`, `ref`) got in `chat_id` once sent; None before."""
        value: int | None = await self.session.scalar(
            select(Notice.sent_message_id)
            .where(Notice.chat_id == chat_id, Notice.purpose == purpose, Notice.ref == ref)
            .where(Notice.sent_message_id.is_not(None))
            .order_by(Notice.id)
            .limit(1)
        )
        return value

    async def find_sent(self, chat_id: int, message_id: int, purpose: str) -> NoticeRecord | None:
        row = await self.session.scalar(
            select(Notice).where(
                Notice.chat_id == chat_id, Notice.sent_message_id == message_id, Notice.purpose == purpose
            )
        )
        return _record(row) if row is not None else None

    async def get(self, notice_id: int) -> NoticeRecord | None:
        row = await self.session.get(Notice, notice_id, populate_existing=True)
        return _record(row) if row is not None else None

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(select(Notice.state, func.count()).group_by(Notice.state))
        return {str(state): int(n) for state, n in rows.all()}

    async def forget_user(self, user_id: int) -> None:
        """/forget: unsent notices for or about the person are dropped, sent ones lose their text."""
        await self.session.execute(
            delete(Notice).where(Notice.user_id == user_id, Notice.state.in_(("pending", "failed")))
        )
        await self.session.execute(
            update(Notice)
            .where(Notice.user_id == user_id)
            .values(text="", user_id=None, buttons=None, photo_file_id=None)
        )

    async def delete_finished_before(self, cutoff: datetime) -> int:
        result = await self.session.execute(
            delete(Notice).where(
                Notice.state.in_(("sent", "blocked", "failed", "uncertain")), Notice.created_at < cutoff
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


RETENTION = timedelta(days=90)
