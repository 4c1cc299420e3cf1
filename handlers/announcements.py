"""Parents: subscriptions, settings (направленности, children's ages, municipality), events."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import ContentStore
from bot.directions import Direction
from bot.html import CAPTION_LIMIT, escape, truncate, visible_length
from bot.keyboards import MenuCD, add_menu_button, back_to_menu_keyboard
from bot.services.announcements import events as ev
from bot.services.announcements.callbacks import EventCD, SetCD, SubCD
from bot.services.announcements.subscriptions import (
    MAX_AGE,
    MIN_AGE,
    get_subscription,
    parse_ages,
    subscribe,
    toggle_direction,
    unsubscribe,
)
from bot.services.roles import Role
from db.models import Event, User

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)

SUBSCRIBED = (
    "🔔 Вы подписаны на новости МОЦ: дни открытых дверей, родительские собрания, запись в кружки.\n"
    "Сузить рассылку по направленностям и возрасту детей — /settings. Отписаться — /unsubscribe."
)
UNSUBSCRIBED = "🔕 Вы отписались от новостей МОЦ. Подписаться снова — /subscribe."
NOT_SUBSCRIBED = "Вы не подписаны на новости МОЦ. Подписаться?"


class SettingsForm(StatesGroup):
    ages = State()


def _subscription_keyboard(active: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if active:
        kb.button(text="🔕 Отписаться", callback_data=SubCD(action="off"))
    else:
        kb.button(text="🔔 Подписаться", callback_data=SubCD(action="on"))
    kb.button(text="⚙️ Настройки", callback_data=MenuCD(item="settings"))
    add_menu_button(kb)
    kb.adjust(2, 1)
    return kb.as_markup()


# --- subscribe / unsubscribe ---------------------------------------------------------------
@router.message(Command("subscribe"))
async def cmd_subscribe(message: Message, user: User, session: AsyncSession) -> None:
    changed = await subscribe(session, user)
    text = SUBSCRIBED if changed else "Вы уже подписаны на новости МОЦ. " + SUBSCRIBED.split("\n", 1)[1]
    await message.answer(text, reply_markup=_subscription_keyboard(True))


@router.message(Command("unsubscribe"))
async def cmd_unsubscribe(message: Message, user: User, session: AsyncSession) -> None:
    changed = await unsubscribe(session, user)
    text = UNSUBSCRIBED if changed else "Вы не были подписаны. Подписаться — /subscribe."
    await message.answer(text, reply_markup=_subscription_keyboard(False))


@router.callback_query(MenuCD.filter(F.item == "subscribe"))
async def on_menu_subscribe(query: CallbackQuery, user: User, session: AsyncSession) -> None:
    sub = await get_subscription(session, user.id)
    active = sub is not None and sub.active
    if isinstance(query.message, Message):
        text = SUBSCRIBED if active else NOT_SUBSCRIBED
        await query.message.answer(text, reply_markup=_subscription_keyboard(active))


@router.callback_query(SubCD.filter())
async def on_subscription(
    query: CallbackQuery, callback_data: SubCD, user: User, session: AsyncSession, content: ContentStore
) -> None:
    if callback_data.action == "preview":
        await query.answer(
            "Это предпросмотр: у родителей эта кнопка отписывает от рассылки.", show_alert=True
        )
        return
    if callback_data.action == "on":
        await subscribe(session, user)
        await query.answer("Вы подписаны на новости")
        active = True
    elif callback_data.action in {"off", "unsub"}:
        await unsubscribe(session, user)
        await query.answer("Вы отписались от рассылки. Вернуться — /subscribe", show_alert=True)
        active = False
    else:
        await query.answer("Эта кнопка устарела.", show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "unsub":  # under a broadcast: its text stays, only the button changes
        kb = InlineKeyboardBuilder()
        kb.button(text="🔔 Подписаться снова", callback_data=SubCD(action="on"))
        await query.message.edit_reply_markup(reply_markup=kb.as_markup())
    elif callback_data.screen == "set":
        text, markup = await _settings_view(session, user, content)
        await query.message.edit_text(text, reply_markup=markup)
    else:
        await query.message.edit_text(
            SUBSCRIBED if active else NOT_SUBSCRIBED, reply_markup=_subscription_keyboard(active)
        )


# --- settings --------------------------------------------------------------------------------
async def _settings_view(
    session: AsyncSession, user: User, content: ContentStore
) -> tuple[str, InlineKeyboardMarkup]:
    c = content.current
    sub = await get_subscription(session, user.id)
    active = sub is not None and sub.active
    dirs = [d.title for d in Direction if sub is not None and d.code in sub.directions]
    lines = [
        "<b>Настройки</b>",
        f"🔔 Новости МОЦ: {'вы подписаны' if active else 'не подписаны'}",
        "🧭 Направленности: " + (", ".join(dirs) if dirs else "все"),
        "👶 Возраст детей: "
        + (", ".join(str(a) for a in user.child_ages) if user.child_ages else "не указан"),
    ]
    if not c.single_municipality:
        lines.append(
            "🏙 Муниципалитет: "
            + (c.municipality(user.municipality_id).name if user.municipality_id else "не выбран")
        )
    lines.append("\nИмена детей бот не спрашивает и не хранит.")
    kb = InlineKeyboardBuilder()
    kb.button(text="🧭 Направленности", callback_data=SetCD(action="dirs"))
    kb.button(text="👶 Возраст детей", callback_data=SetCD(action="ages"))
    if not c.single_municipality:
        kb.button(text="🏙 Муниципалитет", callback_data=SetCD(action="mun"))
    kb.button(
        text="🔕 Отписаться" if active else "🔔 Подписаться",
        callback_data=SubCD(action="off" if active else "on", screen="set"),
    )
    add_menu_button(kb)
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


@router.message(Command("settings"))
async def cmd_settings(
    message: Message, user: User, session: AsyncSession, content: ContentStore, state: FSMContext
) -> None:
    await state.clear()
    text, markup = await _settings_view(session, user, content)
    await message.answer(text, reply_markup=markup)


@router.callback_query(MenuCD.filter(F.item == "settings"))
async def on_menu_settings(
    query: CallbackQuery, user: User, session: AsyncSession, content: ContentStore
) -> None:
    if isinstance(query.message, Message):
        text, markup = await _settings_view(session, user, content)
        await query.message.answer(text, reply_markup=markup)


def _directions_keyboard(selected: list[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for d in Direction:
        mark = "✅ " if d.code in selected else ""
        kb.button(text=f"{mark}{d.title}", callback_data=SetCD(action="dir", value=d.code))
    kb.button(text="« Готово", callback_data=SetCD(action="back"))
    kb.adjust(1)
    return kb.as_markup()


@router.callback_query(SetCD.filter())
async def on_settings(
    query: CallbackQuery,
    *,
    callback_data: SetCD,
    user: User,
    session: AsyncSession,
    content: ContentStore,
    state: FSMContext,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    c = content.current
    action = callback_data.action
    if action == "dirs":
        sub = await get_subscription(session, user.id)
        if message:
            await message.answer(
                "Выберите направленности, о которых хотите получать новости (ничего не выбрано — все):",
                reply_markup=_directions_keyboard(sub.directions if sub else []),
            )
    elif action == "dir":
        direction = Direction.from_code(callback_data.value)
        if direction is None:
            await query.answer("Такой направленности нет.", show_alert=True)
            return
        selected = await toggle_direction(session, user, direction)
        if message:
            await message.edit_reply_markup(reply_markup=_directions_keyboard(selected))
    elif action == "ages":
        await state.set_state(SettingsForm.ages)
        kb = InlineKeyboardBuilder()
        if user.child_ages:
            kb.button(text="Очистить возраст", callback_data=SetCD(action="ages_clear"))
        if message:
            await message.answer(
                f"Напишите возраст детей через запятую — от {MIN_AGE} до {MAX_AGE} лет, "
                "например: <code>7, 12</code>.\n"
                "Имена не нужны. Выйти без изменений — /cancel.",
                reply_markup=kb.as_markup(),
            )
    elif action == "ages_clear":
        await state.clear()
        user.child_ages = []
        await query.answer("Возраст детей удалён")
    elif action == "mun":
        if c.single_municipality:
            await query.answer("В боте один муниципалитет — выбирать не нужно.", show_alert=True)
            return
        kb = InlineKeyboardBuilder()
        for m in c.municipalities.values():
            kb.button(text=m.name, callback_data=SetCD(action="mun_pick", value=m.id))
        kb.adjust(2)
        if message:
            await message.answer("Выберите муниципалитет:", reply_markup=kb.as_markup())
    elif action == "mun_pick":
        if callback_data.value not in c.municipalities:
            await query.answer("Такого муниципалитета нет в списке.", show_alert=True)
            return
        user.municipality_id = callback_data.value
        await query.answer(f"Муниципалитет: {c.municipalities[callback_data.value].name}")
    elif action != "back":
        await query.answer("Эта кнопка устарела.", show_alert=True)
        return
    if action in {"back", "ages_clear", "mun_pick"} and message:
        text, markup = await _settings_view(session, user, content)
        await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, F.text, ~F.text.startswith("/"))
async def on_ages(
    message: Message, user: User, session: AsyncSession, content: ContentStore, state: FSMContext
) -> None:
    try:
        ages = parse_ages(message.text or "")
    except ValueError as exc:
        await message.answer(f"{exc}\nПопробуйте ещё раз или отправьте /cancel.")
        return
    user.child_ages = ages
    await state.clear()
    await message.answer("Сохранено: " + ", ".join(str(a) for a in ages) + ".")
    text, markup = await _settings_view(session, user, content)
    await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, ~F.text)
async def on_ages_not_text(message: Message) -> None:
    await message.answer("Напишите возраст детей цифрами, например: 7, 12. Выйти — /cancel.")


# --- events ------------------------------------------------------------------------------------
async def _show_events(message: Message, user: User, session: AsyncSession) -> None:
    items = await ev.upcoming_events(session, user)
    if not items:
        sub = await get_subscription(session, user.id)
        hint = (
            "Мы сообщим о новых в рассылке."
            if sub is not None and sub.active
            else "Подпишитесь на новости (/subscribe) — мы сообщим о новых."
        )
        await message.answer(
            f"Ближайших мероприятий пока нет (список учитывает ваши настройки: /settings). {hint}",
            reply_markup=back_to_menu_keyboard(),
        )
        return
    kb = InlineKeyboardBuilder()
    lines = ["<b>Ближайшие мероприятия</b>"]
    for index, event in enumerate(items, 1):
        lines.append(f"{index}. {ev.when_text(event)} — {escape(truncate(event.title, 80))}")
        kb.button(
            text=f"{index}. {truncate(event.title, 40)}", callback_data=EventCD(action="open", id=event.id)
        )
    add_menu_button(kb)
    kb.adjust(1)
    await message.answer(
        "\n".join(lines) + "\n\nВыберите мероприятие, чтобы записаться:", reply_markup=kb.as_markup()
    )


@router.message(Command("events"))
async def cmd_events(message: Message, user: User, session: AsyncSession) -> None:
    await _show_events(message, user, session)


@router.callback_query(MenuCD.filter(F.item == "events"))
async def on_menu_events(query: CallbackQuery, user: User, session: AsyncSession) -> None:
    if isinstance(query.message, Message):
        await _show_events(query.message, user, session)


def _event_keyboard(event: Event, signed_up: bool, role: Role, taken: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if signed_up:
        kb.button(text="❌ Отменить запись", callback_data=EventCD(action="cancel", id=event.id))
    elif event.capacity is None or taken < event.capacity:
        kb.button(text="✅ Пойду", callback_data=EventCD(action="go", id=event.id))
    kb.button(text="📅 В календарь (.ics)", callback_data=EventCD(action="ics", id=event.id))
    if role >= Role.STAFF:
        kb.button(text=f"👥 Записавшиеся ({taken})", callback_data=EventCD(action="list", id=event.id))
    kb.adjust(2)
    return kb.as_markup()


async def _event_or_alert(query: CallbackQuery, session: AsyncSession, event_id: int) -> Event | None:
    event = await session.get(Event, event_id)
    if event is None:
        await query.answer("Мероприятие не найдено — возможно, его удалили.", show_alert=True)
    return event


@router.callback_query(EventCD.filter(F.action == "open"))
async def on_event_open(
    query: CallbackQuery, callback_data: EventCD, user: User, role: Role, session: AsyncSession
) -> None:
    event = await _event_or_alert(query, session, callback_data.id)
    if event is None or not isinstance(query.message, Message):
        return
    taken = await ev.signup_count(session, event.id)
    signed = await ev.is_signed_up(session, event.id, user.id)
    text = ev.event_card(event, taken, signed)
    markup = _event_keyboard(event, signed, role, taken)
    if event.photo_file_id:
        caption = text if visible_length(text) <= CAPTION_LIMIT else text.split("\n\n")[0]
        await query.message.answer_photo(event.photo_file_id, caption=caption, reply_markup=markup)
        if caption != text:
            await query.message.answer(text)
    else:
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(EventCD.filter(F.action.in_({"go", "cancel", "drop"})))
async def on_event_signup(
    query: CallbackQuery, callback_data: EventCD, user: User, role: Role, session: AsyncSession
) -> None:
    event = await _event_or_alert(query, session, callback_data.id)
    if event is None:
        return
    if callback_data.action == "go":
        try:
            changed = await ev.sign_up(session, event, user)
        except ev.SignupError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await query.answer(
            f"Вы записаны: {truncate(event.title, 60)}, {ev.when_text(event)}. Напомним за день и за 2 часа."
            if changed
            else "Вы уже записаны.",
            show_alert=True,
        )
        signed = True
    else:
        changed = await ev.cancel_signup(session, event, user)
        await query.answer("Запись отменена." if changed else "Вы не были записаны.")
        signed = False
    message = query.message
    if not isinstance(message, Message) or not changed:
        return
    if callback_data.action == "drop":  # from a reminder: keep its text, drop the button
        kb = InlineKeyboardBuilder()
        kb.button(text="📅 В календарь (.ics)", callback_data=EventCD(action="ics", id=event.id))
        await message.edit_reply_markup(reply_markup=kb.as_markup())
        return
    taken = await ev.signup_count(session, event.id)
    markup = _event_keyboard(event, signed, role, taken)
    if message.photo:
        await message.edit_reply_markup(reply_markup=markup)
    else:  # the card shows the free places and «Вы записаны»
        await message.edit_text(ev.event_card(event, taken, signed), reply_markup=markup)


@router.callback_query(EventCD.filter(F.action == "ics"))
async def on_event_ics(query: CallbackQuery, callback_data: EventCD, session: AsyncSession) -> None:
    event = await _event_or_alert(query, session, callback_data.id)
    if event is None or not isinstance(query.message, Message):
        return
    await query.answer()
    await query.message.answer_document(
        BufferedInputFile(ev.ics_bytes(event), filename=f"event-{event.id}.ics"),
        caption="Откройте файл, чтобы добавить мероприятие в календарь телефона.",
    )
