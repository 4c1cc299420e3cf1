"""The program catalogue: import from Navigator exports, search, cards.

Importing this package registers the feature's plug-ins: the privacy owner of
pending imports, the "catalogue" report source and the console hook that loads
the demo catalogue into an empty database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.services import privacy
from bot.services.catalogue.store import load_demo_if_empty, programs_by_direction
from bot.services.report_sources import ReportScope, register_source
from db.models import PendingImport, User

if TYPE_CHECKING:
    from bot.app import App


async def _describe(session: AsyncSession, user: User, content: Content, tz: ZoneInfo) -> list[str]:
    count = await session.scalar(
        select(func.count()).select_from(PendingImport).where(PendingImport.user_id == user.id)
    )
    if not count:
        return []
    return [f"• Загруженные, но не применённые файлы каталога программ: {count}"]


async def _forget(session: AsyncSession, user_id: int, anonymous_id: int) -> None:
    await session.execute(delete(PendingImport).where(PendingImport.user_id == user_id))


async def _report(session: AsyncSession, scope: ReportScope) -> Any:
    return await programs_by_direction(session, scope.municipality_id)


async def _console_demo(app: App, say: Callable[[str], None]) -> None:
    async with app.sessionmaker() as session:
        added = await load_demo_if_empty(session, app.content.current)
        await session.commit()
    if added:
        say(
            f"(каталог программ был пуст: загружены демо-данные — {added} вымышленных программ "
            "из content/programs/demo_programs.csv; попробуйте /search или «робототехника для 10 лет»)"
        )


def _register() -> None:
    from bot.console import STARTUP_HOOKS

    privacy.register_owner(privacy.DataOwner("catalogue", _describe, _forget))
    register_source("catalogue", _report)
    if _console_demo not in STARTUP_HOOKS:
        STARTUP_HOOKS.append(_console_demo)


_register()
