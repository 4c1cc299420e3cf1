from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content import ContentStore
from bot.keyboards import (
    ConsentCD,
    MenuCD,
    MunicipalityCD,
    back_to_menu_keyboard,
    consent_keyboard,
    main_menu_keyboard,
    municipality_keyboard,
)
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.services.users import UserService

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)


@router.message(CommandStart(), flags={"no_consent": True})
async def cmd_start(
    message: Message, user: User, users: UserService, content: ContentStore, state: FSMContext
) -> None:
    await state.clear()
    user = await users.came_back(user)
    c = content.current
    if user.consent_at is None:
        await message.answer(c.text("greeting", user.municipality_id))
        await message.answer(c.text("consent", user.municipality_id), reply_markup=consent_keyboard())
        return
    if not c.single_municipality and user.municipality_id not in c.municipalities:
        await ask_municipality(message, content)
        return
    await message.answer(c.text("menu", user.municipality_id), reply_markup=main_menu_keyboard())


async def ask_municipality(message: Message, content: ContentStore) -> None:
    items = [(m.id, m.name) for m in content.current.municipalities.values()]
    await message.answer("Выберите ваш муниципалитет:", reply_markup=municipality_keyboard(items))


@router.callback_query(ConsentCD.filter(F.action == "yes"), flags={"no_consent": True})
async def on_consent(query: CallbackQuery, users: UserService, content: ContentStore) -> None:
    result = await users.give_consent(query.from_user.id, content.current)
    first_time, user = result.first_time, result.user
    await query.answer("Согласие сохранено" if first_time else "Согласие уже было дано")
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    c = content.current
    if not c.single_municipality and user.municipality_id is None:
        await query.message.answer(c.text("consent_accepted", user.municipality_id))
        await ask_municipality(query.message, content)
        return
    await query.message.answer(
        c.text("consent_accepted", user.municipality_id) + "\n\n" + c.text("menu", user.municipality_id),
        reply_markup=main_menu_keyboard(),
    )


@router.callback_query(MunicipalityCD.filter())
async def on_municipality(
    query: CallbackQuery, callback_data: MunicipalityCD, users: UserService, content: ContentStore
) -> None:
    c = content.current
    if callback_data.id not in c.municipalities:
        await query.answer("Такого муниципалитета нет в списке.", show_alert=True)
        return
    user = await users.choose_municipality(query.from_user.id, callback_data.id)
    await query.answer(f"Муниципалитет: {c.municipalities[callback_data.id].name}")
    if isinstance(query.message, Message):
        await query.message.answer(
            f"Готово: {c.municipalities[callback_data.id].name}.\n\n" + c.text("menu", user.municipality_id),
            reply_markup=main_menu_keyboard(),
        )


# Typed instead of /menu: «меню», «Главное меню!», «в меню»
MENU_WORDS = frozenset({"меню", "главное меню", "в меню", "в главное меню", "menu", "начало", "в начало"})


def _is_menu_word(text: str | None) -> bool:
    return bool(text) and " ".join(str(text).lower().replace("ё", "е").strip(" .!?").split()) in MENU_WORDS


@router.message(Command("menu"))
@router.message(F.text.func(_is_menu_word))
async def cmd_menu(message: Message, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        content.current.text("menu", user.municipality_id), reply_markup=main_menu_keyboard()
    )


@router.callback_query(MenuCD.filter(F.item == "main"))
async def on_menu(query: CallbackQuery, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            content.current.text("menu", user.municipality_id), reply_markup=main_menu_keyboard()
        )


def help_text(content: ContentStore, user: User | None, role: Role) -> str:
    municipality_id = user.municipality_id if user else None
    text = content.current.text("help_parent", municipality_id)
    if role >= Role.STAFF:
        text += "\n\n" + content.current.text("help_staff", municipality_id)
    return text


@router.message(Command("help"), flags={"no_consent": True})
async def cmd_help(message: Message, user: User, role: Role, content: ContentStore) -> None:
    await message.answer(help_text(content, user, role), reply_markup=back_to_menu_keyboard())


@router.callback_query(MenuCD.filter(F.item == "help"))
async def on_help(query: CallbackQuery, user: User, role: Role, content: ContentStore) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(help_text(content, user, role), reply_markup=back_to_menu_keyboard())
