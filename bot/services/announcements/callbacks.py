"""Callback data of the announcements feature (short prefixes: 64-byte limit)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder


class SubCD(CallbackData, prefix="sub"):
    action: str  # on | off | unsub (the button under every broadcast) | preview (a staff preview)
    screen: str = "sub"  # the screen to redraw: sub (subscription) | set (settings)


class SetCD(CallbackData, prefix="set"):
    action: str  # dir | dirs | ages | ages_clear | mun | mun_pick | back
    value: str = ""


class EventCD(CallbackData, prefix="ev"):
    action: str  # go | cancel | drop (cancel from a reminder) | ics | list | open
    id: int


class BroadcastCD(CallbackData, prefix="bc"):
    action: str  # cancel
    id: int


UNSUBSCRIBE_LABEL = "🔕 Отписаться от рассылки"


def unsubscribe_keyboard(preview: bool = False) -> InlineKeyboardMarkup:
    """The button under every broadcast; in a staff preview it only says what it would do."""
    kb = InlineKeyboardBuilder()
    kb.button(text=UNSUBSCRIBE_LABEL, callback_data=SubCD(action="preview" if preview else "unsub"))
    return kb.as_markup()


def reminder_keyboard(event_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="📅 В календарь (.ics)", callback_data=EventCD(action="ics", id=event_id))
    kb.button(text="❌ Не смогу прийти", callback_data=EventCD(action="drop", id=event_id))
    kb.adjust(1)
    return kb.as_markup()


def broadcast_cancel_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=f"⛔ Остановить рассылку №{broadcast_id}",
        callback_data=BroadcastCD(action="cancel", id=broadcast_id),
    )
    return kb.as_markup()
