"""/staff: the list of staff; administrators add and remove them.

The Bot API cannot find a person by @username, so `/staff add @name` says so and offers
the two ways that work: the person's number (they see it in /mydata), or a message of
theirs forwarded here, whose sender Telegram names unless their privacy settings hide it.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)

from bot.channels import TELEGRAM_ID_LIMIT
from bot.content import ContentStore
from bot.dialogs import is_cancel
from bot.html import escape
from bot.middlewares import RoleGuard
from bot.services.roles import Role
from bot.services.users import StaffError, UserRecord, UserService
from bot.views import staff as ui
from bot.views.staff import Say, StaffCD

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))

ADMIN_ONLY = {"role": Role.ADMIN}


class StaffAdd(StatesGroup):
    forward = State()  # waiting for a forwarded message of the person (or their number)


def _say(content: ContentStore, user: UserRecord) -> Say:
    return Say(content.current, user.municipality_id)


def _parse_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.lstrip("-").isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    # staff work in Telegram: only a Telegram user id (below 2**52) can be one (bot/channels)
    return value if 0 < value < TELEGRAM_ID_LIMIT else None


async def _add(message: Message, users: UserService, target: int, say: Say, name: str = "") -> None:
    """Make `target` staff, then say so (the name Telegram gave, escaped, if there is one)."""
    who = say("staff.who_named", id=target, name=escape(name)) if name else say("staff.who", id=target)
    try:
        changed = await users.grant_staff(target, by=message.chat.id)
    except StaffError as exc:
        await message.answer(say(exc.key), reply_markup=ui.menu_keyboard())
        return
    key = "staff.added" if changed else "staff.already"
    await message.answer(say(key, who=who), reply_markup=ui.menu_keyboard())


@router.message(Command("staff"))
async def cmd_staff(
    message: Message,
    command: CommandObject,
    *,
    users: UserService,
    role: Role,
    state: FSMContext,
    content: ContentStore,
    user: UserRecord,
) -> None:
    say = _say(content, user)
    args = (command.args or "").split(maxsplit=1)
    action = args[0].lower() if args else "list"
    if action in {"list", "список"}:
        members = await users.list_staff()
        if not members:
            await message.answer(say("staff.list_empty"), reply_markup=ui.menu_keyboard())
            return
        lines = [say("staff.list_line", id=m.id, role=m.role.label) for m in members]
        await message.answer(say("staff.list", lines="\n".join(lines)), reply_markup=ui.menu_keyboard())
        return
    if action not in {"add", "remove"}:
        await message.answer(say("staff.usage"), reply_markup=ui.menu_keyboard())
        return
    if role < Role.ADMIN:
        await message.answer(say("staff.admins_only"), reply_markup=ui.menu_keyboard())
        return
    raw = args[1].strip() if len(args) > 1 else ""
    target = _parse_id(raw)
    if action == "add" and target is None:
        # «@username», a name, or nothing: ask for a forwarded message (or the number) instead
        await state.set_state(StaffAdd.forward)
        key = "staff.by_username" if raw.startswith("@") else "staff.ask_forward"
        await message.answer(say(key, username=escape(raw[:40])), reply_markup=ui.staff_cancel_keyboard(say))
        return
    if target is None:
        await message.answer(say("staff.remove_needs_id"), reply_markup=ui.menu_keyboard())
        return
    await state.clear()
    if action == "add":
        await _add(message, users, target, say)
        return
    try:
        changed = await users.revoke_staff(target)
    except StaffError as exc:
        await message.answer(say(exc.key), reply_markup=ui.menu_keyboard())
        return
    key = "staff.removed" if changed else "staff.was_not_staff"
    await message.answer(say(key, who=say("staff.who", id=target)), reply_markup=ui.menu_keyboard())


@router.message(StaffAdd.forward, F.text.func(is_cancel), flags=ADMIN_ONLY)
async def on_cancel_word(
    message: Message, state: FSMContext, content: ContentStore, user: UserRecord
) -> None:
    await state.clear()
    await message.answer(_say(content, user)("staff.add_cancelled"), reply_markup=ui.menu_keyboard())


@router.callback_query(StaffCD.filter(F.action == "drop"))
async def on_drop(query: CallbackQuery, state: FSMContext, content: ContentStore, user: UserRecord) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            _say(content, user)("staff.add_cancelled"), reply_markup=ui.menu_keyboard()
        )


@router.message(StaffAdd.forward, F.forward_origin, flags=ADMIN_ONLY)
async def on_forwarded(
    message: Message, state: FSMContext, users: UserService, content: ContentStore, user: UserRecord
) -> None:
    say = _say(content, user)
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        person = origin.sender_user
        if person.is_bot:
            await message.answer(say("staff.forward_bot"), reply_markup=ui.staff_cancel_keyboard(say))
            return
        await state.clear()
        await _add(message, users, person.id, say, name=person.full_name)
        return
    if isinstance(origin, MessageOriginHiddenUser):
        name = escape(origin.sender_user_name)
        await message.answer(
            say("staff.forward_hidden", name=name), reply_markup=ui.staff_cancel_keyboard(say)
        )
        return
    if isinstance(origin, MessageOriginChat | MessageOriginChannel):
        await message.answer(say("staff.forward_chat"), reply_markup=ui.staff_cancel_keyboard(say))
        return
    await message.answer(say("staff.forward_unknown"), reply_markup=ui.staff_cancel_keyboard(say))


@router.message(StaffAdd.forward, F.text, ~F.text.startswith("/"), flags=ADMIN_ONLY)
async def on_number(
    message: Message, state: FSMContext, users: UserService, content: ContentStore, user: UserRecord
) -> None:
    say = _say(content, user)
    target = _parse_id((message.text or "").removeprefix("id").strip())
    if target is None:
        await message.answer(say("staff.forward_expected"), reply_markup=ui.staff_cancel_keyboard(say))
        return
    await state.clear()
    await _add(message, users, target, say)


@router.message(StaffAdd.forward, ~F.text.startswith("/"), flags=ADMIN_ONLY)
async def on_other(message: Message, content: ContentStore, user: UserRecord) -> None:
    say = _say(content, user)
    await message.answer(say("staff.forward_expected"), reply_markup=ui.staff_cancel_keyboard(say))
