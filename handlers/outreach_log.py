"""/log: staff record offline activities for the annual report, list, correct and delete them.

Every change is one call of `OutreachLogService`, committed before anything is said about it.
Texts: content/texts/outreach_log.yaml. Every prompt has «Отмена»; the cancel words leave
the dialog; with several municipalities an entry shows and edits its own.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content import ContentStore
from bot.dialogs import is_cancel
from bot.directions import Direction
from bot.html import strip_tags
from bot.middlewares import RoleGuard
from bot.services.outreach import log, vocab
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.log import CONFIRM_ABOVE, ActivityInput
from bot.services.outreach.periods import parse_date
from bot.services.outreach.service import (
    ActivityRecord,
    EntryMissing,
    EntryUnavailable,
    OutreachLogService,
)
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.settings import Settings
from bot.views import outreach as ui
from bot.views.staff import Say

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))

NOT_A_COMMAND = ~F.text.startswith("/")


class LogDialog(StatesGroup):
    date = State()
    audience = State()
    kind = State()
    reached = State()
    big = State()
    title = State()
    extras = State()
    organisation = State()
    one_line_big = State()


class LogEdit(StatesGroup):
    value = State()


def _say(content: ContentStore, user: User) -> Say:
    return Say(content.current, user.municipality_id)


def _municipality(user: User, content: ContentStore) -> str:
    return content.current.municipality(user.municipality_id).id


def _place(content: ContentStore, municipality_id: str) -> str | None:
    """The municipality's name for a card, when the region has several (else None: nothing to tell)."""
    c = content.current
    if c.single_municipality:
        return None
    return c.municipalities[municipality_id].name if municipality_id in c.municipalities else municipality_id


def _card(data: ActivityInput | ActivityRecord, say: Say, content: ContentStore) -> str:
    return ui.describe(data, say, _place(content, data.municipality_id))


async def _reply(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    message = event if isinstance(event, Message) else event.message
    if isinstance(message, Message):
        await message.answer(text, reply_markup=markup)


async def _show_extras(
    event: Message | CallbackQuery, state: FSMContext, say: Say, content: ContentStore
) -> None:
    await state.set_state(LogDialog.extras)
    draft = ActivityInput.from_snapshot(await state.get_data())
    several = not content.current.single_municipality
    await _reply(
        event,
        say("log.check_entry", card=_card(draft, say, content)),
        ui.extras_keyboard(say, several),
    )


# --- leaving the dialog ----------------------------------------------------------------


@router.message(StateFilter(LogDialog, LogEdit), F.text.func(is_cancel))
async def on_cancel_word(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    await state.clear()
    await message.answer(_say(content, user)("log.cancelled"), reply_markup=ui.menu_keyboard())


@router.callback_query(ui.LogCD.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await state.clear()
    await query.answer(say("log.cancelled_toast"))
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    await _reply(query, say("log.cancelled"), ui.menu_keyboard())


# --- /log and its one-line form -------------------------------------------------------


@router.message(Command("log"))
async def cmd_log(
    message: Message,
    *,
    command: CommandObject,
    state: FSMContext,
    outreach_log: OutreachLogService,
    settings: Settings,
    content: ContentStore,
    user: User,
    role: Role,
) -> None:
    say = _say(content, user)
    args = (command.args or "").strip()
    if args.lower() in {"list", "список"}:
        await state.clear()
        await _send_list(
            message,
            outreach_log=outreach_log,
            user_id=user.id,
            is_admin=role >= Role.ADMIN,
            say=say,
            content=content,
        )
        return
    if not args:
        await state.clear()
        await state.update_data(municipality_id=_municipality(user, content), directions=[])
        await state.set_state(LogDialog.date)
        await message.answer(say("log.start"), reply_markup=ui.date_keyboard(say))
        return
    try:
        draft = log.parse_one_line(args, settings.tz, _municipality(user, content))
    except OutreachError as exc:
        await message.answer(say.refusal(exc))
        return
    if draft.needs_confirmation:
        await state.clear()
        await state.update_data(**draft.snapshot())
        await state.set_state(LogDialog.one_line_big)
        await message.answer(
            say("log.big", reached=draft.reached, limit=CONFIRM_ABOVE) + "\n\n" + _card(draft, say, content),
            reply_markup=ui.big_keyboard(say),
        )
        return
    actor = message.chat.id if message.from_user is None else message.from_user.id
    await _save(message, state, outreach_log, draft, actor, say=say, content=content)


async def _save(
    event: Message | CallbackQuery,
    state: FSMContext,
    outreach_log: OutreachLogService,
    draft: ActivityInput,
    actor: int,
    *,
    say: Say,
    content: ContentStore,
    toast: str | None = None,
) -> None:
    """Store the entry, then say so (the button's `toast` too only once it is stored)."""
    entry = await outreach_log.create(draft, actor)
    await state.clear()
    if toast is not None and isinstance(event, CallbackQuery):
        await event.answer(toast)
    await _reply(
        event,
        say("log.saved", number=entry.id, card=_card(draft, say, content)),
        ui.entry_keyboard(say, entry.id),
    )


# --- the dialog ------------------------------------------------------------------------


@router.callback_query(LogDialog.date, ui.LogCD.filter(F.action == "date"))
async def on_date_button(
    query: CallbackQuery,
    *,
    callback_data: ui.LogCD,
    state: FSMContext,
    settings: Settings,
    content: ContentStore,
    user: User,
) -> None:
    await query.answer()
    value = {"today": "сегодня", "yesterday": "вчера"}.get(callback_data.value, callback_data.value)
    await _take_date(query, value, state, settings, _say(content, user))


@router.message(LogDialog.date, F.text, NOT_A_COMMAND)
async def on_date_text(
    message: Message, state: FSMContext, settings: Settings, content: ContentStore, user: User
) -> None:
    await _take_date(message, message.text or "", state, settings, _say(content, user))


async def _take_date(
    event: Message | CallbackQuery, raw: str, state: FSMContext, settings: Settings, say: Say
) -> None:
    try:
        held_on = parse_date(raw, settings.tz)
    except OutreachError as exc:
        await _reply(event, say.refusal(exc), ui.date_keyboard(say))
        return
    await state.update_data(held_on=held_on.isoformat())
    await state.set_state(LogDialog.audience)
    await _reply(event, say("log.ask_audience", day=f"{held_on:%d.%m.%Y}"), ui.audience_keyboard(say))


@router.callback_query(LogDialog.audience, ui.LogCD.filter(F.action == "aud"))
async def on_audience_button(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    await query.answer()
    await _take_audience(query, callback_data.value, state, _say(content, user))


@router.message(LogDialog.audience, F.text, NOT_A_COMMAND)
async def on_audience_text(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    await _take_audience(message, message.text or "", state, _say(content, user))


async def _take_audience(event: Message | CallbackQuery, raw: str, state: FSMContext, say: Say) -> None:
    try:
        audience = log.check_audience(raw)
    except OutreachError as exc:
        await _reply(event, say.refusal(exc), ui.audience_keyboard(say))
        return
    await state.update_data(audience=audience)
    await state.set_state(LogDialog.kind)
    label = vocab.AUDIENCE_BY_CODE[audience].label
    await _reply(event, say("log.ask_kind", audience=label), ui.kind_keyboard(say))


@router.callback_query(LogDialog.kind, ui.LogCD.filter(F.action == "kind"))
async def on_kind_button(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    await query.answer()
    await _take_kind(query, callback_data.value, state, _say(content, user))


@router.message(LogDialog.kind, F.text, NOT_A_COMMAND)
async def on_kind_text(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    await _take_kind(message, message.text or "", state, _say(content, user))


async def _take_kind(event: Message | CallbackQuery, raw: str, state: FSMContext, say: Say) -> None:
    try:
        kind = log.check_kind(raw)
    except OutreachError as exc:
        await _reply(event, say.refusal(exc), ui.kind_keyboard(say))
        return
    await state.update_data(kind=kind)
    await state.set_state(LogDialog.reached)
    await _reply(event, say("log.ask_reached", kind=vocab.KIND_BY_CODE[kind].label), ui.cancel_keyboard(say))


@router.message(LogDialog.reached, F.text, NOT_A_COMMAND)
async def on_reached(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    try:
        reached = log.parse_reached(message.text or "")
    except OutreachError as exc:
        await message.answer(say.refusal(exc), reply_markup=ui.cancel_keyboard(say))
        return
    await state.update_data(reached=reached)
    if reached > CONFIRM_ABOVE:
        await state.set_state(LogDialog.big)
        await message.answer(
            say("log.big", reached=reached, limit=CONFIRM_ABOVE), reply_markup=ui.big_keyboard(say)
        )
        return
    await state.set_state(LogDialog.title)
    await message.answer(say("log.ask_title"), reply_markup=ui.cancel_keyboard(say))


@router.callback_query(LogDialog.big, ui.LogCD.filter(F.action == "big"))
async def on_big(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    await query.answer()
    if callback_data.value == "yes":
        await state.set_state(LogDialog.title)
        await _reply(query, say("log.ask_title"), ui.cancel_keyboard(say))
    else:
        await state.set_state(LogDialog.reached)
        await _reply(query, say("log.ask_reached_again"), ui.cancel_keyboard(say))


@router.callback_query(LogDialog.one_line_big, ui.LogCD.filter(F.action == "big"))
async def on_one_line_big(
    query: CallbackQuery,
    *,
    callback_data: ui.LogCD,
    state: FSMContext,
    outreach_log: OutreachLogService,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    if callback_data.value != "yes":
        await state.clear()
        await query.answer(say("log.not_saved_toast"))
        await _reply(query, say("log.one_line_fix"), ui.menu_keyboard())
        return
    await query.answer()
    draft = ActivityInput.from_snapshot(await state.get_data())
    await _save(query, state, outreach_log, draft, query.from_user.id, say=say, content=content)


@router.message(LogDialog.title, F.text, NOT_A_COMMAND)
async def on_title(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    try:
        title = log.check_title(message.text or "")
    except OutreachError as exc:
        await message.answer(say.refusal(exc), reply_markup=ui.cancel_keyboard(say))
        return
    await state.update_data(title=title)
    await _show_extras(message, state, say, content)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "extra"))
async def on_extra(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    await query.answer()
    data = await state.get_data()
    if callback_data.value == "org":
        await state.set_state(LogDialog.organisation)
        await _reply(query, say("log.ask_organisation"), ui.cancel_keyboard(say))
    elif callback_data.value == "dir":
        await _reply(
            query, say("log.ask_directions"), ui.directions_keyboard(say, data.get("directions") or [])
        )
    elif callback_data.value == "fmt":
        await _reply(query, say("log.ask_format"), ui.format_keyboard(say))
    elif callback_data.value == "mun" and not content.current.single_municipality:
        items = ((m.id, m.name) for m in content.current.municipalities.values())
        await _reply(query, say("log.ask_municipality"), ui.municipality_keyboard(say, items))
    else:
        await _show_extras(query, state, say, content)


@router.message(LogDialog.organisation, F.text, NOT_A_COMMAND)
async def on_organisation(message: Message, state: FSMContext, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    try:
        organisation = log.check_organisation(message.text or "")
    except OutreachError as exc:
        await message.answer(say.refusal(exc), reply_markup=ui.cancel_keyboard(say))
        return
    await state.update_data(organisation=organisation)
    await _show_extras(message, state, say, content)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "dir"))
async def on_direction(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    chosen = list((await state.get_data()).get("directions") or [])
    if Direction.from_code(callback_data.value) is None:
        await query.answer(say("log.no_such_direction"), show_alert=True)
        return
    if callback_data.value in chosen:
        chosen.remove(callback_data.value)
    else:
        chosen.append(callback_data.value)
    await state.update_data(directions=chosen)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=ui.directions_keyboard(say, chosen))


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "fmt"))
async def on_format(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    if callback_data.value not in (*vocab.FORMAT_BY_CODE, "none"):
        await query.answer(say("log.no_such_format"), show_alert=True)
        return
    await query.answer()
    await state.update_data(format=None if callback_data.value == "none" else callback_data.value)
    await _show_extras(query, state, say, content)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "mun"))
async def on_municipality(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, content: ContentStore, user: User
) -> None:
    say = _say(content, user)
    if callback_data.value not in content.current.municipalities:
        await query.answer(say("log.no_such_municipality"), show_alert=True)
        return
    await query.answer()
    await state.update_data(municipality_id=callback_data.value)
    await _show_extras(query, state, say, content)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "save"))
async def on_save(
    query: CallbackQuery,
    state: FSMContext,
    outreach_log: OutreachLogService,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    draft = ActivityInput.from_snapshot(await state.get_data())
    await _save(
        query,
        state,
        outreach_log,
        draft,
        query.from_user.id,
        say=say,
        content=content,
        toast=say("log.saved_toast"),
    )


@router.callback_query(ui.LogCD.filter(F.action == "list"))
async def on_list_button(
    query: CallbackQuery,
    *,
    state: FSMContext,
    outreach_log: OutreachLogService,
    content: ContentStore,
    user: User,
    role: Role,
) -> None:
    await query.answer()
    await state.clear()
    if isinstance(query.message, Message):
        say = _say(content, user)
        await _send_list(
            query.message, outreach_log=outreach_log, user_id=query.from_user.id, is_admin=role >= Role.ADMIN,
            say=say, content=content,
        )  # fmt: skip


@router.callback_query(ui.LogCD.filter())
async def on_stale_dialog_button(query: CallbackQuery, content: ContentStore, user: User) -> None:
    await query.answer(_say(content, user)("log.stale_button"), show_alert=True)


@router.message(LogDialog.big, F.text, NOT_A_COMMAND)
@router.message(LogDialog.one_line_big, F.text, NOT_A_COMMAND)
@router.message(LogDialog.extras, F.text, NOT_A_COMMAND)
async def on_extras_text(message: Message, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await message.answer(say("log.need_button"), reply_markup=ui.cancel_keyboard(say))


@router.message(LogDialog.date, ~F.text)
@router.message(LogDialog.audience, ~F.text)
@router.message(LogDialog.kind, ~F.text)
@router.message(LogDialog.reached, ~F.text)
@router.message(LogDialog.title, ~F.text)
@router.message(LogDialog.organisation, ~F.text)
@router.message(LogEdit.value, ~F.text)
async def on_not_text(message: Message, content: ContentStore, user: User) -> None:
    say = _say(content, user)
    await message.answer(say("log.need_text"), reply_markup=ui.cancel_keyboard(say))


# --- list, edit, delete ------------------------------------------------------------------


async def _send_list(
    message: Message,
    *,
    outreach_log: OutreachLogService,
    user_id: int,
    is_admin: bool,
    say: Say,
    content: ContentStore,
) -> None:
    items = await outreach_log.recent(user_id, is_admin)
    if not items:
        await message.answer(say("log.list_empty"), reply_markup=ui.menu_keyboard())
        return
    lines = "\n".join(ui.list_line(a, say, _place(content, a.municipality_id)) for a in items)
    key = "log.list_all" if is_admin else "log.list_own"
    await message.answer(say(key, lines=lines), reply_markup=ui.list_keyboard(say, (a.id for a in items)))


async def _refuse(query: CallbackQuery, exc: EntryUnavailable, say: Say) -> None:
    key = "log.entry_missing" if isinstance(exc, EntryMissing) else "log.entry_not_yours"
    await query.answer(say(key), show_alert=True)


async def _own(
    query: CallbackQuery, outreach_log: OutreachLogService, item_id: int, role: Role, say: Say
) -> ActivityRecord | None:
    try:
        return await outreach_log.entry(item_id, query.from_user.id, role >= Role.ADMIN)
    except EntryUnavailable as exc:
        await _refuse(query, exc, say)
        return None


async def _show_edit(
    event: Message | CallbackQuery, entry: ActivityRecord, say: Say, content: ContentStore, prefix: str = ""
) -> None:
    several = not content.current.single_municipality
    await _reply(
        event,
        say("log.edit_card", prefix=prefix, number=entry.id, card=_card(entry, say, content)),
        ui.edit_keyboard(say, entry.id, several),
    )


@router.callback_query(ui.LogItemCD.filter(F.action == "edit"))
async def on_edit(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    *,
    outreach_log: OutreachLogService,
    role: Role,
    state: FSMContext,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    entry = await _own(query, outreach_log, callback_data.id, role, say)
    if entry is None:
        return
    await query.answer()
    await state.clear()
    await _show_edit(query, entry, say, content)


TEXT_FIELDS = ("held_on", "reached", "title", "organisation")


@router.callback_query(ui.LogItemCD.filter(F.action == "field"))
async def on_field(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    *,
    outreach_log: OutreachLogService,
    role: Role,
    state: FSMContext,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    entry = await _own(query, outreach_log, callback_data.id, role, say)
    if entry is None:
        return
    field = callback_data.field
    if field in TEXT_FIELDS:
        await query.answer()
        await state.set_state(LogEdit.value)
        await state.update_data(edit_id=entry.id, edit_field=field)
        await _reply(query, say(f"log.ask_new_{field}"), ui.edit_value_keyboard(say, entry.id))
    elif field == "directions":
        await query.answer()
        await _reply(
            query, say("log.ask_directions"), ui.directions_keyboard(say, entry.directions, item_id=entry.id)
        )
    elif field in {"audience", "kind", "format"}:
        await query.answer()
        await _reply(query, say("log.ask_new_value"), ui.choice_keyboard(say, entry.id, field))
    elif field == "municipality_id" and not content.current.single_municipality:
        await query.answer()
        items = ((m.id, m.name) for m in content.current.municipalities.values())
        await _reply(
            query, say("log.ask_municipality"), ui.municipality_keyboard(say, items, item_id=entry.id)
        )
    else:
        await query.answer(say("log.field_fixed"), show_alert=True)


@router.message(LogEdit.value, F.text, NOT_A_COMMAND)
async def on_edit_value(
    message: Message,
    *,
    state: FSMContext,
    outreach_log: OutreachLogService,
    settings: Settings,
    role: Role,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    data = await state.get_data()
    item_id = int(data["edit_id"])
    actor = message.from_user.id if message.from_user else message.chat.id
    field, raw = data["edit_field"], message.text or ""
    value: Any
    try:
        if field == "held_on":
            value = parse_date(raw, settings.tz)
        elif field == "reached":
            value = log.parse_reached(raw)
        elif field == "title":
            value = log.check_title(raw)
        else:
            value = None if raw.strip() in {"-", "—"} else log.check_organisation(raw)
    except OutreachError as exc:
        await message.answer(say.refusal(exc), reply_markup=ui.edit_value_keyboard(say, item_id))
        return
    if field == "reached" and value > CONFIRM_ABOVE:
        await state.clear()
        await message.answer(
            say("log.big", reached=value, limit=CONFIRM_ABOVE),
            reply_markup=ui.confirm_big_edit_keyboard(say, item_id, value),
        )
        return
    try:
        result = await outreach_log.change(item_id, {field: value}, actor, role >= Role.ADMIN)
    except EntryUnavailable:
        await state.clear()
        await message.answer(say("log.cannot_change"), reply_markup=ui.menu_keyboard())
        return
    await state.clear()
    prefix = say("log.changed_prefix") if result.changed else say("log.unchanged_prefix")
    await _show_edit(message, result.entry, say, content, prefix + " ")


def _set_value(field: str, raw: str, action: str, content: ContentStore) -> Any:
    """The checked value a button sets (OutreachError when the button was forged or is stale)."""
    if field == "audience":
        return log.check_audience(raw)
    if field == "kind":
        return log.check_kind(raw)
    if field == "format":
        return None if raw == "none" else log.check_format(raw)
    if field == "reached" and action == "setbig":
        return log.check_reached(int(raw)) if raw.isdigit() else log.parse_reached(raw)
    if field == "municipality_id" and raw in content.current.municipalities:
        return raw
    raise OutreachError("outreach.field_not_by_button", f"field {field!r} cannot be set by a button")


@router.callback_query(ui.LogItemCD.filter(F.action.in_({"set", "setbig"})))
async def on_set(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    *,
    outreach_log: OutreachLogService,
    role: Role,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    field, raw = callback_data.field, callback_data.value
    actor, is_admin = query.from_user.id, role >= Role.ADMIN
    try:
        if field == "directions":
            result = await outreach_log.toggle_direction(callback_data.id, raw, actor, is_admin)
        else:
            value = _set_value(field, raw, callback_data.action, content)
            result = await outreach_log.change(callback_data.id, {field: value}, actor, is_admin)
    except EntryUnavailable as exc:
        await _refuse(query, exc, say)
        return
    except OutreachError as exc:
        await query.answer(strip_tags(say.refusal(exc)), show_alert=True)
        return
    entry = result.entry
    await query.answer(say("log.changed_toast") if result.changed else say("log.unchanged_toast"))
    if field == "directions" and isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=ui.directions_keyboard(say, entry.directions, item_id=entry.id)
        )
        return
    await _show_edit(query, entry, say, content, say("log.changed_prefix") + " " if result.changed else "")


@router.callback_query(ui.LogItemCD.filter(F.action == "done"))
async def on_edit_done(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    *,
    outreach_log: OutreachLogService,
    role: Role,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    entry = await _own(query, outreach_log, callback_data.id, role, say)
    if entry is None:
        return
    await query.answer(say("log.edit_done_toast"))
    await _reply(
        query,
        say("log.edit_done", number=entry.id, card=_card(entry, say, content)),
        ui.entry_keyboard(say, entry.id),
    )


@router.callback_query(ui.LogItemCD.filter(F.action == "del"))
async def on_delete(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    *,
    outreach_log: OutreachLogService,
    role: Role,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    entry = await _own(query, outreach_log, callback_data.id, role, say)
    if entry is None:
        return
    await query.answer()
    await _reply(
        query,
        say("log.ask_delete", number=entry.id, card=_card(entry, say, content)),
        ui.delete_keyboard(say, entry.id),
    )


@router.callback_query(ui.LogItemCD.filter(F.action == "delyes"))
async def on_delete_yes(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    *,
    outreach_log: OutreachLogService,
    role: Role,
    content: ContentStore,
    user: User,
) -> None:
    say = _say(content, user)
    try:
        await outreach_log.delete(callback_data.id, query.from_user.id, role >= Role.ADMIN)
    except EntryUnavailable as exc:
        await _refuse(query, exc, say)
        return
    await query.answer(say("log.deleted_toast"))
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    await _reply(query, say("log.deleted", number=callback_data.id), ui.after_delete_keyboard(say))


@router.callback_query(ui.LogItemCD.filter(F.action == "keep"))
async def on_delete_no(query: CallbackQuery, content: ContentStore, user: User) -> None:
    await query.answer(_say(content, user)("log.kept_toast"))
    if isinstance(query.message, Message):  # the «Да, удалить» button must not stay pressable
        await query.message.edit_reply_markup(reply_markup=None)


@router.callback_query(ui.LogItemCD.filter())
async def on_unknown_item_action(query: CallbackQuery, content: ContentStore, user: User) -> None:
    await query.answer(_say(content, user)("log.stale_item_button"), show_alert=True)
