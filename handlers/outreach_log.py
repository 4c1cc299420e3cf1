"""/log: staff record offline activities for the annual report, list, correct and delete them."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outreach_ui as ui
from bot.content import ContentStore
from bot.directions import Direction
from bot.html import escape, truncate
from bot.middlewares import RoleGuard
from bot.services.outreach import log, vocab
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.log import CONFIRM_ABOVE, ActivityInput
from bot.services.outreach.periods import parse_date
from bot.services.roles import Role
from bot.settings import Settings
from db.models import OutreachActivity, User

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
        + log.describe(draft),
        ui.extras_keyboard(),
    )


# --- /log and its one-line form -------------------------------------------------------


@router.message(Command("log"))
async def cmd_log(
    message: Message,
    *,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    content: ContentStore,
    user: User,
    role: Role,
) -> None:
    args = (command.args or "").strip()
    if args.lower() in {"list", "список"}:
        await state.clear()
        await _send_list(message, session, user.id, role >= Role.ADMIN)
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
            BIG.format(n=draft.reached, limit=CONFIRM_ABOVE) + "\n\n" + log.describe(draft),
            reply_markup=ui.big_keyboard(),
        )
        return
    await _save(
        message, state, session, draft, message.chat.id if message.from_user is None else message.from_user.id
    )


async def _save(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, draft: ActivityInput, actor: int
) -> None:
    activity = await log.create(session, draft, actor)
    await state.clear()
    await _reply(
        event,
        f"✅ Записано в журнал, № {activity.id}.\n\n{log.describe(draft)}",
        ui.entry_keyboard(activity.id),
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
    query: CallbackQuery, callback_data: ui.LogCD, state: FSMContext, session: AsyncSession
) -> None:
    if callback_data.value != "yes":
        await state.clear()
        await query.answer("Не записано")
        await _reply(query, "Хорошо, ничего не записано. Исправьте число и отправьте /log ещё раз.")
        return
    await query.answer()
    await _save(
        query, state, session, ActivityInput.from_snapshot(await state.get_data()), query.from_user.id
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
async def on_save(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    await query.answer("Записано")
    await _save(
        query, state, session, ActivityInput.from_snapshot(await state.get_data()), query.from_user.id
    )


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


def _line(activity: OutreachActivity) -> str:
    audience = vocab.AUDIENCE_BY_CODE[activity.audience].label
    return (
        f"№{activity.id} · {activity.held_on:%d.%m.%Y} · {audience}, {activity.reached} чел. · "
        f"{escape(truncate(activity.title, 80))}"
    )


async def _send_list(message: Message, session: AsyncSession, user_id: int, is_admin: bool) -> None:
    items = await log.recent(session, user_id, is_admin)
    if not items:
        await message.answer("Записей пока нет. Добавить мероприятие: /log")
        return
    head = "Последние записи журнала (всех сотрудников):" if is_admin else "Ваши последние записи:"
    await message.answer(
        head + "\n\n" + "\n".join(_line(a) for a in items) + "\n\n✏️ — изменить, 🗑 — удалить.",
        reply_markup=ui.list_keyboard(a.id for a in items),
    )


async def _own(
    query: CallbackQuery, session: AsyncSession, item_id: int, role: Role
) -> OutreachActivity | None:
    activity = await log.get(session, item_id)
    if activity is None:
        await query.answer("Такой записи нет — возможно, её уже удалили.", show_alert=True)
        return None
    if not log.can_change(activity, query.from_user.id, role >= Role.ADMIN):
        await query.answer("Изменять и удалять можно только свои записи.", show_alert=True)
        return None
    return activity


async def _show_edit(event: Message | CallbackQuery, activity: OutreachActivity, prefix: str = "") -> None:
    await _reply(
        event,
        f"{prefix}Запись № {activity.id}. Что изменить?\n\n{log.describe(activity)}",
        ui.edit_keyboard(activity.id),
    )


@router.callback_query(ui.LogItemCD.filter(F.action == "edit"))
async def on_edit(
    query: CallbackQuery, callback_data: ui.LogItemCD, session: AsyncSession, role: Role, state: FSMContext
) -> None:
    activity = await _own(query, session, callback_data.id, role)
    if activity is None:
        return
    await state.clear()
    await _show_edit(query, activity)


TEXT_FIELDS = {
    "held_on": "Новая дата (например, 14.03.2025):",
    "reached": "Новое число участников:",
    "title": "Новое название:",
    "organisation": "Название организации (или «-», чтобы убрать):",
}


@router.callback_query(ui.LogItemCD.filter(F.action == "field"))
async def on_field(
    query: CallbackQuery, callback_data: ui.LogItemCD, session: AsyncSession, role: Role, state: FSMContext
) -> None:
    activity = await _own(query, session, callback_data.id, role)
    if activity is None:
        return
    field = callback_data.field
    if field in TEXT_FIELDS:
        await state.set_state(LogEdit.value)
        await state.update_data(edit_id=activity.id, edit_field=field)
        await _reply(query, TEXT_FIELDS[field])
    elif field == "directions":
        await _reply(query, "Отметьте направленности и нажмите «Готово».",
                     ui.directions_keyboard(activity.directions or [], item_id=activity.id))  # fmt: skip
    elif field in {"audience", "kind", "format"}:
        await _reply(query, "Выберите новое значение:", ui.choice_keyboard(activity.id, field))
    else:
        await query.answer("Это поле изменить нельзя.", show_alert=True)


@router.message(LogEdit.value, F.text, NOT_A_COMMAND)
async def on_edit_value(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings, role: Role
) -> None:
    data = await state.get_data()
    activity = await log.get(session, int(data["edit_id"]))
    actor = message.from_user.id if message.from_user else message.chat.id
    if activity is None or not log.can_change(activity, actor, role >= Role.ADMIN):
        await state.clear()
        await message.answer("Эту запись изменить нельзя: её удалили или она не ваша.")
        return
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
    await state.clear()
    if field == "reached" and value > CONFIRM_ABOVE:
        await message.answer(
            BIG.format(n=value, limit=CONFIRM_ABOVE),
            reply_markup=ui.confirm_big_edit_keyboard(activity.id, value),
        )
        return
    changed = await log.update(session, activity, {field: value}, actor)
    await _show_edit(message, activity, "✅ Изменено. " if changed else "Ничего не изменилось. ")


@router.callback_query(ui.LogItemCD.filter(F.action.in_({"set", "setbig"})))
async def on_set(
    query: CallbackQuery, callback_data: ui.LogItemCD, session: AsyncSession, role: Role
) -> None:
    activity = await _own(query, session, callback_data.id, role)
    if activity is None:
        return
    field, raw = callback_data.field, callback_data.value
    value: Any
    try:
        if field == "audience":
            value = log.check_audience(raw)
        elif field == "kind":
            value = log.check_kind(raw)
        elif field == "format":
            value = None if raw == "none" else log.check_format(raw)
        elif field == "directions":
            if Direction.from_code(raw) is None:
                raise OutreachError("Такой направленности нет.", f"unknown direction {raw!r}")
            chosen = list(activity.directions or [])
            value = [c for c in chosen if c != raw] if raw in chosen else [*chosen, raw]
        elif field == "reached" and callback_data.action == "setbig":
            value = log.check_reached(int(raw)) if raw.isdigit() else log.parse_reached(raw)
        else:
            raise OutreachError("Это поле так изменить нельзя.", f"field {field!r} cannot be set by a button")
    except OutreachError as exc:
        await query.answer(exc.ru, show_alert=True)
        return
    changed = await log.update(session, activity, {field: value}, query.from_user.id)
    await query.answer("Изменено" if changed else "Без изменений")
    if field == "directions" and isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=ui.directions_keyboard(activity.directions or [], item_id=activity.id)
        )
        return
    await _show_edit(query, activity, "✅ Изменено. " if changed else "")


@router.callback_query(ui.LogItemCD.filter(F.action == "done"))
async def on_edit_done(
    query: CallbackQuery, callback_data: ui.LogItemCD, session: AsyncSession, role: Role
) -> None:
    activity = await _own(query, session, callback_data.id, role)
    if activity is None:
        return
    await query.answer("Готово")
    await _reply(query, f"Запись № {activity.id} сохранена.\n\n{log.describe(activity)}")


@router.callback_query(ui.LogItemCD.filter(F.action == "del"))
async def on_delete(
    query: CallbackQuery, callback_data: ui.LogItemCD, session: AsyncSession, role: Role
) -> None:
    activity = await _own(query, session, callback_data.id, role)
    if activity is None:
        return
    await _reply(
        query, f"Удалить запись № {activity.id}?\n\n{log.describe(activity)}", ui.delete_keyboard(activity.id)
    )


@router.callback_query(ui.LogItemCD.filter(F.action == "delyes"))
async def on_delete_yes(
    query: CallbackQuery, callback_data: ui.LogItemCD, session: AsyncSession, role: Role
) -> None:
    activity = await _own(query, session, callback_data.id, role)
    if activity is None:
        return
    await log.delete(session, activity, query.from_user.id)
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
