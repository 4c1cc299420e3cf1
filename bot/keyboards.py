"""Callback data factories and keyboards shared across features.

Callback data must stay within Telegram's 64 bytes: short prefixes, short ids.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder


class ConsentCD(CallbackData, prefix="consent"):
    action: str  # "yes"


class MenuCD(CallbackData, prefix="menu"):
    item: str


class ForgetCD(CallbackData, prefix="forget"):
    action: str  # "yes" | "no"


class MunicipalityCD(CallbackData, prefix="mun"):
    id: str


# Main menu items: (callback item, label). Features handle MenuCD(item=...).
MAIN_MENU: list[tuple[str, str]] = [
    ("faq", "❓ Частые вопросы"),
    ("search", "🔎 Найти кружок"),
    ("events", "📅 Мероприятия"),
    ("subscribe", "🔔 Подписка на новости"),
    ("settings", "⚙️ Настройки"),
    ("ask", "💬 Вопрос специалисту"),
    ("help", "ℹ️ Помощь"),
]


def consent_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ Согласен", callback_data=ConsentCD(action="yes"))
    return kb.as_markup()


def main_menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item, label in MAIN_MENU:
        kb.button(text=label, callback_data=MenuCD(item=item))
    kb.adjust(2)
    return kb.as_markup()


MENU_BUTTON = "🏠 Главное меню"


def add_menu_button(kb: InlineKeyboardBuilder) -> None:
    """The way back from any screen: the main menu."""
    kb.button(text=MENU_BUTTON, callback_data=MenuCD(item="main"))


def back_to_menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    add_menu_button(kb)
    return kb.as_markup()


def forget_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🗑 Да, удалить мои данные", callback_data=ForgetCD(action="yes"))
    kb.button(text="Отмена", callback_data=ForgetCD(action="no"))
    kb.adjust(1)
    return kb.as_markup()


def municipality_keyboard(items: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for mid, name in items:
        kb.button(text=name, callback_data=MunicipalityCD(id=mid))
    kb.adjust(2)
    return kb.as_markup()
