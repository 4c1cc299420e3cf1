"""What people see of announcements: callback data, keyboards, event cards, reminder texts,
segment descriptions and the check of a broadcast's HTML.

A presentation module: it may use aiogram, bot.html and bot.keyboards and the services'
records, never the database. Every string a person or a file provided is escaped here.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.directions import Direction
from bot.html import CAPTION_LIMIT, MESSAGE_LIMIT, escape, html_errors, visible_length
from bot.services.announcements.broadcasts import Problem
from bot.services.announcements.events import AUDIENCES, REMINDERS, EventDraft, EventRecord, local, when_text
from bot.services.announcements.subscriptions import Target

__all__ = [
    "UNSUBSCRIBE_LABEL",
    "BroadcastCD",
    "EventCD",
    "SetCD",
    "SubCD",
    "broadcast_cancel_keyboard",
    "check_text",
    "describe_target",
    "event_card",
    "reminder_keyboard",
    "reminder_text",
    "reminder_texts",
    "unsubscribe_keyboard",
]


# --- callback data (short prefixes: 64-byte limit) ------------------------------------------
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


# --- keyboards under broadcasts and reminders ---------------------------------------------------
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


def broadcast_cancel_keyboard(broadcast_id: int, number: int | None = None) -> InlineKeyboardMarkup:
    """`number`: the broadcast's number among broadcasts, as staff see it (the id when unknown)."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=f"⛔ Остановить рассылку №{number or broadcast_id}",
        callback_data=BroadcastCD(action="cancel", id=broadcast_id),
    )
    return kb.as_markup()


# --- events ---------------------------------------------------------------------------------------
def event_card(event: EventRecord | EventDraft, taken: int, signed_up: bool = False) -> str:
    dirs = [d.title for d in Direction if d.code in event.directions]
    lines = [
        f"<b>{escape(event.title)}</b>",
        f"🗓 {when_text(event)}",
        f"📍 {escape(event.place)}",
        f"🏫 {escape(event.organisation)}",
        f"👥 Для кого: {AUDIENCES.get(event.audience, escape(event.audience))}",
    ]
    if dirs:
        lines.append("🧭 Направленность: " + ", ".join(dirs))
    if event.capacity is not None:
        lines.append(f"🎟 Мест: {event.capacity}, свободно: {max(event.capacity - taken, 0)}")
    if event.description:
        lines.append("")
        lines.append(escape(event.description))
    if signed_up:
        lines.append("\n✅ Вы записаны.")
    return "\n".join(lines)


def reminder_text(event: EventRecord | EventDraft, which: str) -> str:
    start = local(event.starts_at, event.timezone)
    lead = "завтра" if which == "day" else "через два часа"
    return (
        f"⏰ <b>Напоминание</b>: {lead}, {start.strftime('%d.%m.%Y')} в {start.strftime('%H:%M')}, — "
        f"«{escape(event.title)}».\n📍 {escape(event.place)}\n🏫 {escape(event.organisation)}\n\n"
        "Вы записались на это мероприятие. Если планы изменились, отмените запись кнопкой ниже."
    )


def reminder_texts(event: EventRecord | EventDraft) -> dict[str, str]:
    """The text of every reminder (EventService.create takes them by name)."""
    return {which: reminder_text(event, which) for which, _ in REMINDERS}


# --- broadcasts ---------------------------------------------------------------------------------
def describe_target(target: Target, municipality_names: dict[str, str] | None = None) -> str:
    """Who the segment is, in words (plain text: escape it for HTML)."""
    if target.event_id is not None:
        return f"записавшиеся на мероприятие №{target.event_id}"
    parts: list[str] = []
    if target.directions:
        titles = [d.title for d in Direction if d.code in target.directions]
        parts.append("направленность: " + ", ".join(titles))
    if target.ages:
        parts.append("возраст детей: " + ", ".join(str(a) for a in target.ages))
    if target.municipality:
        names = municipality_names or {}
        parts.append("муниципалитет: " + names.get(target.municipality, target.municipality))
    return "все подписчики" + (" (" + "; ".join(parts) + ")" if parts else "")


def check_text(text: str, with_photo: bool) -> list[Problem]:
    """Will Telegram take `text` as an HTML message (or a photo caption)? The problems if not."""
    problems: list[Problem] = []
    if not text.strip():
        return [Problem("Текст рассылки пустой.", "the text is empty")]
    errors = html_errors(text)
    if errors:
        problems.append(
            Problem(
                "Telegram не примет разметку HTML: "
                + escape("; ".join(html_errors(text, russian=True)[:3]))
                + ".",
                "Telegram would refuse the HTML: " + "; ".join(errors[:3]),
            )
        )
    limit = CAPTION_LIMIT if with_photo else MESSAGE_LIMIT
    length = visible_length(text) if not errors else len(text)
    if length > limit:
        what_ru = "подписи к фото" if with_photo else "сообщения"
        what_en = "a photo caption" if with_photo else "a message"
        problems.append(
            Problem(
                f"Текст длиннее {limit} символов ({length}) — предел {what_ru} в Telegram. Сократите.",
                f"the text has {length} characters; {what_en} allows {limit}",
            )
        )
    return problems
