"""The catalogue service and repository directly: units of work, pending imports, parts()."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.content import Content, load_content
from bot.directions import Direction
from bot.services.catalogue import CatalogueService, parts
from bot.services.catalogue.query import AgeRange
from bot.services.catalogue.search import SearchFilters
from bot.settings import PROJECT_ROOT
from db.engine import create_engine
from db.models import PendingImport, Program
from db.repositories.users import UserRecord
from db.uow import Database

HEADER = "ID программы;Наименование программы;Направленность;Возраст от;Возраст до;Муниципалитет"
STAFF = 5005


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(PROJECT_ROOT / "content")


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(create_engine(db_url))
    yield db
    await db.dispose()


@pytest.fixture
def catalogue(database: Database) -> CatalogueService:
    return CatalogueService(database)


def _file(*rows: str) -> bytes:
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode()


async def _count(database: Database, model: type[Program] | type[PendingImport]) -> int:
    async with database.read() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_refused_or_unchanged_file_writes_nothing(
    catalogue: CatalogueService, database: Database, content: Content
) -> None:
    bad = await catalogue.prepare_import(STAFF, "bad.csv", _file("1;Шахматы;ФСП;7;40;Саянск"), content)
    assert not bad.ok and bad.token is None and bad.plan is not None and bad.plan.added == ()
    broken = await catalogue.prepare_import(STAFF, "x.xlsx", b"PK\x03\x04 broken", content)
    assert broken.file_error is not None and broken.plan is None
    assert database.writes == 0
    data = _file("1;Шахматы;ФСП;7;10;Саянск")
    first = await catalogue.prepare_import(STAFF, "a.csv", data, content)
    assert first.token is not None
    assert await catalogue.apply_import(first.token, STAFF) is not None
    writes = database.writes
    same = await catalogue.prepare_import(STAFF, "a.csv", data, content)
    assert same.ok and same.token is None and same.plan is not None and same.plan.unchanged == ("1",)
    assert database.writes == writes  # nothing to confirm, nothing kept


async def test_one_pending_import_per_person_and_only_for_them(
    catalogue: CatalogueService, database: Database, content: Content
) -> None:
    first = await catalogue.prepare_import(STAFF, "a.csv", _file("1;Шахматы;ФСП;7;10;Саянск"), content)
    second = await catalogue.prepare_import(STAFF, "b.csv", _file("2;Футбол;ФСП;7;10;Саянск"), content)
    other = await catalogue.prepare_import(7007, "c.csv", _file("3;Вокал;худ;7;10;Саянск"), content)
    assert first.token and second.token and other.token
    assert await _count(database, PendingImport) == 2  # the second file replaced the first
    assert await catalogue.apply_import(first.token, STAFF) is None
    assert await catalogue.apply_import(other.token, STAFF) is None  # another person's
    assert not await catalogue.cancel_import(other.token, STAFF)
    plan = await catalogue.apply_import(second.token, STAFF)
    assert plan is not None and plan.added == ("2",)
    assert await catalogue.apply_import(second.token, STAFF) is None  # applied once
    assert await catalogue.cancel_import(other.token, 7007)
    assert await _count(database, PendingImport) == 0


async def test_two_presses_at_once_apply_the_import_once(
    catalogue: CatalogueService, database: Database, content: Content
) -> None:
    rows = [f"{n};Шахматы {n};ФСП;7;10;Саянск" for n in range(1, 301)]
    preview = await catalogue.prepare_import(STAFF, "a.csv", _file(*rows), content)
    assert preview.token is not None
    results = await asyncio.gather(*(catalogue.apply_import(preview.token, STAFF) for _ in range(2)))
    assert sorted(r is None for r in results) == [False, True]
    assert await _count(database, Program) == 300


async def test_search_pages_and_empty_results(catalogue: CatalogueService, content: Content) -> None:
    assert await catalogue.load_demo_if_empty(content) == 189
    filters = SearchFilters("sayansk", Direction.TECH, AgeRange(10, 10))
    first = await catalogue.search(filters, page=0, page_size=5)
    assert first is not None and first.total > 5 and len(first.hits) == 5
    assert [h.id for h in first.hits] == [h.id for h in (await catalogue.find(filters, limit=5))]
    last_page = (first.total - 1) // 5
    last = await catalogue.search(filters, page=last_page, page_size=5)
    assert last is not None and 1 <= len(last.hits) <= 5
    assert await catalogue.search(filters, page=last_page + 1, page_size=5) is None
    card = await catalogue.program(first.hits[0].id)
    assert card is not None and card.title == first.hits[0].title and card.municipality_id == "sayansk"
    assert await catalogue.program(10**9) is None
    nothing = await catalogue.search(
        SearchFilters("sayansk", Direction.ART, AgeRange(7, 7), keywords=("танцы",), funding="free")
    )
    assert nothing is not None and nothing.total == 0 and nothing.blocking is not None
    assert nothing.blocking[0] == "funding" and not nothing.empty_catalogue
    elsewhere = await catalogue.search(SearchFilters("nowhere"))
    assert elsewhere is not None and elsewhere.empty_catalogue


async def test_parts_describe_forget_report_and_console_hook(
    catalogue: CatalogueService, database: Database, content: Content
) -> None:
    feature = parts()
    assert feature.name == "catalogue" and set(feature.report_sources) == {"catalogue"}
    owner = feature.data_owner
    assert owner is not None and owner.name == "catalogue"
    tz = ZoneInfo("Asia/Irkutsk")
    async with database.read() as uow:
        assert await owner.describe(uow, UserRecord(id=STAFF), content, tz) == []
    await catalogue.prepare_import(STAFF, "a.csv", _file("1;Шахматы;ФСП;7;10;Саянск"), content)
    await catalogue.prepare_import(7007, "a.csv", _file("1;Шахматы;ФСП;7;10;Саянск"), content)
    async with database.read() as uow:
        lines = await owner.describe(uow, UserRecord(id=STAFF), content, tz)
    assert lines == ["• Загруженные, но не применённые файлы каталога программ: 1"]
    async with database.write() as uow:
        await owner.forget(uow, STAFF, -1)
    assert await _count(database, PendingImport) == 1  # another person's stays
    (hook,) = feature.console_hooks
    assert "189 вымышленных программ" in (await hook(database, content) or "")
    assert await hook(database, content) is None
