"""Questions and hand-offs: what is stored, what the report and /mydata see.

`FaqService` owns every unit of work of the FAQ. A question is a log row: it goes to
the batching writer (no write lock for an update that only asks). A hand-off, a
staff answer and the notices they cause commit in one unit of work before anybody
is told.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.services.faq.matcher import Decision, MatchResult
from bot.services.outbox import NoticeDraft, OutboxService
from bot.services.plugins import DataOwner, FeatureParts, ReportScope
from bot.settings import Settings
from db.base import utcnow
from db.repositories.activity import ActivityRepo, ActivityWriter, Kind
from db.repositories.faq import (
    QUESTION_TABLE,
    REPLY,
    FaqRepo,
    HandoffRecord,
    OpenQuestionRow,
    QuestionRecord,
)
from db.repositories.notices import NoticeRepo
from db.repositories.users import UserRecord
from db.uow import Database, UnitOfWork

TEXT_LIMIT = 4000
NORMALIZED_LIMIT = 400
UNANSWERED_TOP = 20
_WORDS = re.compile(r"[a-zа-я0-9]+")

__all__ = [
    "FaqService",
    "HandOff",
    "HandoffRecord",
    "OpenQuestionRow",
    "QuestionRecord",
    "StaffAnswer",
    "normalize_for_report",
]


def normalize_for_report(text: str) -> str:
    """Lower case, ё→е, words only: «Как получить серт??» and «как получить серт» group together."""
    words = _WORDS.findall(text.lower().replace("ё", "е"))
    return " ".join(words)[:NORMALIZED_LIMIT]


# Question ids are made here, so a question can be logged in a batch and still be
# referred to at once (the «ask a specialist» button carries it): milliseconds, a
# per-process random part and a counter, well inside 63 bits.
_PROCESS_PART = int.from_bytes(os.urandom(1), "big")
_counter = itertools.count()


def new_question_id() -> int:
    return (int(time.time() * 1000) << 20) | (_PROCESS_PART << 12) | (next(_counter) & 0xFFF)


@dataclass(frozen=True)
class HandOff:
    """The outcome of handing a question (or a reply in its thread) to staff."""

    status: str  # queued | already | no_staff_chat | not_found
    handoff_id: int | None = None


@dataclass(frozen=True)
class StaffAnswer:
    # queued (the first answer) | reply (an answer to what the parent replied) | addition |
    # not_handoff | parent_gone
    status: str
    waited: float | None = None
    question: QuestionRecord | None = None


# What a handler passes to render the staff chat's message once the hand-off has its number:
# the hand-off (of the thread) and the question, or the parent's reply, the message shows.
HandoffRenderer = Callable[[HandoffRecord, QuestionRecord], str]
# Buttons under a specialist's answer, by hand-off id: rows of (text, "data" | "url", value).
ButtonRows = tuple[tuple[tuple[str, str, str], ...], ...]


class FaqService:
    def __init__(
        self,
        database: Database,
        outbox: OutboxService,
        settings: Settings,
        writer: ActivityWriter | None = None,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.settings = settings
        self.writer = writer

    @property
    def staff_chat_id(self) -> int | None:
        return self.settings.staff_chat_id

    # --- questions --------------------------------------------------------------------
    async def log_question(
        self, user_id: int, municipality_id: str | None, text: str, result: MatchResult | None
    ) -> int:
        """Keep a question with the matcher's decision for the report; returns its id.

        `result` None: a question written straight to a specialist (/ask).
        """
        decision = str(result.decision) if result is not None else "ask"
        matched = None
        if result is not None and result.decision is Decision.REDIRECT:
            matched = result.redirect  # where the parent was sent
        elif result is not None and result.best is not None and result.decision is not Decision.FALLBACK:
            matched = result.best.id
        question_id = new_question_id()
        now = utcnow()
        row: dict[str, Any] = {
            "id": question_id,
            "asked_at": now,
            "user_id": user_id,
            "municipality_id": municipality_id,
            "text": text[:TEXT_LIMIT],
            "normalized": normalize_for_report(text),
            "decision": decision,
            "matched_id": matched,
            "score": float(result.score) if result is not None else 0.0,
        }
        activity = {
            "occurred_at": now,
            "kind": str(Kind.FAQ_QUESTION),
            "user_id": user_id,
            "municipality_id": municipality_id,
            "topic": matched[:128] if matched else None,
            "outcome": decision,
            "age": None,
            "value": None,
            "ref": str(question_id),
        }
        if self.writer is not None and self.writer.running:
            self.writer.put_rows(QUESTION_TABLE, [row])
            self.writer.put([activity])
        else:
            async with self.database.write() as uow:
                await uow.repo(FaqRepo).add_question(row)
                await uow.repo(ActivityRepo).record(
                    Kind.FAQ_QUESTION,
                    user_id=user_id,
                    municipality_id=municipality_id,
                    topic=matched,
                    outcome=decision,
                    ref=str(question_id),
                    occurred_at=now,
                )
        return question_id

    async def _flush_log(self) -> None:
        if self.writer is not None and self.writer.running:
            await self.writer.flush()

    async def own_question(self, question_id: int, user_id: int) -> QuestionRecord | None:
        """The person's own question (a forged id of someone else's gives None)."""
        await self._flush_log()
        async with self.database.read() as uow:
            question = await uow.repo(FaqRepo).question(question_id)
        if question is None or question.user_id != user_id or not question.text:
            return None
        return question

    # --- hand-off ---------------------------------------------------------------------
    async def hand_off(
        self, question_id: int, user_id: int, render: HandoffRenderer, photo_file_id: str | None = None
    ) -> HandOff:
        """Pass the person's question to the staff chat: the hand-off, its log and the notice
        to staff commit together; the worker posts it (with the screenshot, if any)."""
        if self.staff_chat_id is None:
            return HandOff("no_staff_chat")
        await self._flush_log()
        async with self.database.write() as uow:
            repo = uow.repo(FaqRepo)
            question = await repo.question(question_id)
            if question is None or question.user_id != user_id or not question.text:
                return HandOff("not_found")
            existing = await repo.handoff_of_question(question_id)
            if existing is not None:
                return HandOff("already", existing.id)
            handoff = await repo.add_handoff(question.id, self.staff_chat_id, utcnow())
            await uow.repo(ActivityRepo).record(
                Kind.HANDOFF_CREATED,
                user_id=question.user_id,
                municipality_id=question.municipality_id,
                topic=question.matched_id,
                ref=str(question.id),
            )
            await self.outbox.enqueue(
                uow,
                NoticeDraft(
                    chat_id=self.staff_chat_id,
                    text=render(handoff, question),
                    purpose="handoff",
                    user_id=user_id,
                    ref=str(handoff.id),
                    dedup_key=f"handoff:{handoff.id}",
                    photo_file_id=photo_file_id,
                ),
            )
        return HandOff("queued", handoff.id)

    async def ask_specialist(
        self,
        user_id: int,
        municipality_id: str | None,
        text: str,
        render: HandoffRenderer,
        photo_file_id: str | None = None,
    ) -> HandOff:
        """/ask: the question is stored and handed off at once."""
        if self.staff_chat_id is None:
            return HandOff("no_staff_chat")
        question_id = await self.log_question(user_id, municipality_id, text, None)
        return await self.hand_off(question_id, user_id, render, photo_file_id)

    async def thread_question(self, handoff_id: int, user_id: int) -> QuestionRecord | None:
        """The question of the person's own hand-off (None: not theirs, or deleted by /forget)."""
        async with self.database.read() as uow:
            found = await uow.repo(FaqRepo).handoff(handoff_id)
        if found is None or found[1].user_id != user_id or not found[1].text:
            return None
        return found[1]

    async def thread_of_answer(self, user_id: int, message_id: int) -> int | None:
        """The hand-off whose specialist's answer is the person's message `message_id` (they
        replied to it with Telegram's «Ответить»); None for any other message."""
        async with self.database.read() as uow:
            notice = await uow.repo(NoticeRepo).find_sent(user_id, message_id, "staff_answer")
        if notice is None or notice.user_id != user_id or not (notice.ref or "").isdigit():
            return None
        return int(notice.ref or 0)

    async def reply_to_staff(
        self,
        handoff_id: int,
        user_id: int,
        text: str,
        render: HandoffRenderer,
        photo_file_id: str | None = None,
    ) -> HandOff:
        """The parent replies to a specialist: the reply (a question row in the hand-off's
        thread), the hand-off's «a reply waits» mark and the staff-chat post, as a reply to the
        hand-off's message there, commit together."""
        if self.staff_chat_id is None:
            return HandOff("no_staff_chat")
        async with self.database.write() as uow:
            repo = uow.repo(FaqRepo)
            found = await repo.handoff(handoff_id)
            if found is None or found[1].user_id != user_id or not found[1].text:
                return HandOff("not_found")
            handoff, question = found
            now = utcnow()
            reply = await repo.add_reply(
                {
                    "id": new_question_id(),
                    "asked_at": now,
                    "user_id": user_id,
                    "municipality_id": question.municipality_id,
                    "text": text[:TEXT_LIMIT],
                    "normalized": normalize_for_report(text),
                    "decision": REPLY,
                    "matched_id": None,
                    "score": 0.0,
                },
                handoff.id,
                now,
            )
            await self.outbox.enqueue(
                uow,
                NoticeDraft(
                    chat_id=handoff.staff_chat_id,
                    text=render(handoff, reply),
                    purpose="handoff_reply",
                    user_id=user_id,
                    ref=str(reply.id),
                    dedup_key=f"handoff-reply:{reply.id}",
                    photo_file_id=photo_file_id,
                    reply_to_message_id=await repo.staff_message_of(handoff),
                ),
            )
        return HandOff("queued", handoff.id)

    async def answer_from_staff(
        self,
        staff_chat_id: int,
        reply_to_message_id: int,
        staff_id: int,
        *,
        render: Callable[[QuestionRecord], list[str]],
        on_fail_text: Callable[[QuestionRecord], str],
        buttons: Callable[[int], ButtonRows] | None = None,
    ) -> StaffAnswer:
        """A specialist replied to a hand-off (or to a parent's reply in its thread): the
        answer's notices to the parent and the hand-off's answered marks commit together;
        the worker delivers the answer, `buttons(handoff_id)` under its last part."""
        async with self.database.write() as uow:
            repo = uow.repo(FaqRepo)
            found = await repo.find_handoff(staff_chat_id, reply_to_message_id)
            if found is None:
                return StaffAnswer("not_handoff")
            handoff, question = found
            if question.user_id is None or question.user_id <= 0 or not question.text:
                return StaffAnswer("parent_gone", question=question)
            now = utcnow()
            first = await repo.mark_answered(handoff.id, staff_id, now)
            replied = await repo.close_reply(handoff.id)
            waited: float | None = None
            if first:
                waited = max(0.0, (now - handoff.created_at).total_seconds())
                await uow.repo(ActivityRepo).record(
                    Kind.HANDOFF_ANSWERED,
                    user_id=question.user_id,
                    municipality_id=question.municipality_id,
                    topic=question.matched_id,
                    value=waited,
                    ref=str(question.id),
                )
            elif replied and handoff.reply_at is not None:
                waited = max(0.0, (now - handoff.reply_at).total_seconds())
            parts = render(question)
            rows = buttons(handoff.id) if buttons is not None else ()
            for part, text in enumerate(parts):
                await self.outbox.enqueue(
                    uow,
                    NoticeDraft(
                        chat_id=question.user_id,
                        text=text,
                        purpose="staff_answer",
                        user_id=question.user_id,
                        ref=str(handoff.id),
                        buttons=rows if part == len(parts) - 1 else (),
                        disable_preview=True,
                        on_fail_chat_id=staff_chat_id,
                        on_fail_text=on_fail_text(question),
                        dedup_key=f"answer:{staff_chat_id}:{reply_to_message_id}:{part}",
                    ),
                )
        status = "queued" if first else "reply" if replied else "addition"
        return StaffAnswer(status, waited, question)

    async def is_handoff_message(self, staff_chat_id: int, message_id: int) -> bool:
        async with self.database.read() as uow:
            return await uow.repo(FaqRepo).find_handoff(staff_chat_id, message_id) is not None

    async def open_questions(self, limit: int = 30) -> tuple[list[OpenQuestionRow], int]:
        """Oldest unanswered hand-offs first, and how many there are in all."""
        async with self.database.read() as uow:
            return await uow.repo(FaqRepo).open_questions(limit)

    async def queue_digest(self, day: str, render: Callable[[list[OpenQuestionRow], int], str]) -> bool:
        """The morning digest of unanswered questions for the staff chat (once per `day`)."""
        if self.staff_chat_id is None:
            return False
        items, total = await self.open_questions(limit=15)
        if not total:
            return False
        await self.outbox.send_later(
            NoticeDraft(
                chat_id=self.staff_chat_id,
                text=render(items, total),
                purpose="digest",
                dedup_key=f"digest:{day}",
            )
        )
        return True

    async def questions_between(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        await self._flush_log()
        async with self.database.read() as uow:
            return await uow.repo(FaqRepo).questions_between(start, end)


def parts() -> FeatureParts:
    """What the FAQ stores about a person and adds to the report (wired by create_app)."""
    return FeatureParts(
        name="faq",
        data_owner=DataOwner("faq", _describe_user, _forget_user),
        report_sources={"faq_unanswered": _unanswered_source},
    )


async def _unanswered_source(uow: UnitOfWork, scope: ReportScope) -> list[dict[str, object]]:
    """The most frequent questions the bot could not answer (fallback, or sent elsewhere as not
    ours: staff check those too), normalised text."""
    rows = await uow.repo(FaqRepo).unanswered_top(
        scope.start,
        scope.end,
        scope.municipality_id,
        (str(Decision.FALLBACK), str(Decision.REDIRECT)),
        UNANSWERED_TOP,
    )
    return [{"text": text, "count": n} for text, n in rows]


async def _describe_user(uow: UnitOfWork, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
    repo = uow.repo(FaqRepo)
    asked, handed = await repo.counts_of_user(user.id)
    replies = await repo.replies_of_user(user.id)
    lines: list[str] = []
    if asked and handed:
        lines.append(
            content.text(
                "faq_handoff.mydata_questions_handed", user.municipality_id, count=asked, handed=handed
            )
        )
    elif asked:
        lines.append(content.text("faq_handoff.mydata_questions", user.municipality_id, count=asked))
    if replies:
        lines.append(content.text("faq_handoff.mydata_replies", user.municipality_id, count=replies))
    return lines


async def _forget_user(uow: UnitOfWork, user_id: int, anonymous_id: int) -> None:
    await uow.repo(FaqRepo).forget_user(user_id, anonymous_id)
