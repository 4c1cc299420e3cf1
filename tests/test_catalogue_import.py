"""Reading catalogue files, applying imports all-or-nothing, the CLI and the report source."""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.cli import main as cli_main
from bot.content import Content, load_content
from bot.services.catalogue import CatalogueService, parts
from bot.services.catalogue.importer import ParsedFile, describe
from bot.services.catalogue.store import parse_for_content
from bot.services.plugins import ReportScope
from bot.settings import PROJECT_ROOT
from bot.views.catalogue import Texts, problem_text
from db.engine import create_engine, create_sessionmaker
from db.models import Program
from db.uow import Database

DEMO = PROJECT_ROOT / "content" / "programs" / "demo_programs.csv"
HEADER = "ID программы;Наименование программы;Направленность;Возраст от;Возраст до;Муниципалитет"


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


def parse(text: str, content: Content, encoding: str = "utf-8", override: str | None = None) -> ParsedFile:
    return parse_for_content(text.encode(encoding), content, override)


def codes(parsed: ParsedFile) -> list[tuple[int | None, str]]:
    return [(p.row, p.code) for p in parsed.row_errors]


def test_demo_catalogue_is_valid_and_covers_all_directions(content: Content) -> None:
    parsed = parse_for_content(DEMO.read_bytes(), content)
    assert parsed.ok and parsed.rows == len(parsed.records) >= 150
    assert {r["direction"] for r in parsed.records} == {"tech", "sci", "sport", "art", "tour", "soc"}
    assert {r["municipality_id"] for r in parsed.records} == {"sayansk", "zima"}
    assert min(r["age_from"] for r in parsed.records) == 3  # a few programs take 3-year-olds
    assert max(r["age_to"] for r in parsed.records) >= 17
    assert all(r["district"] for r in parsed.records)


def test_header_variants_cp1251_and_commas_are_understood(content: Content) -> None:
    text = (
        "Программа,направленность,ВОЗРАСТ С,Макс. возраст,Район,Учреждение,Ссылка на программу,Цвет\r\n"
        "Шахматы,физкультурно-спортивная,7,12,саянск,ДДТ,https://р38.навигатор.дети/program/1,синий\r\n"
    )
    parsed = parse(text.replace("Программа,", "Код программы,Программа,").replace("Шахматы,", "77,Шахматы,"),
                   content, encoding="cp1251")  # fmt: skip
    assert parsed.ok, parsed.row_errors
    assert parsed.unknown_columns == ["Цвет"]
    record = parsed.records[0]
    assert (record["external_id"], record["title"], record["direction"]) == ("77", "Шахматы", "sport")
    assert (record["age_from"], record["age_to"], record["municipality_id"]) == (7, 12, "sayansk")
    assert (record["organisation"], record["funding"], record["form"], record["ovz"]) == (
        "ДДТ",
        "free",
        "och",
        False,
    )


def test_utf8_bom_and_forgiving_directions(content: Content) -> None:
    rows = [
        "1;Робототехника;Техн.;7;10;Зима",
        "2;Экология;естественно-научная;7;10;ЗИМА",
        "3;Туризм;Туристско-краеведческой направленности;7;10;zima",
    ]
    parsed = parse_for_content(("\ufeff" + HEADER + "\n" + "\n".join(rows)).encode("utf-8"), content)
    assert parsed.ok, parsed.row_errors
    assert [r["direction"] for r in parsed.records] == ["tech", "sci", "tour"]


def test_xlsx_is_read(content: Content) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([*HEADER.split(";"), "ОВЗ", "Стоимость", "Финансирование"])
    ws.append([101, "Футбол", "ФСП", 8, 14.0, "Саянск", "да", "1 500 руб.", "по сертификату"])
    ws.append([None] * 9)
    ws.append([102, "Вокал", "художественная", 6, 9, "Саянск", "нет", None, "Бесплатно"])
    buffer = io.BytesIO()
    wb.save(buffer)
    parsed = parse_for_content(buffer.getvalue(), content)
    assert parsed.ok, parsed.row_errors
    first, second = parsed.records
    assert (first["external_id"], first["age_to"], first["ovz"], first["price"], first["funding"]) == (
        "101",
        14,
        True,
        1500,
        "cert",
    )
    assert second["funding"] == "free" and second["price"] is None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_table"),
        (b"PK\x03\x04 not really a zip", "not_table"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
        (HEADER.encode(), "only_headers"),
        ("ID программы;Направленность;Возраст от\n1;техническая;7".encode(), "missing_columns"),
    ],
)
def test_broken_files_are_refused(content: Content, data: bytes, code: str) -> None:
    parsed = parse_for_content(data, content)
    assert parsed.file_error is not None and parsed.file_error.code == code
    assert not parsed.ok and parsed.records == []
    assert describe(parsed.file_error) and problem_text(Texts(content, None), parsed.file_error)


def test_ten_megabytes_of_garbage_are_refused(content: Content) -> None:
    rnd = random.Random(5)
    garbage = bytes(rnd.getrandbits(8) for _ in range(1024)) * (10 * 1024)
    parsed = parse_for_content(garbage, content)
    assert parsed.file_error is not None and parsed.file_error.code == "not_table"


def test_bad_rows_are_all_reported_with_row_numbers(content: Content) -> None:
    rows = [
        "1;Шахматы;физкультурно-спортивная;семь;10;Саянск",
        "2;Вокал;художественная;7;40;Саянск",
        "3;Кулинария;кулинарная;7;10;Саянск",
        "4;Футбол;физкультурно-спортивная;12;8;Саянск",
        "5;Театр;художественная;7;10;Усть-Кут",
        ";Без номера;художественная;7;10;Саянск",
        "7;Танцы;художественная;7;10;Саянск",
        "7;Танцы снова;художественная;7;10;Саянск",
    ]
    parsed = parse(HEADER + "\n" + "\n".join(rows), content)
    assert codes(parsed) == [
        (2, "not_number"),
        (3, "age_range"),
        (4, "direction"),
        (5, "age_order"),
        (6, "municipality"),
        (7, "required"),
        (9, "duplicate"),
    ]
    assert not parsed.ok
    messages = [problem_text(Texts(content, None), p) for p in parsed.row_errors]
    assert messages[0] == "строка 2: «Возраст от»: «семь» — не число"
    assert "Усть-Кут" in messages[4]
    assert "повторяется (уже был в строке 8)" in messages[6]


def test_municipality_override(content: Content) -> None:
    parsed = parse("ID программы;Программа;Направленность;Возраст от;Возраст до\n1;Шахматы;ФСП;7;10",
                   content, override="zima")  # fmt: skip
    assert parsed.ok and parsed.records[0]["municipality_id"] == "zima"


def _csv(rows: list[str]) -> bytes:
    return (HEADER + ";Описание\n" + "\n".join(rows)).encode()


async def test_plan_and_apply_added_updated_unchanged_removed(
    catalogue: CatalogueService, database: Database, content: Content
) -> None:
    first = parse_for_content(
        _csv(["1;Шахматы;ФСП;7;10;Саянск;", "2;Вокал;худ;7;10;Саянск;", "3;Театр;худ;7;10;Саянск;",
              "9;Лыжи;ФСП;7;10;Зима;"]), content)  # fmt: skip
    plan = await catalogue.import_records(first.records)
    assert plan.counts() == {"added": 4, "updated": 0, "unchanged": 0, "removed": 0}
    second = parse_for_content(
        _csv(["1;Шахматы;ФСП;7;10;Саянск;", "2;Вокал;худ;6;10;Саянск;поём", "4;Хор;худ;7;10;Саянск;"]),
        content,
    )
    preview = await catalogue.plan(second.records)
    assert (preview.added, preview.updated, preview.unchanged, preview.removed) == (
        ("4",),
        ("2",),
        ("1",),
        ("3",),
    )
    async with database.read() as uow:  # a plan changes nothing
        assert await uow.session.scalar(select(func.count()).select_from(Program)) == 4
    await catalogue.import_records(second.records)
    async with database.read() as uow:
        rows = {p.external_id: p for p in await uow.session.scalars(select(Program))}
        # Зима was not in the file, so its program stays.
        assert set(rows) == {"1", "2", "4", "9"}
        assert rows["2"].age_from == 6 and " поем " in rows["2"].search_text
        assert rows["1"].updated_at.tzinfo is not None


async def test_demo_loads_only_into_an_empty_catalogue(catalogue: CatalogueService, content: Content) -> None:
    added = await catalogue.load_demo_if_empty(content)
    assert added >= 150
    assert await catalogue.load_demo_if_empty(content) == 0


async def test_report_source_counts_programs_per_direction(
    catalogue: CatalogueService, database: Database, content: Content
) -> None:
    parsed = parse_for_content(
        ("ID программы;Программа;Направленность;Возраст от;Возраст до;Муниципалитет;ОВЗ\n"
         "1;Шахматы;ФСП;7;10;Саянск;да\n2;Футбол;ФСП;7;10;Саянск;нет\n3;ИЗО;худ;7;10;Зима;да").encode(),
        content,
    )  # fmt: skip
    await catalogue.import_records(parsed.records)
    source = parts().report_sources["catalogue"]
    now = datetime.now(UTC)
    async with database.read() as uow:
        sayansk = await source(uow, ReportScope(now, now, "sayansk"))
    by_code = {row["direction"]: row for row in sayansk["directions"]}
    assert (by_code["sport"]["programs"], by_code["sport"]["ovz_programs"]) == (2, 1)
    assert by_code["art"]["programs"] == 0 and len(by_code) == 6
    region = await catalogue.programs_by_direction(None)
    assert (region["total"], region["ovz_total"]) == (3, 2)


# --- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)  # no .env from the project
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONTENT_DIR", str(PROJECT_ROOT / "content"))
    for name in ("BOT_TOKEN", "DEFAULT_MUNICIPALITY"):
        monkeypatch.delenv(name, raising=False)
    return db_url


async def _count(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        async with create_sessionmaker(engine)() as s:
            return int(await s.scalar(select(func.count()).select_from(Program)) or 0)
    finally:
        await engine.dispose()


def test_cli_import_dry_run_then_real(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    assert cli_main(["import-programs", str(DEMO), "--dry-run"]) == 0
    assert "would be added: 189" in capsys.readouterr().out
    assert asyncio.run(_count(cli_env)) == 0
    assert cli_main(["import-programs", str(DEMO)]) == 0
    assert asyncio.run(_count(cli_env)) == 189
    assert cli_main(["import-programs", str(DEMO)]) == 0
    assert "unchanged: 189" in capsys.readouterr().out


def test_cli_refuses_a_bad_file_and_changes_nothing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n1;Шахматы;ФСП;7;10;Саянск\n2;Футбол;ФСП;7;40;Саянск\n", encoding="utf-8")
    assert cli_main(["import-programs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "outside 3-18" in err and "nothing was imported" in err
    assert asyncio.run(_count(cli_env)) == 0
    assert cli_main(["import-programs", str(tmp_path / "missing.xlsx")]) == 2
    assert cli_main(["import-programs", str(DEMO), "--municipality", "Атлантида"]) == 2
    assert "unknown municipality" in capsys.readouterr().err


def test_cli_search_json_is_ranked_like_the_bot(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["import-programs", str(DEMO)]) == 0
    capsys.readouterr()
    args = ["search", "--direction", "техн", "--age", "10", "--query", "робототехника", "--municipality",
            "Саянск", "--json"]  # fmt: skip
    assert cli_main(args) == 0
    found = json.loads(capsys.readouterr().out)
    assert found and found[0]["title"].startswith("Робототехника")
    assert all(f["direction"] == "техническая" and f["age_from"] <= 10 <= f["age_to"] for f in found)
    assert set(found[0]) == {"external_id", "title", "direction", "age_from", "age_to", "organisation",
                             "address", "district", "funding", "ovz"}  # fmt: skip
    assert cli_main(["search", "--age", "40", "--json"]) == 2
    assert cli_main(["search", "--direction", "кулинарная", "--json"]) == 2
    assert os.environ["DATABASE_URL"] == cli_env


@pytest.mark.postgres
async def test_import_search_and_report_on_postgres(pg_url: str, content: Content) -> None:
    from bot.directions import Direction
    from bot.services.catalogue.query import AgeRange
    from bot.services.catalogue.search import SearchFilters
    from db.migrate import upgrade_async

    await upgrade_async(pg_url)
    database = Database(create_engine(pg_url))
    catalogue = CatalogueService(database)
    try:
        assert await catalogue.load_demo_if_empty(content) == 189
        edited = DEMO.read_bytes().replace("Робошкола".encode(), "Робошкола+".encode())
        changed = parse_for_content(edited, content)
        plan = await catalogue.import_records(changed.records)
        assert plan.counts()["updated"] >= 1 and plan.counts()["added"] == 0
        filters = SearchFilters("sayansk", Direction.TECH, AgeRange(10, 10), keywords=("робототехника",))
        hits = await catalogue.find(filters)
        assert hits and hits[0].title.startswith("Робототехника")
        report = await catalogue.programs_by_direction("zima")
        assert report["total"] == 76
    finally:
        await database.dispose()


def test_header_below_a_title_is_found(content: Content) -> None:
    text = "Реестр программ дополнительного образования;;\n;;\nВыгрузка от 01.09.2026\n" + HEADER
    parsed = parse(text + "\n1;Шахматы;ФСП;7;10;Саянск", content)
    assert parsed.ok and parsed.records[0]["title"] == "Шахматы" and parsed.unknown_columns == []
