"""Outreach log and the annual report (feature module).

On import it registers the privacy owner of the log: staff-logged activities
are not parents' personal data, but they carry the Telegram id of the staff
member who logged them (and the audit trail does too). /mydata shows how many
entries a person logged; /forget re-keys them to an anonymous id, so the report
figures stay.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.services import privacy
from db.models import User
from db.repositories.outreach import OutreachRepo


async def _describe(session: AsyncSession, user: User, content: Content, tz: ZoneInfo) -> list[str]:
    repo = OutreachRepo(session)
    logged = await repo.count_logged_by(user.id)
    changes = await repo.count_changes_by(user.id)
    lines = []
    if logged:
        lines.append(f"• Мероприятий МОЦ, записанных вами в журнал для отчёта: {logged}")
    if changes:
        lines.append(f"• Записей в истории изменений журнала мероприятий от вашего имени: {changes}")
    return lines


async def _forget(session: AsyncSession, user_id: int, anonymous_id: int) -> None:
    await OutreachRepo(session).rekey_person(user_id, anonymous_id)


privacy.register_owner(privacy.DataOwner("outreach", _describe, _forget))
