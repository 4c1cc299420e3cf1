"""FAQ questions and hand-offs to staff: every query the FAQ feature runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import FaqHandoff, FaqQuestion, Notice


@dataclass(frozen=True)
class QuestionRecord:
    id: int
    asked_at: datetime
    user_id: int | None
    municipality_id: str | None
    text: str
    decision: str
    matched_id: str | None
    score: float
    handoff_id: int | None = None  # a reply in this hand-off's thread


@dataclass(frozen=True)
class HandoffRecord:
    id: int
    question_id: int
    created_at: datetime
    staff_chat_id: int
    answered_at: datetime | None
    answered_by: int | None
    reply_at: datetime | None = None  # a parent's reply waits for staff since then


@dataclass(frozen=True)
class OpenQuestionRow:
    handoff_id: int
    question_id: int
    text: str  # the question, or the newest reply that waits
    created_at: datetime  # waiting since
    municipality_id: str | None
    is_reply: bool = False


REPLY = "reply"  # the decision of a parent's reply in a hand-off's thread


def _question(q: FaqQuestion) -> QuestionRecord:
    return QuestionRecord(
        q.id,
        q.asked_at,
        q.user_id,
        q.municipality_id,
        q.text,
        q.decision,
        q.matched_id,
        q.score,
        q.handoff_id,
    )


def _handoff(h: FaqHandoff) -> HandoffRecord:
    return HandoffRecord(
        h.id, h.question_id, h.created_at, h.staff_chat_id, h.answered_at, h.answered_by, h.reply_at
    )


QUESTION_TABLE = FaqQuestion.__table__


class FaqRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_question(self, row: dict[str, object]) -> None:
        await self.session.execute(QUESTION_TABLE.insert(), [row])  # type: ignore[attr-defined]

    async def question(self, question_id: int) -> QuestionRecord | None:
        q = await self.session.get(FaqQuestion, question_id, populate_existing=True)
        return _question(q) if q is not None else None

    async def handoff_of_question(self, question_id: int) -> HandoffRecord | None:
        h = await self.session.scalar(select(FaqHandoff).where(FaqHandoff.question_id == question_id))
        return _handoff(h) if h is not None else None

    async def add_handoff(self, question_id: int, staff_chat_id: int, now: datetime) -> HandoffRecord:
        h = FaqHandoff(question_id=question_id, created_at=now, staff_chat_id=staff_chat_id)
        self.session.add(h)
        await self.session.flush()
        return _handoff(h)

    async def handoff(self, handoff_id: int) -> tuple[HandoffRecord, QuestionRecord] | None:
        """A hand-off and the question it was made for."""
        row = (
            await self.session.execute(
                select(FaqHandoff, FaqQuestion)
                .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
                .where(FaqHandoff.id == handoff_id)
                .execution_options(populate_existing=True)
            )
        ).first()
        return (_handoff(row[0]), _question(row[1])) if row else None

    async def find_handoff(
        self, staff_chat_id: int, message_id: int
    ) -> tuple[HandoffRecord, QuestionRecord] | None:
        """The hand-off whose staff-chat message is `message_id` (posted through a notice, or before
        0006) and the question that message showed: the hand-off's own, or a parent's reply in it."""
        found = (
            await self.session.execute(
                select(Notice.purpose, Notice.ref).where(
                    Notice.chat_id == staff_chat_id,
                    Notice.sent_message_id == message_id,
                    Notice.purpose.in_(("handoff", "handoff_reply")),
                )
            )
        ).first()
        purpose, ref = found if found is not None else (None, None)
        if purpose == "handoff_reply" and ref is not None and ref.isdigit():
            reply = await self.question(int(ref))
            if reply is None or reply.handoff_id is None:
                return None
            thread = await self.handoff(reply.handoff_id)
            return (thread[0], reply) if thread is not None else None
        if ref is not None and ref.isdigit():
            where = FaqHandoff.id == int(ref)
        else:
            where = (FaqHandoff.staff_chat_id == staff_chat_id) & (FaqHandoff.staff_message_id == message_id)
        row = (
            await self.session.execute(
                select(FaqHandoff, FaqQuestion)
                .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
                .where(where)
            )
        ).first()
        return (_handoff(row[0]), _question(row[1])) if row else None

    async def mark_answered(self, handoff_id: int, staff_id: int, now: datetime) -> bool:
        """True when this call answered it (False: it had been answered before)."""
        result = await self.session.execute(
            update(FaqHandoff)
            .where(FaqHandoff.id == handoff_id, FaqHandoff.answered_at.is_(None))
            .values(answered_at=now, answered_by=staff_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def close_reply(self, handoff_id: int) -> bool:
        """Staff answered what the parent replied: True when a reply was waiting."""
        result = await self.session.execute(
            update(FaqHandoff)
            .where(FaqHandoff.id == handoff_id, FaqHandoff.reply_at.is_not(None))
            .values(reply_at=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_reply(self, row: dict[str, object], handoff_id: int, now: datetime) -> QuestionRecord:
        """A parent's reply in a hand-off's thread (a question row with `handoff_id`); the
        hand-off waits for staff again from `now` unless an earlier reply already waits."""
        await self.session.execute(QUESTION_TABLE.insert(), [{**row, "handoff_id": handoff_id}])  # type: ignore[attr-defined]
        await self.session.execute(
            update(FaqHandoff)
            .where(FaqHandoff.id == handoff_id, FaqHandoff.reply_at.is_(None))
            .values(reply_at=now)
        )
        question = await self.question(int(str(row["id"])))
        assert question is not None
        return question

    async def staff_message_of(self, handoff: HandoffRecord) -> int | None:
        """The hand-off's message in the staff chat, once posted."""
        sent: int | None = await self.session.scalar(
            select(Notice.sent_message_id)
            .where(
                Notice.chat_id == handoff.staff_chat_id,
                Notice.purpose == "handoff",
                Notice.ref == str(handoff.id),
                Notice.sent_message_id.is_not(None),
            )
            .limit(1)
        )
        if sent is not None:
            return sent
        legacy: int | None = await self.session.scalar(
            select(FaqHandoff.staff_message_id).where(FaqHandoff.id == handoff.id)
        )
        return legacy

    async def open_questions(self, limit: int) -> tuple[list[OpenQuestionRow], int]:
        """Hand-offs waiting for staff: unanswered, or with a parent's reply unanswered;
        the longest waiting first."""
        where = FaqHandoff.answered_at.is_(None) | FaqHandoff.reply_at.is_not(None)
        since = func.coalesce(FaqHandoff.reply_at, FaqHandoff.created_at)
        total = await self.session.scalar(select(func.count()).select_from(FaqHandoff).where(where)) or 0
        rows = (
            await self.session.execute(
                select(FaqHandoff, FaqQuestion)
                .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
                .where(where)
                .order_by(since, FaqHandoff.id)
                .limit(limit)
            )
        ).all()
        waiting = [h.id for h, _ in rows if h.reply_at is not None]
        newest: dict[int, str] = {}
        if waiting:
            replies = await self.session.execute(
                select(FaqQuestion.handoff_id, FaqQuestion.text)
                .where(FaqQuestion.handoff_id.in_(waiting))
                .order_by(FaqQuestion.asked_at, FaqQuestion.id)
            )
            newest = {int(h): str(t) for h, t in replies.all() if h is not None}
        items = [
            OpenQuestionRow(h.id, q.id, newest[h.id], h.reply_at, q.municipality_id, is_reply=True)
            if h.reply_at is not None and h.id in newest
            else OpenQuestionRow(h.id, q.id, q.text, h.created_at, q.municipality_id)
            for h, q in rows
        ]
        return items, int(total)

    async def unanswered_top(
        self,
        start: datetime,
        end: datetime,
        municipality_id: str | None,
        decisions: tuple[str, ...],
        limit: int,
    ) -> list[tuple[str, int]]:
        count = func.count().label("n")
        query = (
            select(FaqQuestion.normalized, count)
            .where(
                FaqQuestion.decision.in_(decisions),
                FaqQuestion.asked_at >= start,
                FaqQuestion.asked_at < end,
                FaqQuestion.normalized != "",
            )
            .group_by(FaqQuestion.normalized)
            .order_by(count.desc(), FaqQuestion.normalized)
            .limit(limit)
        )
        if municipality_id is not None:
            query = query.where(FaqQuestion.municipality_id == municipality_id)
        rows = await self.session.execute(query)
        return [(str(text), int(n)) for text, n in rows.all()]

    async def counts_of_user(self, user_id: int) -> tuple[int, int]:
        """(questions with their text kept, of which handed to staff); replies to staff not counted."""
        where = (FaqQuestion.user_id == user_id) & (FaqQuestion.text != "") & FaqQuestion.handoff_id.is_(None)
        asked = await self.session.scalar(select(func.count()).select_from(FaqQuestion).where(where)) or 0
        handed = (
            await self.session.scalar(
                select(func.count())
                .select_from(FaqHandoff)
                .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
                .where(where)
            )
            or 0
        )
        return int(asked), int(handed)

    async def replies_of_user(self, user_id: int) -> int:
        """The person's replies to specialists, texts kept."""
        where = (
            (FaqQuestion.user_id == user_id) & (FaqQuestion.text != "") & FaqQuestion.handoff_id.is_not(None)
        )
        return int(await self.session.scalar(select(func.count()).select_from(FaqQuestion).where(where)) or 0)

    async def forget_user(self, user_id: int, anonymous_id: int) -> None:
        """Delete the person's hand-offs, blank their question texts, keep anonymous counts."""
        ids = select(FaqQuestion.id).where(FaqQuestion.user_id == user_id).scalar_subquery()
        await self.session.execute(delete(FaqHandoff).where(FaqHandoff.question_id.in_(ids)))
        await self.session.execute(
            update(FaqQuestion)
            .where(FaqQuestion.user_id == user_id)
            .values(user_id=anonymous_id, text="", normalized="", handoff_id=None)
        )
        # a staff member who answered questions: their id goes too
        await self.session.execute(
            update(FaqHandoff).where(FaqHandoff.answered_by == user_id).values(answered_by=anonymous_id)
        )

    async def questions_between(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        rows = await self.session.execute(
            select(FaqQuestion.asked_at, FaqQuestion.text)
            .where(FaqQuestion.asked_at >= start, FaqQuestion.asked_at < end, FaqQuestion.text != "")
            .where(FaqQuestion.decision != REPLY)  # replies to a specialist are not questions to the bot
            .order_by(FaqQuestion.asked_at, FaqQuestion.id)
        )
        return [(a, str(t)) for a, t in rows.all()]
