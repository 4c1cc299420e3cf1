"""The program catalogue: import from Navigator exports, search, cards.

Importing this package does nothing; `parts()` says what the feature contributes beyond
its handlers (create_app wires it): the privacy owner of pending imports, the
"catalogue" report source and the console hook that loads the demo catalogue into an
empty database.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.services.catalogue.service import CatalogueService, ImportPreview, RemovalToConfirm, SearchResult
from bot.services.catalogue.store import programs_by_direction
from bot.services.plugins import DataOwner, FeatureParts, ReportScope
from db.repositories.catalogue import CatalogueRepo
from db.repositories.users import UserRecord
from db.uow import Database, UnitOfWork

__all__ = ["CatalogueService", "ImportPreview", "RemovalToConfirm", "SearchResult", "parts"]


async def describe_data(uow: UnitOfWork, user: UserRecord, content: Content, tz: ZoneInfo) -> list[str]:
    """/mydata: pending imports of this person (plain text)."""
    count = await uow.repo(CatalogueRepo).count_pending(user.id)
    if not count:
        return []
    return [content.text("catalogue.mydata_pending", user.municipality_id, count=count)]


async def forget_data(uow: UnitOfWork, user_id: int, anonymous_id: int) -> None:
    """/forget: pending imports are personal (who uploaded what) and simply go."""
    await uow.repo(CatalogueRepo).delete_pending_of(user_id)


async def report_programs(uow: UnitOfWork, scope: ReportScope) -> Any:
    """Programs per направленность (and how many are adapted for ОВЗ) now, for the report."""
    return await programs_by_direction(uow.repo(CatalogueRepo), scope.municipality_id)


async def load_demo_catalogue(database: Database, content: Content) -> str | None:
    """Console hook: an empty catalogue gets the demo programs, and the console says so."""
    added = await CatalogueService(database).load_demo_if_empty(content)
    if not added:
        return None
    return content.text("catalogue.console_demo", count=added)


def parts() -> FeatureParts:
    return FeatureParts(
        name="catalogue",
        data_owner=DataOwner("catalogue", describe_data, forget_data),
        report_sources={"catalogue": report_programs},
        console_hooks=(load_demo_catalogue,),
    )
