from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.middlewares import RoleGuard
from bot.services.roles import Role
from bot.services.users import StaffError, UserService

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))

USAGE = (
    "Управление сотрудниками:\n"
    "/staff list — список\n"
    "/staff add &lt;id&gt; — назначить сотрудником\n"
    "/staff remove &lt;id&gt; — снять роль\n\n"
    "Идентификатор Telegram — число; пользователь может узнать его командой /mydata."
)


def _parse_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.lstrip("-").isdigit() or len(raw) > 19:
        return None
    return int(raw)


@router.message(Command("staff"))
async def cmd_staff(
    message: Message, command: CommandObject, users: UserService, role: Role
) -> None:
    args = (command.args or "").split(maxsplit=1)
    action = args[0].lower() if args else "list"
    if action == "list":
        members = await users.list_staff()
        if not members:
            await message.answer("Сотрудников пока нет. Администраторы задаются настройкой ADMIN_IDS.")
            return
        lines = [f"• <code>{m.id}</code> — {m.role.label}" for m in members]
        await message.answer("<b>Сотрудники и администраторы</b>\n" + "\n".join(lines))
        return
    if action not in {"add", "remove"}:
        await message.answer(USAGE)
        return
    if role < Role.ADMIN:
        await message.answer("Назначать и снимать сотрудников могут только администраторы бота.")
        return
    target = _parse_id(args[1] if len(args) > 1 else None)
    if target is None:
        await message.answer("Укажите числовой идентификатор Telegram, например: /staff add 123456789")
        return
    try:
        if action == "add":
            changed = await users.grant_staff(target, by=message.chat.id)
            text = (
                f"Пользователь <code>{target}</code> назначен сотрудником МОЦ."
                if changed
                else f"Пользователь <code>{target}</code> уже сотрудник."
            )
        else:
            changed = await users.revoke_staff(target)
            text = (
                f"Роль сотрудника снята с <code>{target}</code>."
                if changed
                else f"Пользователь <code>{target}</code> не был сотрудником."
            )
    except StaffError as exc:
        await message.answer(str(exc))
        return
    await message.answer(text)
