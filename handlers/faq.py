"""Parent FAQ: free-text questions, the topic list, and questions to a specialist.

`router` takes every private-chat text no earlier router wanted (it sits just
before the fallback); `staff_router` holds /questions, /reload and the staff
chat replies that the bot delivers to parents.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.content import ContentError, ContentStore
from bot.html import escape, truncate
from bot.keyboards import MenuCD, add_menu_button, back_to_menu_keyboard
from bot.middlewares import RoleGuard
from bot.services.faq import service
from bot.services.faq.engine import engine_for
from bot.services.faq.knowledge import FaqEntry, KnowledgeBase
from bot.services.faq.matcher import Decision, MatchResult
from bot.services.faq.service import FaqService, OpenQuestionRow, QuestionRecord
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.settings import Settings
from bot.urls import ascii_url
from bot.views import handoff as handoff_views

logger = logging.getLogger(__name__)

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)

staff_router = Router(name=f"{__name__}.staff")
staff_router.message.middleware(RoleGuard(Role.STAFF))
staff_router.callback_query.middleware(RoleGuard(Role.STAFF))

# Replies: in the staff chat (anyone may write there, so the role is checked inside), and a
# parent's Telegram reply to a specialist's answer (before the FAQ takes it as a question).
replies_router = Router(name=f"{__name__}.replies")

PAGE_SIZE = 8


class FaqOpenCD(CallbackData, prefix="fo"):
    id: str


class FaqPageCD(CallbackData, prefix="fp"):
    """Open the topic list anew at a page (from an answer, suggestions, the menu)."""

    page: int


class FaqGroupCD(CallbackData, prefix="fg"):
    """A group of the topic list (a FAQ file: «certificate»), at a page."""

    g: str
    page: int


class FaqTurnCD(CallbackData, prefix="ft"):
    """◀ ▶ inside the topic list: turn its page in place."""

    page: int


class FaqAskCD(CallbackData, prefix="fa"):
    q: int  # stored question id; 0: ask the person to write the question


class AskState(StatesGroup):
    waiting = State()


SMALLTALK_KINDS = frozenset({"greeting", "thanks", "bye", "ok", "bot"})  # content faq.smalltalk_<kind>


# --- keyboards -------------------------------------------------------------------------
def button_url(url: str) -> str:
    """ASCII form of a link for a button (see bot.urls.ascii_url); other schemes pass as they are."""
    return ascii_url(url) or url


def _entry_keyboard(
    entry: FaqEntry, values: dict[str, str], kb_titles: dict[str, str], question_id: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    for title, url in entry.render_links(values):
        kb.button(text=f"🔗 {title}", url=button_url(url))
        sizes.append(1)
    for rid in entry.related[:4]:
        if rid in kb_titles:
            kb.button(text=kb_titles[rid], callback_data=FaqOpenCD(id=rid))
            sizes.append(1)
    kb.button(text=texts.text("faq.button_ask"), callback_data=FaqAskCD(q=question_id))
    kb.button(text=texts.text("faq.button_topics"), callback_data=FaqPageCD(page=0))
    add_menu_button(kb)
    kb.adjust(*sizes, 1, 2)
    return kb.as_markup()


def _choices_keyboard(
    ids: list[str], titles: dict[str, str], question_id: int, *, with_menu: bool = False
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for eid in ids:
        if eid in titles:
            kb.button(text=titles[eid], callback_data=FaqOpenCD(id=eid))
    kb.button(text=texts.text("faq.button_topics"), callback_data=FaqPageCD(page=0))
    kb.button(text=texts.text("faq.button_ask"), callback_data=FaqAskCD(q=question_id))
    if with_menu:  # the answer «not found»: a parent always has a way back
        add_menu_button(kb)
    kb.adjust(1)
    return kb.as_markup()


def _page_count(entries: list[FaqEntry]) -> int:
    return max(1, -(-len(entries) // PAGE_SIZE))


def _popular(kb: KnowledgeBase) -> list[FaqEntry]:
    """What parents ask most, first (content: faq.popular, ids in order; unknown ids skipped)."""
    ids = [i.strip() for i in texts.text("faq.popular").split(",")]
    return [e for e in (kb.get(i) for i in ids if i) if e is not None]


def _group_title(group: str) -> str:
    key = f"faq.group_{group}"
    return texts.text(key) if texts.has(key) else group


def _overview_keyboard(kb_: KnowledgeBase) -> InlineKeyboardMarkup:
    """The topic list's first screen: the most asked topics, then the groups."""
    kb = InlineKeyboardBuilder()
    popular = _popular(kb_)
    for entry in popular:
        kb.button(text=entry.title, callback_data=FaqOpenCD(id=entry.id))
    order = [g.strip() for g in texts.text("faq.group_order").split(",")]
    groups = sorted(kb_.groups(), key=lambda g: order.index(g[0]) if g[0] in order else len(order))
    for group, entries in groups:
        label = texts.text("faq.group_button", title=_group_title(group), count=len(entries))
        kb.button(text=label, callback_data=FaqGroupCD(g=group, page=0))
    kb.button(text=texts.text("faq.button_ask"), callback_data=FaqAskCD(q=0))
    add_menu_button(kb)
    kb.adjust(*([1] * (len(popular) + len(groups))), 1, 1)
    return kb.as_markup()


def _group_keyboard(group: str, entries: list[FaqEntry], page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    for entry in shown:
        kb.button(text=entry.title, callback_data=FaqOpenCD(id=entry.id))
    nav = 0
    if page > 0:
        kb.button(text=texts.text("faq.button_prev"), callback_data=FaqGroupCD(g=group, page=page - 1))
        nav += 1
    if page + 1 < _page_count(entries):
        kb.button(text=texts.text("faq.button_next"), callback_data=FaqGroupCD(g=group, page=page + 1))
        nav += 1
    kb.button(text=texts.text("faq.button_all_topics"), callback_data=FaqTurnCD(page=0))
    add_menu_button(kb)
    kb.adjust(*([1] * len(shown)), *([nav] if nav else []), 1, 1)
    return kb.as_markup()


def _titles(content: ContentStore) -> dict[str, str]:
    return {e.id: e.title for e in engine_for(content).kb}


def entry_text(entry: FaqEntry, values: dict[str, str]) -> str:
    return f"<b>{escape(entry.title)}</b>\n\n{entry.render_answer(values)}"


async def send_entry(
    message: Message, entry: FaqEntry, content: ContentStore, user: User | None, question_id: int = 0
) -> None:
    values = content.current.municipality(user.municipality_id if user else None).placeholders()
    await message.answer(
        entry_text(entry, values),
        reply_markup=_entry_keyboard(entry, values, _titles(content), question_id),
        disable_web_page_preview=True,
    )


def _municipality_id(user: User, content: ContentStore) -> str:
    return user.municipality_id or content.current.default_municipality_id


# --- free text -----------------------------------------------------------------------
async def answer_question(
    message: Message, text: str, user: User, faq: FaqService, content: ContentStore
) -> MatchResult:
    """Match one question, log it (batched: no write lock) and answer the person."""
    engine = engine_for(content)
    result = engine.matcher.match(text)
    municipality_id = _municipality_id(user, content)
    if result.decision is Decision.SMALLTALK:
        await faq.log_question(user.id, municipality_id, text, result)
        kind = result.smalltalk if result.smalltalk in SMALLTALK_KINDS else "greeting"
        await message.answer(
            content.current.text(f"faq.smalltalk_{kind}", municipality_id),
            reply_markup=back_to_menu_keyboard(),
        )
        return result
    if not result.candidates and not result.english and not service.normalize_for_report(text):
        await message.answer(
            content.current.text("faq.empty", municipality_id), reply_markup=_choices_keyboard([], {}, 0)
        )
        return result
    question_id = await faq.log_question(user.id, municipality_id, text, result)
    if result.decision is Decision.CLARIFY and await send_clarify(message, result, engine.kb, question_id):
        return result
    if result.decision is Decision.REDIRECT and await send_redirect(
        message, result, content, user, question_id
    ):
        return result
    if result.decision is Decision.ANSWER and result.best is not None:
        entry = engine.kb.get(result.best.id)
        if entry is not None:
            await send_entry(message, entry, content, user, question_id)
            return result
    if result.decision is Decision.SUGGEST:
        ids = [c.id for c in result.candidates]
        await message.answer(
            content.current.text("faq.suggest", municipality_id),
            reply_markup=_choices_keyboard(ids, _titles(content), question_id),
        )
        return result
    text_out = content.current.text("faq.english" if result.english else "faq.fallback", municipality_id)
    await message.answer(
        text_out, reply_markup=_choices_keyboard([], _titles(content), question_id, with_menu=True)
    )
    return result


# --- asking back and pointing elsewhere ------------------------------------------------------
def clarify_text(result: MatchResult, kb: KnowledgeBase) -> tuple[str, list[tuple[str, str]]] | None:
    """The question back and its options (entry id, button label); None without 2 options."""
    options = [(e.id, e.asked_as) for e in (kb.get(c.id) for c in result.candidates[:4]) if e is not None]
    if len(options) < 2:
        return None
    group = kb.clarify_group(result.clarify)
    if group is not None:
        return escape(group.question), [(eid, label[:1].upper() + label[1:]) for eid, label in options]
    asked = [escape(label) for _, label in options]
    text = texts.text("faq.clarify", first=", ".join(asked[:-1]), last=asked[-1])
    return text, [(eid, label[:1].upper() + label[1:]) for eid, label in options]


def clarify_keyboard(options: list[tuple[str, str]], question_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for eid, label in options:
        kb.button(text=label, callback_data=FaqOpenCD(id=eid))
    kb.button(text=texts.text("faq.button_ask"), callback_data=FaqAskCD(q=question_id))
    add_menu_button(kb)
    kb.adjust(*([1] * len(options)), 1, 1)
    return kb.as_markup()


async def send_clarify(message: Message, result: MatchResult, kb: KnowledgeBase, question_id: int) -> bool:
    """Ask which topic the question is about (2–4 buttons); False when there is nothing to offer."""
    built = clarify_text(result, kb)
    if built is None:
        return False
    text, options = built
    await message.answer(text, reply_markup=clarify_keyboard(options, question_id))
    return True


async def send_redirect(
    message: Message, result: MatchResult, content: ContentStore, user: User, question_id: int
) -> bool:
    """A neighbouring service's question: say where to go (content `outside:`), no entry answer."""
    redirect = engine_for(content).kb.redirect(result.redirect)
    if redirect is None:
        return False
    values = content.current.municipality(user.municipality_id).placeholders()
    kb = InlineKeyboardBuilder()
    for title, url in redirect.render_links(values):
        kb.button(text=f"🔗 {title}", url=button_url(url))
    kb.button(text=texts.text("faq.button_topics"), callback_data=FaqPageCD(page=0))
    kb.button(text=texts.text("faq.button_ask"), callback_data=FaqAskCD(q=question_id))
    add_menu_button(kb)
    kb.adjust(1)
    await message.answer(
        redirect.render_answer(values), reply_markup=kb.as_markup(), disable_web_page_preview=True
    )
    return True


@router.message(StateFilter(None), F.text, ~F.text.startswith("/"))
async def on_text(message: Message, user: User, faq: FaqService, content: ContentStore) -> None:
    await answer_question(message, message.text or "", user, faq, content)


# --- topic list and entries --------------------------------------------------------------
@router.callback_query(MenuCD.filter(F.item == "faq"))
async def on_menu_faq(query: CallbackQuery, content: ContentStore) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        kb = engine_for(content).kb
        await query.message.answer(texts.text("faq.topics_header"), reply_markup=_overview_keyboard(kb))


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup, in_place: bool) -> None:
    if not isinstance(query.message, Message):
        return
    if not in_place:
        await query.message.answer(text, reply_markup=markup)
        return
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramAPIError:  # too old to edit: show it anew
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(FaqPageCD.filter())
@router.callback_query(FaqTurnCD.filter())
async def on_page(query: CallbackQuery, callback_data: FaqPageCD | FaqTurnCD, content: ContentStore) -> None:
    """The topic list's first screen (old buttons with a page number open it too)."""
    await query.answer()
    kb = engine_for(content).kb
    in_place = isinstance(callback_data, FaqTurnCD)
    await _show(query, texts.text("faq.topics_header"), _overview_keyboard(kb), in_place)


@router.callback_query(FaqGroupCD.filter())
async def on_group(query: CallbackQuery, callback_data: FaqGroupCD, content: ContentStore) -> None:
    groups = dict(engine_for(content).kb.groups())
    entries = groups.get(callback_data.g)
    if not entries:
        await query.answer(texts.text("faq.topic_gone_alert"), show_alert=True)
        return
    await query.answer()
    page = min(max(callback_data.page, 0), _page_count(entries) - 1)
    header = texts.text(
        "faq.group_header", title=_group_title(callback_data.g), page=page + 1, pages=_page_count(entries)
    )
    await _show(query, header, _group_keyboard(callback_data.g, entries, page), in_place=True)


@router.callback_query(FaqOpenCD.filter())
async def on_open(query: CallbackQuery, callback_data: FaqOpenCD, content: ContentStore, user: User) -> None:
    entry = engine_for(content).kb.get(callback_data.id)
    if entry is None:
        await query.answer(
            content.current.text("faq.topic_gone_alert", user.municipality_id), show_alert=True
        )
        return
    await query.answer()
    if isinstance(query.message, Message):
        await send_entry(query.message, entry, content, user)


# --- hand-off to a specialist ----------------------------------------------------------------
class ReplyState(StatesGroup):
    """The parent writes a reply to a specialist's answer (FSM data: `h`, the hand-off)."""

    waiting = State()


def _photo_id(message: Message) -> str | None:
    """The largest size of an attached photo (a screenshot), if any."""
    return message.photo[-1].file_id if message.photo else None


async def _tell_handoff(
    message: Message, status: str, content: ContentStore, user: User, *, with_photo: bool = False
) -> None:
    """What the parent reads after the hand-off has been committed (or could not be made)."""
    c, m = content.current, user.municipality_id
    if status == "already":
        text = c.text("faq_handoff.already", m)
    elif status == "no_staff_chat":
        text = handoff_views.with_contacts(c, "faq_handoff.no_staff_chat", m)
    elif status == "not_found":
        text = c.text("faq_handoff.not_found", m)
    else:
        key = "faq_handoff.sent_with_photo" if with_photo else "faq_handoff.sent"
        text = handoff_views.with_contacts(c, key, m)
    await message.answer(text, reply_markup=back_to_menu_keyboard())


@router.callback_query(FaqAskCD.filter())
async def on_ask_button(
    query: CallbackQuery,
    *,
    callback_data: FaqAskCD,
    user: User,
    faq: FaqService,
    settings: Settings,
    content: ContentStore,
    state: FSMContext,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if callback_data.q == 0:
        await query.answer()
        await _prompt_question(query.message, state, settings, content, user)
        return
    render = handoff_views.staff_question(query.from_user, content.current, _titles(content))
    result = await faq.hand_off(callback_data.q, query.from_user.id, render)
    if result.status == "not_found":
        await query.answer(
            content.current.text("faq_handoff.not_found", user.municipality_id), show_alert=True
        )
        return
    await query.answer()
    await _tell_handoff(query.message, result.status, content, user)


async def _prompt_question(
    message: Message, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    if settings.staff_chat_id is None:
        text = handoff_views.with_contacts(content.current, "faq_handoff.ask_directly", user.municipality_id)
        await message.answer(text, reply_markup=back_to_menu_keyboard())
        return
    await state.set_state(AskState.waiting)
    await message.answer(
        content.current.text("faq_handoff.ask_prompt", user.municipality_id),
        reply_markup=handoff_views.prompt_keyboard(),
    )


@router.callback_query(MenuCD.filter(F.item == "ask"))
async def on_menu_ask(
    query: CallbackQuery, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await _prompt_question(query.message, state, settings, content, user)


async def _ask_with_text(
    message: Message,
    *,
    text: str,
    user: User,
    faq: FaqService,
    content: ContentStore,
    photo: str | None = None,
) -> bool:
    """Hand the question (and the screenshot) to staff; False when it has no words yet."""
    if not service.normalize_for_report(text):
        await message.answer(
            content.current.text("faq_handoff.empty_question", user.municipality_id),
            reply_markup=handoff_views.prompt_keyboard(),
        )
        return False
    if message.from_user is None:
        return False
    render = handoff_views.staff_question(
        message.from_user, content.current, _titles(content), with_photo=photo is not None
    )
    result = await faq.ask_specialist(user.id, _municipality_id(user, content), text, render, photo)
    await _tell_handoff(message, result.status, content, user, with_photo=photo is not None)
    return True


@router.message(Command("ask"))
async def cmd_ask(
    message: Message,
    *,
    command: CommandObject,
    user: User,
    faq: FaqService,
    settings: Settings,
    content: ContentStore,
    state: FSMContext,
) -> None:
    text = (command.args or "").strip()
    if not text:
        await _prompt_question(message, state, settings, content, user)
        return
    await state.clear()
    await _ask_with_text(message, text=text, user=user, faq=faq, content=content)


def _joined(*parts: str | None) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


@router.message(AskState.waiting, F.text, ~F.text.startswith("/"))
async def on_ask_text(
    message: Message, *, user: User, faq: FaqService, content: ContentStore, state: FSMContext
) -> None:
    """The question at the prompt; a screenshot sent before it (FSM data) goes with it."""
    data = await state.get_data()
    photo = data.get("photo")
    text = _joined(data.get("caption"), message.text)
    if await _ask_with_text(message, text=text, user=user, faq=faq, content=content, photo=photo):
        await state.clear()


@router.message(AskState.waiting, F.photo)
async def on_ask_photo(
    message: Message, *, user: User, faq: FaqService, content: ContentStore, state: FSMContext
) -> None:
    """A screenshot at the prompt: with a caption it goes at once, without one the words are asked for."""
    photo = _photo_id(message)
    if message.caption and service.normalize_for_report(message.caption):
        if await _ask_with_text(
            message, text=message.caption, user=user, faq=faq, content=content, photo=photo
        ):
            await state.clear()
        return
    await state.update_data(photo=photo, caption=None)
    await message.answer(
        content.current.text("faq_handoff.photo_needs_words", user.municipality_id),
        reply_markup=handoff_views.prompt_keyboard(),
    )


@router.message(AskState.waiting, ~F.text.startswith("/"))
async def on_ask_not_text(message: Message, user: User, content: ContentStore) -> None:
    await message.answer(
        content.current.text("faq_handoff.not_text", user.municipality_id),
        reply_markup=handoff_views.prompt_keyboard(),
    )


@router.message(StateFilter(None), F.photo)
async def on_photo(
    message: Message, *, user: User, settings: Settings, content: ContentStore, state: FSMContext
) -> None:
    """A photo outside any dialog is most often a screenshot of a Navigator error: offer to
    pass it to a specialist (kept in the FSM until the parent says what is wrong)."""
    c, m = content.current, user.municipality_id
    if settings.staff_chat_id is None:
        await message.answer(
            handoff_views.with_contacts(c, "faq_handoff.photo_no_staff_chat", m),
            reply_markup=back_to_menu_keyboard(),
        )
        return
    caption = (message.caption or "").strip()
    await state.set_state(AskState.waiting)
    await state.update_data(photo=_photo_id(message), caption=caption or None)
    if caption and service.normalize_for_report(caption):
        quoted = escape(truncate(caption, handoff_views.PROMPT_QUOTE_LIMIT))
        await message.answer(
            c.text("faq_handoff.photo_offer_caption", m, question=quoted),
            reply_markup=handoff_views.send_photo_keyboard(),
        )
        return
    await message.answer(c.text("faq_handoff.photo_offer", m), reply_markup=handoff_views.prompt_keyboard())


@router.callback_query(handoff_views.FaqSendCD.filter())
async def on_send_photo(
    query: CallbackQuery, *, user: User, faq: FaqService, content: ContentStore, state: FSMContext
) -> None:
    data = await state.get_data()
    if await state.get_state() != AskState.waiting.state or not data.get("photo") or not data.get("caption"):
        await query.answer(content.current.text("common.stale_button", user.municipality_id), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    sent = await _ask_with_text(
        query.message, text=data["caption"], user=user, faq=faq, content=content, photo=data["photo"]
    )
    if sent:
        await state.clear()


# --- the thread: the parent replies to a specialist ----------------------------------------------
@router.callback_query(handoff_views.FaqReplyCD.filter())
async def on_reply_button(
    query: CallbackQuery,
    *,
    callback_data: handoff_views.FaqReplyCD,
    user: User,
    faq: FaqService,
    settings: Settings,
    content: ContentStore,
    state: FSMContext,
) -> None:
    question = await faq.thread_question(callback_data.h, user.id)
    c, m = content.current, user.municipality_id
    if question is None:
        await query.answer(c.text("faq_handoff.reply_closed_alert", m), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if settings.staff_chat_id is None:
        await query.message.answer(
            handoff_views.with_contacts(c, "faq_handoff.ask_directly", m),
            reply_markup=back_to_menu_keyboard(),
        )
        return
    await state.set_state(ReplyState.waiting)
    await state.set_data({"h": callback_data.h})
    await query.message.answer(
        c.text("faq_handoff.reply_prompt", m, question=handoff_views.prompt_quote(question)),
        reply_markup=handoff_views.prompt_keyboard(),
    )


async def _reply(
    message: Message, handoff_id: int, *, user: User, faq: FaqService, content: ContentStore
) -> bool:
    """Pass the parent's reply (text, or a screenshot with or without a caption) into the
    hand-off's thread; False when there was nothing to pass."""
    c, m = content.current, user.municipality_id
    photo = _photo_id(message)
    text = (message.text or message.caption or "").strip()
    if photo is not None and not service.normalize_for_report(text):
        text = c.text("faq_handoff.no_caption", m)
    if not service.normalize_for_report(text) or message.from_user is None:
        await message.answer(c.text("faq_handoff.not_text", m), reply_markup=handoff_views.prompt_keyboard())
        return False
    render = handoff_views.staff_reply(message.from_user, with_photo=photo is not None)
    result = await faq.reply_to_staff(handoff_id, user.id, text, render, photo)
    if result.status == "not_found":
        await message.answer(
            c.text("faq_handoff.reply_closed_alert", m), reply_markup=back_to_menu_keyboard()
        )
    elif result.status == "no_staff_chat":
        await _tell_handoff(message, result.status, content, user)
    else:
        key = "faq_handoff.reply_sent_with_photo" if photo is not None else "faq_handoff.reply_sent"
        await message.answer(c.text(key, m), reply_markup=back_to_menu_keyboard())
    return True


@router.message(ReplyState.waiting, ~F.text.startswith("/"))
async def on_reply(
    message: Message, *, user: User, faq: FaqService, content: ContentStore, state: FSMContext
) -> None:
    handoff_id = int((await state.get_data()).get("h") or 0)
    if await _reply(message, handoff_id, user=user, faq=faq, content=content):
        await state.clear()


async def _answer_thread(message: Message, faq: FaqService) -> bool | dict[str, int]:
    """Passes (with `handoff_id`) a parent's Telegram reply («Ответить») to a specialist's answer."""
    replied = message.reply_to_message
    if (
        replied is None
        or replied.from_user is None
        or not replied.from_user.is_bot
        or message.from_user is None
    ):
        return False
    handoff_id = await faq.thread_of_answer(message.from_user.id, replied.message_id)
    return {"handoff_id": handoff_id} if handoff_id is not None else False


@replies_router.message(
    F.chat.type == ChatType.PRIVATE,
    StateFilter(None),
    F.text | F.photo,
    ~F.text.startswith("/"),
    _answer_thread,
)
async def on_reply_to_answer(
    message: Message, *, handoff_id: int, user: User, faq: FaqService, content: ContentStore
) -> None:
    await _reply(message, handoff_id, user=user, faq=faq, content=content)


# --- staff ---------------------------------------------------------------------------
@replies_router.message(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}), F.reply_to_message)
async def on_staff_reply(message: Message, faq: FaqService, settings: Settings, role: Role) -> None:
    reply_to = message.reply_to_message
    if settings.staff_chat_id is None or message.chat.id != settings.staff_chat_id or reply_to is None:
        return
    if role < Role.STAFF:
        found = await faq.is_handoff_message(message.chat.id, reply_to.message_id)
        if found:
            await message.reply(texts.text("faq_handoff.staff_only_reply"))
        return
    if not message.text:
        if await faq.is_handoff_message(message.chat.id, reply_to.message_id):
            await message.reply(texts.text("faq_handoff.staff_text_only"))
        return
    body = message.html_text
    plain = message.text

    def render(question: QuestionRecord) -> list[str]:
        return handoff_views.answer_parts(question, body, plain)

    staff_id = message.from_user.id if message.from_user else 0
    result = await faq.answer_from_staff(
        message.chat.id,
        reply_to.message_id,
        staff_id,
        render=render,
        on_fail_text=handoff_views.answer_failed,
        buttons=handoff_views.answer_buttons,
    )
    if result.status == "not_handoff":
        return  # a reply to something else in the staff chat
    if result.status == "parent_gone":
        await message.reply(texts.text("faq_handoff.parent_gone"))
    elif result.status == "addition":
        await message.reply(texts.text("faq_handoff.addition_sent"))
    else:
        key = "faq_handoff.reply_answer_sent" if result.status == "reply" else "faq_handoff.answer_sent"
        await message.reply(texts.text(key, waited=handoff_views.wait_text(result.waited or 0.0)))


def digest_text(items: list[OpenQuestionRow], total: int, now: datetime) -> str:
    return handoff_views.digest_text(items, total, now)


@staff_router.message(Command("questions"))
async def cmd_questions(message: Message, faq: FaqService) -> None:
    items, total = await faq.open_questions(limit=15)
    if not items:
        await message.answer(texts.text("faq_handoff.no_open"))
        return
    await message.answer(digest_text(items, total, datetime.now(UTC)))


@staff_router.message(Command("reload"))
async def cmd_reload(message: Message, content: ContentStore) -> None:
    try:
        new = await asyncio.to_thread(content.reload)  # rebuilding the FAQ index takes a second
    except ContentError as exc:
        shown = exc.problems[:15]
        lines = [f"• {escape(str(p))}" for p in shown]
        if len(exc.problems) > len(shown):
            lines.append(texts.text("faq_handoff.reload_more", count=len(exc.problems) - len(shown)))
        await message.answer(texts.text("faq_handoff.reload_failed", problems="\n".join(lines)))
        return
    await message.answer(texts.text("faq_handoff.reload_done", count=len(new.sections.get("faq", ()))))
