"""Questions and hand-offs: what is stored, what the report and /mydata see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.services.activity import Kind, record
from bot.services.faq.matcher import Decision, MatchResult
from bot.services.report_sources import ReportScope
from db.base import utcnow
from db.models import FaqHandoff, FaqQuestion, User

TEXT_LIMIT = 4000
NORMALIZED_LIMIT = 400
UNANSWERED_TOP = 20
_WORDS = re.compile(r"[a-zа-я0-9]+")


def normalize_for_report(text: str) -> str:
    """Lower case, ё→е, words only: «Как получить серт??» and «как получить серт» group together."""
    words = _WORDS.findall(text.lower().replace("ё", "е"))
    return " ".join(words)[:NORMALIZED_LIMIT]


async def save_question(
    session: AsyncSession,
    user_id: int,
    municipality_id: str | None,
    text: str,
    result: MatchResult | None,
) -> FaqQuestion:
    """Store a question with the matcher's decision and log it for the report.

    `result` None: a question written straight to a specialist (/ask).
    """
    decision = str(result.decision) if result is not None else "ask"
    matched = None
    if result is not None and result.decision is Decision.REDIRECT:
        matched = result.redirect  # where the parent was sent
    elif result is not None and result.best is not None and result.decision is not Decision.FALLBACK:
        matched = result.best.id
    question = FaqQuestion(
        asked_at=utcnow(),
        user_id=user_id,
        municipality_id=municipality_id,
        text=text[:TEXT_LIMIT],
        normalized=normalize_for_report(text),
        decision=decision,
        matched_id=matched,
        score=float(result.score) if result is not None else 0.0,
    )
    session.add(question)
    await session.flush()
    await record(
        session,
        Kind.FAQ_QUESTION,
        user_id=user_id,
        municipality_id=municipality_id,
        topic=matched,
        outcome=decision,
        ref=str(question.id),
    )
    return question


async def get_question(session: AsyncSession, question_id: int, user_id: int) -> FaqQuestion | None:
    """The user's own question (a forged id of someone else's gives None)."""
    question = await session.get(FaqQuestion, question_id)
    if question is None or question.user_id != user_id or not question.text:
        return None
    return question


async def handoff_of_question(session: AsyncSession, question_id: int) -> FaqHandoff | None:
    return await session.scalar(select(FaqHandoff).where(FaqHandoff.question_id == question_id))


async def create_handoff(
    session: AsyncSession, question: FaqQuestion, staff_chat_id: int, staff_message_id: int
) -> FaqHandoff:
    handoff = FaqHandoff(
        question_id=question.id,
        created_at=utcnow(),
        staff_chat_id=staff_chat_id,
        staff_message_id=staff_message_id,
    )
    session.add(handoff)
    await session.flush()
    await record(
        session,
        Kind.HANDOFF_CREATED,
        user_id=question.user_id,
        municipality_id=question.municipality_id,
        topic=question.matched_id,
        ref=str(question.id),
    )
    return handoff


async def find_handoff(
    session: AsyncSession, staff_chat_id: int, staff_message_id: int
) -> tuple[FaqHandoff, FaqQuestion] | None:
    row = (
        await session.execute(
            select(FaqHandoff, FaqQuestion)
            .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
            .where(FaqHandoff.staff_chat_id == staff_chat_id, FaqHandoff.staff_message_id == staff_message_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def mark_answered(
    session: AsyncSession, handoff: FaqHandoff, question: FaqQuestion, staff_id: int
) -> float | None:
    """Mark the hand-off answered; returns seconds waited, None when it already was."""
    if handoff.answered_at is not None:
        return None
    now = utcnow()
    handoff.answered_at = now
    handoff.answered_by = staff_id
    waited = max(0.0, (now - handoff.created_at).total_seconds())
    await record(
        session,
        Kind.HANDOFF_ANSWERED,
        user_id=question.user_id,
        municipality_id=question.municipality_id,
        topic=question.matched_id,
        value=waited,
        ref=str(question.id),
    )
    return waited


@dataclass(frozen=True)
class OpenQuestion:
    question_id: int
    text: str
    created_at: datetime
    staff_message_id: int
    municipality_id: str | None


async def open_questions(session: AsyncSession, limit: int = 30) -> tuple[list[OpenQuestion], int]:
    """Oldest unanswered hand-offs first, and how many there are in all."""
    where = FaqHandoff.answered_at.is_(None)
    total = await session.scalar(select(func.count()).select_from(FaqHandoff).where(where)) or 0
    rows = await session.execute(
        select(FaqHandoff, FaqQuestion)
        .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
        .where(where)
        .order_by(FaqHandoff.created_at, FaqHandoff.id)
        .limit(limit)
    )
    items = [
        OpenQuestion(q.id, q.text, h.created_at, h.staff_message_id, q.municipality_id) for h, q in rows.all()
    ]
    return items, total


def format_wait(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "меньше минуты"
    if minutes < 60:
        return f"{minutes} мин"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} ч {minutes} мин"
    days, hours = divmod(hours, 24)
    return f"{days} дн {hours} ч"


# --- report source -------------------------------------------------------------------
async def unanswered_source(session: AsyncSession, scope: ReportScope) -> list[dict[str, object]]:
    """The most frequent questions the bot could not answer (fallback, or sent elsewhere as not
    ours: staff check those too), normalised text."""
    count = func.count().label("n")
    query = (
        select(FaqQuestion.normalized, count)
        .where(
            FaqQuestion.decision.in_([str(Decision.FALLBACK), str(Decision.REDIRECT)]),
            FaqQuestion.asked_at >= scope.start,
            FaqQuestion.asked_at < scope.end,
            FaqQuestion.normalized != "",
        )
        .group_by(FaqQuestion.normalized)
        .order_by(count.desc(), FaqQuestion.normalized)
        .limit(UNANSWERED_TOP)
    )
    if scope.municipality_id is not None:
        query = query.where(FaqQuestion.municipality_id == scope.municipality_id)
    rows = await session.execute(query)
    return [{"text": text, "count": int(n)} for text, n in rows.all()]


# --- privacy ---------------------------------------------------------------------------
async def describe_user(session: AsyncSession, user: User, content: Content, tz: ZoneInfo) -> list[str]:
    where = (FaqQuestion.user_id == user.id) & (FaqQuestion.text != "")
    asked = await session.scalar(select(func.count()).select_from(FaqQuestion).where(where)) or 0
    if not asked:
        return []
    handed = (
        await session.scalar(
            select(func.count())
            .select_from(FaqHandoff)
            .join(FaqQuestion, FaqQuestion.id == FaqHandoff.question_id)
            .where(where)
        )
        or 0
    )
    line = f"• Ваших вопросов боту сохранено: {asked}"
    if handed:
        line += f" (из них передано специалисту: {handed})"
    return [line]


async def forget_user(session: AsyncSession, user_id: int, anonymous_id: int) -> None:
    """Delete the person's hand-offs, blank their question texts, keep anonymous counts."""
    ids = select(FaqQuestion.id).where(FaqQuestion.user_id == user_id).scalar_subquery()
    await session.execute(delete(FaqHandoff).where(FaqHandoff.question_id.in_(ids)))
    await session.execute(
        update(FaqQuestion)
        .where(FaqQuestion.user_id == user_id)
        .values(user_id=anonymous_id, text="", normalized="")
    )
    # a staff member who answered questions: their id goes too
    await session.execute(
        update(FaqHandoff).where(FaqHandoff.answered_by == user_id).values(answered_by=anonymous_id)
    )
