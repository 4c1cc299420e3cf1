"""Callback data factories and keyboards shared across features.

Callback data must stay within Telegram's 64 bytes: short prefixes, short ids. Button
labels are texts in `content/texts/` (bot.texts), so staff can change them.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.texts import text
from bot.urls import ascii_url


class ConsentCD(CallbackData, prefix="consent"):
    action: str  # yes | no (declined) | show (the consent again) | place (choose the municipality again)
    m: str = ""  # the municipality whose МОЦ the consent names ("" when there is only one)


class MenuCD(CallbackData, prefix="menu"):
    item: str


class ForgetCD(CallbackData, prefix="forget"):
    action: str  # "yes" | "no"


class MunicipalityCD(CallbackData, prefix="mun"):
    id: str


class CancelCD(CallbackData, prefix="cancel"):
    """«Отмена» under a prompt: leaves whatever dialog the person is in."""

    what: str = ""  # for the logs only: which prompt it was under


# Main menu items: (callback item, text key of the label). Features handle MenuCD(item=...).
MAIN_MENU: list[tuple[str, str]] = [
    ("faq", "common.menu_faq"),
    ("search", "common.menu_search"),
    ("events", "common.menu_events"),
    ("subscribe", "common.menu_subscribe"),
    ("settings", "common.menu_settings"),
    ("ask", "common.menu_ask"),
    ("help", "common.menu_help"),
]


def consent_keyboard(municipality_id: str = "", *, can_change_place: bool = False) -> InlineKeyboardMarkup:
    """«Согласен» / «Не согласен» under the consent that names `municipality_id`'s МОЦ."""
    kb = InlineKeyboardBuilder()
    kb.button(text=text("start.consent_yes_button"), callback_data=ConsentCD(action="yes", m=municipality_id))
    kb.button(text=text("start.consent_no_button"), callback_data=ConsentCD(action="no", m=municipality_id))
    if can_change_place:
        kb.button(text=text("start.other_municipality_button"), callback_data=ConsentCD(action="place"))
    kb.adjust(2, 1)
    return kb.as_markup()


def declined_keyboard(navigator_url: str, municipality_id: str = "") -> InlineKeyboardMarkup:
    """Under «Не согласен»: the Navigator's public site and the way back to the consent."""
    kb = InlineKeyboardBuilder()
    url = ascii_url(navigator_url)
    if url:
        kb.button(text=text("start.navigator_button"), url=url)
    kb.button(
        text=text("start.back_to_consent_button"), callback_data=ConsentCD(action="show", m=municipality_id)
    )
    kb.adjust(1)
    return kb.as_markup()


def main_menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item, key in MAIN_MENU:
        kb.button(text=text(key), callback_data=MenuCD(item=item))
    kb.adjust(2)
    return kb.as_markup()


def menu_button_label() -> str:
    return text("common.menu_button")


def add_menu_button(kb: InlineKeyboardBuilder) -> None:
    """The way back from any screen: the main menu."""
    kb.button(text=menu_button_label(), callback_data=MenuCD(item="main"))


def back_to_menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    add_menu_button(kb)
    return kb.as_markup()


def add_cancel_button(kb: InlineKeyboardBuilder, what: str = "") -> None:
    """«Отмена» under a prompt; pressing it leaves the dialog (handlers/start.py)."""
    kb.button(text=text("common.cancel_button"), callback_data=CancelCD(what=what))


def cancel_keyboard(what: str = "") -> InlineKeyboardMarkup:
    """The keyboard of a prompt that waits for typed input: just «Отмена»."""
    kb = InlineKeyboardBuilder()
    add_cancel_button(kb, what)
    return kb.as_markup()


def forget_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=text("start.forget_yes_button"), callback_data=ForgetCD(action="yes"))
    kb.button(text=text("common.cancel_button"), callback_data=ForgetCD(action="no"))
    kb.adjust(1)
    return kb.as_markup()


def municipality_keyboard(items: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for mid, name in items:
        kb.button(text=name, callback_data=MunicipalityCD(id=mid))
    kb.adjust(2)
    return kb.as_markup()
