"""What is stored about a person (/mydata) and deleting it (/forget).

The data owners come from every feature's `parts()`, wired by `create_app`; this
service asks each of them, so both commands stay complete without knowing a table.
/forget is one unit of work: every owner deletes (or anonymises) its rows and the
user row goes, committed before the person is told «удалено».
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.channels import channel_of, external_id
from bot.content import Content
from bot.services.plugins import DataOwner
from bot.services.users import ages_text

__all__ = ["CORE_OWNER", "DataOwner", "PrivacyService", "new_anonymous_id"]
from db.repositories.activity import ActivityLogRepo, ActivityWriter
from db.repositories.notices import NoticeRepo
from db.repositories.users import UserRecord, UserRepo
from db.uow import Database, UnitOfWork


def _fmt(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%d.%m.%Y %H:%M") if dt is not None else "—"


def _ages_line(user: UserRecord, content: Content) -> str:
    """The ages now, and what the parent gave on which day (the age is counted from that day)."""
    mid = user.municipality_id
    given: dict[date, list[int]] = {}
    for child in user.children:
        given.setdefault(child.given_on, []).append(child.age)
    parts = [
        content.text(
            "ages.mydata_given", mid, ages=ages_text(sorted(ages), content, mid), day=day.strftime("%d.%m.%Y")
        )
        for day, ages in sorted(given.items())
    ]
    now = ages_text(user.child_ages, content, mid)
    return content.text("ages.mydata", mid, ages=now, given="; ".join(parts))


async def _describe_user(uow: UnitOfWork, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
    mid = user.municipality_id

    def t(key: str, **params: object) -> str:
        return content.text(key, mid, **params)

    # the id the person's own messenger shows, not the internal one (bot/channels)
    known_as = t("start.mydata_id", messenger=channel_of(user.id).label, id=external_id(user.id))
    if user.consent_at is None:
        return [known_as, t("start.mydata_no_consent")]
    lines = [
        known_as,
        t("start.mydata_consent", moment=_fmt(user.consent_at, tz)),
        t("start.mydata_seen", first=_fmt(user.first_seen_at, tz), last=_fmt(user.last_seen_at, tz)),
    ]
    if user.municipality_id:
        lines.append(t("start.mydata_municipality", name=content.municipality(user.municipality_id).name))
    if user.children:
        lines.append(_ages_line(user, content))
    count = await uow.repo(ActivityLogRepo).count_of_user(user.id)
    if count:
        lines.append(t("start.mydata_activity", count=count))
    return lines


async def _forget_activity(uow: UnitOfWork, user_id: int, anonymous_id: int) -> None:
    await uow.repo(ActivityLogRepo).anonymise(user_id, anonymous_id)
    await uow.repo(NoticeRepo).forget_user(user_id)


CORE_OWNER = DataOwner("activity", _describe_user, _forget_activity)


def new_anonymous_id() -> int:
    """A negative id no Telegram user has; keeps distinct-people counts after /forget."""
    return -secrets.randbelow(2**62) - 1


class PrivacyService:
    def __init__(
        self, database: Database, owners: Sequence[DataOwner], writer: ActivityWriter | None = None
    ) -> None:
        self.database = database
        self.owners = [CORE_OWNER, *owners]
        self.writer = writer

    async def describe(self, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
        """Plain-text lines, one per fact (the view escapes and formats them)."""
        if self.writer is not None and self.writer.running:
            await self.writer.flush()  # what was just logged shows too
        lines: list[str] = []
        async with self.database.read() as uow:
            for owner in self.owners:
                lines.extend(await owner.describe(uow, user, content, tz))
        return lines

    async def forget(self, user_id: int) -> None:
        """Delete everything personal about `user_id` in one unit of work."""
        if self.writer is not None and self.writer.running:
            await self.writer.flush()  # logged rows still in memory are written, then anonymised
        anonymous_id = new_anonymous_id()
        async with self.database.write() as uow:
            for owner in reversed(self.owners):
                await owner.forget(uow, user_id, anonymous_id)
            await uow.repo(UserRepo).delete(user_id)
