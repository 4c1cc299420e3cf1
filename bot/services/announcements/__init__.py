"""Announcements: subscriptions, events with sign-ups and reminders, broadcasts.

Importing the package does nothing; `parts()` declares what it contributes beyond its
handlers: the privacy owner "announcements" (subscriptions, sign-ups with the name and phone
a parent gave, outbox rows, authored broadcasts and events) and the "open_days" report source.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.content import Content
from bot.directions import Direction
from bot.services.announcements.events import CONTACT_RETENTION, local, open_days_source, when_text
from bot.services.plugins import DataOwner, FeatureParts
from bot.services.users import UserRecord
from db.repositories.announcements import BroadcastRepo, EventRepo, SubscriptionRepo
from db.uow import UnitOfWork

__all__ = ["parts"]


async def describe(uow: UnitOfWork, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
    """What the feature stores about `user`, as plain-text lines for /mydata (the view escapes them)."""

    def t(key: str, **params: object) -> str:
        return content.text(key, user.municipality_id, **params)

    lines: list[str] = []
    sub = await uow.repo(SubscriptionRepo).get(user.id)
    if sub is not None:
        state = "on" if sub.active else "off"
        dirs = ", ".join(d.title for d in Direction if d.code in sub.directions)
        if dirs:
            lines.append("• " + t(f"subscription.mydata_{state}_directions", directions=dirs))
        else:
            lines.append("• " + t(f"subscription.mydata_{state}"))
    for event, signup in await uow.repo(EventRepo).signups_of(user.id):
        contact = ", ".join(part for part in (signup.name, signup.phone) if part)
        if contact:
            until = local(event.starts_at + CONTACT_RETENTION, event.timezone).strftime("%d.%m.%Y")
            line = t(
                "signup.mydata_contact",
                title=event.title,
                when=when_text(event),
                contact=contact,
                until=until,
            )
        else:
            line = t("signup.mydata", title=event.title, when=when_text(event))
        lines.append("• " + line)
    received = await uow.repo(BroadcastRepo).delivered_to(user.id)
    if received:
        lines.append("• " + t("subscription.mydata_deliveries", count=received))
    return lines


async def forget(uow: UnitOfWork, user_id: int, anonymous_id: int) -> None:
    """/forget: the subscription goes, nothing more is sent; sign-ups lose the name and phone and,
    like delivery marks and authored broadcasts and events, stay for the counts re-keyed to
    `anonymous_id` (the report counts them as the activity log does)."""
    await uow.repo(SubscriptionRepo).delete(user_id)
    await uow.repo(EventRepo).forget(user_id, anonymous_id)
    await uow.repo(BroadcastRepo).forget(user_id, anonymous_id)


def parts() -> FeatureParts:
    return FeatureParts(
        name="announcements",
        data_owner=DataOwner("announcements", describe, forget),
        report_sources={"open_days": open_days_source},
    )
