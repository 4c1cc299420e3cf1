"""The outreach log and the report on screen (staff only): entry cards, list lines,
callback data and keyboards. User-typed text is escaped here."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.directions import Direction
from bot.html import escape, truncate
from bot.services.outreach import vocab
from bot.services.outreach.log import ActivityInput
from bot.services.outreach.periods import Period
from bot.services.outreach.service import ActivityRecord


def describe(data: ActivityInput | ActivityRecord, municipality_name: str | None = None) -> str:
    """A short HTML card of an entry (user text escaped)."""
    directions = [d for code in data.directions if (d := Direction.from_code(code)) is not None]
    lines = [
        f"<b>{escape(data.title)}</b>",
        f"📅 {data.held_on:%d.%m.%Y}",
        f"👥 {vocab.AUDIENCE_BY_CODE[data.audience].label}: {data.reached} чел.",
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


def list_line(entry: ActivityRecord) -> str:
    """«№12 · 14.03.2025 · Родители, 70 чел. · Родительское собрание»."""
    audience = vocab.AUDIENCE_BY_CODE[entry.audience].label
    return (
        f"№{entry.id} · {entry.held_on:%d.%m.%Y} · {audience}, {entry.reached} чел. · "
        f"{escape(truncate(entry.title, 80))}"
    )


class LogCD(CallbackData, prefix="olog"):
    """The /log dialog: action = date | aud | kind | big | extra | dir | fmt | save | cancel."""

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


def _cancel_row(kb: InlineKeyboardBuilder) -> None:
    kb.button(text="✖ Отмена", callback_data=LogCD(action="cancel"))


def date_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="Сегодня", callback_data=LogCD(action="date", value="today"))
    kb.button(text="Вчера", callback_data=LogCD(action="date", value="yesterday"))
    _cancel_row(kb)
    kb.adjust(2, 1)
    return kb.as_markup()


def audience_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for term in vocab.AUDIENCES:
        kb.button(text=term.label, callback_data=LogCD(action="aud", value=term.code))
    _cancel_row(kb)
    kb.adjust(2, 2, 1)
    return kb.as_markup()


def kind_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for term in vocab.KINDS:
        kb.button(text=term.label, callback_data=LogCD(action="kind", value=term.code))
    _cancel_row(kb)
    kb.adjust(2)
    return kb.as_markup()


def big_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="Да, число верное", callback_data=LogCD(action="big", value="yes"))
    kb.button(text="Исправить", callback_data=LogCD(action="big", value="no"))
    _cancel_row(kb)
    kb.adjust(2, 1)
    return kb.as_markup()


def extras_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🏢 Организация", callback_data=LogCD(action="extra", value="org"))
    kb.button(text="🧭 Направленность", callback_data=LogCD(action="extra", value="dir"))
    kb.button(text="💻 Формат", callback_data=LogCD(action="extra", value="fmt"))
    kb.button(text="✅ Записать", callback_data=LogCD(action="save"))
    _cancel_row(kb)
    kb.adjust(3, 1, 1)
    return kb.as_markup()


def directions_keyboard(selected: Iterable[str], item_id: int | None = None) -> InlineKeyboardMarkup:
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
    kb.button(text="Готово", callback_data=done)
    kb.adjust(2)
    return kb.as_markup()


def format_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for term in vocab.FORMATS:
        kb.button(text=term.label, callback_data=LogCD(action="fmt", value=term.code))
    kb.button(text="Не указывать", callback_data=LogCD(action="fmt", value="none"))
    kb.adjust(3)
    return kb.as_markup()


def entry_keyboard(item_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✏️ Изменить", callback_data=LogItemCD(action="edit", id=item_id))
    kb.button(text="🗑 Удалить", callback_data=LogItemCD(action="del", id=item_id))
    kb.adjust(2)
    return kb.as_markup()


def list_keyboard(ids: Iterable[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item_id in ids:
        kb.button(text=f"✏️ №{item_id}", callback_data=LogItemCD(action="edit", id=item_id))
        kb.button(text=f"🗑 №{item_id}", callback_data=LogItemCD(action="del", id=item_id))
    kb.adjust(2)
    return kb.as_markup()


EDIT_FIELDS = (
    ("held_on", "Дата"),
    ("audience", "Категория"),
    ("kind", "Вид"),
    ("reached", "Охват"),
    ("title", "Название"),
    ("organisation", "Организация"),
    ("directions", "Направленность"),
    ("format", "Формат"),
)


def edit_keyboard(item_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for field, label in EDIT_FIELDS:
        kb.button(text=label, callback_data=LogItemCD(action="field", id=item_id, field=field))
    kb.button(text="✅ Готово", callback_data=LogItemCD(action="done", id=item_id))
    kb.adjust(4, 4, 1)
    return kb.as_markup()


def choice_keyboard(item_id: int, field: str) -> InlineKeyboardMarkup:
    terms = {"audience": vocab.AUDIENCES, "kind": vocab.KINDS, "format": vocab.FORMATS}[field]
    kb = InlineKeyboardBuilder()
    for term in terms:
        kb.button(
            text=term.label, callback_data=LogItemCD(action="set", id=item_id, field=field, value=term.code)
        )
    if field == "format":
        kb.button(
            text="Не указывать", callback_data=LogItemCD(action="set", id=item_id, field=field, value="none")
        )
    kb.button(text="← Назад", callback_data=LogItemCD(action="edit", id=item_id))
    kb.adjust(2)
    return kb.as_markup()


def confirm_big_edit_keyboard(item_id: int, value: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text="Да, число верное",
        callback_data=LogItemCD(action="setbig", id=item_id, field="reached", value=str(value)),
    )
    kb.button(text="Исправить", callback_data=LogItemCD(action="field", id=item_id, field="reached"))
    kb.adjust(2)
    return kb.as_markup()


def delete_keyboard(item_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="🗑 Да, удалить", callback_data=LogItemCD(action="delyes", id=item_id))
    kb.button(text="Оставить", callback_data=LogItemCD(action="keep", id=item_id))
    kb.adjust(2)
    return kb.as_markup()


def period_keyboard(periods: list[Period]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for period in periods:
        kb.button(text=period.label, callback_data=ReportCD(kind=period.kind, year=period.start.year))
    kb.adjust(2)
    return kb.as_markup()
