from __future__ import annotations

from enum import IntEnum
from typing import Protocol

from bot.settings import Settings


class HasRole(Protocol):
    @property
    def role(self) -> str: ...


class Role(IntEnum):
    """Ordered roles: a higher role can do everything a lower one can."""

    PARENT = 0
    STAFF = 1
    ADMIN = 2

    @property
    def label(self) -> str:
        return {Role.PARENT: "родитель", Role.STAFF: "сотрудник МОЦ", Role.ADMIN: "администратор"}[self]


def resolve_role(user_id: int, user: HasRole | None, settings: Settings) -> Role:
    """Admins come from ADMIN_IDS only; staff is a role stored in the database."""
    if settings.is_admin(user_id):
        return Role.ADMIN
    if user is not None and user.role == "staff":
        return Role.STAFF
    return Role.PARENT
