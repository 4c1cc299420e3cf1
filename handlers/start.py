"""First contact (/start, the municipality, consent), the menu, /help, and leaving dialogs.

This router comes right after the errors router, so /cancel, «Отмена» and the cancel
words reach it before any feature's dialog can take them as an answer.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Chat, Message, Update
from aiogram.types import User as TgUser

from bot import dialogs, texts
from bot.content import Content, ContentStore
from bot.keyboards import (
    CancelCD,
    ConsentCD,
    MenuCD,
    MunicipalityCD,
    back_to_menu_keyboard,
    main_menu_keyboard,
)
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.services.users import UserService
from bot.views import start as views

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)
logger = logging.getLogger(__name__)


# --- leaving a dialog -------------------------------------------------------------------------
async def _left(state: FSMContext) -> bool:
    """Leave whatever dialog is open; True when there was one."""
    was_in_dialog = await state.get_state() is not None
    await state.clear()
    return was_in_dialog


def _cancelled_text(content: ContentStore, user: User | None, left: bool) -> str:
    key = "common.cancelled" if left else "common.nothing_to_cancel"
    return content.current.text(key, user.municipality_id if user else None)


@router.message(dialogs.CancelRequest(), flags={"no_consent": True})
async def on_cancel(message: Message, user: User, content: ContentStore, state: FSMContext) -> None:
    """/cancel or «отмена», «стоп», «назад», «не надо»… in any dialog of any router."""
    left = await _left(state)
    await message.answer(_cancelled_text(content, user, left), reply_markup=main_menu_keyboard())


@router.callback_query(CancelCD.filter(), flags={"no_consent": True})
async def on_cancel_button(
    query: CallbackQuery, user: User, content: ContentStore, state: FSMContext
) -> None:
    left = await _left(state)
    await query.answer(content.current.text("common.cancelled_alert", user.municipality_id))
    if not isinstance(query.message, Message):
        return
    await _drop_keyboard(query)  # the prompt's «Отмена» is spent
    await query.message.answer(_cancelled_text(content, user, left), reply_markup=main_menu_keyboard())


# --- /start, municipality, consent ------------------------------------------------------------------
@router.message(CommandStart(), flags={"no_consent": True})
async def cmd_start(
    message: Message, user: User, users: UserService, content: ContentStore, state: FSMContext
) -> None:
    user = await users.came_back(user)
    c = content.current
    if user.consent_at is None:
        await dialogs.restart(state)
        kept = bool(await dialogs.kept_questions(state))
        await message.answer(views.greeting(c, None))
        text, markup = _first_step(c, kept)
        await message.answer(text, reply_markup=markup)
        return
    await state.clear()
    if not c.single_municipality and user.municipality_id not in c.municipalities:
        text, markup = views.municipality_screen(c)
        await message.answer(text, reply_markup=markup)
        return
    await message.answer(c.text("menu", user.municipality_id), reply_markup=main_menu_keyboard())


def _first_step(c: Content, kept: bool) -> views.Screen:
    """After the greeting: the municipality (when there are several), else the consent."""
    note = c.text("start.question_kept") if kept else ""
    place = views.known_place(c, None)
    if place is None:
        return views.municipality_screen(c, note)
    return views.consent_screen(c, place, note)


async def _drop_keyboard(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):  # already without buttons, or too old to edit
            await query.message.edit_reply_markup(reply_markup=None)


@router.callback_query(MunicipalityCD.filter(), flags={"no_consent": True})
async def on_municipality(
    query: CallbackQuery,
    *,
    callback_data: MunicipalityCD,
    user: User,
    users: UserService,
    content: ContentStore,
    state: FSMContext,
    bot: Bot,
    dispatcher: Dispatcher,
) -> None:
    c = content.current
    if callback_data.id not in c.municipalities:
        await query.answer(c.text("start.municipality_unknown_alert"), show_alert=True)
        return
    name = c.municipalities[callback_data.id].name
    await query.answer(c.text("start.municipality_chosen_alert", callback_data.id, name=name))
    if not isinstance(query.message, Message):
        return
    if user.consent_at is None:
        # Nothing is stored before consent: the choice waits in the FSM, and the consent
        # now names this municipality's МОЦ as the operator.
        await dialogs.choose_place(state, callback_data.id)
        await _drop_keyboard(query)
        note = c.text("start.question_kept", callback_data.id) if await dialogs.kept_questions(state) else ""
        text, markup = views.consent_screen(c, callback_data.id, note)
        await query.message.answer(text, reply_markup=markup)
        return
    user = await users.choose_municipality(query.from_user.id, callback_data.id)
    await _drop_keyboard(query)
    kept = await _take_kept(state)
    done = c.text("start.municipality_done", user.municipality_id, name=name)
    if kept:
        await query.message.answer(done)
        await _answer_kept(kept, query.from_user, bot, dispatcher)
        return
    await query.message.answer(
        done + "\n\n" + c.text("menu", user.municipality_id), reply_markup=main_menu_keyboard()
    )


@router.callback_query(ConsentCD.filter(F.action == "place"), flags={"no_consent": True})
async def on_other_place(query: CallbackQuery, content: ContentStore, state: FSMContext) -> None:
    await query.answer()
    await dialogs.choose_place(state, None)
    await _drop_keyboard(query)
    if isinstance(query.message, Message):
        text, markup = views.municipality_screen(content.current)
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(ConsentCD.filter(F.action == "show"), flags={"no_consent": True})
async def on_show_consent(
    query: CallbackQuery, callback_data: ConsentCD, user: User, content: ContentStore, state: FSMContext
) -> None:
    c = content.current
    if user.consent_at is not None:
        await query.answer(c.text("start.consent_already_alert", user.municipality_id))
        return
    await query.answer()
    await _drop_keyboard(query)
    if not isinstance(query.message, Message):
        return
    place = views.known_place(c, callback_data.m) or views.known_place(c, await dialogs.chosen_place(state))
    text, markup = views.municipality_screen(c) if place is None else views.consent_screen(c, place)
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(ConsentCD.filter(F.action == "no"), flags={"no_consent": True})
async def on_decline(
    query: CallbackQuery, callback_data: ConsentCD, user: User, content: ContentStore, state: FSMContext
) -> None:
    """«Не согласен»: nothing is stored, the questions kept so far are dropped; the МОЦ's
    public contacts and the Navigator are all the bot can offer. /start asks again."""
    c = content.current
    if user.consent_at is not None:
        await query.answer(
            c.text("start.declined_after_consent_alert", user.municipality_id), show_alert=True
        )
        return
    await query.answer()
    place = views.known_place(c, callback_data.m)
    await state.clear()
    await _drop_keyboard(query)
    if isinstance(query.message, Message):
        text, markup = views.declined_screen(c, place)
        await query.message.answer(text, reply_markup=markup, disable_web_page_preview=True)


@router.callback_query(ConsentCD.filter(F.action == "yes"), flags={"no_consent": True})
async def on_consent(
    query: CallbackQuery,
    *,
    callback_data: ConsentCD,
    user: User,
    users: UserService,
    content: ContentStore,
    state: FSMContext,
    bot: Bot,
    dispatcher: Dispatcher,
) -> None:
    c = content.current
    place = views.known_place(c, callback_data.m) or views.known_place(c, await dialogs.chosen_place(state))
    if user.consent_at is None and place is None:
        # A consent that names no МОЦ (a button from before the municipality came first).
        await query.answer()
        if isinstance(query.message, Message):
            text, markup = views.municipality_screen(c)
            await query.message.answer(text, reply_markup=markup)
        return
    result = await users.give_consent(query.from_user.id, c, place)
    user = result.user
    key = "start.consent_saved_alert" if result.first_time else "start.consent_already_alert"
    await query.answer(c.text(key, user.municipality_id))
    if not isinstance(query.message, Message):
        return
    await _drop_keyboard(query)
    accepted = c.text("consent_accepted", user.municipality_id)
    if not c.single_municipality and user.municipality_id not in c.municipalities:
        # Consent given long ago without a municipality: choose it now; the kept questions
        # wait for that choice (on_municipality answers them).
        await dialogs.restart(state)
        text, markup = views.municipality_screen(c, accepted)
        await query.message.answer(text, reply_markup=markup)
        return
    kept = await _take_kept(state)
    await state.clear()
    if kept:
        await query.message.answer(
            accepted + "\n" + c.text("start.answering_kept", user.municipality_id, count=len(kept))
        )
        await _answer_kept(kept, query.from_user, bot, dispatcher)
        return
    await query.message.answer(
        accepted + "\n\n" + c.text("menu", user.municipality_id), reply_markup=main_menu_keyboard()
    )


async def _take_kept(state: FSMContext) -> list[dict[str, Any]]:
    kept = await dialogs.kept_questions(state)
    await state.update_data({dialogs.KEPT: []})
    return kept


async def _answer_kept(kept: list[dict[str, Any]], tg_user: TgUser, bot: Bot, dispatcher: Dispatcher) -> None:
    """Answer what the person typed before consent as if they typed it now: each question is
    fed to the dispatcher again, so a program search, an FAQ question or anything else goes
    where it would go today (with the consent and the municipality now stored)."""
    chat = Chat(id=tg_user.id, type=ChatType.PRIVATE, first_name=tg_user.first_name)
    for item in kept:
        message = Message(
            message_id=int(item.get("id") or 0),
            date=datetime.now(UTC),
            chat=chat,
            from_user=tg_user,
            text=str(item["text"]),
        )
        await dispatcher.feed_update(bot, Update(update_id=0, message=message))


# --- menu and help ------------------------------------------------------------------------------------
def _is_menu_word(text: str | None) -> bool:
    """Typed instead of /menu: «меню», «Главное меню!», «в меню» (the text common.menu_words)."""
    if not text or len(text) > 40:
        return False
    return texts.normalize_phrase(text) in texts.phrases("common.menu_words")


@router.message(Command("menu"))
@router.message(F.text.func(_is_menu_word))
async def cmd_menu(message: Message, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        content.current.text("menu", user.municipality_id), reply_markup=main_menu_keyboard()
    )


@router.callback_query(MenuCD.filter(F.item == "main"))
async def on_menu(query: CallbackQuery, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            content.current.text("menu", user.municipality_id), reply_markup=main_menu_keyboard()
        )


def help_text(content: ContentStore, user: User | None, role: Role) -> str:
    c = content.current
    municipality_id = user.municipality_id if user else None
    if role < Role.STAFF and views.known_place(c, municipality_id) is None:
        return c.text("start.help_before_start")  # whose contacts to show is not known yet
    text = c.text("help_parent", municipality_id)
    if role >= Role.STAFF:
        text += "\n\n" + c.text("help_staff", municipality_id)
    return text


@router.message(Command("help"), flags={"no_consent": True})
async def cmd_help(message: Message, user: User, role: Role, content: ContentStore) -> None:
    await message.answer(help_text(content, user, role), reply_markup=back_to_menu_keyboard())


@router.callback_query(MenuCD.filter(F.item == "help"))
async def on_help(query: CallbackQuery, user: User, role: Role, content: ContentStore) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(help_text(content, user, role), reply_markup=back_to_menu_keyboard())
