"""User lifecycle: consent, reactivation, staff roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.services.roles import Role, resolve_role
from bot.settings import Settings
from db.base import utcnow
from db.models import User
from db.repositories.users import UserRepo


def give_consent(user: User, content: Content) -> None:
    if user.consent_at is not None:
        return
    now = utcnow()
    user.consent_at = now
    user.first_seen_at = now
    user.last_seen_at = now
    if content.single_municipality:
        user.municipality_id = content.default_municipality_id


def reactivate(user: User) -> None:
    """A user who blocked the bot and came back with /start gets messages again."""
    if not user.is_active:
        user.is_active = True


class StaffError(Exception):
    """A staff management request that cannot be carried out; the text is for the user."""


@dataclass(frozen=True)
class StaffMember:
    id: int
    role: Role


async def grant_staff(session: AsyncSession, settings: Settings, target_id: int, by: int) -> bool:
    """Make `target_id` staff; False when they already were."""
    if target_id <= 0:
        raise StaffError("Неверный идентификатор Telegram.")
    if settings.is_admin(target_id):
        raise StaffError("Этот пользователь — администратор (ADMIN_IDS), у него уже есть все права.")
    user = await UserRepo(session).get_or_create(target_id)
    if user.role == "staff":
        return False
    user.role = "staff"
    user.role_granted_by = by
    user.role_granted_at = utcnow()
    return True


async def revoke_staff(session: AsyncSession, settings: Settings, target_id: int) -> bool:
    """Take the staff role away; False when the user was not staff."""
    if settings.is_admin(target_id):
        raise StaffError("Администратора можно убрать только из настройки ADMIN_IDS.")
    user = await UserRepo(session).get(target_id)
    if user is None or user.role != "staff":
        return False
    user.role = "parent"
    user.role_granted_by = None
    user.role_granted_at = None
    return True


async def list_staff(session: AsyncSession, settings: Settings) -> list[StaffMember]:
    members = [StaffMember(uid, Role.ADMIN) for uid in settings.admin_ids]
    for user in await UserRepo(session).list_by_role("staff"):
        members.append(StaffMember(user.id, resolve_role(user.id, user, settings)))
    return members
