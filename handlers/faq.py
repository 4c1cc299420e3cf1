"""Parent FAQ: free-text questions, the topic list, and questions to a specialist.

`router` takes every private-chat text no earlier router wanted (it sits just
before the fallback); `staff_router` holds /questions, /reload and the staff
chat replies that the bot delivers to parents.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.types import User as TgUser
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import ContentError, ContentStore
from bot.html import MESSAGE_LIMIT, ascii_url, escape, truncate
from bot.keyboards import MenuCD, add_menu_button, back_to_menu_keyboard
from bot.middlewares import RoleGuard
from bot.services.faq import service
from bot.services.faq.engine import engine_for
from bot.services.faq.knowledge import FaqEntry, KnowledgeBase
from bot.services.faq.matcher import Decision, MatchResult
from bot.services.roles import Role
from bot.settings import Settings
from db.base import utcnow
from db.models import FaqQuestion, User

logger = logging.getLogger(__name__)

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)

staff_router = Router(name=f"{__name__}.staff")
staff_router.message.middleware(RoleGuard(Role.STAFF))
staff_router.callback_query.middleware(RoleGuard(Role.STAFF))

# Replies in the staff chat: anyone may write there, so the role is checked inside.
replies_router = Router(name=f"{__name__}.replies")
replies_router.message.filter(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))

PAGE_SIZE = 8
QUOTE_LIMIT = 300
STAFF_QUOTE_LIMIT = 2500
ASK_BUTTON = "💬 Задать вопрос специалисту"
TOPICS_BUTTON = "📋 Темы вопросов"


class FaqOpenCD(CallbackData, prefix="fo"):
    id: str


class FaqPageCD(CallbackData, prefix="fp"):
    """Open the topic list anew at a page (from an answer, suggestions, the menu)."""

    page: int


class FaqTurnCD(CallbackData, prefix="ft"):
    """◀ ▶ inside the topic list: turn its page in place."""

    page: int


class FaqAskCD(CallbackData, prefix="fa"):
    q: int  # stored question id; 0: ask the person to write the question


class AskState(StatesGroup):
    waiting = State()


SMALLTALK = {
    "greeting": "Здравствуйте! Напишите вопрос о сертификате, «Навигаторе» или записи в кружок — "
    "я постараюсь помочь. Темы вопросов — в меню: /menu",
    "thanks": "Пожалуйста! Если появятся ещё вопросы — пишите.",
    "bye": "Всего доброго! Если появятся вопросы — пишите в любое время.",
    "ok": "Хорошо! Если появятся вопросы — пишите.",
    "bot": "Да, я бот-помощник МОЦ: отвечаю на частые вопросы о сертификате, «Навигаторе» и записи "
    "в кружки. Если я не знаю ответа, передам вопрос специалисту — команда /ask.",
}
EMPTY_TEXT = (
    "Не вижу вопроса в сообщении 🙂 Напишите его словами, например: «как получить сертификат» "
    "или «не приходит письмо из Навигатора»."
)
ENGLISH_TEXT = (
    "Я отвечаю на вопросы на русском языке — напишите, пожалуйста, вопрос по-русски.\n"
    "<i>I answer questions in Russian. You can also ask a specialist of the centre.</i>"
)
FALLBACK_TEXT = (
    "Я не нашёл ответа на этот вопрос. Я отвечаю на вопросы о сертификате дополнительного образования, "
    "«Навигаторе» и записи в кружки и секции.\n\n"
    "Выберите тему из списка или передайте вопрос специалисту МОЦ."
)
SUGGEST_TEXT = "Возможно, вы имели в виду…"
ASK_PROMPT = (
    "Напишите ваш вопрос одним сообщением — я передам его специалисту МОЦ, "
    "и ответ придёт сюда, в этот чат. Отменить: /cancel"
)


# --- keyboards -------------------------------------------------------------------------
def button_url(url: str) -> str:
    """ASCII form of a link for a button (see bot.html.ascii_url); other schemes pass as they are."""
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
    kb.button(text=ASK_BUTTON, callback_data=FaqAskCD(q=question_id))
    kb.button(text=TOPICS_BUTTON, callback_data=FaqPageCD(page=0))
    add_menu_button(kb)
    kb.adjust(*sizes, 1, 2)
    return kb.as_markup()


def _choices_keyboard(ids: list[str], titles: dict[str, str], question_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for eid in ids:
        if eid in titles:
            kb.button(text=titles[eid], callback_data=FaqOpenCD(id=eid))
    kb.button(text=TOPICS_BUTTON, callback_data=FaqPageCD(page=0))
    kb.button(text=ASK_BUTTON, callback_data=FaqAskCD(q=question_id))
    kb.adjust(1)
    return kb.as_markup()


def _page_count(entries: list[FaqEntry]) -> int:
    return max(1, -(-len(entries) // PAGE_SIZE))


def _topics_keyboard(entries: list[FaqEntry], page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    for entry in shown:
        kb.button(text=entry.title, callback_data=FaqOpenCD(id=entry.id))
    nav = 0
    if page > 0:
        kb.button(text="◀️ Назад", callback_data=FaqTurnCD(page=page - 1))
        nav += 1
    if page + 1 < _page_count(entries):
        kb.button(text="Дальше ▶️", callback_data=FaqTurnCD(page=page + 1))
        nav += 1
    kb.button(text=ASK_BUTTON, callback_data=FaqAskCD(q=0))
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
    message: Message, text: str, user: User, session: AsyncSession, content: ContentStore
) -> MatchResult:
    """Match one question, store it and answer the person."""
    engine = engine_for(content)
    result = engine.matcher.match(text)
    municipality_id = _municipality_id(user, content)
    if result.decision is Decision.SMALLTALK:
        await service.save_question(session, user.id, municipality_id, text, result)
        await message.answer(
            SMALLTALK.get(result.smalltalk or "", SMALLTALK["greeting"]), reply_markup=back_to_menu_keyboard()
        )
        return result
    if not result.candidates and not result.english and not service.normalize_for_report(text):
        await message.answer(EMPTY_TEXT, reply_markup=_choices_keyboard([], {}, 0))
        return result
    question = await service.save_question(session, user.id, municipality_id, text, result)
    if result.decision is Decision.CLARIFY and await send_clarify(message, result, engine.kb, question.id):
        return result
    if result.decision is Decision.REDIRECT and await send_redirect(
        message, result, content, user, question.id
    ):
        return result
    if result.decision is Decision.ANSWER and result.best is not None:
        entry = engine.kb.get(result.best.id)
        if entry is not None:
            await send_entry(message, entry, content, user, question.id)
            return result
    if result.decision is Decision.SUGGEST:
        ids = [c.id for c in result.candidates]
        await message.answer(SUGGEST_TEXT, reply_markup=_choices_keyboard(ids, _titles(content), question.id))
        return result
    text_out = ENGLISH_TEXT if result.english else FALLBACK_TEXT
    await message.answer(text_out, reply_markup=_choices_keyboard([], _titles(content), question.id))
    return result


# --- asking back and pointing elsewhere ------------------------------------------------------
CLARIFY_PREFIX = "Уточните, пожалуйста: вы спрашиваете, "


def clarify_text(result: MatchResult, kb: KnowledgeBase) -> tuple[str, list[tuple[str, str]]] | None:
    """The question back and its options (entry id, button label); None without 2 options."""
    options = [(e.id, e.asked_as) for e in (kb.get(c.id) for c in result.candidates[:4]) if e is not None]
    if len(options) < 2:
        return None
    group = kb.clarify_group(result.clarify)
    if group is not None:
        return escape(group.question), [(eid, label[:1].upper() + label[1:]) for eid, label in options]
    asked = [escape(label) for _, label in options]
    text = CLARIFY_PREFIX + ", ".join(asked[:-1]) + " или " + asked[-1] + "?"
    return text, [(eid, label[:1].upper() + label[1:]) for eid, label in options]


def clarify_keyboard(options: list[tuple[str, str]], question_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for eid, label in options:
        kb.button(text=label, callback_data=FaqOpenCD(id=eid))
    kb.button(text=ASK_BUTTON, callback_data=FaqAskCD(q=question_id))
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
    kb.button(text=TOPICS_BUTTON, callback_data=FaqPageCD(page=0))
    kb.button(text=ASK_BUTTON, callback_data=FaqAskCD(q=question_id))
    add_menu_button(kb)
    kb.adjust(1)
    await message.answer(
        redirect.render_answer(values), reply_markup=kb.as_markup(), disable_web_page_preview=True
    )
    return True


@router.message(StateFilter(None), F.text, ~F.text.startswith("/"))
async def on_text(message: Message, user: User, session: AsyncSession, content: ContentStore) -> None:
    await answer_question(message, message.text or "", user, session, content)


# --- topic list and entries --------------------------------------------------------------
@router.callback_query(MenuCD.filter(F.item == "faq"))
async def on_menu_faq(query: CallbackQuery, content: ContentStore) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        entries = list(engine_for(content).kb)
        await query.message.answer(_topics_header(0, entries), reply_markup=_topics_keyboard(entries, 0))


def _topics_header(page: int, entries: list[FaqEntry]) -> str:
    return (
        f"<b>Частые вопросы</b> (страница {page + 1} из {_page_count(entries)})\n"
        "Выберите тему или просто напишите вопрос."
    )


@router.callback_query(FaqPageCD.filter())
@router.callback_query(FaqTurnCD.filter())
async def on_page(query: CallbackQuery, callback_data: FaqPageCD | FaqTurnCD, content: ContentStore) -> None:
    entries = list(engine_for(content).kb)
    page = min(max(callback_data.page, 0), _page_count(entries) - 1)
    await query.answer()
    if isinstance(query.message, Message):
        text = _topics_header(page, entries)
        markup = _topics_keyboard(entries, page)
        if isinstance(callback_data, FaqPageCD):
            await query.message.answer(text, reply_markup=markup)
            return
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except TelegramAPIError:  # too old to edit: show the page anew
            await query.message.answer(text, reply_markup=markup)


@router.callback_query(FaqOpenCD.filter())
async def on_open(query: CallbackQuery, callback_data: FaqOpenCD, content: ContentStore, user: User) -> None:
    entry = engine_for(content).kb.get(callback_data.id)
    if entry is None:
        await query.answer("Этой темы больше нет. Откройте список заново: /menu", show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await send_entry(query.message, entry, content, user)


# --- hand-off to a specialist ----------------------------------------------------------------
def _who(tg_user: TgUser) -> str:
    name = escape(truncate(tg_user.first_name or "Пользователь", 64))
    return f'<a href="tg://user?id={tg_user.id}">{name}</a>'


def _tried(question: FaqQuestion, titles: dict[str, str]) -> str:
    title = escape(titles.get(question.matched_id or "", question.matched_id or ""))
    score = f"{question.score:.2f}".replace(".", ",")  # a Russian decimal comma
    if question.decision == Decision.ANSWER:
        return f"бот ответил статьёй «{title}» (оценка {score}), родителю не подошло"
    if question.decision in (Decision.SUGGEST, Decision.CLARIFY):
        return f"бот не был уверен, ближе всего — «{title}» (оценка {score})"
    if question.decision == Decision.REDIRECT:
        return f"бот решил, что вопрос не о кружках, и подсказал, куда обратиться ({title})"
    if question.decision == Decision.FALLBACK:
        return "бот не нашёл ответа в базе знаний"
    return "вопрос задан сразу специалисту"


def _contacts(content: ContentStore, user: User | None) -> str:
    m = content.current.municipality(user.municipality_id if user else None)
    return (
        f"{escape(m.moc.name)}\n"
        f"📞 {escape(m.moc.phone)}\n"
        f"✉️ {escape(m.moc.email)}\n"
        f"🕘 {escape(m.moc.hours)}\n"
        f"📍 {escape(m.moc.address)}"
    )


async def hand_off(
    message: Message,
    *,
    bot: Bot,
    tg_user: TgUser,
    question: FaqQuestion,
    session: AsyncSession,
    settings: Settings,
    content: ContentStore,
    user: User,
) -> None:
    """Send the question to the staff chat; without one, give the МОЦ contacts."""
    existing = await service.handoff_of_question(session, question.id)
    if existing is not None:
        await message.answer("Этот вопрос уже передан специалисту. Ответ придёт сюда, в этот чат.")
        return
    no_chat = (
        "Передать вопрос через бота сейчас нельзя, но специалисты МОЦ ответят вам напрямую:\n\n"
        + _contacts(content, user)
    )
    if settings.staff_chat_id is None:
        await message.answer(no_chat)
        return
    municipality = content.current.municipality(question.municipality_id)
    staff_text = (
        f"❓ <b>Вопрос родителя</b> №{question.id}\n"
        f"От: {_who(tg_user)} · {escape(municipality.name)}\n\n"
        f"<blockquote>{escape(truncate(question.text, STAFF_QUOTE_LIMIT))}</blockquote>\n"
        f"Что пробовал бот: {_tried(question, _titles(content))}.\n\n"
        "Ответьте на это сообщение (функция «Ответить»), и бот перешлёт ответ родителю."
    )
    try:
        sent = await bot.send_message(settings.staff_chat_id, staff_text)
    except TelegramAPIError:
        logger.warning("could not post question %s to the staff chat", question.id, exc_info=True)
        await message.answer(no_chat)
        return
    await service.create_handoff(session, question, settings.staff_chat_id, sent.message_id)
    await message.answer(
        "Спасибо! Вопрос передан специалисту МОЦ. Ответ придёт сюда, в этот чат, "
        "обычно в рабочее время.\n\nСрочно? Контакты МОЦ:\n" + _contacts(content, user),
        reply_markup=back_to_menu_keyboard(),
    )


@router.callback_query(FaqAskCD.filter())
async def on_ask_button(
    query: CallbackQuery,
    *,
    callback_data: FaqAskCD,
    bot: Bot,
    user: User,
    session: AsyncSession,
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
    question = await service.get_question(session, callback_data.q, query.from_user.id)
    if question is None:
        await query.answer("Не нашёл этот вопрос. Напишите его заново: /ask", show_alert=True)
        return
    await query.answer()
    await hand_off(
        query.message,
        bot=bot,
        tg_user=query.from_user,
        question=question,
        session=session,
        settings=settings,
        content=content,
        user=user,
    )


async def _prompt_question(
    message: Message, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    if settings.staff_chat_id is None:
        await message.answer(
            "Задать вопрос специалисту можно напрямую — контакты МОЦ:\n\n" + _contacts(content, user)
        )
        return
    await state.set_state(AskState.waiting)
    await message.answer(ASK_PROMPT)


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
    bot: Bot,
    user: User,
    session: AsyncSession,
    settings: Settings,
    content: ContentStore,
) -> None:
    if not service.normalize_for_report(text):
        await message.answer("Напишите вопрос словами, пожалуйста. Отменить: /cancel")
        return
    if message.from_user is None:
        return
    municipality_id = _municipality_id(user, content)
    question = await service.save_question(session, user.id, municipality_id, text, None)
    await hand_off(
        message,
        bot=bot,
        tg_user=message.from_user,
        question=question,
        session=session,
        settings=settings,
        content=content,
        user=user,
    )


@router.message(Command("ask"))
async def cmd_ask(
    message: Message,
    *,
    command: CommandObject,
    bot: Bot,
    user: User,
    session: AsyncSession,
    settings: Settings,
    content: ContentStore,
    state: FSMContext,
) -> None:
    text = (command.args or "").strip()
    if not text:
        await _prompt_question(message, state, settings, content, user)
        return
    await state.clear()
    await _ask_with_text(
        message, text=text, bot=bot, user=user, session=session, settings=settings, content=content
    )


@router.message(AskState.waiting, F.text, ~F.text.startswith("/"))
async def on_ask_text(
    message: Message,
    *,
    bot: Bot,
    user: User,
    session: AsyncSession,
    settings: Settings,
    content: ContentStore,
    state: FSMContext,
) -> None:
    text = message.text or ""
    if service.normalize_for_report(text):
        await state.clear()
    await _ask_with_text(
        message, text=text, bot=bot, user=user, session=session, settings=settings, content=content
    )


@router.message(AskState.waiting, ~F.text)
async def on_ask_not_text(message: Message) -> None:
    await message.answer("Пока я могу передать только текст. Напишите вопрос словами или /cancel.")


# --- staff ---------------------------------------------------------------------------
@replies_router.message(F.reply_to_message)
async def on_staff_reply(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, role: Role
) -> None:
    reply_to = message.reply_to_message
    if settings.staff_chat_id is None or message.chat.id != settings.staff_chat_id or reply_to is None:
        return
    found = await service.find_handoff(session, message.chat.id, reply_to.message_id)
    if found is None:
        return  # a reply to something else in the staff chat
    if role < Role.STAFF:
        await message.reply("Отвечать родителям через бота могут только сотрудники МОЦ.")
        return
    handoff, question = found
    if not message.text:
        await message.reply("Ответ родителю можно отправить только текстом.")
        return
    if question.user_id is None or question.user_id <= 0 or not question.text:
        await message.reply("Родитель удалил свои данные из бота, доставить ответ нельзя.")
        return
    header = (
        f"💬 <b>Ответ специалиста МОЦ</b> на ваш вопрос «{escape(truncate(question.text, QUOTE_LIMIT))}»:\n\n"
    )
    body = message.html_text
    try:
        if len(header) + len(body) <= MESSAGE_LIMIT:
            await bot.send_message(question.user_id, header + body, disable_web_page_preview=True)
        else:
            await bot.send_message(question.user_id, header.rstrip())
            await bot.send_message(question.user_id, escape(truncate(message.text, MESSAGE_LIMIT - 50)))
    except TelegramForbiddenError:
        await message.reply("Не удалось доставить ответ: родитель заблокировал бота.")
        return
    except TelegramAPIError as exc:
        logger.warning("could not deliver answer to question %s: %s", question.id, exc)
        await message.reply("Не удалось доставить ответ, попробуйте ещё раз чуть позже.")
        return
    staff_id = message.from_user.id if message.from_user else 0
    waited = await service.mark_answered(session, handoff, question, staff_id)
    if waited is None:
        await message.reply("✅ Дополнение доставлено родителю.")
    else:
        await message.reply(f"✅ Ответ доставлен родителю (вопрос ждал {service.format_wait(waited)}).")


@staff_router.message(Command("questions"))
async def cmd_questions(message: Message, session: AsyncSession, settings: Settings) -> None:
    items, total = await service.open_questions(session, limit=15)
    if not items:
        await message.answer("Открытых вопросов нет 🎉")
        return
    now = utcnow()
    lines = [f"<b>Открытые вопросы родителей: {total}</b> (сначала самые давние)"]
    for item in items:
        waited = service.format_wait((now - item.created_at).total_seconds())
        lines.append(f"\n№{item.question_id} · ждёт {waited}\n{escape(truncate(item.text, 200))}")
    if total > len(items):
        lines.append(f"\n…и ещё {total - len(items)}.")
    lines.append("\nЧтобы ответить, ответьте (reply) на сообщение с вопросом в чате сотрудников.")
    await message.answer("\n".join(lines))


@staff_router.message(Command("reload"))
async def cmd_reload(message: Message, content: ContentStore) -> None:
    try:
        new = await asyncio.to_thread(content.reload)  # rebuilding the FAQ index takes a second
    except ContentError as exc:
        shown = exc.problems[:15]
        lines = [f"• {escape(str(p))}" for p in shown]
        more = f"\n…и ещё {len(exc.problems) - len(shown)}" if len(exc.problems) > len(shown) else ""
        await message.answer(
            "⚠️ Контент не перезагружен: в файлах есть ошибки. Бот продолжает работать на прежней версии.\n\n"
            + "\n".join(lines)
            + more
        )
        return
    faq = len(new.sections.get("faq", ()))
    await message.answer(f"✅ Контент перезагружен: вопросов и ответов в базе — {faq}.")
