"""Where programs are: municipality names and aliases, the district column and its
migration, removals confirmed in the service and the CLI, `mocbot search --age 4`."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.cli import main as cli_main
from bot.content import Content, ContentError, load_content, place_key
from bot.services.catalogue import CatalogueService, RemovalToConfirm
from bot.services.catalogue.store import ImportPlan, parse_for_content
from bot.settings import PROJECT_ROOT
from db import migrate
from db.engine import create_engine, create_sessionmaker
from db.models import Program
from db.uow import Database

CONTENT = PROJECT_ROOT / "content"
DEMO = CONTENT / "programs" / "demo_programs.csv"
HEADER = "ID программы;Наименование программы;Направленность;Возраст от;Возраст до;Муниципалитет"
STAFF = 5005


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(CONTENT)


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(create_engine(db_url))
    yield db
    await db.dispose()


def _csv(header: str, *rows: str) -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


# --- municipality names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Зима", "ЗИМА", "г. Зима", "г.Зима", "г Зима", "город Зима", "гор. Зима", "МО «город Зима»",
     "городской округ Зима", "  зима  ", "zima"],
)  # fmt: skip
def test_files_may_write_the_municipality_as_people_do(content: Content, name: str) -> None:
    parsed = parse_for_content(_csv(HEADER, f"1;Шахматы;ФСП;7;10;{name}"), content)
    assert parsed.ok, parsed.row_errors
    assert parsed.records[0]["municipality_id"] == "zima"


def test_shipped_aliases_and_place_keys(content: Content) -> None:
    assert content.municipalities["zima"].aliases == ("Зиминское городское муниципальное образование", "ЗГМО")
    parsed = parse_for_content(_csv(HEADER, "1;Шахматы;ФСП;7;10;ЗГМО"), content)
    assert parsed.ok and parsed.records[0]["municipality_id"] == "zima"
    assert place_key("Город") == "город"  # a prefix alone is the name itself
    assert place_key("Зиминский район") == "зиминский район"  # a district is not the town
    unknown = parse_for_content(_csv(HEADER, "1;Шахматы;ФСП;7;10;Зиминский район"), content)
    assert [p.code for p in unknown.row_errors] == ["municipality"]


def test_an_alias_two_municipalities_share_is_refused(content_copy: Path) -> None:
    path = content_copy / "municipalities.yaml"
    text_ = path.read_text(encoding="utf-8")
    path.write_text(
        text_.replace("      - ЗГМО\n", "      - ЗГМО\n      - г. Саянск\n"),
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as info:
        load_content(content_copy)
    assert "municipalities.yaml: zima: name or alias 'саянск' also names sayansk" in [
        str(p) for p in info.value.problems
    ]


def test_an_empty_alias_is_refused(content_copy: Path) -> None:
    path = content_copy / "municipalities.yaml"
    text_ = path.read_text(encoding="utf-8")
    path.write_text(text_.replace("      - ЗГМО\n", "      - «»\n"), encoding="utf-8")
    with pytest.raises(ContentError, match=r"zima: aliases.*empty once"):
        load_content(content_copy)


def test_mocbot_search_resolves_a_municipality_as_files_write_it(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["import-programs", str(DEMO)]) == 0
    capsys.readouterr()
    assert cli_main(["search", "--municipality", "г. Зима", "--query", "футбол", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found and found[0]["district"] == "Привокзальный"
    assert found[0]["address"].startswith("ул. Клименко")


# --- the district column -----------------------------------------------------------------------


@pytest.mark.parametrize("column", ["Район", "Округ", "Район города", "Микрорайон", "Административный округ"])
def test_the_district_column(content: Content, column: str) -> None:
    parsed = parse_for_content(_csv(f"{HEADER};{column}", "1;Шахматы;ФСП;7;10;Зима;  Заречный  "), content)
    assert parsed.ok, parsed.row_errors
    assert (parsed.records[0]["municipality_id"], parsed.records[0]["district"]) == ("zima", "Заречный")


def test_rayon_is_the_municipality_when_nothing_else_is(content: Content) -> None:
    header = "ID программы;Наименование программы;Направленность;Возраст от;Возраст до;Район"
    parsed = parse_for_content(_csv(header, "1;Шахматы;ФСП;7;10;Зима"), content)
    assert parsed.ok and (parsed.records[0]["municipality_id"], parsed.records[0]["district"]) == ("zima", "")
    # With --municipality the rows need no municipality: «Район» is the district again.
    parsed = parse_for_content(_csv(header, "1;Шахматы;ФСП;7;10;Заречный"), content, override="zima")
    record = parsed.records[0]
    assert parsed.ok and (record["municipality_id"], record["district"]) == ("zima", "Заречный")


def test_a_too_long_district_is_refused(content: Content) -> None:
    parsed = parse_for_content(_csv(f"{HEADER};Район", "1;Шахматы;ФСП;7;10;Зима;" + "я" * 101), content)
    assert [(p.code, p.values) for p in parsed.row_errors] == [("too_long", ("district", "100"))]


async def test_a_changed_district_updates_the_program(database: Database, content: Content) -> None:
    catalogue = CatalogueService(database)
    await catalogue.import_records(parse_for_content(_csv(f"{HEADER};Район", "1;Шахматы;ФСП;7;10;Зима;"),
                                                     content).records)  # fmt: skip
    plan = await catalogue.plan(parse_for_content(_csv(f"{HEADER};Район", "1;Шахматы;ФСП;7;10;Зима;Центр"),
                                                  content).records)  # fmt: skip
    assert plan.updated == ("1",)


MIGRATED_ROW = {
    "external_id": "77", "municipality_id": "zima", "title": "Шахматы", "direction": "sport", "age_from": 7,
    "age_to": 10, "organisation": "ДДТ", "address": "ул. Ленина, 1", "form": "och", "funding": "free",
    "price": None, "ovz": False, "description": "", "schedule": "", "url": "",
    "search_text": " шахматы ", "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
}  # fmt: skip


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def _insert_old_program(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            columns = ", ".join(MIGRATED_ROW)
            await conn.execute(
                text(f"INSERT INTO programs ({columns}) VALUES ({', '.join(':' + c for c in MIGRATED_ROW)})"),
                MIGRATED_ROW,
            )
    finally:
        await engine.dispose()


def test_the_district_migration_keeps_the_programs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    migrate.upgrade(url, "0006")
    asyncio.run(_insert_old_program(url))
    migrate.upgrade(url)
    rows = asyncio.run(_rows(url, "SELECT external_id, title, address, district, search_text FROM programs"))
    assert rows == [("77", "Шахматы", "ул. Ленина, 1", "", " шахматы ")]
    migrate.downgrade(url, "0006")
    rows = asyncio.run(_rows(url, "SELECT external_id, title, address FROM programs"))
    assert rows == [("77", "Шахматы", "ул. Ленина, 1")]
    migrate.upgrade(url)


@pytest.mark.postgres
def test_the_district_migration_keeps_the_programs_on_postgres(pg_url: str) -> None:
    migrate.upgrade(pg_url, "0006")
    asyncio.run(_insert_old_program(pg_url))
    migrate.upgrade(pg_url)
    rows = asyncio.run(_rows(pg_url, "SELECT external_id, district FROM programs"))
    assert rows == [("77", "")]
    migrate.downgrade(pg_url, "0006")
    migrate.upgrade(pg_url)


async def test_an_import_kept_before_the_upgrade_is_still_applied(database: Database) -> None:
    """A pending import written before districts existed (kept an hour) has no district key."""
    from db.base import utcnow
    from db.repositories.catalogue import CatalogueRepo

    record = {k: v for k, v in MIGRATED_ROW.items() if k not in ("search_text", "updated_at")}
    assert "district" not in record
    async with database.write() as uow:
        now = utcnow()
        await uow.repo(CatalogueRepo).add_pending(
            "tok", STAFF, file_name="old.csv", payload=json.dumps([record]), now=now, stale_before=now
        )
    plan = await CatalogueService(database).apply_import("tok", STAFF)
    assert isinstance(plan, ImportPlan) and plan.added == ("77",)


# --- removals are confirmed --------------------------------------------------------------------


async def test_the_service_never_removes_more_than_confirmed(database: Database, content: Content) -> None:
    catalogue = CatalogueService(database)
    three = _csv(HEADER, "1;Шахматы;ФСП;7;10;Зима", "2;Вокал;худ;7;10;Зима", "3;Театр;худ;7;10;Зима")
    await catalogue.import_records(parse_for_content(three, content).records)
    one = _csv(HEADER, "1;Шахматы;ФСП;7;10;Зима")
    preview = await catalogue.prepare_import(STAFF, "one.csv", one, content)
    assert preview.token is not None and preview.plan is not None
    assert [preview.plan.title(e) for e in preview.plan.removed] == ["Вокал", "Театр"]
    for confirmed in (0, 1):
        outcome = await catalogue.apply_import(preview.token, STAFF, removals_confirmed=confirmed)
        assert isinstance(outcome, RemovalToConfirm) and outcome.removed == 2
    async with database.read() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Program)) == 3
    applied = await catalogue.apply_import(preview.token, STAFF, removals_confirmed=2)
    assert isinstance(applied, ImportPlan) and applied.removed == ("2", "3")


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)  # no .env from the project
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONTENT_DIR", str(CONTENT))
    for name in ("BOT_TOKEN", "DEFAULT_MUNICIPALITY"):
        monkeypatch.delenv(name, raising=False)
    return db_url


async def _titles(db_url: str) -> set[str]:
    engine = create_engine(db_url)
    try:
        async with create_sessionmaker(engine)() as s:
            return set(await s.scalars(select(Program.title)))
    finally:
        await engine.dispose()


def test_cli_removes_programs_only_with_a_second_yes(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    three = tmp_path / "three.csv"
    three.write_bytes(
        _csv(HEADER, "1;Шахматы;ФСП;7;10;Зима", "2;Вокал;худ;7;10;Зима", "3;Театр;худ;7;10;Зима")
    )
    one = tmp_path / "one.csv"
    one.write_bytes(_csv(HEADER, "1;Шахматы;ФСП;7;10;Зима"))
    assert cli_main(["import-programs", str(three)]) == 0
    capsys.readouterr()
    assert cli_main(["import-programs", str(one), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "removed: 2" in out and "2\tВокал" in out and "3\tТеатр" in out
    assert cli_main(["import-programs", str(one)]) == 2  # not a terminal: no «y» can come
    captured = capsys.readouterr()
    assert "2\tВокал" in captured.out and "Run again with --yes" in captured.err
    assert asyncio.run(_titles(cli_env)) == {"Шахматы", "Вокал", "Театр"}
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert cli_main(["import-programs", str(one)]) == 2
    assert asyncio.run(_titles(cli_env)) == {"Шахматы", "Вокал", "Театр"}
    monkeypatch.setattr("builtins.input", lambda prompt: "да")
    assert cli_main(["import-programs", str(one)]) == 0
    assert asyncio.run(_titles(cli_env)) == {"Шахматы"}
    assert cli_main(["import-programs", str(three)]) == 0
    assert cli_main(["import-programs", str(one), "--yes"]) == 0
    assert "removed: 2" in capsys.readouterr().out
    assert asyncio.run(_titles(cli_env)) == {"Шахматы"}


def test_cli_search_takes_the_ages_the_catalogue_holds_and_a_district(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["import-programs", str(DEMO)]) == 0
    capsys.readouterr()
    assert cli_main(["search", "--age", "4", "--query", "шахматы", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [f["title"] for f in found] == ["Шахматы для дошкольников «Пешка»"]
    assert cli_main(["search", "--age", "2"]) == 2
    assert "--age must be from 3 to 18" in capsys.readouterr().err
    assert cli_main(["search", "--municipality", "Саянск", "--district", "мкр. Олимпийский", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found and {f["district"] for f in found} == {"мкр. Олимпийский"}
