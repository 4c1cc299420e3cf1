"""What people see of announcements: callback data, keyboards, event lists and cards, the
sign-up dialog, the settings screen, staff sign-up lists, reminder texts, segment descriptions
and the check of a broadcast's HTML.

A presentation module: it may use aiogram, bot.html and bot.keyboards and the services'
records, never the database. Every string a person or a file provided is escaped here. The
words of the parents' screens and the staff lists come from content/texts/announcements.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.channels import Channel, channel_of
from bot.content import Content
from bot.directions import Direction
from bot.html import CAPTION_LIMIT, MESSAGE_LIMIT, escape, html_errors, truncate, visible_length
from bot.keyboards import add_menu_button
from bot.services.announcements.broadcasts import Problem
from bot.services.announcements.delivery import Finished, Progress, StartNote
from bot.services.announcements.events import (
    CONTACT_RETENTION,
    REMINDERS,
    EventDraft,
    EventListing,
    EventRecord,
    EventSignups,
    local,
    when_text,
)
from bot.services.announcements.subscriptions import MAX_AGE, MIN_AGE, PersonalSettings, Target
from bot.services.roles import Role
from bot.services.users import UserRecord, ages_text
from bot.texts import text as live_text

__all__ = [
    "BroadcastCD",
    "EventCD",
    "SetCD",
    "SignupCD",
    "SubCD",
    "ages_prompt",
    "broadcast_cancel_keyboard",
    "check_text",
    "describe_target",
    "directions_keyboard",
    "duration_text",
    "event_card",
    "event_keyboard",
    "event_place",
    "events_view",
    "is_skip_word",
    "municipality_picker",
    "name_prompt",
    "phone_prompt",
    "progress_body",
    "progress_text",
    "reminder_keyboard",
    "reminder_text",
    "reminder_texts",
    "settings_view",
    "signup_done",
    "signups_list_view",
    "signups_overview_view",
    "start_note_text",
    "starting_text",
    "subscription_keyboard",
    "summary_text",
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
    # parents: open | go | cancel | drop (cancel from a reminder) | ics | back (to the list)
    # staff: list (who signed up) | xlsx (the list as a file) | all (the events with counts)
    action: str
    id: int


class SignupCD(CallbackData, prefix="su"):
    action: str  # skip (this step) | stop (no name, no phone)
    id: int  # the event


class BroadcastCD(CallbackData, prefix="bc"):
    action: str  # cancel
    id: int


# --- keyboards under broadcasts and reminders ---------------------------------------------------
def unsubscribe_keyboard(preview: bool = False) -> InlineKeyboardMarkup:
    """The button under every broadcast; in a staff preview it only says what it would do."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=live_text("broadcast.button_unsubscribe"),
        callback_data=SubCD(action="preview" if preview else "unsub"),
    )
    return kb.as_markup()


def reminder_keyboard(event_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=live_text("events.button_ics"), callback_data=EventCD(action="ics", id=event_id))
    kb.button(text=live_text("reminder.button_drop"), callback_data=EventCD(action="drop", id=event_id))
    kb.adjust(1)
    return kb.as_markup()


def broadcast_cancel_keyboard(broadcast_id: int, number: int | None = None) -> InlineKeyboardMarkup:
    """`number`: the broadcast's number among broadcasts, as staff see it (the id when unknown)."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=live_text("broadcast.button_cancel_sending", number=number or broadcast_id),
        callback_data=BroadcastCD(action="cancel", id=broadcast_id),
    )
    return kb.as_markup()


# «нет» to «Как вас записать?» means «Пропустить»
SKIP_WORDS = frozenset({"нет", "не хочу", "без имени", "без телефона", "пропустить", "не нужно", "не буду"})


def is_skip_word(text: str | None) -> bool:
    if not text:
        return False
    words = "".join(c if c.isalnum() else " " for c in text.lower().replace("ё", "е")).split()
    return " ".join(words) in SKIP_WORDS


# --- events ---------------------------------------------------------------------------------------
def event_place(event: EventRecord | EventDraft, content: Content) -> str:
    """Where, with the town: «Саянск, ул. Ленина, 1» (unless the place already names it). Plain text."""
    mid = event.municipality_id
    city = content.municipalities[mid].name if mid in content.municipalities else None
    if city and city.lower().replace("ё", "е") not in event.place.lower().replace("ё", "е"):
        return f"{city}, {event.place}"
    return event.place


def event_card(
    event: EventRecord | EventDraft, taken: int, signed_up: bool = False, *, content: Content
) -> str:
    mid = event.municipality_id

    def t(key: str, **params: object) -> str:
        return content.text(key, mid, **params)

    dirs = [d.title for d in Direction if d.code in event.directions]
    key = f"events.audience_{event.audience}"
    # the words of content (HTML already), or the code's own for an audience it does not name
    audience = t(key) if content.has_text(key) else escape(event.audience)
    lines = [
        t("events.card_title", title=escape(event.title)),
        t("events.card_when", when=when_text(event)),
        t("events.card_place", place=escape(event_place(event, content))),
        t("events.card_organisation", organisation=escape(event.organisation)),
        t("events.card_audience", audience=audience),
    ]
    if dirs:
        lines.append(t("events.card_directions", directions=", ".join(dirs)))
    if event.capacity is not None:
        lines.append(t("events.card_places", capacity=event.capacity, free=max(event.capacity - taken, 0)))
    if event.description:
        lines.append("")
        lines.append(escape(event.description))
    if signed_up:
        lines.append("")
        lines.append(t("events.card_signed_up"))
    return "\n".join(lines)


def event_keyboard(
    event: EventRecord, signed_up: bool, role: Role, taken: int, content: Content
) -> InlineKeyboardMarkup:
    mid = event.municipality_id
    kb = InlineKeyboardBuilder()
    if signed_up:
        kb.button(
            text=content.text("events.button_cancel", mid),
            callback_data=EventCD(action="cancel", id=event.id),
        )
    elif event.capacity is None or taken < event.capacity:
        kb.button(text=content.text("events.button_go", mid), callback_data=EventCD(action="go", id=event.id))
    kb.button(text=content.text("events.button_ics", mid), callback_data=EventCD(action="ics", id=event.id))
    if role >= Role.STAFF:
        kb.button(
            text=content.text("signups.button_list", mid, count=taken),
            callback_data=EventCD(action="list", id=event.id),
        )
    kb.button(text=content.text("events.button_back", mid), callback_data=EventCD(action="back", id=event.id))
    add_menu_button(kb)
    kb.adjust(1)
    return kb.as_markup()


def events_view(
    listing: EventListing, user: UserRecord, content: Content
) -> tuple[str, InlineKeyboardMarkup]:
    """The parent's list of upcoming events (of their municipality and those they signed up for)."""
    mid = user.municipality_id

    def t(key: str, **params: object) -> str:
        return content.text(key, mid, **params)

    kb = InlineKeyboardBuilder()
    if not listing.events:
        text = t("events.none_subscribed" if listing.subscribed else "events.none")
        if not listing.subscribed:
            kb.button(text=t("subscription.button_on"), callback_data=SubCD(action="on"))
        kb.button(text=t("settings.button"), callback_data=SetCD(action="back"))
        add_menu_button(kb)
        kb.adjust(1)
        return text, kb.as_markup()
    several = not content.single_municipality
    if several and mid in content.municipalities:
        lines = [t("events.list_title_in", municipality=escape(content.municipalities[mid].name))]
    else:
        lines = [t("events.list_title")]
    for index, event in enumerate(listing.events, 1):
        mark = " " + t("events.list_signed_mark") if event.id in listing.signed else ""
        title = escape(truncate(event.title, 80))
        place = escape(truncate(event_place(event, content), 80))
        lines.append(
            t("events.list_line", number=index, when=when_text(event), title=title, place=place, mark=mark)
        )
        kb.button(
            text=f"{index}. {truncate(event.title, 40)}", callback_data=EventCD(action="open", id=event.id)
        )
    lines.append("")
    lines.append(t("events.list_hint"))
    add_menu_button(kb)
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


# --- the sign-up dialog: the name and the phone a parent may give ---------------------------------
def _signup_buttons(content: Content, mid: str | None, event_id: int, skip_key: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=content.text(skip_key, mid), callback_data=SignupCD(action="skip", id=event_id))
    kb.button(
        text=content.text("signup.button_stop", mid), callback_data=SignupCD(action="stop", id=event_id)
    )
    kb.adjust(2)
    return kb.as_markup()


def name_prompt(event: EventRecord, content: Content) -> tuple[str, InlineKeyboardMarkup]:
    """After «Пойду»: the name to list the parent under, optional, with what is kept and why."""
    mid = event.municipality_id
    days = CONTACT_RETENTION.days
    text = content.text("signup.ask_name", mid, title=escape(event.title), when=when_text(event), days=days)
    return text, _signup_buttons(content, mid, event.id, "signup.button_skip")


def phone_prompt(event: EventRecord, name: str, content: Content) -> tuple[str, InlineKeyboardMarkup]:
    mid = event.municipality_id
    text = content.text("signup.ask_phone", mid, name=escape(name))
    return text, _signup_buttons(content, mid, event.id, "signup.button_no_phone")


def signup_done(
    event: EventRecord, content: Content, *, name: str | None = None, phone: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The end of the dialog: what the organisers will see."""
    mid = event.municipality_id
    if name and phone:
        text = content.text("signup.done_name_phone", mid, name=escape(name), phone=escape(phone))
    elif name:
        text = content.text("signup.done_name", mid, name=escape(name))
    else:
        text = content.text("signup.done_anonymous", mid)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=content.text("events.button_to_event", mid), callback_data=EventCD(action="open", id=event.id)
    )
    kb.button(text=content.text("events.button_back", mid), callback_data=EventCD(action="back", id=event.id))
    add_menu_button(kb)
    kb.adjust(1)
    return text, kb.as_markup()


# --- staff: who is coming -------------------------------------------------------------------------
def signups_overview_view(
    items: list[tuple[EventRecord, int]], content: Content
) -> tuple[str, InlineKeyboardMarkup]:
    """Upcoming (and today's) events with their sign-up counts; a button opens each list."""

    def t(key: str, **params: object) -> str:
        return content.text(key, None, **params)

    kb = InlineKeyboardBuilder()
    if not items:
        add_menu_button(kb)
        return t("signups.none"), kb.as_markup()
    lines = [t("signups.overview_title")]
    for index, (event, taken) in enumerate(items, 1):
        counts = (
            t("signups.count_of", count=taken, capacity=event.capacity)
            if event.capacity is not None
            else t("signups.count", count=taken)
        )
        title = escape(truncate(event.title, 60))
        place = escape(truncate(event_place(event, content), 60))
        lines.append(
            t(
                "signups.overview_line",
                number=index,
                when=when_text(event),
                title=title,
                place=place,
                counts=counts,
            )
        )
        kb.button(
            text=f"👥 {index}. {truncate(event.title, 36)} ({taken})",
            callback_data=EventCD(action="list", id=event.id),
        )
    lines.append("")
    lines.append(t("signups.overview_hint"))
    add_menu_button(kb)
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def signups_list_view(found: EventSignups, content: Content) -> tuple[str, InlineKeyboardMarkup]:
    """Who signed up for one event: numbered, with the name and phone they gave, for the door."""
    event = found.event
    mid = event.municipality_id

    def t(key: str, **params: object) -> str:
        return content.text(key, mid, **params)

    count = len(found.signups)
    counts = (
        t("signups.count_of", count=count, capacity=event.capacity)
        if event.capacity is not None
        else t("signups.count", count=count)
    )
    lines = [
        t("signups.list_title", title=escape(event.title)),
        t("signups.list_when_place", when=when_text(event), place=escape(event_place(event, content))),
        t("signups.list_counts", counts=counts, named=found.named, cancelled=found.cancelled),
    ]
    if found.signups:
        lines.append("")
    for index, signup in enumerate(found.signups, 1):
        when = local(signup.created_at, event.timezone).strftime("%d.%m %H:%M")
        if signup.user_id < 0:
            who = t("signups.forgotten")
        else:
            who = escape(signup.name) if signup.name else t("signups.no_name")
            if signup.phone:
                who += ", " + escape(signup.phone)
            if channel_of(signup.user_id) is Channel.MAX:  # staff (in Telegram) cannot open a MAX chat
                who += " " + t("signups.in_max")
            else:
                who += " " + t("signups.write_link", user_id=signup.user_id)
        lines.append(t("signups.list_line", number=index, who=who, when=when))
    if not found.signups:
        lines.append("")
        lines.append(t("signups.list_empty"))
    kb = InlineKeyboardBuilder()
    if found.signups:
        kb.button(text=t("signups.button_xlsx"), callback_data=EventCD(action="xlsx", id=event.id))
    kb.button(text=t("signups.button_all"), callback_data=EventCD(action="all", id=0))
    add_menu_button(kb)
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


# --- subscription and settings ------------------------------------------------------------------
def subscription_keyboard(active: bool, content: Content, mid: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if active:
        kb.button(text=content.text("subscription.button_off", mid), callback_data=SubCD(action="off"))
    else:
        kb.button(text=content.text("subscription.button_on", mid), callback_data=SubCD(action="on"))
    kb.button(text=content.text("settings.button", mid), callback_data=SetCD(action="back"))
    add_menu_button(kb)
    kb.adjust(2, 1)
    return kb.as_markup()


def settings_view(settings: PersonalSettings, content: Content) -> tuple[str, InlineKeyboardMarkup]:
    user, sub = settings.user, settings.subscription
    mid = user.municipality_id

    def t(key: str, **params: object) -> str:
        return content.text(key, mid, **params)

    dirs = [d.title for d in Direction if d.code in sub.directions]
    ages = user.child_ages
    lines = [
        t("settings.title"),
        t("settings.subscription_on" if sub.active else "settings.subscription_off"),
        t("settings.directions", directions=", ".join(dirs) if dirs else t("settings.directions_all")),
        t("settings.ages", ages=ages_text(ages, content, mid)) if ages else t("settings.ages_none"),
    ]
    if not content.single_municipality:
        name = content.municipalities[mid].name if mid in content.municipalities else None
        lines.append(
            t("settings.municipality", name=escape(name)) if name else t("settings.municipality_none")
        )
    lines.append("")
    lines.append(t("settings.no_names"))
    kb = InlineKeyboardBuilder()
    kb.button(text=t("settings.button_directions"), callback_data=SetCD(action="dirs"))
    kb.button(text=t("settings.button_ages"), callback_data=SetCD(action="ages"))
    if not content.single_municipality:
        kb.button(text=t("settings.button_municipality"), callback_data=SetCD(action="mun"))
    kb.button(
        text=t("subscription.button_off" if sub.active else "subscription.button_on"),
        callback_data=SubCD(action="off" if sub.active else "on", screen="set"),
    )
    add_menu_button(kb)
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def directions_keyboard(selected: tuple[str, ...], content: Content, mid: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for d in Direction:
        mark = "✅ " if d.code in selected else ""
        kb.button(text=f"{mark}{d.title}", callback_data=SetCD(action="dir", value=d.code))
    kb.button(text=content.text("settings.button_done", mid), callback_data=SetCD(action="back"))
    kb.adjust(1)
    return kb.as_markup()


def ages_prompt(user: UserRecord, content: Content) -> tuple[str, InlineKeyboardMarkup]:
    mid = user.municipality_id
    kb = InlineKeyboardBuilder()
    if user.children:
        kb.button(
            text=content.text("settings.button_ages_clear", mid), callback_data=SetCD(action="ages_clear")
        )
    kb.button(text=content.text("settings.button_cancel", mid), callback_data=SetCD(action="back"))
    kb.adjust(1)
    return content.text("settings.ask_ages", mid, low=MIN_AGE, high=MAX_AGE), kb.as_markup()


def municipality_picker(content: Content, mid: str | None) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for m in content.municipalities.values():
        mark = "✅ " if m.id == mid else ""
        kb.button(text=mark + m.name, callback_data=SetCD(action="mun_pick", value=m.id))
    kb.button(text=content.text("settings.button_back", mid), callback_data=SetCD(action="back"))
    sizes = [2] * (len(content.municipalities) // 2) + [1] * (len(content.municipalities) % 2) + [1]
    kb.adjust(*sizes)
    return content.text("settings.ask_municipality", mid), kb.as_markup()


def reminder_text(event: EventRecord | EventDraft, which: str) -> str:
    start = local(event.starts_at, event.timezone)
    mid = event.municipality_id
    return live_text(
        "reminder.text",
        mid,
        lead=live_text("reminder.lead_day" if which == "day" else "reminder.lead_2h", mid),
        date=start.strftime("%d.%m.%Y"),
        time=start.strftime("%H:%M"),
        title=escape(event.title),
        place=escape(event.place),
        organisation=escape(event.organisation),
    )


def reminder_texts(event: EventRecord | EventDraft) -> dict[str, str]:
    """The text of every reminder (EventService.create takes them by name)."""
    return {which: reminder_text(event, which) for which, _ in REMINDERS}


# --- broadcasts ---------------------------------------------------------------------------------
def describe_target(target: Target, municipality_names: dict[str, str] | None = None) -> str:
    """Who the segment is, in words (plain text: escape it for HTML)."""
    if target.event_id is not None:
        return live_text("broadcast.target_event", number=target.event_id)
    parts: list[str] = []
    if target.directions:
        titles = [d.title for d in Direction if d.code in target.directions]
        parts.append(live_text("broadcast.target_directions", directions=", ".join(titles)))
    if target.ages:
        parts.append(live_text("broadcast.target_ages", ages=", ".join(str(a) for a in target.ages)))
    if target.municipality:
        names = municipality_names or {}
        name = names.get(target.municipality, target.municipality)
        parts.append(live_text("broadcast.target_municipality", name=name))
    if not parts:
        return live_text("broadcast.target_all")
    return live_text("broadcast.target_all_of", parts="; ".join(parts))


def check_text(text: str, with_photo: bool) -> list[Problem]:
    """Will Telegram take `text` as an HTML message (or a photo caption)? The problems if not."""
    problems: list[Problem] = []
    if not text.strip():
        return [Problem(live_text("broadcast.check_empty"), "the text is empty")]
    errors = html_errors(text)
    if errors:
        problems.append(
            Problem(
                live_text(
                    "broadcast.check_html", errors=escape("; ".join(html_errors(text, russian=True)[:3]))
                ),
                "Telegram would refuse the HTML: " + "; ".join(errors[:3]),
            )
        )
    limit = CAPTION_LIMIT if with_photo else MESSAGE_LIMIT
    length = visible_length(text) if not errors else len(text)
    if length > limit:
        key = "broadcast.check_too_long_caption" if with_photo else "broadcast.check_too_long_message"
        what_en = "a photo caption" if with_photo else "a message"
        problems.append(
            Problem(
                live_text(key, limit=limit, length=length),
                f"the text has {length} characters; {what_en} allows {limit}",
            )
        )
    return problems


# --- what the broadcast worker tells staff ---------------------------------------------------------
def duration_text(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return live_text("broadcast.duration_hours", hours=hours, minutes=minutes)
    if minutes:
        return live_text("broadcast.duration_minutes", minutes=minutes, seconds=sec)
    return live_text("broadcast.duration_seconds", seconds=sec)


def start_note_text(note: StartNote, tz: ZoneInfo) -> str:
    """A broadcast started later than planned (the bot was down), or a reminder not sent."""
    if note.skipped is not None:
        return live_text("reminder.not_sent", number=note.shown_number, reason=escape(note.skipped))
    planned = note.scheduled_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    key = "reminder.started_late" if note.kind == "reminder" else "broadcast.started_late"
    return live_text(key, number=note.shown_number, planned=planned, late=duration_text(note.late_by))


def starting_text(broadcast_id: int, total: int) -> str:
    return live_text("broadcast.starting", number=broadcast_id, total=total)


def progress_body(counts: Mapping[str, int], total: int) -> str:
    left = counts.get("pending", 0) + counts.get("sending", 0)
    lines = [
        live_text("broadcast.progress_sent", sent=counts.get("sent", 0), total=total),
        live_text("broadcast.progress_blocked", count=counts.get("blocked", 0)),
        live_text("broadcast.progress_failed", count=counts.get("failed", 0)),
    ]
    if counts.get("uncertain"):
        lines.append(live_text("broadcast.progress_uncertain", count=counts["uncertain"]))
    lines.append(live_text("broadcast.progress_left", count=left))
    return "\n".join(lines)


def progress_text(progress: Progress, rate: float) -> str:
    """The staff's progress message while a broadcast is sent; `rate` in messages per second."""
    b = progress.broadcast
    eta = (
        live_text("broadcast.progress_eta", duration=duration_text(progress.left / rate)) if rate > 0 else ""
    )
    speed = f"{rate:.1f}".replace(".", ",")  # a Russian decimal comma
    body = progress_body(progress.counts, b.total)
    return live_text("broadcast.progress", number=b.shown_number, body=body, speed=speed, eta=eta)


def summary_text(finished: Finished) -> str:
    b = finished.broadcast
    body = progress_body(finished.counts, b.total)
    if finished.status == "cancelled":
        return live_text("broadcast.summary_cancelled", number=b.shown_number, body=body)
    took = duration_text(finished.took)
    return live_text("broadcast.summary_done", number=b.shown_number, took=took, body=body)
