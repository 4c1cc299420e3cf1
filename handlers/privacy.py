from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove

from bot.content import ContentStore
from bot.html import escape
from bot.keyboards import ForgetCD, forget_keyboard
from bot.services.privacy import PrivacyService
from bot.services.users import UserRecord as User
from bot.settings import Settings

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)


@router.message(Command("mydata"), flags={"no_consent": True})
async def cmd_mydata(
    message: Message, user: User, privacy: PrivacyService, settings: Settings, content: ContentStore
) -> None:
    lines = await privacy.describe(user, content.current, settings.tz)
    await message.answer(
        "<b>Что бот хранит о вас</b>\n"
        + "\n".join(f"• {escape(line.removeprefix('• '))}" for line in lines)
        # names and phones are kept only when a parent gave them at an event sign-up
        + "\n\n"
        + content.current.text("signup.privacy_note", user.municipality_id)
    )


@router.message(Command("forget"), flags={"no_consent": True})
async def cmd_forget(message: Message) -> None:
    await message.answer(
        "Удалить все ваши данные из бота? Будут удалены настройки, подписки, записи на мероприятия "
        "и ваши вопросы. Обезличенные цифры для отчёта МОЦ останутся без связи с вами.",
        reply_markup=forget_keyboard(),
    )


@router.callback_query(ForgetCD.filter(F.action == "yes"), flags={"no_consent": True})
async def on_forget_yes(query: CallbackQuery, privacy: PrivacyService, state: FSMContext) -> None:
    await privacy.forget(query.from_user.id)
    await state.clear()
    await query.answer("Данные удалены")
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            "Готово: ваши данные удалены. Если захотите вернуться, отправьте /start.",
            reply_markup=ReplyKeyboardRemove(),
        )


@router.callback_query(ForgetCD.filter(F.action == "no"), flags={"no_consent": True})
async def on_forget_no(query: CallbackQuery) -> None:
    await query.answer("Ничего не удалено")
    if isinstance(query.message, Message):
        await query.message.edit_text("Хорошо, ничего не удалено.")
