"""Staff: new events, broadcasts (compose, preview, send or schedule, cancel), sign-up lists.

Each step that changes something calls one service method and speaks after it returned.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content import ContentStore
from bot.directions import Direction
from bot.html import CAPTION_LIMIT, escape, split_text, strip_tags, truncate
from bot.middlewares import RoleGuard
from bot.services.announcements.broadcasts import (
    MAX_PHOTO_BYTES,
    BroadcastDraft,
    BroadcastRefused,
    BroadcastService,
    check_photo,
    check_time,
    parse_local_time,
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
from bot.services.announcements.subscriptions import AgesError, Target, parse_ages
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.settings import Settings
from bot.views.announcements import (
    BroadcastCD,
    EventCD,
    broadcast_cancel_keyboard,
    check_text,
    describe_target,
    event_card,
    reminder_texts,
    signups_list_view,
    signups_overview_view,
    unsubscribe_keyboard,
)

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))

DRAFT_LOST = "Черновик не найден (бот перезапускался или диалог закрыт). Начните заново."


class NewEventCD(CallbackData, prefix="ne"):
    action: str  # dir | dirs_done | aud | mun | cap_none | photo_none | publish | drop
    value: str = ""


class ComposeCD(CallbackData, prefix="bcn"):
    action: str  # nophoto | seg | dir | mun | event | now | later | drop
    value: str = ""


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


def _time_example(settings: Settings) -> str:
    return (datetime.now(UTC) + timedelta(days=3)).astimezone(settings.tz).strftime("%d.%m.%Y 18:00")


async def _future_time(message: Message, settings: Settings, what: str) -> datetime | None:
    """The local date and time typed in the message, or None after telling the staff member why not."""
    try:
        when = parse_local_time(message.text or "", settings.tz)
    except ValueError:
        await message.answer(f"Не понял {what}. Нужно так: <code>{_time_example(settings)}</code>")
        return None
    problems = check_time(when)
    if problems:
        await message.answer(problems[0].ru)
        return None
    return when


# ============================== /event_new ==============================================
@router.message(Command("event_new"))
async def cmd_event_new(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(EventForm.title)
    await message.answer(
        "<b>Новое мероприятие</b> (выйти — /cancel)\n\n"
        "Шаг 1. Название, например: «День открытых дверей в ДДТ»"
    )


# Free-text steps of /event_new: state key -> (what, shortest, longest).
_TEXT_FIELDS: dict[str, tuple[str, int, int]] = {
    "title": ("Название", 3, 200),
    "place": ("Место", 2, 300),
    "organisation": ("Название организации", 2, 300),
    "description": ("Описание", 2, 2000),
}


async def _take_text(message: Message, state: FSMContext, key: str) -> bool:
    """Store the stripped text under `key` if its length fits; otherwise say what is wrong."""
    what, low, high = _TEXT_FIELDS[key]
    value = (message.text or "").strip()
    if not low <= len(value) <= high:
        await message.answer(f"{what} — от {low} до {high} символов. Попробуйте ещё раз.")
        return False
    await state.update_data({key: value})
    return True


@router.message(EventForm.title, F.text, ~F.text.startswith("/"))
async def ev_title(message: Message, state: FSMContext, settings: Settings) -> None:
    if not await _take_text(message, state, "title"):
        return
    await state.set_state(EventForm.when)
    await message.answer(
        f"Шаг 2. Дата и время начала по местному времени ({escape(settings.timezone)}), "
        f"в виде ДД.ММ.ГГГГ ЧЧ:ММ, например: <code>{_time_example(settings)}</code>"
    )


@router.message(EventForm.when, F.text, ~F.text.startswith("/"))
async def ev_when(message: Message, state: FSMContext, settings: Settings) -> None:
    when = await _future_time(message, settings, "дату")
    if when is None:
        return
    await state.update_data(when=when.isoformat())
    await state.set_state(EventForm.place)
    await message.answer("Шаг 3. Место проведения (адрес, кабинет):")


@router.message(EventForm.place, F.text, ~F.text.startswith("/"))
async def ev_place(message: Message, state: FSMContext) -> None:
    if not await _take_text(message, state, "place"):
        return
    await state.set_state(EventForm.organisation)
    await message.answer("Шаг 4. Организация, которая проводит мероприятие:")


def _ev_dirs_keyboard(selected: list[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for d in Direction:
        kb.button(
            text=("✅ " if d.code in selected else "") + d.title,
            callback_data=NewEventCD(action="dir", value=d.code),
        )
    kb.button(text="Готово »", callback_data=NewEventCD(action="dirs_done"))
    kb.adjust(1)
    return kb.as_markup()


@router.message(EventForm.organisation, F.text, ~F.text.startswith("/"))
async def ev_org(message: Message, state: FSMContext) -> None:
    if not await _take_text(message, state, "organisation"):
        return
    await state.update_data(directions=[])
    await state.set_state(EventForm.directions)
    await message.answer(
        "Шаг 5. Направленности (можно несколько; ничего не выбрано — для всех):",
        reply_markup=_ev_dirs_keyboard([]),
    )


@router.callback_query(EventForm.directions, NewEventCD.filter(F.action == "dir"))
async def ev_dir(query: CallbackQuery, callback_data: NewEventCD, state: FSMContext) -> None:
    direction = Direction.from_code(callback_data.value)
    if direction is None:
        await query.answer("Такой направленности нет.", show_alert=True)
        return
    selected: list[str] = list((await state.get_data()).get("directions", []))
    if direction.code in selected:
        selected.remove(direction.code)
    else:
        selected.append(direction.code)
    await state.update_data(directions=selected)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=_ev_dirs_keyboard(selected))


@router.callback_query(EventForm.directions, NewEventCD.filter(F.action == "dirs_done"))
async def ev_dirs_done(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(EventForm.audience)
    kb = InlineKeyboardBuilder()
    for code, label in AUDIENCES.items():
        kb.button(text=label, callback_data=NewEventCD(action="aud", value=code))
    kb.adjust(2)
    if isinstance(query.message, Message):
        await query.message.answer("Шаг 6. Для кого мероприятие?", reply_markup=kb.as_markup())


@router.callback_query(EventForm.audience, NewEventCD.filter(F.action == "aud"))
async def ev_audience(
    query: CallbackQuery, callback_data: NewEventCD, state: FSMContext, content: ContentStore
) -> None:
    if callback_data.value not in AUDIENCES:
        await query.answer("Такой аудитории нет.", show_alert=True)
        return
    await state.update_data(audience=callback_data.value)
    c = content.current
    if not isinstance(query.message, Message):
        return
    if c.single_municipality:
        await state.update_data(municipality=c.default_municipality_id)
        await _ask_capacity(query.message, state)
        return
    await state.set_state(EventForm.municipality)
    kb = InlineKeyboardBuilder()
    for m in c.municipalities.values():
        kb.button(text=m.name, callback_data=NewEventCD(action="mun", value=m.id))
    kb.adjust(2)
    await query.message.answer("Шаг 7. Муниципалитет:", reply_markup=kb.as_markup())


@router.callback_query(EventForm.municipality, NewEventCD.filter(F.action == "mun"))
async def ev_municipality(
    query: CallbackQuery, callback_data: NewEventCD, state: FSMContext, content: ContentStore
) -> None:
    if callback_data.value not in content.current.municipalities:
        await query.answer("Такого муниципалитета нет.", show_alert=True)
        return
    await state.update_data(municipality=callback_data.value)
    if isinstance(query.message, Message):
        await _ask_capacity(query.message, state)


async def _ask_capacity(message: Message, state: FSMContext) -> None:
    await state.set_state(EventForm.capacity)
    kb = InlineKeyboardBuilder()
    kb.button(text="Без ограничения", callback_data=NewEventCD(action="cap_none"))
    await message.answer(
        "Шаг 8. Сколько мест? Напишите число или нажмите «Без ограничения».", reply_markup=kb.as_markup()
    )


@router.message(EventForm.capacity, F.text, ~F.text.startswith("/"))
async def ev_capacity(message: Message, state: FSMContext) -> None:
    raw = (message.text or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        await message.answer("Напишите число мест от 1 до 100000 или нажмите «Без ограничения».")
        return
    await state.update_data(capacity=int(raw))
    await _ask_description(message, state)


@router.callback_query(EventForm.capacity, NewEventCD.filter(F.action == "cap_none"))
async def ev_capacity_none(query: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(capacity=None)
    if isinstance(query.message, Message):
        await _ask_description(query.message, state)


async def _ask_description(message: Message, state: FSMContext) -> None:
    await state.set_state(EventForm.description)
    await message.answer("Шаг 9. Описание: что будет, что взять с собой (до 2000 символов):")


@router.message(EventForm.description, F.text, ~F.text.startswith("/"))
async def ev_description(message: Message, state: FSMContext) -> None:
    if not await _take_text(message, state, "description"):
        return
    await state.set_state(EventForm.photo)
    kb = InlineKeyboardBuilder()
    kb.button(text="Без фото", callback_data=NewEventCD(action="photo_none"))
    await message.answer("Шаг 10. Пришлите фото (афишу) или нажмите «Без фото».", reply_markup=kb.as_markup())


@router.message(EventForm.photo, F.photo)
async def ev_photo(message: Message, state: FSMContext, settings: Settings, content: ContentStore) -> None:
    assert message.photo
    await state.update_data(photo=message.photo[-1].file_id)
    await _ev_preview(message, state, settings, content)


@router.callback_query(EventForm.photo, NewEventCD.filter(F.action == "photo_none"))
async def ev_photo_none(
    query: CallbackQuery, state: FSMContext, settings: Settings, content: ContentStore
) -> None:
    await state.update_data(photo=None)
    if isinstance(query.message, Message):
        await _ev_preview(query.message, state, settings, content)


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


async def _ev_preview(message: Message, state: FSMContext, settings: Settings, content: ContentStore) -> None:
    data = await state.get_data()
    draft = _draft(data, settings)
    await state.set_state(EventForm.confirm)
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ Опубликовать", callback_data=NewEventCD(action="publish"))
    kb.button(text="✖️ Отмена", callback_data=NewEventCD(action="drop"))
    card = event_card(draft, 0, content=content.current)  # as parents will see it, with the town
    await message.answer("Проверьте:\n\n" + card, reply_markup=kb.as_markup())


@router.callback_query(EventForm.confirm, NewEventCD.filter(F.action.in_({"publish", "drop"})))
async def ev_publish(
    query: CallbackQuery,
    callback_data: NewEventCD,
    state: FSMContext,
    events: EventService,
    settings: Settings,
) -> None:
    data = await state.get_data()
    await state.clear()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "drop":
        await query.message.answer("Мероприятие не создано.")
        return
    draft = _draft(data, settings)
    try:
        event = await events.create(
            draft, created_by=query.from_user.id, reminder_texts=reminder_texts(draft)
        )
    except EventInPast:
        await query.message.answer(
            "Время начала уже прошло — мероприятие не создано. Начните заново: /event_new"
        )
        return
    await query.message.answer(
        f"✅ Мероприятие №{event.id} опубликовано: родители увидят его в /events и смогут записаться.\n"
        "Записавшимся бот напомнит за день и за 2 часа.\n"
        f"Список записавшихся: /signups {event.id}. Разослать анонс подписчикам: /broadcast"
    )


@router.callback_query(NewEventCD.filter())
async def ev_stale(query: CallbackQuery) -> None:
    await query.answer(DRAFT_LOST + " /event_new", show_alert=True)


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
async def cmd_broadcast(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(BroadcastForm.text)
    await message.answer(
        "<b>Новая рассылка</b> (выйти — /cancel)\n\n"
        "Пришлите текст сообщения. Можно оформить его в Telegram (жирный, ссылки) "
        "или написать разметку HTML: "
        '&lt;b&gt;, &lt;i&gt;, &lt;a href="..."&gt;. Можно сразу прислать фото с подписью.\n'
        "Под каждым сообщением будет кнопка «Отписаться»."
    )


def _html_of(message: Message) -> str:
    """Formatting made in Telegram becomes HTML; plain text is taken as HTML as typed."""
    entities = message.entities or message.caption_entities
    if entities:
        return message.html_text
    return message.text or message.caption or ""


@router.message(BroadcastForm.text, F.photo)
async def bc_text_with_photo(message: Message, state: FSMContext, content: ContentStore) -> None:
    assert message.photo
    text = _html_of(message)
    problems = check_text(text, with_photo=True)
    if problems:
        await message.answer("Не могу принять:\n" + BroadcastRefused(problems).ru + "\nПришлите ещё раз.")
        return
    await state.update_data(text=text, photo_id=message.photo[-1].file_id, photo_b64=None)
    await _ask_segment(message, state, content)


@router.message(BroadcastForm.text, F.text, ~F.text.startswith("/"))
async def bc_text(message: Message, state: FSMContext) -> None:
    text = _html_of(message)
    problems = check_text(text, with_photo=False)
    if problems:
        await message.answer(
            "Не могу принять:\n" + BroadcastRefused(problems).ru + "\nИсправьте и пришлите ещё раз."
        )
        return
    await state.update_data(text=text, photo_id=None, photo_b64=None)
    await state.set_state(BroadcastForm.photo)
    kb = InlineKeyboardBuilder()
    kb.button(text="Без фото", callback_data=ComposeCD(action="nophoto"))
    await message.answer(
        "Добавить фото? Пришлите его (как фото или файлом JPEG/PNG) или нажмите «Без фото».",
        reply_markup=kb.as_markup(),
    )


async def _photo_text_ok(message: Message, state: FSMContext) -> bool:
    text = (await state.get_data()).get("text", "")
    problems = check_text(text, with_photo=True)
    if problems:
        await message.answer(
            f"С фото текст становится подписью, а она не длиннее {CAPTION_LIMIT} символов:\n"
            + BroadcastRefused(problems).ru
            + "\nНажмите «Без фото» или начните заново с более коротким текстом: /broadcast"
        )
        return False
    return True


@router.message(BroadcastForm.photo, F.photo)
async def bc_photo(message: Message, state: FSMContext, content: ContentStore) -> None:
    assert message.photo
    if not await _photo_text_ok(message, state):
        return
    await state.update_data(photo_id=message.photo[-1].file_id)
    await _ask_segment(message, state, content)


@router.message(BroadcastForm.photo, F.document)
async def bc_photo_file(message: Message, state: FSMContext, bot: Bot, content: ContentStore) -> None:
    doc = message.document
    assert doc is not None
    if doc.file_size and doc.file_size > MAX_PHOTO_BYTES:
        await message.answer("Файл больше 10 МБ — Telegram не примет его как фото.")
        return
    buffer = io.BytesIO()
    await bot.download(doc, destination=buffer)
    problems = check_photo(buffer.getvalue())
    if problems:
        await message.answer(
            "Не могу принять файл: " + problems[0].ru + "\nПришлите другое фото или нажмите «Без фото»."
        )
        return
    if not await _photo_text_ok(message, state):
        return
    await state.update_data(photo_b64=base64.b64encode(buffer.getvalue()).decode())
    await _ask_segment(message, state, content)


@router.message(BroadcastForm.photo, ~F.text.startswith("/"))
async def bc_photo_wrong(message: Message) -> None:
    await message.answer("Нужно фото (или файл JPEG/PNG). Или нажмите «Без фото».")


@router.callback_query(BroadcastForm.photo, ComposeCD.filter(F.action == "nophoto"))
async def bc_no_photo(query: CallbackQuery, state: FSMContext, content: ContentStore) -> None:
    if isinstance(query.message, Message):
        await _ask_segment(query.message, state, content)


async def _ask_segment(message: Message, state: FSMContext, content: ContentStore) -> None:
    await state.set_state(BroadcastForm.segment)
    kb = InlineKeyboardBuilder()
    kb.button(text="Всем подписчикам", callback_data=ComposeCD(action="seg", value="all"))
    kb.button(text="По направленности", callback_data=ComposeCD(action="seg", value="dir"))
    kb.button(text="По возрасту детей", callback_data=ComposeCD(action="seg", value="age"))
    if not content.current.single_municipality:
        kb.button(text="По муниципалитету", callback_data=ComposeCD(action="seg", value="mun"))
    kb.button(text="Записавшимся на мероприятие", callback_data=ComposeCD(action="seg", value="event"))
    kb.adjust(1)
    await message.answer("Кому отправить?", reply_markup=kb.as_markup())


@router.callback_query(BroadcastForm.segment, ComposeCD.filter(F.action == "seg"))
async def bc_segment(
    query: CallbackQuery,
    *,
    callback_data: ComposeCD,
    state: FSMContext,
    broadcasts: BroadcastService,
    events: EventService,
    content: ContentStore,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    kb = InlineKeyboardBuilder()
    value = callback_data.value
    if value == "all":
        await _preview(message, state=state, broadcasts=broadcasts, content=content, target=Target())
        return
    if value == "dir":
        for d in Direction:
            kb.button(text=d.title, callback_data=ComposeCD(action="dir", value=d.code))
        kb.adjust(1)
        await message.answer("Какой направленности?", reply_markup=kb.as_markup())
    elif value == "age":
        await state.set_state(BroadcastForm.ages)
        await message.answer(
            "Напишите возраст детей (один или несколько через запятую), например: <code>7, 8</code>"
        )
    elif value == "mun" and not content.current.single_municipality:
        for m in content.current.municipalities.values():
            kb.button(text=m.name, callback_data=ComposeCD(action="mun", value=m.id))
        kb.adjust(2)
        await message.answer("Какой муниципалитет?", reply_markup=kb.as_markup())
    elif value == "event":
        items = await events.upcoming(limit=20)
        if not items:
            await query.answer("Предстоящих мероприятий нет.", show_alert=True)
            return
        for e in items:
            kb.button(
                text=truncate(f"{when_text(e)} {e.title}", 60),
                callback_data=ComposeCD(action="event", value=str(e.id)),
            )
        kb.adjust(1)
        await message.answer("Какое мероприятие?", reply_markup=kb.as_markup())
    else:
        await query.answer("Такого сегмента нет.", show_alert=True)


@router.callback_query(BroadcastForm.segment, ComposeCD.filter(F.action.in_({"dir", "mun", "event"})))
async def bc_segment_value(
    query: CallbackQuery,
    *,
    callback_data: ComposeCD,
    state: FSMContext,
    broadcasts: BroadcastService,
    events: EventService,
    content: ContentStore,
) -> None:
    if not isinstance(query.message, Message):
        return
    value = callback_data.value
    if callback_data.action == "dir":
        direction = Direction.from_code(value)
        if direction is None:
            await query.answer("Такой направленности нет.", show_alert=True)
            return
        target = Target(directions=(direction.code,))
    elif callback_data.action == "mun":
        if value not in content.current.municipalities:
            await query.answer("Такого муниципалитета нет.", show_alert=True)
            return
        target = Target(municipality=value)
    else:
        event = await events.get(int(value)) if value.isdigit() and len(value) < 12 else None
        if event is None:
            await query.answer("Мероприятие не найдено.", show_alert=True)
            return
        target = Target(event_id=event.id)
    await _preview(query.message, state=state, broadcasts=broadcasts, content=content, target=target)


@router.message(BroadcastForm.ages, F.text, ~F.text.startswith("/"))
async def bc_ages(
    message: Message, state: FSMContext, broadcasts: BroadcastService, content: ContentStore
) -> None:
    try:
        ages = parse_ages(message.text or "")
    except AgesError as exc:  # the reason's words: content/texts/announcements.yaml
        await message.answer(f"{escape(exc.text(content.current))} Попробуйте ещё раз.")
        return
    await _preview(
        message, state=state, broadcasts=broadcasts, content=content, target=Target(ages=tuple(ages))
    )


async def _preview(
    message: Message,
    *,
    state: FSMContext,
    broadcasts: BroadcastService,
    content: ContentStore,
    target: Target,
) -> None:
    data = await state.get_data()
    if "text" not in data:
        await state.clear()
        await message.answer(DRAFT_LOST + " /broadcast")
        return
    count = await broadcasts.count_recipients(target)
    names = {m.id: m.name for m in content.current.municipalities.values()}
    if count == 0:
        segment = escape(describe_target(target, names))
        await message.answer(f"В сегменте «{segment}» нет ни одного получателя. Выберите другой.")
        await _ask_segment(message, state, content)
        return
    await state.update_data(target=target.to_json())
    await state.set_state(BroadcastForm.confirm)
    await message.answer("<b>Так сообщение увидят получатели:</b>")
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
    kb = InlineKeyboardBuilder()
    kb.button(text="🚀 Отправить сейчас", callback_data=ComposeCD(action="now"))
    kb.button(text="🕒 Запланировать", callback_data=ComposeCD(action="later"))
    kb.button(text="✖️ Отмена", callback_data=ComposeCD(action="drop"))
    kb.adjust(2, 1)
    await message.answer(
        f"Кому: {escape(describe_target(target, names))}\n<b>Получателей сейчас: {count}</b>",
        reply_markup=kb.as_markup(),
    )


async def _record(
    message: Message,
    *,
    state: FSMContext,
    broadcasts: BroadcastService,
    staff_id: int,
    settings: Settings,
    when: datetime | None = None,
) -> None:
    data = await state.get_data()
    if "target" not in data:
        await state.clear()
        await message.answer(DRAFT_LOST + " /broadcast")
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
        problems = check_text(draft.text, draft.photo_file_id is not None or photo_data is not None)
        if problems:
            raise BroadcastRefused(problems)
        broadcast = await broadcasts.create(draft)
    except BroadcastRefused as exc:
        await message.answer("Рассылка не создана:\n" + exc.ru)
        return
    await state.clear()
    if when is None:
        sent = await message.answer(
            f"📣 Рассылка №{broadcast.id} поставлена в очередь. Здесь будет виден ход отправки.",
            reply_markup=broadcast_cancel_keyboard(broadcast.id),
        )
        # The worker edits this message with the progress (unless it has started and chosen its own).
        await broadcasts.show_progress_in(broadcast.id, sent.chat.id, sent.message_id)
    else:
        local = when.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
        await message.answer(
            f"🕒 Рассылка №{broadcast.id} запланирована на {local} ({escape(settings.timezone)}).\n"
            "Список и отмена: /broadcasts",
            reply_markup=broadcast_cancel_keyboard(broadcast.id),
        )


@router.callback_query(BroadcastForm.confirm, ComposeCD.filter(F.action.in_({"now", "later", "drop"})))
async def bc_confirm(
    query: CallbackQuery,
    callback_data: ComposeCD,
    state: FSMContext,
    broadcasts: BroadcastService,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "drop":
        await state.clear()
        await query.message.answer("Рассылка отменена, ничего не отправлено.")
    elif callback_data.action == "now":
        await _record(
            query.message, state=state, broadcasts=broadcasts, staff_id=query.from_user.id, settings=settings
        )
    else:
        await state.set_state(BroadcastForm.when)
        await query.message.answer(
            f"Когда отправить? Местное время ({escape(settings.timezone)}), ДД.ММ.ГГГГ ЧЧ:ММ, "
            f"например: <code>{_time_example(settings)}</code>"
        )


@router.message(BroadcastForm.when, F.text, ~F.text.startswith("/"))
async def bc_when(
    message: Message, state: FSMContext, broadcasts: BroadcastService, settings: Settings, user: User
) -> None:
    when = await _future_time(message, settings, "время")
    if when is None:
        return
    await _record(message, state=state, broadcasts=broadcasts, staff_id=user.id, settings=settings, when=when)


@router.callback_query(ComposeCD.filter())
async def bc_stale(query: CallbackQuery) -> None:
    await query.answer(DRAFT_LOST + " /broadcast", show_alert=True)


@router.message(EventForm.photo, ~F.text.startswith("/"))
async def ev_photo_wrong(message: Message) -> None:
    await message.answer("Нужно фото (афиша). Пришлите его или нажмите «Без фото». Выйти — /cancel.")


@router.message(BroadcastForm.text, ~F.text.startswith("/"))
@router.message(BroadcastForm.ages, ~F.text.startswith("/"))
@router.message(BroadcastForm.when, ~F.text.startswith("/"))
@router.message(EventForm.title, ~F.text.startswith("/"))
@router.message(EventForm.when, ~F.text.startswith("/"))
@router.message(EventForm.place, ~F.text.startswith("/"))
@router.message(EventForm.organisation, ~F.text.startswith("/"))
@router.message(EventForm.capacity, ~F.text.startswith("/"))
@router.message(EventForm.description, ~F.text.startswith("/"))
async def form_wrong_input(message: Message) -> None:
    """Anything but text where text is expected (commands such as /cancel pass through)."""
    await message.answer("Здесь нужен текст. Попробуйте ещё раз или выйдите командой /cancel.")


# ============================== /broadcasts and cancel ======================================
@router.message(Command("broadcasts"))
async def cmd_broadcasts(message: Message, broadcasts: BroadcastService, settings: Settings) -> None:
    items = await broadcasts.active()
    if not items:
        await message.answer("Запланированных и идущих рассылок нет. Новая: /broadcast")
        return
    kb = InlineKeyboardBuilder()
    lines = ["<b>Рассылки</b>"]
    for b in items:
        when = b.scheduled_at.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
        state = "идёт отправка" if b.status == "running" else f"запланирована на {when}"
        lines.append(f"№{b.id} — {state}: {escape(truncate(strip_tags(b.text), 60))}")
        kb.button(text=f"⛔ Отменить №{b.id}", callback_data=BroadcastCD(action="cancel", id=b.id))
    kb.adjust(1)
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


@router.callback_query(BroadcastCD.filter(F.action == "cancel"))
async def on_cancel_broadcast(
    query: CallbackQuery, callback_data: BroadcastCD, broadcasts: BroadcastService
) -> None:
    broadcast = await broadcasts.cancel(callback_data.id)
    if broadcast is None:
        await query.answer("Эту рассылку уже нельзя отменить: она завершена или отменена.", show_alert=True)
        return
    await query.answer(f"Рассылка №{broadcast.id} остановлена", show_alert=True)
    if isinstance(query.message, Message):
        await query.message.answer(
            f"⛔ Рассылка №{broadcast.id} остановлена: неотправленные сообщения больше не уйдут. "
            "Итог появится, когда завершатся отправки, которые уже в пути."
        )
