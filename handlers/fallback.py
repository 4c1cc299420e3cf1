"""Catch-alls, registered last: unknown commands, texts no dialog took, non-text, old buttons.

(/cancel and the cancel words are taken first of all, in handlers/start.py.)
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.content import ContentStore
from bot.keyboards import back_to_menu_keyboard, main_menu_keyboard
from bot.services.users import UserRecord as User

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)

TOO_LONG = 4000


def _municipality(user: User | None) -> str | None:
    return user.municipality_id if user else None


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, user: User, content: ContentStore) -> None:
    await message.answer(
        content.current.text("common.unknown_command", _municipality(user)),
        reply_markup=back_to_menu_keyboard(),
    )


@router.message(F.text.len() >= TOO_LONG)
async def too_long(message: Message, user: User, content: ContentStore) -> None:
    await message.answer(
        content.current.text("common.too_long", _municipality(user)), reply_markup=back_to_menu_keyboard()
    )


@router.message(F.text)
async def unknown_text(message: Message, user: User, content: ContentStore) -> None:
    """A text no dialog and no feature took: what the bot does, and where to go otherwise."""
    await message.answer(
        content.current.text("common.not_understood", _municipality(user)), reply_markup=main_menu_keyboard()
    )


def _kind(message: Message) -> str:
    """The text key naming what the person sent (photos are screenshots: handlers/faq.py)."""
    return (
        "common.kind_sticker" if message.sticker else
        "common.kind_voice" if message.voice or message.audio or message.video_note else
        "common.kind_location" if message.location or message.venue else
        "common.kind_file" if message.document else
        "common.kind_video" if message.video or message.animation else
        "common.kind_other"
    )  # fmt: skip


@router.message()
async def non_text(message: Message, user: User, content: ContentStore) -> None:
    c, m = content.current, _municipality(user)
    await message.answer(
        c.text("common.non_text", m, kind=c.text(_kind(message), m)), reply_markup=main_menu_keyboard()
    )


@router.callback_query()
async def stale_button(query: CallbackQuery, user: User, content: ContentStore) -> None:
    await query.answer(content.current.text("common.stale_button", _municipality(user)), show_alert=True)
