"""People: who they are (read without writing), consent, municipality, staff roles.

A service owns its unit of work: each method opens one short transaction, commits it
and returns a frozen record. The handler speaks only after the method returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.content import Content
from bot.services.roles import Role, resolve_role
from bot.settings import Settings
from db.base import utcnow
from db.repositories.users import ChildAge, UserRecord, UserRepo, today_utc
from db.uow import Database

logger = logging.getLogger(__name__)

__all__ = [
    "ChildAge",
    "ConsentResult",
    "SeenWriter",
    "StaffError",
    "StaffMember",
    "UserRecord",
    "UserService",
    "ages_text",
    "today_utc",
]


def ages_text(ages: Sequence[int], content: Content, municipality_id: str | None = None) -> str:
    """«7 лет», «7 и 12 лет», «5, 8 и 13 лет» (words from content/texts/announcements.yaml)."""
    if not ages:
        return ""
    *head, last = [int(a) for a in ages]
    if not head:
        return content.text("ages.phrase_one", municipality_id, last=last)
    return content.text("ages.phrase", municipality_id, head=", ".join(str(a) for a in head), last=last)


class StaffError(Exception):
    """A staff management request that cannot be carried out; `key` names the text (content
    staff.error_*) the handler shows."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class StaffMember:
    id: int
    role: Role


@dataclass(frozen=True)
class ConsentResult:
    first_time: bool
    user: UserRecord


class SeenWriter:
    """Batches last-seen stamps: an update that only reads takes no write lock.

    `note()` is a dict assignment; every `interval` seconds one UPDATE writes the
    newest stamp of every user seen since (only users who gave consent keep stamps).
    """

    def __init__(self, database: Database, *, interval: float = 2.0) -> None:
        self.database = database
        self.interval = interval
        self._seen: dict[int, datetime] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def note(self, user_id: int) -> None:
        self._seen[user_id] = utcnow()

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="seen-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        if not self._seen:
            return
        batch, self._seen = self._seen, {}
        try:
            async with self.database.write() as uow:
                await uow.repo(UserRepo).touch_many(batch)
        except Exception:
            for user_id, when in batch.items():  # keep them for the next attempt
                self._seen.setdefault(user_id, when)
            raise

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("writing last-seen stamps failed; retrying")


class UserService:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    async def lookup(self, user_id: int) -> UserRecord:
        """The person as stored, or an unstored record: reading never creates a row."""
        async with self.database.read() as uow:
            found = await uow.repo(UserRepo).get(user_id)
        return found if found is not None else UserRecord.unknown(user_id)

    def role_of(self, user: UserRecord) -> Role:
        return resolve_role(user.id, user, self.settings)

    async def came_back(self, user: UserRecord) -> UserRecord:
        """/start from someone who had blocked the bot: messages reach them again."""
        if not user.stored or user.is_active:
            return user
        async with self.database.write() as uow:
            await uow.repo(UserRepo).set_active(user.id, True)
            fresh = await uow.repo(UserRepo).get(user.id)
        return fresh or user

    async def stopped_in_max(self, user_id: int) -> None:
        """MAX said the person stopped the bot (`bot_stopped`): nothing more is sent to them
        until they start it again, as after Telegram's 403."""
        async with self.database.write() as uow:
            await uow.repo(UserRepo).set_active(user_id, False)

    async def give_consent(
        self, user_id: int, content: Content, municipality_id: str | None = None
    ) -> ConsentResult:
        """Consent and the municipality whose МОЦ it names, in one unit of work (with one
        municipality, that one). A consent given before changes nothing."""
        municipality = content.default_municipality_id if content.single_municipality else None
        if municipality_id in content.municipalities:
            municipality = municipality_id
        async with self.database.write() as uow:
            repo = uow.repo(UserRepo)
            first = await repo.give_consent(user_id, utcnow(), municipality)
            user = await repo.get(user_id)
        assert user is not None
        return ConsentResult(first, user)

    async def choose_municipality(self, user_id: int, municipality_id: str) -> UserRecord:
        async with self.database.write() as uow:
            repo = uow.repo(UserRepo)
            await repo.set_municipality(user_id, municipality_id)
            user = await repo.get(user_id)
        assert user is not None
        return user

    async def set_child_ages(self, user_id: int, ages: list[int]) -> UserRecord:
        async with self.database.write() as uow:
            repo = uow.repo(UserRepo)
            await repo.set_child_ages(user_id, ages, today_utc())  # the age counts from today
            user = await repo.get(user_id)
        assert user is not None
        return user

    async def grant_staff(self, target_id: int, by: int) -> bool:
        """Make `target_id` staff; False when they already were."""
        if target_id <= 0:
            raise StaffError("staff.error_bad_id")
        if self.settings.is_admin(target_id):
            raise StaffError("staff.error_is_admin")
        async with self.database.write() as uow:
            repo = uow.repo(UserRepo)
            current = await repo.get(target_id)
            if current is not None and current.role == "staff":
                return False
            await repo.set_role(target_id, "staff", by, utcnow())
        return True

    async def revoke_staff(self, target_id: int) -> bool:
        """Take the staff role away; False when the user was not staff."""
        if self.settings.is_admin(target_id):
            raise StaffError("staff.error_remove_admin")
        async with self.database.write() as uow:
            repo = uow.repo(UserRepo)
            current = await repo.get(target_id)
            if current is None or current.role != "staff":
                return False
            await repo.set_role(target_id, "parent", None, None)
        return True

    async def list_staff(self) -> list[StaffMember]:
        members = [StaffMember(uid, Role.ADMIN) for uid in self.settings.admin_ids]
        async with self.database.read() as uow:
            staff = await uow.repo(UserRepo).list_by_role("staff")
        members.extend(StaffMember(u.id, resolve_role(u.id, u, self.settings)) for u in staff)
        return members
