"""Outreach log and the annual report (feature package; nothing happens on import).

`parts()` declares the privacy owner of the log: staff-logged activities are not
parents' personal data, but they carry the Telegram id of the staff member who
logged them (and the audit trail does too). /mydata shows how many entries a
person logged; /forget re-keys them to an anonymous id, so the report figures stay.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.content import Content
from bot.services.plugins import DataOwner, FeatureParts
from db.repositories.outreach import OutreachRepo
from db.repositories.users import UserRecord
from db.uow import UnitOfWork


async def _describe(uow: UnitOfWork, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
    repo = uow.repo(OutreachRepo)
    logged = await repo.count_logged_by(user.id)
    changes = await repo.count_changes_by(user.id)
    lines = []
    if logged:
        lines.append("• " + content.text("start.mydata_outreach_logged", user.municipality_id, count=logged))
    if changes:
        lines.append(
            "• " + content.text("start.mydata_outreach_changes", user.municipality_id, count=changes)
        )
    return lines


async def _forget(uow: UnitOfWork, user_id: int, anonymous_id: int) -> None:
    await uow.repo(OutreachRepo).rekey_person(user_id, anonymous_id)


def parts() -> FeatureParts:
    return FeatureParts(name="outreach", data_owner=DataOwner("outreach", _describe, _forget))
