"""What staff read in their dialogs (/event_new, /broadcast, /staff): texts from content/,
callback data and keyboards, the check of a broadcast's text, and refusals in words.

Every text is a key of content/texts/staff.yaml (or outreach_log.yaml); `Say` reads them
for one person's municipality. Params that carry what a person typed are escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content import Content
from bot.directions import Direction
from bot.html import CAPTION_LIMIT, MESSAGE_LIMIT, escape, html_errors, visible_length
from bot.keyboards import add_menu_button
from bot.services.announcements.broadcasts import Problem
from bot.services.refusal import Refusal

__all__ = [
    "ComposeCD",
    "NewEventCD",
    "Say",
    "StaffCD",
    "check_broadcast_text",
]


class Say:
    """The texts of content/ for one person: `say("key", name=value)`."""

    def __init__(self, content: Content, municipality_id: str | None) -> None:
        self.content = content
        self.municipality_id = municipality_id

    def __call__(self, key: str, **params: object) -> str:
        return self.content.text(key, self.municipality_id, **params)

    def refusal(self, exc: Refusal) -> str:
        """The refusal in words; its params (what was typed) escaped for HTML."""
        params = {k: escape(v) if isinstance(v, str) else v for k, v in exc.params.items()}
        return self(exc.key, **params)

    def problems(self, problems: Iterable[Problem]) -> str:
        """«• …» lines, one per problem."""
        return "\n".join("• " + self.refusal(Refusal(p.key, p.en, **p.params)) for p in problems)


# --- callback data (short prefixes: 64 bytes) ----------------------------------------------------
class NewEventCD(CallbackData, prefix="ne"):
    action: str  # dir | dirs_done | aud | mun | cap_none | photo_none | publish | drop
    value: str = ""


class ComposeCD(CallbackData, prefix="bcn"):
    action: str  # nophoto | seg | dir | mun | event | now | later | drop | back
    value: str = ""


class StaffCD(CallbackData, prefix="stf"):
    action: str  # drop (leave /staff add)


def _with_cancel(kb: InlineKeyboardBuilder, say: Say, data: CallbackData) -> None:
    kb.button(text=say("staff.button_cancel"), callback_data=data)


# --- /event_new ----------------------------------------------------------------------------------
def event_cancel_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _with_cancel(kb, say, NewEventCD(action="drop"))
    return kb.as_markup()


def event_directions_keyboard(say: Say, selected: Iterable[str]) -> InlineKeyboardMarkup:
    chosen = set(selected)
    kb = InlineKeyboardBuilder()
    for d in Direction:
        kb.button(text=("✅ " if d.code in chosen else "") + d.title,
                  callback_data=NewEventCD(action="dir", value=d.code))  # fmt: skip
    kb.button(text=say("event_new.button_directions_done"), callback_data=NewEventCD(action="dirs_done"))
    _with_cancel(kb, say, NewEventCD(action="drop"))
    kb.adjust(1)
    return kb.as_markup()


def event_audience_keyboard(say: Say, audiences: dict[str, str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, label in audiences.items():
        kb.button(text=label, callback_data=NewEventCD(action="aud", value=code))
    _with_cancel(kb, say, NewEventCD(action="drop"))
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def event_municipality_keyboard(say: Say, municipalities: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for mid, name in municipalities:
        kb.button(text=name, callback_data=NewEventCD(action="mun", value=mid))
    kb.adjust(2)
    kb.row()
    _with_cancel(kb, say, NewEventCD(action="drop"))
    return kb.as_markup()


def event_capacity_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("event_new.button_no_limit"), callback_data=NewEventCD(action="cap_none"))
    _with_cancel(kb, say, NewEventCD(action="drop"))
    kb.adjust(1)
    return kb.as_markup()


def event_photo_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("event_new.button_no_photo"), callback_data=NewEventCD(action="photo_none"))
    _with_cancel(kb, say, NewEventCD(action="drop"))
    kb.adjust(1)
    return kb.as_markup()


def event_publish_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("event_new.button_publish"), callback_data=NewEventCD(action="publish"))
    _with_cancel(kb, say, NewEventCD(action="drop"))
    kb.adjust(1)
    return kb.as_markup()


def event_created_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    add_menu_button(kb)
    return kb.as_markup()


# --- /broadcast ----------------------------------------------------------------------------------
def broadcast_cancel_only(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _with_cancel(kb, say, ComposeCD(action="drop"))
    return kb.as_markup()


def broadcast_photo_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("broadcast.button_no_photo"), callback_data=ComposeCD(action="nophoto"))
    _with_cancel(kb, say, ComposeCD(action="drop"))
    kb.adjust(1)
    return kb.as_markup()


def broadcast_segment_keyboard(say: Say, several_municipalities: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    segments = ["all", "dir", "age", *(["mun"] if several_municipalities else []), "event"]
    for value in segments:
        kb.button(text=say(f"broadcast.segment_{value}"), callback_data=ComposeCD(action="seg", value=value))
    _with_cancel(kb, say, ComposeCD(action="drop"))
    kb.adjust(1)
    return kb.as_markup()


def broadcast_choice_keyboard(
    say: Say, action: str, items: Iterable[tuple[str, str]], columns: int = 1
) -> InlineKeyboardMarkup:
    """One button per (value, label), then «◀ Назад» to the segments and «Отмена»."""
    kb = InlineKeyboardBuilder()
    for value, label in items:
        kb.button(text=label, callback_data=ComposeCD(action=action, value=value))
    kb.adjust(columns)
    kb.row()
    kb.button(text=say("staff.button_back"), callback_data=ComposeCD(action="back"))
    _with_cancel(kb, say, ComposeCD(action="drop"))
    return kb.as_markup()


def broadcast_confirm_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("broadcast.button_now"), callback_data=ComposeCD(action="now"))
    kb.button(text=say("broadcast.button_later"), callback_data=ComposeCD(action="later"))
    kb.button(text=say("staff.button_back"), callback_data=ComposeCD(action="back"))
    _with_cancel(kb, say, ComposeCD(action="drop"))
    kb.adjust(2, 2)
    return kb.as_markup()


def check_broadcast_text(text: str, with_photo: bool) -> list[Problem]:
    """Will Telegram take `text` (HTML made from the staff member's message) as a message or a
    photo caption? The problems if not (empty, too long)."""
    if not text.strip():
        return [Problem("broadcast.text_empty", "the text is empty")]
    errors = html_errors(text)
    if errors:  # the message's own formatting never produces this; kept as a guard
        return [
            Problem("broadcast.text_unparsable", "Telegram would refuse the HTML: " + "; ".join(errors[:3]))
        ]
    limit = CAPTION_LIMIT if with_photo else MESSAGE_LIMIT
    length = visible_length(text)
    if length > limit:
        key = "broadcast.caption_too_long" if with_photo else "broadcast.text_too_long"
        return [
            Problem(
                key, f"the text has {length} characters; at most {limit}", {"length": length, "limit": limit}
            )
        ]
    return []


# --- /staff ---------------------------------------------------------------------------------------
def staff_cancel_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _with_cancel(kb, say, StaffCD(action="drop"))
    return kb.as_markup()


def menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    add_menu_button(kb)
    return kb.as_markup()
