"""/log: staff record offline activities for the annual report, list, correct and delete them.

Every change is one call of `OutreachLogService`, committed before anything is said about it.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content import ContentStore
from bot.directions import Direction
from bot.html import escape
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


ASK_REACHED = "Сколько человек участвовало? Напишите число, например 70."
ASK_TITLE = "Как называется мероприятие? Напишите так, как оно должно стоять в отчёте."
BIG = "{n} человек на одном мероприятии — это больше {limit}. Проверьте, пожалуйста: число верное?"


def _municipality(user: User, content: ContentStore) -> str:
    return content.current.municipality(user.municipality_id).id


async def _reply(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    message = event if isinstance(event, Message) else event.message
    if isinstance(message, Message):
        await message.answer(text, reply_markup=markup)


async def _show_extras(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogDialog.extras)
    draft = ActivityInput.from_snapshot(await state.get_data())
    await _reply(
        event,
        "Проверьте запись. Можно добавить организацию, направленность и формат или сразу записать.\n\n"
        + ui.describe(draft),
        ui.extras_keyboard(),
    )


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
    args = (command.args or "").strip()
    if args.lower() in {"list", "список"}:
        await state.clear()
        await _send_list(message, outreach_log, user.id, role >= Role.ADMIN)
        return
    if not args:
        await state.clear()
        await state.update_data(municipality_id=_municipality(user, content), directions=[])
        await state.set_state(LogDialog.date)
        await message.answer(
            "Новая запись в журнал мероприятий МОЦ.\n"
            "Когда прошло мероприятие? Напишите дату (например, 14.03.2025) или выберите кнопку.",
            reply_markup=ui.date_keyboard(),
        )
        return
    try:
        draft = log.parse_one_line(args, settings.tz, _municipality(user, content))
    except OutreachError as exc:
        await message.answer(escape(exc.ru))
        return
    if draft.needs_confirmation:
        await state.clear()
        await state.update_data(**draft.snapshot())
        await state.set_state(LogDialog.one_line_big)
        await message.answer(
            BIG.format(n=draft.reached, limit=CONFIRM_ABOVE) + "\n\n" + ui.describe(draft),
            reply_markup=ui.big_keyboard(),
        )
        return
    await _save(
        message,
        state,
        outreach_log,
        draft,
        message.chat.id if message.from_user is None else message.from_user.id,
    )


async def _save(
    event: Message | CallbackQuery,
    state: FSMContext,
    outreach_log: OutreachLogService,
    draft: ActivityInput,
    actor: int,
    *,
    toast: str | None = None,
) -> None:
    """Store the entry, then say so (the button's `toast` too only once it is stored)."""
    entry = await outreach_log.create(draft, actor)
    await state.clear()
    if toast is not None and isinstance(event, CallbackQuery):
        await event.answer(toast)
    await _reply(
        event,
        f"✅ Записано в журнал, № {entry.id}.\n\n{ui.describe(draft)}",
        ui.entry_keyboard(entry.id),
    )


# --- the dialog ------------------------------------------------------------------------


@router.callback_query(ui.LogCD.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer("Запись отменена")
    await _reply(query, "Хорошо, ничего не записано.")


@router.callback_query(LogDialog.date, ui.LogCD.filter(F.action == "date"))
async def on_date_button(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, settings: Settings
) -> None:
    await _take_date(query, callback_data.value, state, settings)


@router.message(LogDialog.date, F.text, NOT_A_COMMAND)
async def on_date_text(message: Message, state: FSMContext, settings: Settings) -> None:
    await _take_date(message, message.text or "", state, settings)


async def _take_date(event: Message | CallbackQuery, raw: str, state: FSMContext, settings: Settings) -> None:
    try:
        held_on = parse_date(raw, settings.tz)
    except OutreachError as exc:
        if isinstance(event, CallbackQuery):
            await event.answer()
        await _reply(event, escape(exc.ru), ui.date_keyboard())
        return
    await state.update_data(held_on=held_on.isoformat())
    await state.set_state(LogDialog.audience)
    await _reply(event, f"Дата: {held_on:%d.%m.%Y}. Для кого было мероприятие?", ui.audience_keyboard())


@router.callback_query(LogDialog.audience, ui.LogCD.filter(F.action == "aud"))
async def on_audience_button(query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext) -> None:
    await _take_audience(query, callback_data.value, state)


@router.message(LogDialog.audience, F.text, NOT_A_COMMAND)
async def on_audience_text(message: Message, state: FSMContext) -> None:
    await _take_audience(message, message.text or "", state)


async def _take_audience(event: Message | CallbackQuery, raw: str, state: FSMContext) -> None:
    try:
        audience = log.check_audience(raw)
    except OutreachError as exc:
        await _reply(event, escape(exc.ru), ui.audience_keyboard())
        return
    await state.update_data(audience=audience)
    await state.set_state(LogDialog.kind)
    label = vocab.AUDIENCE_BY_CODE[audience].label
    await _reply(event, f"Категория: {label}. Какое это было мероприятие?", ui.kind_keyboard())


@router.callback_query(LogDialog.kind, ui.LogCD.filter(F.action == "kind"))
async def on_kind_button(query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext) -> None:
    await _take_kind(query, callback_data.value, state)


@router.message(LogDialog.kind, F.text, NOT_A_COMMAND)
async def on_kind_text(message: Message, state: FSMContext) -> None:
    await _take_kind(message, message.text or "", state)


async def _take_kind(event: Message | CallbackQuery, raw: str, state: FSMContext) -> None:
    try:
        kind = log.check_kind(raw)
    except OutreachError as exc:
        await _reply(event, escape(exc.ru), ui.kind_keyboard())
        return
    await state.update_data(kind=kind)
    await state.set_state(LogDialog.reached)
    await _reply(event, f"Вид: {vocab.KIND_BY_CODE[kind].label}. {ASK_REACHED}")


@router.message(LogDialog.reached, F.text, NOT_A_COMMAND)
async def on_reached(message: Message, state: FSMContext) -> None:
    try:
        reached = log.parse_reached(message.text or "")
    except OutreachError as exc:
        await message.answer(escape(exc.ru))
        return
    await state.update_data(reached=reached)
    if reached > CONFIRM_ABOVE:
        await state.set_state(LogDialog.big)
        await message.answer(BIG.format(n=reached, limit=CONFIRM_ABOVE), reply_markup=ui.big_keyboard())
        return
    await state.set_state(LogDialog.title)
    await message.answer(ASK_TITLE)


@router.callback_query(LogDialog.big, ui.LogCD.filter(F.action == "big"))
async def on_big(query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext) -> None:
    await query.answer()
    if callback_data.value == "yes":
        await state.set_state(LogDialog.title)
        await _reply(query, ASK_TITLE)
    else:
        await state.set_state(LogDialog.reached)
        await _reply(query, ASK_REACHED)


@router.callback_query(LogDialog.one_line_big, ui.LogCD.filter(F.action == "big"))
async def on_one_line_big(
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, outreach_log: OutreachLogService
) -> None:
    if callback_data.value != "yes":
        await state.clear()
        await query.answer("Не записано")
        await _reply(query, "Хорошо, ничего не записано. Исправьте число и отправьте /log ещё раз.")
        return
    await query.answer()
    await _save(
        query, state, outreach_log, ActivityInput.from_snapshot(await state.get_data()), query.from_user.id
    )


@router.message(LogDialog.title, F.text, NOT_A_COMMAND)
async def on_title(message: Message, state: FSMContext) -> None:
    try:
        title = log.check_title(message.text or "")
    except OutreachError as exc:
        await message.answer(escape(exc.ru))
        return
    await state.update_data(title=title)
    await _show_extras(message, state)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "extra"))
async def on_extra(query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext) -> None:
    await query.answer()
    data = await state.get_data()
    if callback_data.value == "org":
        await state.set_state(LogDialog.organisation)
        await _reply(query, "Напишите название организации, где прошло мероприятие (или /cancel).")
    elif callback_data.value == "dir":
        await _reply(query, "Отметьте направленности и нажмите «Готово».",
                     ui.directions_keyboard(data.get("directions") or []))  # fmt: skip
    elif callback_data.value == "fmt":
        await _reply(query, "Формат мероприятия:", ui.format_keyboard())
    else:
        await _show_extras(query, state)


@router.message(LogDialog.organisation, F.text, NOT_A_COMMAND)
async def on_organisation(message: Message, state: FSMContext) -> None:
    try:
        organisation = log.check_organisation(message.text or "")
    except OutreachError as exc:
        await message.answer(escape(exc.ru))
        return
    await state.update_data(organisation=organisation)
    await _show_extras(message, state)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "dir"))
async def on_direction(query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext) -> None:
    chosen = list((await state.get_data()).get("directions") or [])
    if Direction.from_code(callback_data.value) is None:
        await query.answer("Такой направленности нет.", show_alert=True)
        return
    if callback_data.value in chosen:
        chosen.remove(callback_data.value)
    else:
        chosen.append(callback_data.value)
    await state.update_data(directions=chosen)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=ui.directions_keyboard(chosen))


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "fmt"))
async def on_format(query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext) -> None:
    if callback_data.value not in (*vocab.FORMAT_BY_CODE, "none"):
        await query.answer("Такого формата нет.", show_alert=True)
        return
    await query.answer()
    await state.update_data(format=None if callback_data.value == "none" else callback_data.value)
    await _show_extras(query, state)


@router.callback_query(LogDialog.extras, ui.LogCD.filter(F.action == "save"))
async def on_save(query: CallbackQuery, state: FSMContext, outreach_log: OutreachLogService) -> None:
    draft = ActivityInput.from_snapshot(await state.get_data())
    await _save(query, state, outreach_log, draft, query.from_user.id, toast="Записано")


@router.callback_query(ui.LogCD.filter())
async def on_stale_dialog_button(query: CallbackQuery) -> None:
    await query.answer("Этот шаг уже пройден или запись отменена. Начните заново: /log", show_alert=True)


@router.message(LogDialog.big, F.text, NOT_A_COMMAND)
@router.message(LogDialog.one_line_big, F.text, NOT_A_COMMAND)
@router.message(LogDialog.extras, F.text, NOT_A_COMMAND)
async def on_extras_text(message: Message) -> None:
    await message.answer("Выберите кнопку под сообщением выше или отмените запись: /cancel")


@router.message(LogDialog.date, ~F.text)
@router.message(LogDialog.audience, ~F.text)
@router.message(LogDialog.kind, ~F.text)
@router.message(LogDialog.reached, ~F.text)
@router.message(LogDialog.title, ~F.text)
@router.message(LogDialog.organisation, ~F.text)
@router.message(LogEdit.value, ~F.text)
async def on_not_text(message: Message) -> None:
    await message.answer("Здесь нужен текст. Напишите ответ сообщением или отмените запись: /cancel")


# --- list, edit, delete ------------------------------------------------------------------


async def _send_list(
    message: Message, outreach_log: OutreachLogService, user_id: int, is_admin: bool
) -> None:
    items = await outreach_log.recent(user_id, is_admin)
    if not items:
        await message.answer("Записей пока нет. Добавить мероприятие: /log")
        return
    head = "Последние записи журнала (всех сотрудников):" if is_admin else "Ваши последние записи:"
    await message.answer(
        head + "\n\n" + "\n".join(ui.list_line(a) for a in items) + "\n\n✏️ — изменить, 🗑 — удалить.",
        reply_markup=ui.list_keyboard(a.id for a in items),
    )


async def _refuse(query: CallbackQuery, exc: EntryUnavailable) -> None:
    if isinstance(exc, EntryMissing):
        await query.answer("Такой записи нет — возможно, её уже удалили.", show_alert=True)
    else:
        await query.answer("Изменять и удалять можно только свои записи.", show_alert=True)


async def _own(
    query: CallbackQuery, outreach_log: OutreachLogService, item_id: int, role: Role
) -> ActivityRecord | None:
    try:
        return await outreach_log.entry(item_id, query.from_user.id, role >= Role.ADMIN)
    except EntryUnavailable as exc:
        await _refuse(query, exc)
        return None


async def _show_edit(event: Message | CallbackQuery, entry: ActivityRecord, prefix: str = "") -> None:
    await _reply(
        event,
        f"{prefix}Запись № {entry.id}. Что изменить?\n\n{ui.describe(entry)}",
        ui.edit_keyboard(entry.id),
    )


@router.callback_query(ui.LogItemCD.filter(F.action == "edit"))
async def on_edit(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    outreach_log: OutreachLogService,
    role: Role,
    state: FSMContext,
) -> None:
    entry = await _own(query, outreach_log, callback_data.id, role)
    if entry is None:
        return
    await state.clear()
    await _show_edit(query, entry)


TEXT_FIELDS = {
    "held_on": "Новая дата (например, 14.03.2025):",
    "reached": "Новое число участников:",
    "title": "Новое название:",
    "organisation": "Название организации (или «-», чтобы убрать):",
}


@router.callback_query(ui.LogItemCD.filter(F.action == "field"))
async def on_field(
    query: CallbackQuery,
    callback_data: ui.LogItemCD,
    outreach_log: OutreachLogService,
    role: Role,
    state: FSMContext,
) -> None:
    entry = await _own(query, outreach_log, callback_data.id, role)
    if entry is None:
        return
    field = callback_data.field
    if field in TEXT_FIELDS:
        await state.set_state(LogEdit.value)
        await state.update_data(edit_id=entry.id, edit_field=field)
        await _reply(query, TEXT_FIELDS[field])
    elif field == "directions":
        await _reply(query, "Отметьте направленности и нажмите «Готово».",
                     ui.directions_keyboard(entry.directions, item_id=entry.id))  # fmt: skip
    elif field in {"audience", "kind", "format"}:
        await _reply(query, "Выберите новое значение:", ui.choice_keyboard(entry.id, field))
    else:
        await query.answer("Это поле изменить нельзя.", show_alert=True)


@router.message(LogEdit.value, F.text, NOT_A_COMMAND)
async def on_edit_value(
    message: Message, state: FSMContext, outreach_log: OutreachLogService, settings: Settings, role: Role
) -> None:
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
        await message.answer(escape(exc.ru))
        return
    if field == "reached" and value > CONFIRM_ABOVE:
        await state.clear()
        await message.answer(
            BIG.format(n=value, limit=CONFIRM_ABOVE),
            reply_markup=ui.confirm_big_edit_keyboard(item_id, value),
        )
        return
    try:
        result = await outreach_log.change(item_id, {field: value}, actor, role >= Role.ADMIN)
    except EntryUnavailable:
        await state.clear()
        await message.answer("Эту запись изменить нельзя: её удалили или она не ваша.")
        return
    await state.clear()
    await _show_edit(message, result.entry, "✅ Изменено. " if result.changed else "Ничего не изменилось. ")


@router.callback_query(ui.LogItemCD.filter(F.action.in_({"set", "setbig"})))
async def on_set(
    query: CallbackQuery, callback_data: ui.LogItemCD, outreach_log: OutreachLogService, role: Role
) -> None:
    field, raw = callback_data.field, callback_data.value
    actor, is_admin = query.from_user.id, role >= Role.ADMIN
    value: Any
    try:
        if field == "directions":
            result = await outreach_log.toggle_direction(callback_data.id, raw, actor, is_admin)
        else:
            if field == "audience":
                value = log.check_audience(raw)
            elif field == "kind":
                value = log.check_kind(raw)
            elif field == "format":
                value = None if raw == "none" else log.check_format(raw)
            elif field == "reached" and callback_data.action == "setbig":
                value = log.check_reached(int(raw)) if raw.isdigit() else log.parse_reached(raw)
            else:
                raise OutreachError(
                    "Это поле так изменить нельзя.", f"field {field!r} cannot be set by a button"
                )
            result = await outreach_log.change(callback_data.id, {field: value}, actor, is_admin)
    except EntryUnavailable as exc:
        await _refuse(query, exc)
        return
    except OutreachError as exc:
        await query.answer(exc.ru, show_alert=True)
        return
    entry = result.entry
    await query.answer("Изменено" if result.changed else "Без изменений")
    if field == "directions" and isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=ui.directions_keyboard(entry.directions, item_id=entry.id)
        )
        return
    await _show_edit(query, entry, "✅ Изменено. " if result.changed else "")


@router.callback_query(ui.LogItemCD.filter(F.action == "done"))
async def on_edit_done(
    query: CallbackQuery, callback_data: ui.LogItemCD, outreach_log: OutreachLogService, role: Role
) -> None:
    entry = await _own(query, outreach_log, callback_data.id, role)
    if entry is None:
        return
    await query.answer("Готово")
    await _reply(query, f"Запись № {entry.id} сохранена.\n\n{ui.describe(entry)}")


@router.callback_query(ui.LogItemCD.filter(F.action == "del"))
async def on_delete(
    query: CallbackQuery, callback_data: ui.LogItemCD, outreach_log: OutreachLogService, role: Role
) -> None:
    entry = await _own(query, outreach_log, callback_data.id, role)
    if entry is None:
        return
    await _reply(query, f"Удалить запись № {entry.id}?\n\n{ui.describe(entry)}", ui.delete_keyboard(entry.id))


@router.callback_query(ui.LogItemCD.filter(F.action == "delyes"))
async def on_delete_yes(
    query: CallbackQuery, callback_data: ui.LogItemCD, outreach_log: OutreachLogService, role: Role
) -> None:
    try:
        await outreach_log.delete(callback_data.id, query.from_user.id, role >= Role.ADMIN)
    except EntryUnavailable as exc:
        await _refuse(query, exc)
        return
    await query.answer("Удалено")
    await _reply(query, f"🗑 Запись № {callback_data.id} удалена. Изменение сохранено в истории журнала.")


@router.callback_query(ui.LogItemCD.filter(F.action == "keep"))
async def on_delete_no(query: CallbackQuery) -> None:
    await query.answer("Запись оставлена")
    if isinstance(query.message, Message):  # the «Да, удалить» button must not stay pressable
        await query.message.edit_reply_markup(reply_markup=None)


@router.callback_query(ui.LogItemCD.filter())
async def on_unknown_item_action(query: CallbackQuery) -> None:
    await query.answer("Эта кнопка больше не действует. Откройте список заново: /log list", show_alert=True)
