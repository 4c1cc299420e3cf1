"""The outreach log and the report on screen (staff only): entry cards, list lines,
callback data and keyboards. Words come from content/texts/outreach_log.yaml (`say`);
user-typed text is escaped here."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.directions import Direction
from bot.html import escape, truncate
from bot.keyboards import add_menu_button
from bot.services.outreach import vocab
from bot.services.outreach.log import ActivityInput
from bot.services.outreach.periods import Period
from bot.services.outreach.service import ActivityRecord
from bot.views.staff import Say


def describe(data: ActivityInput | ActivityRecord, say: Say, municipality_name: str | None = None) -> str:
    """A short HTML card of an entry (user text escaped); the municipality when it is named."""
    directions = [d for code in data.directions if (d := Direction.from_code(code)) is not None]
    lines = [
        f"<b>{escape(data.title)}</b>",
        f"📅 {data.held_on:%d.%m.%Y}",
        say("log.card_reached", audience=vocab.AUDIENCE_BY_CODE[data.audience].label, reached=data.reached),
        f"🏷 {vocab.KIND_BY_CODE[data.kind].label}",
    ]
    if data.organisation:
        lines.append(f"🏢 {escape(data.organisation)}")
    if directions:
        lines.append("🧭 " + ", ".join(d.title for d in directions))
    if data.format:
        lines.append(f"💻 {vocab.FORMAT_BY_CODE[data.format].label}")
    if municipality_name:
        lines.append(f"📍 {escape(municipality_name)}")
    return "\n".join(lines)


def list_line(entry: ActivityRecord, say: Say, municipality_name: str | None = None) -> str:
    """«№12 · 14.03.2025 · Родители, 70 чел. · Родительское собрание» (· Зима, with several)."""
    return say(
        "log.list_line",
        number=entry.id,
        day=f"{entry.held_on:%d.%m.%Y}",
        audience=vocab.AUDIENCE_BY_CODE[entry.audience].label,
        reached=entry.reached,
        title=escape(truncate(entry.title, 80)),
    ) + (f" · {escape(municipality_name)}" if municipality_name else "")


class LogCD(CallbackData, prefix="olog"):
    """The /log dialog: action = date | aud | kind | big | extra | dir | fmt | mun | save | cancel | list."""

    action: str
    value: str = ""


class LogItemCD(CallbackData, prefix="oli"):
    """A stored entry: action = edit | field | set | setbig | del | delyes | keep | done."""

    action: str
    id: int
    field: str = ""
    value: str = ""


class ReportCD(CallbackData, prefix="orep"):
    kind: str  # "year" | "academic"
    year: int


def _cancel_row(kb: InlineKeyboardBuilder, say: Say) -> None:
    kb.button(text=say("log.button_cancel"), callback_data=LogCD(action="cancel"))


def cancel_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _cancel_row(kb, say)
    return kb.as_markup()


def date_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_today"), callback_data=LogCD(action="date", value="today"))
    kb.button(text=say("log.button_yesterday"), callback_data=LogCD(action="date", value="yesterday"))
    _cancel_row(kb, say)
    kb.adjust(2, 1)
    return kb.as_markup()


def audience_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for term in vocab.AUDIENCES:
        kb.button(text=term.label, callback_data=LogCD(action="aud", value=term.code))
    _cancel_row(kb, say)
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def kind_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for term in vocab.KINDS:
        kb.button(text=term.label, callback_data=LogCD(action="kind", value=term.code))
    _cancel_row(kb, say)
    kb.adjust(2)
    return kb.as_markup()


def big_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_number_right"), callback_data=LogCD(action="big", value="yes"))
    kb.button(text=say("log.button_fix"), callback_data=LogCD(action="big", value="no"))
    _cancel_row(kb, say)
    kb.adjust(2, 1)
    return kb.as_markup()


def extras_keyboard(say: Say, several_municipalities: bool = False) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_organisation"), callback_data=LogCD(action="extra", value="org"))
    kb.button(text=say("log.button_directions"), callback_data=LogCD(action="extra", value="dir"))
    kb.button(text=say("log.button_format"), callback_data=LogCD(action="extra", value="fmt"))
    if several_municipalities:
        kb.button(text=say("log.button_municipality"), callback_data=LogCD(action="extra", value="mun"))
    kb.button(text=say("log.button_save"), callback_data=LogCD(action="save"))
    _cancel_row(kb, say)
    kb.adjust(3, 1, 1, 1) if several_municipalities else kb.adjust(3, 1, 1)
    return kb.as_markup()


def directions_keyboard(
    say: Say, selected: Iterable[str], item_id: int | None = None
) -> InlineKeyboardMarkup:
    """Toggle buttons for the направленности: in the /log dialog, or for a stored entry."""
    chosen = set(selected)
    kb = InlineKeyboardBuilder()
    for d in Direction:
        mark = "☑️ " if d.code in chosen else ""
        data: CallbackData = (
            LogCD(action="dir", value=d.code)
            if item_id is None
            else LogItemCD(action="set", id=item_id, field="directions", value=d.code)
        )
        kb.button(text=mark + d.title, callback_data=data)
    done: CallbackData = (
        LogCD(action="extra", value="back") if item_id is None else LogItemCD(action="edit", id=item_id)
    )
    kb.button(text=say("log.button_done"), callback_data=done)
    kb.adjust(2)
    return kb.as_markup()


def format_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for term in vocab.FORMATS:
        kb.button(text=term.label, callback_data=LogCD(action="fmt", value=term.code))
    kb.button(text=say("log.button_no_format"), callback_data=LogCD(action="fmt", value="none"))
    kb.button(text=say("log.button_back"), callback_data=LogCD(action="extra", value="back"))
    kb.adjust(3, 1)
    return kb.as_markup()


def municipality_keyboard(
    say: Say, municipalities: Iterable[tuple[str, str]], item_id: int | None = None
) -> InlineKeyboardMarkup:
    """The municipality of an entry: in the /log dialog, or for a stored entry."""
    kb = InlineKeyboardBuilder()
    for mid, name in municipalities:
        data: CallbackData = (
            LogCD(action="mun", value=mid)
            if item_id is None
            else LogItemCD(action="set", id=item_id, field="municipality_id", value=mid)
        )
        kb.button(text=name, callback_data=data)
    back: CallbackData = (
        LogCD(action="extra", value="back") if item_id is None else LogItemCD(action="edit", id=item_id)
    )
    kb.adjust(2)
    kb.row()
    kb.button(text=say("log.button_back"), callback_data=back)
    return kb.as_markup()


def entry_keyboard(say: Say, item_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_edit"), callback_data=LogItemCD(action="edit", id=item_id))
    kb.button(text=say("log.button_delete"), callback_data=LogItemCD(action="del", id=item_id))
    kb.button(text=say("log.button_list"), callback_data=LogCD(action="list"))
    add_menu_button(kb)
    kb.adjust(2, 1, 1)
    return kb.as_markup()


def list_keyboard(say: Say, ids: Iterable[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    count = 0
    for item_id in ids:
        kb.button(
            text=say("log.button_edit_n", number=item_id), callback_data=LogItemCD(action="edit", id=item_id)
        )
        kb.button(
            text=say("log.button_delete_n", number=item_id), callback_data=LogItemCD(action="del", id=item_id)
        )
        count += 1
    add_menu_button(kb)
    kb.adjust(*([2] * count), 1)
    return kb.as_markup()


EDIT_FIELDS = ("held_on", "audience", "kind", "reached", "title", "organisation", "directions", "format")


def edit_keyboard(say: Say, item_id: int, several_municipalities: bool = False) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    fields = [*EDIT_FIELDS, "municipality_id"] if several_municipalities else list(EDIT_FIELDS)
    for field in fields:
        kb.button(
            text=say(f"log.field_{field}"), callback_data=LogItemCD(action="field", id=item_id, field=field)
        )
    kb.button(text=say("log.button_edit_done"), callback_data=LogItemCD(action="done", id=item_id))
    kb.adjust(4, 4, *([1] if several_municipalities else []), 1)
    return kb.as_markup()


def choice_keyboard(say: Say, item_id: int, field: str) -> InlineKeyboardMarkup:
    terms = {"audience": vocab.AUDIENCES, "kind": vocab.KINDS, "format": vocab.FORMATS}[field]
    kb = InlineKeyboardBuilder()
    for term in terms:
        kb.button(
            text=term.label, callback_data=LogItemCD(action="set", id=item_id, field=field, value=term.code)
        )
    if field == "format":
        kb.button(
            text=say("log.button_no_format"),
            callback_data=LogItemCD(action="set", id=item_id, field=field, value="none"),
        )
    kb.button(text=say("log.button_back"), callback_data=LogItemCD(action="edit", id=item_id))
    kb.adjust(2)
    return kb.as_markup()


def edit_value_keyboard(say: Say, item_id: int) -> InlineKeyboardMarkup:
    """Under a prompt for a new value: back to the entry, or leave."""
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_back"), callback_data=LogItemCD(action="edit", id=item_id))
    kb.button(text=say("log.button_cancel"), callback_data=LogCD(action="cancel"))
    kb.adjust(2)
    return kb.as_markup()


def confirm_big_edit_keyboard(say: Say, item_id: int, value: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=say("log.button_number_right"),
        callback_data=LogItemCD(action="setbig", id=item_id, field="reached", value=str(value)),
    )
    kb.button(
        text=say("log.button_fix"), callback_data=LogItemCD(action="field", id=item_id, field="reached")
    )
    kb.adjust(2)
    return kb.as_markup()


def delete_keyboard(say: Say, item_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_delete_yes"), callback_data=LogItemCD(action="delyes", id=item_id))
    kb.button(text=say("log.button_keep"), callback_data=LogItemCD(action="keep", id=item_id))
    kb.adjust(2)
    return kb.as_markup()


def after_delete_keyboard(say: Say) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=say("log.button_list"), callback_data=LogCD(action="list"))
    add_menu_button(kb)
    kb.adjust(1)
    return kb.as_markup()


def menu_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    add_menu_button(kb)
    return kb.as_markup()


def period_keyboard(periods: list[Period]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for period in periods:
        kb.button(text=period.label, callback_data=ReportCD(kind=period.kind, year=period.start.year))
    kb.adjust(2)
    return kb.as_markup()
