"""/mydata: what the bot keeps about the person; /forget: delete it (after a confirmation)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove

from bot.content import ContentStore
from bot.html import escape
from bot.keyboards import ForgetCD, back_to_menu_keyboard, forget_keyboard
from bot.services.privacy import PrivacyService
from bot.services.users import UserRecord as User
from bot.settings import Settings

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)


@router.message(Command("mydata"), flags={"no_consent": True})
async def cmd_mydata(
    message: Message, user: User, privacy: PrivacyService, settings: Settings, content: ContentStore
) -> None:
    c, m = content.current, user.municipality_id
    lines = await privacy.describe(user, c, settings.tz)
    await message.answer(
        c.text("start.mydata_header", m)
        + "\n"
        + "\n".join(f"• {escape(line.removeprefix('• '))}" for line in lines)
        + "\n\n"
        + c.text("start.mydata_footer", m),
        reply_markup=back_to_menu_keyboard(),
    )


@router.message(Command("forget"), flags={"no_consent": True})
async def cmd_forget(message: Message, user: User, content: ContentStore) -> None:
    await message.answer(
        content.current.text("start.forget_confirm", user.municipality_id), reply_markup=forget_keyboard()
    )


@router.callback_query(ForgetCD.filter(F.action == "yes"), flags={"no_consent": True})
async def on_forget_yes(
    query: CallbackQuery, user: User, privacy: PrivacyService, content: ContentStore, state: FSMContext
) -> None:
    c, m = content.current, user.municipality_id
    await privacy.forget(query.from_user.id)
    await state.clear()
    await query.answer(c.text("start.forget_done_alert", m))
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(c.text("start.forget_done", m), reply_markup=ReplyKeyboardRemove())


@router.callback_query(ForgetCD.filter(F.action == "no"), flags={"no_consent": True})
async def on_forget_no(query: CallbackQuery, user: User, content: ContentStore) -> None:
    c, m = content.current, user.municipality_id
    await query.answer(c.text("start.forget_kept_alert", m))
    if isinstance(query.message, Message):
        await query.message.edit_text(c.text("start.forget_kept", m), reply_markup=back_to_menu_keyboard())
