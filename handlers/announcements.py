"""Parents: subscriptions, settings (направленности, children's ages, municipality), events.

Each handler calls one service method and speaks after it returned: what the person
is told has already been committed.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content import ContentStore
from bot.directions import Direction
from bot.html import CAPTION_LIMIT, escape, truncate, visible_length
from bot.keyboards import MenuCD, add_menu_button, back_to_menu_keyboard
from bot.services.announcements.events import EventRecord, EventService, SignupError, when_text
from bot.services.announcements.subscriptions import (
    MAX_AGE,
    MIN_AGE,
    PersonalSettings,
    SubscriptionService,
    parse_ages,
)
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.views.announcements import EventCD, SetCD, SubCD, event_card

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
async def cmd_subscribe(message: Message, user: User, subscriptions: SubscriptionService) -> None:
    result = await subscriptions.subscribe(user)
    text = (
        SUBSCRIBED if result.changed else "Вы уже подписаны на новости МОЦ. " + SUBSCRIBED.split("\n", 1)[1]
    )
    await message.answer(text, reply_markup=_subscription_keyboard(True))


@router.message(Command("unsubscribe"))
async def cmd_unsubscribe(message: Message, user: User, subscriptions: SubscriptionService) -> None:
    result = await subscriptions.unsubscribe(user)
    text = UNSUBSCRIBED if result.changed else "Вы не были подписаны. Подписаться — /subscribe."
    await message.answer(text, reply_markup=_subscription_keyboard(False))


@router.callback_query(MenuCD.filter(F.item == "subscribe"))
async def on_menu_subscribe(query: CallbackQuery, user: User, subscriptions: SubscriptionService) -> None:
    if isinstance(query.message, Message):
        active = (await subscriptions.state(user.id)).active
        text = SUBSCRIBED if active else NOT_SUBSCRIBED
        await query.message.answer(text, reply_markup=_subscription_keyboard(active))


@router.callback_query(SubCD.filter())
async def on_subscription(
    query: CallbackQuery,
    callback_data: SubCD,
    user: User,
    subscriptions: SubscriptionService,
    content: ContentStore,
) -> None:
    if callback_data.action == "preview":
        await query.answer(
            "Это предпросмотр: у родителей эта кнопка отписывает от рассылки.", show_alert=True
        )
        return
    if callback_data.action == "on":
        result = await subscriptions.subscribe(user)
        await query.answer("Вы подписаны на новости")
        active = True
    elif callback_data.action in {"off", "unsub"}:
        result = await subscriptions.unsubscribe(user)
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
        text, markup = _settings_view(result.settings, content)
        await query.message.edit_text(text, reply_markup=markup)
    else:
        await query.message.edit_text(
            SUBSCRIBED if active else NOT_SUBSCRIBED, reply_markup=_subscription_keyboard(active)
        )


# --- settings --------------------------------------------------------------------------------
def _settings_view(settings: PersonalSettings, content: ContentStore) -> tuple[str, InlineKeyboardMarkup]:
    c = content.current
    user, sub = settings.user, settings.subscription
    active = sub.active
    dirs = [d.title for d in Direction if d.code in sub.directions]
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
            + (escape(c.municipality(user.municipality_id).name) if user.municipality_id else "не выбран")
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
    message: Message,
    user: User,
    subscriptions: SubscriptionService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    await state.clear()
    text, markup = _settings_view(await subscriptions.settings_of(user), content)
    await message.answer(text, reply_markup=markup)


@router.callback_query(MenuCD.filter(F.item == "settings"))
async def on_menu_settings(
    query: CallbackQuery, user: User, subscriptions: SubscriptionService, content: ContentStore
) -> None:
    if isinstance(query.message, Message):
        text, markup = _settings_view(await subscriptions.settings_of(user), content)
        await query.message.answer(text, reply_markup=markup)


def _directions_keyboard(selected: tuple[str, ...]) -> InlineKeyboardMarkup:
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
    subscriptions: SubscriptionService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    c = content.current
    action = callback_data.action
    settings: PersonalSettings | None = None  # set by a change: the screen is redrawn from it
    if action == "dirs":
        if message:
            sub = await subscriptions.state(user.id)
            await message.answer(
                "Выберите направленности, о которых хотите получать новости (ничего не выбрано — все):",
                reply_markup=_directions_keyboard(sub.directions),
            )
    elif action == "dir":
        direction = Direction.from_code(callback_data.value)
        if direction is None:
            await query.answer("Такой направленности нет.", show_alert=True)
            return
        sub = await subscriptions.toggle_direction(user.id, direction)
        if message:
            await message.edit_reply_markup(reply_markup=_directions_keyboard(sub.directions))
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
        settings = await subscriptions.set_child_ages(user.id, [])
        await state.clear()
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
        settings = await subscriptions.choose_municipality(user.id, callback_data.value)
        await query.answer(f"Муниципалитет: {c.municipalities[callback_data.value].name}")
    elif action != "back":
        await query.answer("Эта кнопка устарела.", show_alert=True)
        return
    if action in {"back", "ages_clear", "mun_pick"} and message:
        if settings is None:
            settings = await subscriptions.settings_of(user)
        text, markup = _settings_view(settings, content)
        await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, F.text, ~F.text.startswith("/"))
async def on_ages(
    message: Message,
    user: User,
    subscriptions: SubscriptionService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    try:
        ages = parse_ages(message.text or "")
    except ValueError as exc:
        await message.answer(f"{escape(str(exc))}\nПопробуйте ещё раз или отправьте /cancel.")
        return
    settings = await subscriptions.set_child_ages(user.id, ages)
    await state.clear()
    await message.answer("Сохранено: " + ", ".join(str(a) for a in ages) + ".")
    text, markup = _settings_view(settings, content)
    await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, ~F.text)
async def on_ages_not_text(message: Message) -> None:
    await message.answer("Напишите возраст детей цифрами, например: 7, 12. Выйти — /cancel.")


# --- events ------------------------------------------------------------------------------------
async def _show_events(message: Message, user: User, events: EventService) -> None:
    listing = await events.listing(user)
    if not listing.events:
        hint = (
            "Мы сообщим о новых в рассылке."
            if listing.subscribed
            else "Подпишитесь на новости (/subscribe) — мы сообщим о новых."
        )
        await message.answer(
            f"Ближайших мероприятий пока нет (список учитывает ваши настройки: /settings). {hint}",
            reply_markup=back_to_menu_keyboard(),
        )
        return
    kb = InlineKeyboardBuilder()
    lines = ["<b>Ближайшие мероприятия</b>"]
    for index, event in enumerate(listing.events, 1):
        lines.append(f"{index}. {when_text(event)} — {escape(truncate(event.title, 80))}")
        kb.button(
            text=f"{index}. {truncate(event.title, 40)}", callback_data=EventCD(action="open", id=event.id)
        )
    add_menu_button(kb)
    kb.adjust(1)
    await message.answer(
        "\n".join(lines) + "\n\nВыберите мероприятие, чтобы записаться:", reply_markup=kb.as_markup()
    )


@router.message(Command("events"))
async def cmd_events(message: Message, user: User, events: EventService) -> None:
    await _show_events(message, user, events)


@router.callback_query(MenuCD.filter(F.item == "events"))
async def on_menu_events(query: CallbackQuery, user: User, events: EventService) -> None:
    if isinstance(query.message, Message):
        await _show_events(query.message, user, events)


def _event_keyboard(event: EventRecord, signed_up: bool, role: Role, taken: int) -> InlineKeyboardMarkup:
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


EVENT_GONE = "Мероприятие не найдено — возможно, его удалили."


@router.callback_query(EventCD.filter(F.action == "open"))
async def on_event_open(
    query: CallbackQuery, callback_data: EventCD, user: User, role: Role, events: EventService
) -> None:
    card = await events.card(callback_data.id, user.id)
    if card is None:
        await query.answer(EVENT_GONE, show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    event = card.event
    text = event_card(event, card.taken, card.signed_up)
    markup = _event_keyboard(event, card.signed_up, role, card.taken)
    if event.photo_file_id:
        caption = text if visible_length(text) <= CAPTION_LIMIT else text.split("\n\n")[0]
        await query.message.answer_photo(event.photo_file_id, caption=caption, reply_markup=markup)
        if caption != text:
            await query.message.answer(text)
    else:
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(EventCD.filter(F.action.in_({"go", "cancel", "drop"})))
async def on_event_signup(
    query: CallbackQuery, callback_data: EventCD, user: User, role: Role, events: EventService
) -> None:
    if callback_data.action == "go":
        try:
            result = await events.sign_up(callback_data.id, user)
        except SignupError as exc:
            await query.answer(str(exc), show_alert=True)
            return
    else:
        result = await events.cancel_signup(callback_data.id, user)
    if result is None:
        await query.answer(EVENT_GONE, show_alert=True)
        return
    event = result.event
    if callback_data.action == "go":
        await query.answer(
            f"Вы записаны: {truncate(event.title, 60)}, {when_text(event)}. Напомним за день и за 2 часа."
            if result.changed
            else "Вы уже записаны.",
            show_alert=True,
        )
    else:
        await query.answer("Запись отменена." if result.changed else "Вы не были записаны.")
    message = query.message
    if not isinstance(message, Message) or not result.changed:
        return
    if callback_data.action == "drop":  # from a reminder: keep its text, drop the button
        kb = InlineKeyboardBuilder()
        kb.button(text="📅 В календарь (.ics)", callback_data=EventCD(action="ics", id=event.id))
        await message.edit_reply_markup(reply_markup=kb.as_markup())
        return
    markup = _event_keyboard(event, result.signed_up, role, result.taken)
    if message.photo:
        await message.edit_reply_markup(reply_markup=markup)
    else:  # the card shows the free places and «Вы записаны»
        await message.edit_text(event_card(event, result.taken, result.signed_up), reply_markup=markup)


@router.callback_query(EventCD.filter(F.action == "ics"))
async def on_event_ics(query: CallbackQuery, callback_data: EventCD, events: EventService) -> None:
    data = await events.ics(callback_data.id)
    if data is None:
        await query.answer(EVENT_GONE, show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    await query.answer()
    await query.message.answer_document(
        BufferedInputFile(data, filename=f"event-{callback_data.id}.ics"),
        caption="Откройте файл, чтобы добавить мероприятие в календарь телефона.",
    )
