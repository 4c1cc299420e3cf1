"""Parents: subscriptions, settings (направленности, children's ages, municipality), events
and signing up for them (with the name and phone a parent chooses to give).

Each handler calls one service method and speaks after it returned: what the person
is told has already been committed. Every word comes from content/texts/announcements.yaml.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content import Content, ContentStore
from bot.dialogs import is_cancel
from bot.directions import Direction
from bot.html import CAPTION_LIMIT, escape, truncate, visible_length
from bot.keyboards import MenuCD
from bot.services.announcements.events import (
    ContactRefused,
    EventRecord,
    EventService,
    SignupError,
    clean_name,
    clean_phone,
    when_text,
)
from bot.services.announcements.subscriptions import (
    AgesError,
    PersonalSettings,
    SubscriptionService,
    parse_ages,
)
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.services.users import ages_text
from bot.views.announcements import (
    EventCD,
    SetCD,
    SignupCD,
    SubCD,
    ages_prompt,
    directions_keyboard,
    event_card,
    event_keyboard,
    events_view,
    is_skip_word,
    municipality_picker,
    name_prompt,
    phone_prompt,
    settings_view,
    signup_done,
    subscription_keyboard,
)

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)


class SettingsForm(StatesGroup):
    ages = State()


class SignupForm(StatesGroup):
    """After «Пойду»: the name to be listed under, then a phone; both optional."""

    name = State()
    phone = State()


def _t(content: ContentStore, user: User, key: str, **params: object) -> str:
    return content.current.text(key, user.municipality_id, **params)


# --- subscribe / unsubscribe ---------------------------------------------------------------
@router.message(Command("subscribe"))
async def cmd_subscribe(message: Message, user: User, subscriptions: SubscriptionService,
                        content: ContentStore) -> None:  # fmt: skip
    result = await subscriptions.subscribe(user)
    text = _t(content, user, "subscription.on" if result.changed else "subscription.already_on")
    await message.answer(
        text, reply_markup=subscription_keyboard(True, content.current, user.municipality_id)
    )


@router.message(Command("unsubscribe"))
async def cmd_unsubscribe(message: Message, user: User, subscriptions: SubscriptionService,
                          content: ContentStore) -> None:  # fmt: skip
    result = await subscriptions.unsubscribe(user)
    text = _t(content, user, "subscription.off" if result.changed else "subscription.was_off")
    await message.answer(
        text, reply_markup=subscription_keyboard(False, content.current, user.municipality_id)
    )


@router.callback_query(MenuCD.filter(F.item == "subscribe"))
async def on_menu_subscribe(query: CallbackQuery, user: User, subscriptions: SubscriptionService,
                            content: ContentStore) -> None:  # fmt: skip
    if isinstance(query.message, Message):
        active = (await subscriptions.state(user.id)).active
        text = _t(content, user, "subscription.on" if active else "subscription.ask")
        await query.message.answer(
            text, reply_markup=subscription_keyboard(active, content.current, user.municipality_id)
        )


@router.callback_query(SubCD.filter())
async def on_subscription(
    query: CallbackQuery,
    callback_data: SubCD,
    user: User,
    subscriptions: SubscriptionService,
    content: ContentStore,
) -> None:
    if callback_data.action == "preview":
        await query.answer(_t(content, user, "subscription.preview_alert"), show_alert=True)
        return
    if callback_data.action == "on":
        result = await subscriptions.subscribe(user)
        await query.answer(_t(content, user, "subscription.on_alert"))
        active = True
    elif callback_data.action in {"off", "unsub"}:
        result = await subscriptions.unsubscribe(user)
        await query.answer(_t(content, user, "subscription.off_alert"), show_alert=True)
        active = False
    else:
        await query.answer(_t(content, user, "announcements.stale_button"), show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    if callback_data.action == "unsub":  # under a broadcast: its text stays, only the button changes
        kb = InlineKeyboardBuilder()
        kb.button(text=_t(content, user, "subscription.button_again"), callback_data=SubCD(action="on"))
        await query.message.edit_reply_markup(reply_markup=kb.as_markup())
    elif callback_data.screen == "set":
        text, markup = settings_view(result.settings, content.current)
        await query.message.edit_text(text, reply_markup=markup)
    else:
        text = _t(content, user, "subscription.on" if active else "subscription.ask")
        await query.message.edit_text(
            text, reply_markup=subscription_keyboard(active, content.current, user.municipality_id)
        )


# --- settings --------------------------------------------------------------------------------
@router.message(Command("settings"))
async def cmd_settings(
    message: Message,
    user: User,
    subscriptions: SubscriptionService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    await state.clear()
    text, markup = settings_view(await subscriptions.settings_of(user), content.current)
    await message.answer(text, reply_markup=markup)


@router.callback_query(MenuCD.filter(F.item == "settings"))
async def on_menu_settings(
    query: CallbackQuery, user: User, subscriptions: SubscriptionService, content: ContentStore
) -> None:
    if isinstance(query.message, Message):
        text, markup = settings_view(await subscriptions.settings_of(user), content.current)
        await query.message.answer(text, reply_markup=markup)


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
    mid = user.municipality_id
    action = callback_data.action
    settings: PersonalSettings | None = None  # set by a change: the screen is redrawn from it
    if action == "dirs":
        if message:
            sub = await subscriptions.state(user.id)
            await message.answer(
                c.text("settings.ask_directions", mid),
                reply_markup=directions_keyboard(sub.directions, c, mid),
            )
    elif action == "dir":
        direction = Direction.from_code(callback_data.value)
        if direction is None:
            await query.answer(c.text("settings.no_such_direction", mid), show_alert=True)
            return
        sub = await subscriptions.toggle_direction(user.id, direction)
        if message:
            await message.edit_reply_markup(reply_markup=directions_keyboard(sub.directions, c, mid))
    elif action == "ages":
        await state.set_state(SettingsForm.ages)
        if message:
            text, markup = ages_prompt(user, c)
            await message.answer(text, reply_markup=markup)
    elif action == "ages_clear":
        settings = await subscriptions.set_child_ages(user.id, [])
        await state.clear()
        await query.answer(c.text("settings.ages_cleared", mid))
    elif action == "mun":
        if c.single_municipality:
            await query.answer(c.text("settings.one_municipality", mid), show_alert=True)
            return
        if message:
            text, markup = municipality_picker(c, mid)
            await message.answer(text, reply_markup=markup)
    elif action == "mun_pick":
        if callback_data.value not in c.municipalities:
            await query.answer(c.text("settings.no_such_municipality", mid), show_alert=True)
            return
        settings = await subscriptions.choose_municipality(user.id, callback_data.value)
        name = c.municipalities[callback_data.value].name
        await query.answer(c.text("settings.municipality_chosen", callback_data.value, name=name))
    elif action == "back":
        if await state.get_state() == SettingsForm.ages.state:
            await state.clear()  # «Отмена» under the ages prompt
    else:
        await query.answer(c.text("announcements.stale_button", mid), show_alert=True)
        return
    if action in {"back", "ages_clear", "mun_pick"} and message:
        if settings is None:
            settings = await subscriptions.settings_of(user)
        text, markup = settings_view(settings, c)
        await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, F.text.func(is_cancel))
async def on_ages_cancel(
    message: Message, user: User, subscriptions: SubscriptionService, content: ContentStore, state: FSMContext
) -> None:
    await state.clear()
    await message.answer(_t(content, user, "settings.ages_unchanged"))
    text, markup = settings_view(await subscriptions.settings_of(user), content.current)
    await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, F.text, ~F.text.startswith("/"))
async def on_ages(
    message: Message,
    user: User,
    subscriptions: SubscriptionService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    c = content.current
    try:
        ages = parse_ages(message.text or "")
    except AgesError as exc:
        _text, markup = ages_prompt(user, c)
        await message.answer(
            _t(content, user, "settings.ages_refused", reason=escape(exc.text(c, user.municipality_id))),
            reply_markup=markup,
        )
        return
    settings = await subscriptions.set_child_ages(user.id, ages)
    await state.clear()
    await message.answer(
        _t(content, user, "settings.ages_saved", ages=ages_text(ages, c, user.municipality_id))
    )
    text, markup = settings_view(settings, c)
    await message.answer(text, reply_markup=markup)


@router.message(SettingsForm.ages, ~F.text)
async def on_ages_not_text(message: Message, user: User, content: ContentStore) -> None:
    _text, markup = ages_prompt(user, content.current)
    await message.answer(_t(content, user, "settings.ages_not_text"), reply_markup=markup)


# --- events ------------------------------------------------------------------------------------
async def _show_events(message: Message, user: User, events: EventService, content: ContentStore) -> None:
    text, markup = events_view(await events.listing(user), user, content.current)
    await message.answer(text, reply_markup=markup)


@router.message(Command("events"))
async def cmd_events(message: Message, user: User, events: EventService, content: ContentStore) -> None:
    await _show_events(message, user, events, content)


@router.callback_query(MenuCD.filter(F.item == "events"))
async def on_menu_events(
    query: CallbackQuery, user: User, events: EventService, content: ContentStore
) -> None:
    if isinstance(query.message, Message):
        await _show_events(query.message, user, events, content)


@router.callback_query(EventCD.filter(F.action == "back"))
async def on_events_back(
    query: CallbackQuery, user: User, events: EventService, content: ContentStore
) -> None:
    """«◀ К списку»: the list again (in place of a text card; a photo card stays and the list follows)."""
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    text, markup = events_view(await events.listing(user), user, content.current)
    if message.photo or message.document:
        await message.answer(text, reply_markup=markup)
    else:
        await message.edit_text(text, reply_markup=markup)


def _card(
    event: EventRecord, taken: int, signed_up: bool, role: Role, content: Content
) -> tuple[str, InlineKeyboardMarkup]:
    text = event_card(event, taken, signed_up, content=content)
    return text, event_keyboard(event, signed_up, role, taken, content)


@router.callback_query(EventCD.filter(F.action == "open"))
async def on_event_open(query: CallbackQuery, *, callback_data: EventCD, user: User, role: Role,
                        events: EventService, content: ContentStore) -> None:  # fmt: skip
    card = await events.card(callback_data.id, user.id)
    if card is None:
        await query.answer(_t(content, user, "events.gone"), show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    event = card.event
    text, markup = _card(event, card.taken, card.signed_up, role, content.current)
    if event.photo_file_id:
        caption = text if visible_length(text) <= CAPTION_LIMIT else text.split("\n\n")[0]
        if caption == text:
            await query.message.answer_photo(event.photo_file_id, caption=caption, reply_markup=markup)
        else:  # the description does not fit a caption: the card follows the photo, with the buttons
            await query.message.answer_photo(event.photo_file_id, caption=caption)
            await query.message.answer(text, reply_markup=markup)
    else:
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(EventCD.filter(F.action.in_({"go", "cancel", "drop"})))
async def on_event_signup(
    query: CallbackQuery,
    *,
    callback_data: EventCD,
    user: User,
    role: Role,
    events: EventService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    c = content.current
    if callback_data.action == "go":
        try:
            result = await events.sign_up(callback_data.id, user)
        except SignupError as exc:
            await query.answer(c.text(exc.key, user.municipality_id), show_alert=True)
            return
    else:
        result = await events.cancel_signup(callback_data.id, user)
    if result is None:
        await query.answer(_t(content, user, "events.gone"), show_alert=True)
        return
    event = result.event
    mid = event.municipality_id
    if callback_data.action == "go":
        await query.answer(
            c.text("signup.done_alert", mid, title=truncate(event.title, 60), when=when_text(event))
            if result.changed
            else c.text("signup.already", mid),
            show_alert=True,
        )
    else:
        await query.answer(c.text("signup.cancelled" if result.changed else "signup.was_not", mid))
        if result.changed and (await state.get_data()).get("signup_event") == event.id:
            await state.clear()  # the name dialog of this event ends with the sign-up
    message = query.message
    if not isinstance(message, Message) or not result.changed:
        return
    if callback_data.action == "drop":  # from a reminder: keep its text, drop the button
        kb = InlineKeyboardBuilder()
        kb.button(text=c.text("events.button_ics", mid), callback_data=EventCD(action="ics", id=event.id))
        await message.edit_reply_markup(reply_markup=kb.as_markup())
        return
    text, markup = _card(event, result.taken, result.signed_up, role, c)
    if message.photo:
        await message.edit_reply_markup(reply_markup=markup)
    else:  # the card shows the free places and «Вы записаны»
        await message.edit_text(text, reply_markup=markup)
    if callback_data.action == "go":
        await state.set_state(SignupForm.name)
        await state.update_data(signup_event=event.id)
        prompt, buttons = name_prompt(event, c)
        await message.answer(prompt, reply_markup=buttons)


@router.callback_query(EventCD.filter(F.action == "ics"))
async def on_event_ics(
    query: CallbackQuery, callback_data: EventCD, user: User, events: EventService, content: ContentStore
) -> None:
    towns = {m.id: m.name for m in content.current.municipalities.values()}
    data = await events.ics(callback_data.id, towns)
    if data is None:
        await query.answer(_t(content, user, "events.gone"), show_alert=True)
        return
    if not isinstance(query.message, Message):
        return
    await query.answer()
    await query.message.answer_document(
        BufferedInputFile(data, filename=f"event-{callback_data.id}.ics"),
        caption=_t(content, user, "events.ics_caption"),
    )


# --- the sign-up dialog: a name and a phone, both optional ---------------------------------------
async def _dialog_event(state: FSMContext, events: EventService) -> EventRecord | None:
    event_id = (await state.get_data()).get("signup_event")
    return await events.get(int(event_id)) if isinstance(event_id, int) else None


async def _event_or_lost(message: Message, user: User, state: FSMContext, events: EventService,
                         content: ContentStore) -> EventRecord | None:  # fmt: skip
    """The event of the sign-up dialog; None (dialog left, the person told) when it is gone."""
    event = await _dialog_event(state, events)
    if event is None:
        await state.clear()
        await message.answer(_t(content, user, "signup.dialog_lost"))
    return event


async def _finish(message: Message, state: FSMContext, event: EventRecord, content: ContentStore,
                  **given: str | None) -> None:  # fmt: skip
    await state.clear()
    text, markup = signup_done(event, content.current, **given)
    await message.answer(text, reply_markup=markup)


@router.message(SignupForm.name, F.text.func(is_cancel))
@router.message(SignupForm.phone, F.text.func(is_cancel))
async def on_signup_cancel_word(message: Message, user: User, state: FSMContext, events: EventService,
                                content: ContentStore) -> None:  # fmt: skip
    event = await _dialog_event(state, events)
    data = await state.get_data()
    await state.clear()
    if event is None:
        await message.answer(_t(content, user, "signup.dialog_lost"))
        return
    await message.answer(
        content.current.text("signup.stopped", event.municipality_id, title=escape(event.title)),
        reply_markup=signup_done(event, content.current, name=data.get("signup_name"))[1],
    )


@router.message(SignupForm.name, F.text.func(is_skip_word))
@router.message(SignupForm.phone, F.text.func(is_skip_word))
async def on_signup_skip_word(message: Message, user: User, state: FSMContext, events: EventService,
                              content: ContentStore) -> None:  # fmt: skip
    """«нет» to a prompt: as «Пропустить»."""
    event = await _event_or_lost(message, user, state, events, content)
    if event is None:
        return
    await _finish(message, state, event, content, name=(await state.get_data()).get("signup_name"))


@router.message(SignupForm.name, F.text, ~F.text.startswith("/"))
async def on_signup_name(message: Message, user: User, state: FSMContext, events: EventService,
                         content: ContentStore) -> None:  # fmt: skip
    event = await _event_or_lost(message, user, state, events, content)
    if event is None:
        return
    c = content.current
    try:
        name = clean_name(message.text or "")
    except ContactRefused as exc:
        _prompt, buttons = name_prompt(event, c)
        await message.answer(c.text(exc.key, event.municipality_id), reply_markup=buttons)
        return
    if not await events.set_contact(event.id, user, name=name):
        await state.clear()
        await message.answer(c.text("signup.not_signed_up", event.municipality_id, title=escape(event.title)))
        return
    await state.set_state(SignupForm.phone)
    await state.update_data(signup_name=name)
    prompt, buttons = phone_prompt(event, name, c)
    await message.answer(prompt, reply_markup=buttons)


@router.message(SignupForm.phone, F.text, ~F.text.startswith("/"))
async def on_signup_phone(message: Message, user: User, state: FSMContext, events: EventService,
                          content: ContentStore) -> None:  # fmt: skip
    event = await _event_or_lost(message, user, state, events, content)
    if event is None:
        return
    c = content.current
    name = (await state.get_data()).get("signup_name")
    try:
        phone = clean_phone(message.text or "")
    except ContactRefused as exc:
        _prompt, buttons = phone_prompt(event, name or "", c)
        await message.answer(c.text(exc.key, event.municipality_id), reply_markup=buttons)
        return
    if not await events.set_contact(event.id, user, phone=phone):
        await state.clear()
        await message.answer(c.text("signup.not_signed_up", event.municipality_id, title=escape(event.title)))
        return
    await _finish(message, state, event, content, name=name, phone=phone)


@router.message(SignupForm.name, ~F.text)
@router.message(SignupForm.phone, ~F.text)
async def on_signup_not_text(message: Message, user: User, state: FSMContext, events: EventService,
                             content: ContentStore) -> None:  # fmt: skip
    event = await _event_or_lost(message, user, state, events, content)
    if event is None:
        return
    c = content.current
    on_name = await state.get_state() == SignupForm.name.state
    if on_name:
        _prompt, buttons = name_prompt(event, c)
    else:
        _prompt, buttons = phone_prompt(event, (await state.get_data()).get("signup_name") or "", c)
    key = "signup.name_not_text" if on_name else "signup.phone_not_text"
    await message.answer(c.text(key, event.municipality_id), reply_markup=buttons)


@router.callback_query(SignupCD.filter())
async def on_signup_button(query: CallbackQuery, *, callback_data: SignupCD, user: User, state: FSMContext,
                           events: EventService, content: ContentStore) -> None:  # fmt: skip
    message = query.message if isinstance(query.message, Message) else None
    data = await state.get_data()
    current = await state.get_state()
    in_dialog = data.get("signup_event") == callback_data.id and current in {
        SignupForm.name.state,
        SignupForm.phone.state,
    }
    event = await events.get(callback_data.id)
    if event is None or not in_dialog:
        await query.answer(_t(content, user, "signup.dialog_over"), show_alert=False)
        return
    await query.answer()
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    name = data.get("signup_name")
    if callback_data.action == "stop":
        await state.clear()
        await message.answer(
            content.current.text("signup.stopped", event.municipality_id, title=escape(event.title)),
            reply_markup=signup_done(event, content.current, name=name)[1],
        )
        return
    # «Пропустить»: without a name the dialog ends; without a phone too
    await _finish(message, state, event, content, name=name)
