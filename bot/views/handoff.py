"""What people see of questions to a specialist: the staff chat's posts, the specialist's
answer with «Ответить специалисту», waiting times and the open-questions digest.

A presentation module: aiogram, bot.html, bot.keyboards and the services' records, never
the database. Texts come from `content/texts/faq_handoff.yaml`; every string a person
typed is escaped here before it goes into one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.types import User as TgUser
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.channels import Channel, channel_of
from bot.content import Content
from bot.html import CAPTION_LIMIT, MESSAGE_LIMIT, escape, truncate, visible_length
from bot.keyboards import MenuCD, add_cancel_button
from bot.services.faq.matcher import Decision
from bot.services.faq.service import (
    ButtonRows,
    HandoffRecord,
    HandoffRenderer,
    OpenQuestionRow,
    QuestionRecord,
)
from bot.texts import text

QUOTE_LIMIT = 300  # the parent's question quoted above an answer
STAFF_QUOTE_LIMIT = 2500  # the question in the staff chat (a text message)
PROMPT_QUOTE_LIMIT = 120  # the question recalled in the reply prompt


class FaqReplyCD(CallbackData, prefix="fr"):
    """«Ответить специалисту» under a specialist's answer."""

    h: int  # the hand-off


class FaqSendCD(CallbackData, prefix="fs"):
    """«Передать специалисту» under a screenshot that came with a caption."""

    a: str = "send"


# --- the parent ------------------------------------------------------------------------------
def contacts(content: Content, municipality_id: str | None) -> str:
    return content.text("faq_handoff.contacts", municipality_id)


def with_contacts(content: Content, key: str, municipality_id: str | None) -> str:
    return content.text(key, municipality_id, contacts=contacts(content, municipality_id))


def prompt_keyboard() -> InlineKeyboardMarkup:
    """Under a prompt that waits for the question: «Отмена»."""
    kb = InlineKeyboardBuilder()
    add_cancel_button(kb, "ask")
    return kb.as_markup()


def send_photo_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=text("faq_handoff.send_button"), callback_data=FaqSendCD())
    add_cancel_button(kb, "photo")
    kb.adjust(1)
    return kb.as_markup()


def answer_buttons(handoff_id: int) -> ButtonRows:
    """Under a specialist's answer (an outbox row, so plain data): reply, or the menu."""
    return (
        ((text("faq_handoff.reply_button"), "data", FaqReplyCD(h=handoff_id).pack()),),
        ((text("common.menu_button"), "data", MenuCD(item="main").pack()),),
    )


def answer_parts(question: QuestionRecord, body_html: str, plain: str) -> list[str]:
    """The specialist's answer as the parent gets it: a header quoting what they asked
    (or replied), then the answer; split in two when it would not fit one message."""
    quoted = escape(truncate(question.text, QUOTE_LIMIT))
    key = (
        "faq_handoff.answer_header_reply" if question.handoff_id is not None else "faq_handoff.answer_header"
    )
    header = text(key, question.municipality_id, question=quoted)
    if len(header) + 2 + len(body_html) <= MESSAGE_LIMIT:
        return [f"{header}\n\n{body_html}"]
    return [header, escape(truncate(plain, MESSAGE_LIMIT - 50))]


def answer_failed(question: QuestionRecord) -> str:
    return text("faq_handoff.answer_failed", question=escape(truncate(question.text, 100)))


def prompt_quote(question: QuestionRecord) -> str:
    return escape(truncate(question.text, PROMPT_QUOTE_LIMIT))


# --- the staff chat ------------------------------------------------------------------------------
def who(tg_user: TgUser) -> str:
    """The parent as staff see them: a link to their Telegram chat, or their name marked MAX
    (staff work in Telegram; a MAX parent is answered through the bot)."""
    name = escape(truncate(tg_user.first_name or text("faq_handoff.unknown_parent"), 64))
    if channel_of(tg_user.id) is Channel.MAX:
        return text("faq_handoff.who_max", name=name)
    return f'<a href="tg://user?id={tg_user.id}">{name}</a>'


def _score(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")  # a Russian decimal comma


def tried(question: QuestionRecord, titles: dict[str, str]) -> str:
    title = escape(titles.get(question.matched_id or "", question.matched_id or ""))
    if question.decision == Decision.ANSWER:
        return text("faq_handoff.tried_answer", title=title, score=_score(question.score))
    if question.decision == Decision.CLARIFY:  # a question back has no score worth showing
        return text("faq_handoff.tried_clarify", title=title)
    if question.decision == Decision.SUGGEST:
        return text("faq_handoff.tried_suggest", title=title, score=_score(question.score))
    if question.decision == Decision.REDIRECT:
        return text("faq_handoff.tried_redirect", where=title)
    if question.decision == Decision.FALLBACK:
        return text("faq_handoff.tried_fallback")
    return text("faq_handoff.tried_direct")


def _fitted(build: Callable[[str], str], question: str, with_photo: bool) -> str:
    """The post with the question quoted as long as it may be: a photo's caption holds
    1024 characters, a message 4096."""
    limit = STAFF_QUOTE_LIMIT
    while True:
        post = build(escape(truncate(question, limit)))
        if with_photo:
            post += "\n" + text("faq_handoff.staff_photo_note")
        over = visible_length(post) - (CAPTION_LIMIT if with_photo else MESSAGE_LIMIT)
        if over <= 0 or limit <= 20:
            return post
        limit = max(20, limit - over - 5)


def staff_question(
    tg_user: TgUser, content: Content, titles: dict[str, str], *, with_photo: bool = False
) -> HandoffRenderer:
    """Renders the staff chat's post once the hand-off has its number (inside the service)."""

    def render(handoff: HandoffRecord, question: QuestionRecord) -> str:
        municipality = escape(content.municipality(question.municipality_id).name)

        def build(quoted: str) -> str:
            return text(
                "faq_handoff.staff_question",
                number=handoff.id,
                who=who(tg_user),
                municipality=municipality,
                question=quoted,
                tried=tried(question, titles),
            )

        return _fitted(build, question.text, with_photo)

    return render


def staff_reply(tg_user: TgUser, *, with_photo: bool = False) -> HandoffRenderer:
    """Renders a parent's reply in a hand-off's thread for the staff chat."""

    def render(handoff: HandoffRecord, reply: QuestionRecord) -> str:
        def build(quoted: str) -> str:
            return text(
                "faq_handoff.staff_reply_from_parent", number=handoff.id, who=who(tg_user), question=quoted
            )

        return _fitted(build, reply.text, with_photo)

    return render


def wait_text(seconds: float) -> str:
    """«меньше минуты», «12 мин», «3 ч 5 мин», «2 дня 4 ч»."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return text("faq_handoff.wait_under_minute")
    if minutes < 60:
        return text("faq_handoff.wait_minutes", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return text("faq_handoff.wait_hours", hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return text("faq_handoff.wait_days", days=days, hours=hours)


def digest_text(items: list[OpenQuestionRow], total: int, now: datetime) -> str:
    """/questions and the morning digest: what waits for staff, the longest waiting first."""
    lines = [text("faq_handoff.digest_header", total=total)]
    for item in items:
        key = "faq_handoff.digest_reply_item" if item.is_reply else "faq_handoff.digest_item"
        waited = wait_text((now - item.created_at).total_seconds())
        lines.append(
            "\n" + text(key, number=item.handoff_id, waited=waited, question=escape(truncate(item.text, 200)))
        )
    if total > len(items):
        lines.append("\n" + text("faq_handoff.digest_more", count=total - len(items)))
    lines.append("\n" + text("faq_handoff.digest_footer"))
    return "\n".join(lines)
