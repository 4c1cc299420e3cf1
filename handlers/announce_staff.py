"""Staff: new events, broadcasts (compose, preview, send or schedule, cancel), sign-up lists.

Each step that changes something calls one service method and speaks after it returned.
Every text staff read is in content/texts/staff.yaml; every prompt has «Отмена», and the
cancel words («отмена», «стоп», «назад», «не надо») leave a dialog wherever it is.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot.content import ContentStore
from bot.dialogs import is_cancel
from bot.directions import Direction
from bot.html import escape, split_text, strip_tags, truncate
from bot.middlewares import RoleGuard
from bot.services.announcements.broadcasts import (
    MAX_PHOTO_BYTES,
    BroadcastDraft,
    BroadcastRefused,
    BroadcastService,
    check_photo,
)
from bot.services.announcements.events import (
    AUDIENCES,
    EventDraft,
    EventInPast,
    EventService,
    EventSignups,
    local,
    when_text,
)
from bot.services.announcements.subscriptions import Target, parse_ages
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.services.when import WhenError, moment_text, parse_moment, zone_phrase
from bot.settings import Settings
from bot.views import staff as ui
from bot.views.announcements import (
    BroadcastCD,
    EventCD,
    broadcast_cancel_keyboard,
    describe_target,
    event_card,
    reminder_texts,
    signups_list_view,
    signups_overview_view,
    unsubscribe_keyboard,
)
from bot.views.staff import ComposeCD, NewEventCD, Say

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))

NOT_A_COMMAND = ~F.text.startswith("/")


class EventForm(StatesGroup):
    title = State()
    when = State()
    place = State()
    organisation = State()
    directions = State()
    audience = State()
    municipality = State()
    capacity = State()
    description = State()
    photo = State()
    confirm = State()


class BroadcastForm(StatesGroup):
    text = State()
    photo = State()
    segment = State()
    ages = State()
    confirm = State()
    when = State()


def _say(content: ContentStore, user: User) -> Say:
    return Say(content.current, user.municipality_id)


async def _drop_buttons(query: CallbackQuery) -> None:
    """The pressed message's buttons go: a finished step must not stay pressable."""
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


# ============================== leaving a dialog =========================================
@router.message(StateFilter(EventForm, BroadcastForm), F.text.func(is_cancel))
async def on_cancel_word(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    current = await state.get_state() or ""
    await state.clear()
    key = "event_new.cancelled" if current.startswith("EventForm") else "broadcast.cancelled"
    await message.answer(_say(content, user)(key), reply_markup=ui.menu_keyboard())


@router.callback_query(NewEventCD.filter(F.action == "drop"))
async def ev_drop(query: CallbackQuery, state: FSMContext, content: ContentStore, user: User) -> None:
    await state.clear()
    await query.answer()
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await query.message.answer(
            _say(content, user)("event_new.cancelled"), reply_markup=ui.menu_keyboard()
        )


@router.callback_query(ComposeCD.filter(F.action == "drop"))
async def bc_drop(query: CallbackQuery, state: FSMContext, content: ContentStore, user: User) -> None:
    await state.clear()
    await query.answer()
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await query.message.answer(
            _say(content, user)("broadcast.cancelled"), reply_markup=ui.menu_keyboard()
        )


# ============================== /event_new ==============================================
@router.message(Command("event_new"))
async def cmd_event_new(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await state.clear()
    await state.set_state(EventForm.title)
    await message.answer(say("event_new.start"), reply_markup=ui.event_cancel_keyboard(say))


# Free-text steps of /event_new: state key -> (shortest, longest).
_TEXT_FIELDS: dict[str, tuple[int, int]] = {
    "title": (3, 200),
    "place": (2, 300),
    "organisation": (2, 300),
    "description": (2, 2000),
}


async def _take_text(message: Message, state: FSMContext, key: str, say: Say) -> bool:
    """Store the stripped text under `key` if its length fits; otherwise say what is wrong."""
    low, high = _TEXT_FIELDS[key]
    value = (message.text or "").strip()
    if not low <= len(value) <= high:
        await message.answer(
            say(f"event_new.bad_{key}", low=low, high=high), reply_markup=ui.event_cancel_keyboard(say)
        )
        return False
    await state.update_data({key: value})
    return True


@router.message(EventForm.title, F.text, NOT_A_COMMAND)
async def ev_title(
    message: Message, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    if not await _take_text(message, state, "title", say):
        return
    await state.set_state(EventForm.when)
    await message.answer(
        say("event_new.ask_when", zone=zone_phrase(settings.timezone)),
        reply_markup=ui.event_cancel_keyboard(say),
    )


@router.message(EventForm.when, F.text, NOT_A_COMMAND)
async def ev_when(
    message: Message, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    try:
        when = parse_moment(message.text or "", settings.tz)
    except WhenError as exc:
        await message.answer(say.refusal(exc), reply_markup=ui.event_cancel_keyboard(say))
        return
    await state.update_data(when=when.isoformat())
    await state.set_state(EventForm.place)
    await message.answer(
        say("event_new.ask_place", moment=moment_text(when, settings.timezone)),
        reply_markup=ui.event_cancel_keyboard(say),
    )


@router.message(EventForm.place, F.text, NOT_A_COMMAND)
async def ev_place(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    if not await _take_text(message, state, "place", say):
        return
    await state.set_state(EventForm.organisation)
    await message.answer(say("event_new.ask_organisation"), reply_markup=ui.event_cancel_keyboard(say))


@router.message(EventForm.organisation, F.text, NOT_A_COMMAND)
async def ev_org(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    if not await _take_text(message, state, "organisation", say):
        return
    await state.update_data(directions=[])
    await state.set_state(EventForm.directions)
    await message.answer(say("event_new.ask_directions"), reply_markup=ui.event_directions_keyboard(say, []))


@router.callback_query(EventForm.directions, NewEventCD.filter(F.action == "dir"))
async def ev_dir(
    query: CallbackQuery, callback_data: NewEventCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    direction = Direction.from_code(callback_data.value)
    if direction is None:
        await query.answer(say("staff.no_such_direction"), show_alert=True)
        return
    selected: list[str] = list((await state.get_data()).get("directions", []))
    if direction.code in selected:
        selected.remove(direction.code)
    else:
        selected.append(direction.code)
    await state.update_data(directions=selected)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=ui.event_directions_keyboard(say, selected))


@router.callback_query(EventForm.directions, NewEventCD.filter(F.action == "dirs_done"))
async def ev_dirs_done(query: CallbackQuery, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await state.set_state(EventForm.audience)
    await query.answer()
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await query.message.answer(
            say("event_new.ask_audience"),
            reply_markup=ui.event_audience_keyboard(say, {a: say(f"events.audience_{a}") for a in AUDIENCES}),
        )


@router.callback_query(EventForm.audience, NewEventCD.filter(F.action == "aud"))
async def ev_audience(
    query: CallbackQuery, callback_data: NewEventCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    if callback_data.value not in AUDIENCES:
        await query.answer(say("event_new.no_such_audience"), show_alert=True)
        return
    await query.answer()
    await state.update_data(audience=callback_data.value)
    c = content.current
    await _drop_buttons(query)
    if not isinstance(query.message, Message):
        return
    if c.single_municipality:
        await state.update_data(municipality=c.default_municipality_id)
        await _ask_capacity(query.message, state, say)
        return
    await state.set_state(EventForm.municipality)
    await query.message.answer(
        say("event_new.ask_municipality"),
        reply_markup=ui.event_municipality_keyboard(say, ((m.id, m.name) for m in c.municipalities.values())),
    )


@router.callback_query(EventForm.municipality, NewEventCD.filter(F.action == "mun"))
async def ev_municipality(
    query: CallbackQuery, callback_data: NewEventCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    if callback_data.value not in content.current.municipalities:
        await query.answer(say("staff.no_such_municipality"), show_alert=True)
        return
    await query.answer()
    await state.update_data(municipality=callback_data.value)
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await _ask_capacity(query.message, state, say)


async def _ask_capacity(message: Message, state: FSMContext, say: Say) -> None:
    await state.set_state(EventForm.capacity)
    await message.answer(say("event_new.ask_capacity"), reply_markup=ui.event_capacity_keyboard(say))


@router.message(EventForm.capacity, F.text, NOT_A_COMMAND)
async def ev_capacity(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    raw = "".join((message.text or "").split())
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        await message.answer(say("event_new.bad_capacity"), reply_markup=ui.event_capacity_keyboard(say))
        return
    await state.update_data(capacity=int(raw))
    await _ask_description(message, state, say)


@router.callback_query(EventForm.capacity, NewEventCD.filter(F.action == "cap_none"))
async def ev_capacity_none(
    query: CallbackQuery, state: FSMContext, content: ContentStore, user: User
) -> None:
    await query.answer()
    await state.update_data(capacity=None)
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await _ask_description(query.message, state, _say(content, user))


async def _ask_description(message: Message, state: FSMContext, say: Say) -> None:
    await state.set_state(EventForm.description)
    await message.answer(say("event_new.ask_description"), reply_markup=ui.event_cancel_keyboard(say))


@router.message(EventForm.description, F.text, NOT_A_COMMAND)
async def ev_description(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    if not await _take_text(message, state, "description", say):
        return
    await state.set_state(EventForm.photo)
    await message.answer(say("event_new.ask_photo"), reply_markup=ui.event_photo_keyboard(say))


@router.message(EventForm.photo, F.photo)
async def ev_photo(
    message: Message, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    assert message.photo
    await state.update_data(photo=message.photo[-1].file_id)
    await _ev_preview(message, state, settings, _say(content, user))


@router.callback_query(EventForm.photo, NewEventCD.filter(F.action == "photo_none"))
async def ev_photo_none(
    query: CallbackQuery, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    await query.answer()
    await state.update_data(photo=None)
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await _ev_preview(query.message, state, settings, _say(content, user))


def _draft(data: dict[str, Any], settings: Settings) -> EventDraft:
    return EventDraft(
        title=data["title"],
        starts_at=datetime.fromisoformat(data["when"]),
        timezone=settings.timezone,
        place=data["place"],
        organisation=data["organisation"],
        directions=tuple(data.get("directions", [])),
        audience=data["audience"],
        capacity=data.get("capacity"),
        description=data["description"],
        municipality_id=data.get("municipality"),
        photo_file_id=data.get("photo"),
    )


async def _ev_preview(message: Message, state: FSMContext, settings: Settings, say: Say) -> None:
    data = await state.get_data()
    draft = _draft(data, settings)
    await state.set_state(EventForm.confirm)
    await message.answer(
        say(
            "event_new.preview",
            card=event_card(draft, 0, content=say.content),  # as parents will see it, with the town
            moment=moment_text(draft.starts_at, settings.timezone),
        ),
        reply_markup=ui.event_publish_keyboard(say),
    )


@router.callback_query(EventForm.confirm, NewEventCD.filter(F.action == "publish"))
async def ev_publish(
    query: CallbackQuery,
    *,
    state: FSMContext,
    events: EventService,
    settings: Settings,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    data = await state.get_data()
    await state.clear()
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    draft = _draft(data, settings)
    try:
        event = await events.create(
            draft, created_by=query.from_user.id, reminder_texts=reminder_texts(draft)
        )
    except EventInPast:
        await query.message.answer(say("event_new.in_past"), reply_markup=ui.menu_keyboard())
        return
    await query.message.answer(
        say("event_new.created", number=event.id), reply_markup=ui.event_created_keyboard(say)
    )


@router.callback_query(NewEventCD.filter())
async def ev_stale(query: CallbackQuery, content: ContentStore, user: User) -> None:
    await query.answer(_say(content, user)("event_new.draft_lost"), show_alert=True)


# ============================== sign-up lists ============================================
# Who is coming: every upcoming (and today's) event with its count, each list with the names and
# phones parents gave, and the list as an XLSX file. Words: content/texts/announcements.yaml.
async def _send_list(message: Message, found: EventSignups, content: ContentStore) -> None:
    text, markup = signups_list_view(found, content.current)
    parts = split_text(text)
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=markup)


@router.message(Command("signups"))
async def cmd_signups(
    message: Message, command: CommandObject, events: EventService, content: ContentStore
) -> None:
    raw = (command.args or "").strip().lstrip("№#")
    if not raw:
        text, markup = signups_overview_view(await events.signup_overview(), content.current)
        await message.answer(text, reply_markup=markup)
        return
    found = await events.signups(int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if found is None:
        text, markup = signups_overview_view(await events.signup_overview(), content.current)
        await message.answer(
            content.current.text("signups.not_found", None) + "\n\n" + text, reply_markup=markup
        )
        return
    await _send_list(message, found, content)


@router.callback_query(EventCD.filter(F.action == "list"))
async def on_signups(
    query: CallbackQuery, callback_data: EventCD, events: EventService, content: ContentStore
) -> None:
    found = await events.signups(callback_data.id)
    if found is None or not isinstance(query.message, Message):
        await query.answer(content.current.text("events.gone", None), show_alert=True)
        return
    await _send_list(query.message, found, content)


@router.callback_query(EventCD.filter(F.action == "all"))
async def on_signups_overview(query: CallbackQuery, events: EventService, content: ContentStore) -> None:
    if isinstance(query.message, Message):
        text, markup = signups_overview_view(await events.signup_overview(), content.current)
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(EventCD.filter(F.action == "xlsx"))
async def on_signups_xlsx(
    query: CallbackQuery, callback_data: EventCD, events: EventService, content: ContentStore
) -> None:
    sheet = await events.signup_sheet(callback_data.id, content.current)
    if sheet is None or not isinstance(query.message, Message):
        await query.answer(content.current.text("events.gone", None), show_alert=True)
        return
    await query.answer()
    event = sheet.signups.event
    await query.message.answer_document(
        BufferedInputFile(
            sheet.xlsx, filename=f"zapisi-{event.id}-{local(event.starts_at, event.timezone):%Y-%m-%d}.xlsx"
        ),
        caption=content.current.text(
            "signups.xlsx_caption",
            event.municipality_id,
            title=escape(event.title),
            count=len(sheet.signups.signups),
        ),
    )


# ============================== /broadcast ===============================================
@router.message(Command("broadcast"))
async def cmd_broadcast(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await state.clear()
    await state.set_state(BroadcastForm.text)
    await message.answer(say("broadcast.start"), reply_markup=ui.broadcast_cancel_only(say))


def _html_of(message: Message) -> str:
    """What staff typed, as Telegram HTML: the formatting made in Telegram (the message's
    entities) becomes tags, everything else is text — «<», «&» and «<b>» typed by hand too."""
    return message.html_text


@router.message(BroadcastForm.text, F.photo)
async def bc_text_with_photo(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    assert message.photo
    say = _say(content, user)
    text = _html_of(message)
    problems = ui.check_broadcast_text(text, with_photo=True) if message.caption else []
    if problems:
        await message.answer(
            say("broadcast.text_refused", problems=say.problems(problems)),
            reply_markup=ui.broadcast_cancel_only(say),
        )
        return
    if not message.caption:
        await state.update_data(pending_photo_id=message.photo[-1].file_id)
        await message.answer(say("broadcast.photo_without_text"), reply_markup=ui.broadcast_cancel_only(say))
        return
    await state.update_data(text=text, photo_id=message.photo[-1].file_id, photo_b64=None)
    await _ask_segment(message, state, content, say)


@router.message(BroadcastForm.text, F.text, NOT_A_COMMAND)
async def bc_text(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    text = _html_of(message)
    data = await state.get_data()
    with_photo = bool(data.get("pending_photo_id"))
    problems = ui.check_broadcast_text(text, with_photo=with_photo)
    if problems:
        await message.answer(
            say("broadcast.text_refused", problems=say.problems(problems)),
            reply_markup=ui.broadcast_cancel_only(say),
        )
        return
    if with_photo:  # the photo came first, the text now: both are there
        await state.update_data(text=text, photo_id=data["pending_photo_id"], photo_b64=None)
        await _ask_segment(message, state, content, say)
        return
    await state.update_data(text=text, photo_id=None, photo_b64=None)
    await state.set_state(BroadcastForm.photo)
    await message.answer(say("broadcast.ask_photo"), reply_markup=ui.broadcast_photo_keyboard(say))


async def _photo_text_ok(message: Message, state: FSMContext, say: Say) -> bool:
    text = (await state.get_data()).get("text", "")
    problems = ui.check_broadcast_text(text, with_photo=True)
    if problems:
        await message.answer(
            say("broadcast.caption_refused", problems=say.problems(problems)),
            reply_markup=ui.broadcast_photo_keyboard(say),
        )
        return False
    return True


@router.message(BroadcastForm.photo, F.photo)
async def bc_photo(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    assert message.photo
    say = _say(content, user)
    if not await _photo_text_ok(message, state, say):
        return
    await state.update_data(photo_id=message.photo[-1].file_id)
    await _ask_segment(message, state, content, say)


@router.message(BroadcastForm.photo, F.document)
async def bc_photo_file(
    message: Message, state: FSMContext, bot: Bot, content: ContentStore, user: User
) -> None:
    doc = message.document
    assert doc is not None
    say = _say(content, user)
    if doc.file_size and doc.file_size > MAX_PHOTO_BYTES:
        await message.answer(say("broadcast.photo_too_big"), reply_markup=ui.broadcast_photo_keyboard(say))
        return
    buffer = io.BytesIO()
    await bot.download(doc, destination=buffer)
    problems = check_photo(buffer.getvalue())
    if problems:
        await message.answer(
            say("broadcast.photo_refused", problems=say.problems(problems)),
            reply_markup=ui.broadcast_photo_keyboard(say),
        )
        return
    if not await _photo_text_ok(message, state, say):
        return
    await state.update_data(photo_b64=base64.b64encode(buffer.getvalue()).decode())
    await _ask_segment(message, state, content, say)


@router.message(BroadcastForm.photo, ~F.text.startswith("/"))
async def bc_photo_wrong(message: Message, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await message.answer(say("broadcast.need_photo"), reply_markup=ui.broadcast_photo_keyboard(say))


@router.callback_query(BroadcastForm.photo, ComposeCD.filter(F.action == "nophoto"))
async def bc_no_photo(query: CallbackQuery, state: FSMContext, content: ContentStore, user: User) -> None:
    await query.answer()
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await _ask_segment(query.message, state, content, _say(content, user))


async def _ask_segment(message: Message, state: FSMContext, content: ContentStore, say: Say) -> None:
    await state.set_state(BroadcastForm.segment)
    await message.answer(
        say("broadcast.ask_segment"),
        reply_markup=ui.broadcast_segment_keyboard(say, not content.current.single_municipality),
    )


@router.callback_query(
    StateFilter(BroadcastForm.segment, BroadcastForm.ages, BroadcastForm.confirm),
    ComposeCD.filter(F.action == "back"),
)
async def bc_back_to_segments(
    query: CallbackQuery, state: FSMContext, content: ContentStore, user: User
) -> None:
    await query.answer()
    await _drop_buttons(query)
    if isinstance(query.message, Message):
        await _ask_segment(query.message, state, content, _say(content, user))


@router.callback_query(BroadcastForm.segment, ComposeCD.filter(F.action == "seg"))
async def bc_segment(
    query: CallbackQuery,
    *,
    callback_data: ComposeCD,
    state: FSMContext,
    broadcasts: BroadcastService,
    events: EventService,
    content: ContentStore,
    user: User,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    say = _say(content, user)
    value = callback_data.value
    if value == "all":
        await query.answer()
        await _drop_buttons(query)
        await _preview(message, state=state, broadcasts=broadcasts, content=content, say=say, target=Target())
        return
    if value == "dir":
        items = [(d.code, d.title) for d in Direction]
        await message.answer(
            say("broadcast.ask_direction"), reply_markup=ui.broadcast_choice_keyboard(say, "dir", items)
        )
    elif value == "age":
        await state.set_state(BroadcastForm.ages)
        await message.answer(
            say("broadcast.ask_ages"), reply_markup=ui.broadcast_choice_keyboard(say, "age", [])
        )
    elif value == "mun" and not content.current.single_municipality:
        items = [(m.id, m.name) for m in content.current.municipalities.values()]
        await message.answer(
            say("broadcast.ask_municipality"), reply_markup=ui.broadcast_choice_keyboard(say, "mun", items, 2)
        )
    elif value == "event":
        upcoming = await events.upcoming(limit=20)
        if not upcoming:
            await query.answer(say("broadcast.no_events"), show_alert=True)
            return
        items = [(str(e.id), truncate(f"{when_text(e)} {e.title}", 60)) for e in upcoming]
        await message.answer(
            say("broadcast.ask_event"), reply_markup=ui.broadcast_choice_keyboard(say, "event", items)
        )
    else:
        await query.answer(say("broadcast.no_such_segment"), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query)


@router.callback_query(BroadcastForm.segment, ComposeCD.filter(F.action.in_({"dir", "mun", "event"})))
async def bc_segment_value(
    query: CallbackQuery,
    *,
    callback_data: ComposeCD,
    state: FSMContext,
    broadcasts: BroadcastService,
    events: EventService,
    content: ContentStore,
    user: User,
) -> None:
    if not isinstance(query.message, Message):
        return
    say = _say(content, user)
    value = callback_data.value
    if callback_data.action == "dir":
        direction = Direction.from_code(value)
        if direction is None:
            await query.answer(say("staff.no_such_direction"), show_alert=True)
            return
        target = Target(directions=(direction.code,))
    elif callback_data.action == "mun":
        if value not in content.current.municipalities:
            await query.answer(say("staff.no_such_municipality"), show_alert=True)
            return
        target = Target(municipality=value)
    else:
        event = await events.get(int(value)) if value.isdigit() and len(value) < 12 else None
        if event is None:
            await query.answer(say("broadcast.event_missing"), show_alert=True)
            return
        target = Target(event_id=event.id)
    await query.answer()
    await _drop_buttons(query)
    await _preview(query.message, state=state, broadcasts=broadcasts, content=content, say=say, target=target)


@router.message(BroadcastForm.ages, F.text, NOT_A_COMMAND)
async def bc_ages(
    message: Message, state: FSMContext, broadcasts: BroadcastService, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    try:
        ages = parse_ages(message.text or "")
    except ValueError as exc:
        await message.answer(
            say("broadcast.bad_ages", reason=escape(str(exc))),
            reply_markup=ui.broadcast_choice_keyboard(say, "age", []),
        )
        return
    await _preview(
        message, state=state, broadcasts=broadcasts, content=content, say=say, target=Target(ages=tuple(ages))
    )


async def _preview(
    message: Message,
    *,
    state: FSMContext,
    broadcasts: BroadcastService,
    content: ContentStore,
    say: Say,
    target: Target,
) -> None:
    data = await state.get_data()
    if "text" not in data:
        await state.clear()
        await message.answer(say("broadcast.draft_lost"), reply_markup=ui.menu_keyboard())
        return
    count = await broadcasts.count_recipients(target)
    names = {m.id: m.name for m in content.current.municipalities.values()}
    segment = escape(describe_target(target, names))
    if count == 0:
        await message.answer(say("broadcast.segment_nobody", segment=segment))
        await _ask_segment(message, state, content, say)
        return
    await state.update_data(target=target.to_json())
    await state.set_state(BroadcastForm.confirm)
    await message.answer(say("broadcast.preview_head"))
    if data.get("photo_id"):
        await message.answer_photo(
            data["photo_id"], caption=data["text"], reply_markup=unsubscribe_keyboard(preview=True)
        )
    elif data.get("photo_b64"):
        photo = BufferedInputFile(base64.b64decode(data["photo_b64"]), filename="photo.jpg")
        await message.answer_photo(
            photo, caption=data["text"], reply_markup=unsubscribe_keyboard(preview=True)
        )
    else:
        await message.answer(data["text"], reply_markup=unsubscribe_keyboard(preview=True))
    await message.answer(
        say("broadcast.preview_target", segment=segment, count=count),
        reply_markup=ui.broadcast_confirm_keyboard(say),
    )


async def _record(
    message: Message,
    *,
    state: FSMContext,
    broadcasts: BroadcastService,
    staff_id: int,
    settings: Settings,
    say: Say,
    when: datetime | None = None,
) -> None:
    data = await state.get_data()
    if "target" not in data:
        await state.clear()
        await message.answer(say("broadcast.draft_lost"), reply_markup=ui.menu_keyboard())
        return
    photo_data = base64.b64decode(data["photo_b64"]) if data.get("photo_b64") else None
    draft = BroadcastDraft(
        text=data["text"],
        target=Target.from_json(data["target"]),
        created_by=staff_id,
        scheduled_at=when,
        photo_file_id=data.get("photo_id"),
        photo_data=photo_data,
        progress_chat_id=message.chat.id,
    )
    try:
        problems = ui.check_broadcast_text(
            draft.text, draft.photo_file_id is not None or photo_data is not None
        )
        if problems:
            raise BroadcastRefused(problems)
        broadcast = await broadcasts.create(draft)
    except BroadcastRefused as exc:
        await message.answer(
            say("broadcast.not_created", problems=say.problems(exc.problems)),
            reply_markup=ui.broadcast_cancel_only(say),
        )
        return
    await state.clear()
    if when is None:
        sent = await message.answer(
            say("broadcast.queued", number=broadcast.number),
            reply_markup=broadcast_cancel_keyboard(broadcast.id, broadcast.number),
        )
        # The worker edits this message with the progress (unless it has started and chosen its own).
        await broadcasts.show_progress_in(broadcast.id, sent.chat.id, sent.message_id)
    else:
        await message.answer(
            say("broadcast.scheduled", number=broadcast.number, moment=moment_text(when, settings.timezone)),
            reply_markup=broadcast_cancel_keyboard(broadcast.id, broadcast.number),
        )


@router.callback_query(BroadcastForm.confirm, ComposeCD.filter(F.action.in_({"now", "later"})))
async def bc_confirm(
    query: CallbackQuery,
    *,
    callback_data: ComposeCD,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
    content: ContentStore,
    user: User,
) -> None:
    if not isinstance(query.message, Message):
        return
    say = _say(content, user)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "now":
        await _record(
            query.message, state=state, broadcasts=broadcasts, staff_id=query.from_user.id, settings=settings,
            say=say,
        )  # fmt: skip
    else:
        await state.set_state(BroadcastForm.when)
        await query.message.answer(
            say("broadcast.ask_when", zone=zone_phrase(settings.timezone)),
            reply_markup=ui.broadcast_cancel_only(say),
        )


@router.message(BroadcastForm.when, F.text, NOT_A_COMMAND)
async def bc_when(
    message: Message,
    *,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    try:
        when = parse_moment(message.text or "", settings.tz)
    except WhenError as exc:
        await message.answer(say.refusal(exc), reply_markup=ui.broadcast_cancel_only(say))
        return
    await _record(
        message, state=state, broadcasts=broadcasts, staff_id=user.id, settings=settings, say=say, when=when
    )


@router.callback_query(ComposeCD.filter())
async def bc_stale(query: CallbackQuery, content: ContentStore, user: User) -> None:
    await query.answer(_say(content, user)("broadcast.draft_lost"), show_alert=True)


@router.message(EventForm.photo, ~F.text.startswith("/"))
async def ev_photo_wrong(message: Message, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await message.answer(say("event_new.need_photo"), reply_markup=ui.event_photo_keyboard(say))


@router.message(StateFilter(EventForm.directions, EventForm.audience, EventForm.municipality,
                            EventForm.confirm, BroadcastForm.segment, BroadcastForm.confirm),
                ~F.text.startswith("/"))  # fmt: skip
async def form_needs_button(message: Message, content: ContentStore, user: User) -> None:
    """Typed text where a button is expected (the cancel words are taken before this)."""
    await message.answer(_say(content, user)("staff.need_button"))


@router.message(BroadcastForm.text, ~F.text.startswith("/"))
@router.message(BroadcastForm.ages, ~F.text.startswith("/"))
@router.message(BroadcastForm.when, ~F.text.startswith("/"))
@router.message(EventForm.title, ~F.text.startswith("/"))
@router.message(EventForm.when, ~F.text.startswith("/"))
@router.message(EventForm.place, ~F.text.startswith("/"))
@router.message(EventForm.organisation, ~F.text.startswith("/"))
@router.message(EventForm.capacity, ~F.text.startswith("/"))
@router.message(EventForm.description, ~F.text.startswith("/"))
async def form_wrong_input(message: Message, content: ContentStore, user: User) -> None:
    """Anything but text where text is expected (commands such as /cancel pass through)."""
    await message.answer(_say(content, user)("staff.need_text"))


# ============================== /broadcasts and cancel ======================================
@router.message(Command("broadcasts"))
async def cmd_broadcasts(
    message: Message, broadcasts: BroadcastService, settings: Settings, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    items = await broadcasts.active()
    if not items:
        await message.answer(say("broadcast.list_empty"), reply_markup=ui.menu_keyboard())
        return
    lines = [say("broadcast.list_head")]
    for b in items:
        text = escape(truncate(strip_tags(b.text), 60))
        if b.status == "running":
            lines.append(say("broadcast.list_running", number=b.shown_number, text=text))
        elif b.scheduled_at <= datetime.now(UTC):  # «send now», not yet taken by the worker
            lines.append(say("broadcast.list_queued", number=b.shown_number, text=text))
        else:
            moment = moment_text(b.scheduled_at, settings.timezone)
            lines.append(say("broadcast.list_scheduled", number=b.shown_number, moment=moment, text=text))
    await message.answer("\n".join(lines), reply_markup=_broadcasts_keyboard(items, say))


def _broadcasts_keyboard(items: list[Any], say: Say) -> InlineKeyboardMarkup:
    from aiogram.utils.keyboard import InlineKeyboardBuilder

    from bot.keyboards import add_menu_button

    kb = InlineKeyboardBuilder()
    for b in items:
        kb.button(text=say("broadcast.button_stop", number=b.shown_number),
                  callback_data=BroadcastCD(action="cancel", id=b.id))  # fmt: skip
    add_menu_button(kb)
    kb.adjust(1)
    return kb.as_markup()


@router.callback_query(BroadcastCD.filter(F.action == "cancel"))
async def on_cancel_broadcast(
    query: CallbackQuery, callback_data: BroadcastCD, broadcasts: BroadcastService, content: ContentStore,
    user: User,
) -> None:  # fmt: skip
    say = _say(content, user)
    broadcast = await broadcasts.cancel(callback_data.id)
    if broadcast is None:
        await query.answer(say("broadcast.cannot_stop"), show_alert=True)
        return
    await query.answer(say("broadcast.stopped_alert", number=broadcast.shown_number), show_alert=True)
    if isinstance(query.message, Message):
        await query.message.answer(
            say("broadcast.stopped", number=broadcast.shown_number), reply_markup=ui.menu_keyboard()
        )
