"""Catch-alls, registered last: /cancel, unknown commands, non-text, old buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.keyboards import back_to_menu_keyboard, main_menu_keyboard

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)

TOO_LONG = 4000


@router.message(Command("cancel"), flags={"no_consent": True})
async def cmd_cancel(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    await state.clear()
    text = "Действие отменено." if current else "Сейчас нечего отменять."
    await message.answer(text + " Чем ещё помочь?", reply_markup=main_menu_keyboard())


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer(
        "Такой команды нет. Список команд — /help, главное меню — /menu.",
        reply_markup=back_to_menu_keyboard(),
    )


@router.message(F.text.len() >= TOO_LONG)
async def too_long(message: Message) -> None:
    await message.answer(
        "Сообщение очень длинное. Пожалуйста, сформулируйте вопрос короче — в одно-два предложения."
    )


@router.message(F.text)
async def unknown_text(message: Message) -> None:
    await message.answer(
        "Я не понял сообщение. Попробуйте написать вопрос по-другому или выберите раздел в меню.",
        reply_markup=main_menu_keyboard(),
    )


@router.message()
async def non_text(message: Message) -> None:
    kind = (
        "фото" if message.photo else
        "стикер" if message.sticker else
        "голосовое сообщение" if message.voice or message.audio or message.video_note else
        "геопозицию" if message.location or message.venue else
        "файл" if message.document else
        "видео" if message.video or message.animation else
        "сообщение такого типа"
    )  # fmt: skip
    await message.answer(
        f"Я пока не умею разбирать {kind}. Напишите, пожалуйста, вопрос текстом или выберите раздел в меню.",
        reply_markup=main_menu_keyboard(),
    )


@router.callback_query()
async def stale_button(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer(
        "Эта кнопка устарела или больше не действует. Откройте меню заново: /menu", show_alert=True
    )
