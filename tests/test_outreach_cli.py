"""The CLI: log-event, import-events (all or nothing) and report in every format."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.cli import main
from bot.settings import PROJECT_ROOT
from db.engine import create_engine, create_sessionmaker
from db.models import OutreachActivity, OutreachAudit


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONTENT_DIR", str(PROJECT_ROOT / "content"))
    monkeypatch.setenv("TIMEZONE", "Asia/Irkutsk")
    monkeypatch.delenv("DEFAULT_MUNICIPALITY", raising=False)
    return db_url


def _count(url: str, model: type[OutreachActivity] | type[OutreachAudit] = OutreachActivity) -> int:
    async def run() -> int:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                return int(await session.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_log_event_and_its_errors(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["log-event", "--date", "2025-03-14", "--audience", "parents", "--kind", "meeting", "--title",
            "Родительское собрание: соцсертификаты"]  # fmt: skip
    # two municipalities in the shipped content: the CLI does not pick one, it names them
    assert main([*base, "--reached", "70"]) == 2
    err = capsys.readouterr().err
    assert "several municipalities" in err and "Саянск (sayansk)" in err and "Зима (zima)" in err
    assert _count(cli_env) == 0
    base += ["--municipality", "sayansk"]
    assert main([*base, "--reached", "70", "--direction", "техническая,худож", "--municipality", "Зима"]) == 0
    assert "logged activity #1" in capsys.readouterr().out
    future = (date.today() + timedelta(days=5)).isoformat()
    cases = [
        (["--reached", "-3"], "negative"),
        (["--reached", "170000"], "--yes"),
        (["--reached", "70", "--municipality", "Атлантида"], "unknown municipality"),
        (["--reached", "70", "--direction", "кулинарная"], "unknown direction"),
        (["--reached", "70", "--format", "by pigeon"], "unknown format"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    for bad_date, message in (("2025-02-30", "does not exist"), (future, "future")):
        args = [*base, "--reached", "5"]
        args[args.index("2025-03-14")] = bad_date
        assert main(args) == 2
        assert message in capsys.readouterr().err
    assert _count(cli_env) == 1
    assert main([*base, "--reached", "170000", "--yes"]) == 0
    assert _count(cli_env) == 2 and _count(cli_env, OutreachAudit) == 2


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["Дата", "Категория участников", "Вид мероприятия", "Охват", "Название", "Направленность"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_import_is_all_or_nothing(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import datetime

    bad = _xlsx(tmp_path / "bad.xlsx", [
        [datetime(2025, 3, 14), "родители", "собрание", 70, "Собрание о сертификатах", "техническая"],
        ["2025-02-30", "родители", "", 10, "Собрание", ""],
        ["2025-04-01", "марсиане", "", 10, "Встреча", ""],
        ["2025-04-02", "педагоги", "вечеринка", 10, "Семинар", ""],
        ["2025-04-03", "педагоги", "", "-7", "Семинар", ""],
        [datetime(2025, 3, 14), "родители", "собрание", 70, "Собрание о сертификатах", ""],
    ])  # fmt: skip
    assert main(["import-events", str(bad)]) == 2
    err = capsys.readouterr().err
    for expected in ("row 3: the date '2025-02-30' does not exist", "row 4: unknown audience",
                     "row 5: unknown kind", "row 6: the number of people reached cannot be negative",
                     "row 7: the same activity as row 2", "nothing was imported"):  # fmt: skip
        assert expected in err, expected
    assert _count(cli_env) == 0
    good = _xlsx(tmp_path / "good.xlsx", [
        [datetime(2025, 3, 14), "родители", "", 70, "Родительское собрание о сертификатах", "техническая"],
        ["15.03.2025", "обучающиеся", "мастер-класс", 25, "Робототехника", ""],
    ])  # fmt: skip
    assert main(["import-events", str(good)]) == 0
    assert "imported 2 activities (95 people reached)" in capsys.readouterr().out
    assert _count(cli_env) == 2
    # importing the same file again would double the figures: refused
    assert main(["import-events", str(good)]) == 2
    assert "already in the log" in capsys.readouterr().err
    assert _count(cli_env) == 2


def test_import_csv_and_bad_files(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "дата;аудитория;охват;название;формат\n2025-05-05;педагоги;15;Семинар-практикум;онлайн\n\n",
        encoding="cp1251",
    )
    assert main(["import-events", str(path)]) == 0
    capsys.readouterr()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    no_columns = tmp_path / "cols.csv"
    no_columns.write_text("когда,что\n2025-01-01,собрание\n", encoding="utf-8")
    cases = (
        (broken, "not a readable XLSX"),
        (no_columns, "missing column"),
        (tmp_path / "x.pdf", "no such file"),
        (tmp_path / "none.csv", "no such file"),
    )
    for file, message in cases:
        assert main(["import-events", str(file)]) == 2
        assert message in capsys.readouterr().err
    other = tmp_path / "x.txt"
    other.write_text("hello")
    assert main(["import-events", str(other)]) == 2
    assert "use an .xlsx or .csv" in capsys.readouterr().err
    assert _count(cli_env) == 1


def test_report_formats(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for audience, reached in (("parents", 70), ("students", 30), ("educators", 12)):
        assert main(["log-event", "--date", "2025-03-14", "--audience", audience, "--kind", "other",
                     "--reached", str(reached), "--title", f"Встреча {audience}",
                     "--municipality", "Саянск"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["report", "--year", "2025"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"]["from"] == "2025-01-01" and data["period"]["to"] == "2025-12-31"
    assert data["outreach"]["total"] == {"events": 3, "reached": 112}
    assert set(data["outreach"]) == {"parents", "students", "educators", "other", "total"}
    assert "bot" in data and "sources" in data
    assert main(["report", "--year", "2025", "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith(
        "В 2025 году проведено 1 мероприятие для родителей с охватом 70"
    )
    assert (
        main(["report", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "csv", "-o", "r.csv"]) == 0
    )
    text = (tmp_path / "r.csv").read_bytes().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text.split("\r\n\r\n")[1]), delimiter=";"))[-1] == [
        "Итого",
        "3",
        "112",
    ]
    assert main(["report", "--academic-year", "2024", "--format", "xlsx"]) == 0
    book = load_workbook(tmp_path / "otchet-moc-2024-2025.xlsx")
    assert list(book["Охват"].iter_rows(values_only=True))[-1] == ("Итого", 3, 112)
    assert main(["report", "--year", "2025", "--municipality", "Зима", "--format", "png", "-o", "c.png"]) == 0
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    next_year = date.today().year + 2
    for args, message in (
        (["--year", str(next_year)], "future"),
        (["--academic-year", str(next_year)], "future"),
        ([], "choose one period"),
        (["--year", "2025", "--academic-year", "2024"], "choose one period"),
        (["--from", "2025-03-01"], "go together"),
        (["--from", "2025-03-01", "--to", "2025-02-30"], "does not exist"),
        (["--from", "2025-03-01", "--to", "2025-02-01"], "before"),
        (["--year", "2025", "--municipality", "Атлантида"], "unknown municipality"),
    ):
        assert main(["report", *args]) == 2, args
        assert message in capsys.readouterr().err, args
