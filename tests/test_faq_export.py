"""`mocbot export-questions`: real questions as an evaluation file, and the benchmark reading it."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.settings import PROJECT_ROOT
from db.engine import create_engine, create_sessionmaker
from db.models.faq import FaqQuestion

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

import faq_eval


def _store(url: str, rows: list[tuple[str, str, str | None, datetime]]) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                for text, decision, matched, when in rows:
                    session.add(
                        FaqQuestion(
                            asked_at=when,
                            user_id=42,
                            text=text,
                            normalized=" ".join(text.lower().split()),
                            decision=decision,
                            matched_id=matched,
                            score=0.9 if matched else 0.1,
                        )
                    )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONTENT_DIR", str(PROJECT_ROOT / "content"))
    assert main(["db", "upgrade"]) == 0
    return db_url


def test_export_labels_and_evaluate(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day = datetime(2026, 10, 5, 9, tzinfo=UTC)
    _store(
        cli_env,
        [
            ("скока денег на серте", "answer", "certificate-balance", day),
            ("Скока  денег на серте", "answer", "certificate-balance", day),  # the same again
            ("как записать в садик", "fallback", None, day),
            ("привет", "smalltalk", None, day),
            ("", "suggest", "navigator-login", day),  # blanked by /forget
            ("навигатор не пускает", "suggest", "navigator-login", datetime(2026, 9, 1, tzinfo=UTC)),
        ],
    )
    out = tmp_path / "real.yaml"
    assert (
        main(["export-questions", "--since", "2026-10-01", "--until", "2026-10-31", "--out", str(out)]) == 0
    )
    text = out.read_text(encoding="utf-8")
    assert "user" not in text and ": 42" not in text  # who asked is never exported
    items = yaml.safe_load(text)["items"]
    assert [i["q"] for i in items] == ["скока денег на серте", "как записать в садик"]
    assert items[0]["id"] == "certificate-balance" and items[1]["id"] is None
    assert all(i["checked"] is False and i["split"] == "holdout" for i in items)
    # nothing is measured until a person has checked the labels
    assert faq_eval.load_items(out) == []
    out.write_text(text.replace("checked: false", "checked: true", 1), encoding="utf-8")
    assert [i.q for i in faq_eval.load_items(out)] == ["скока денег на серте"]
    assert faq_eval.main(["--eval", str(out), "--scale", "95"]) == 0
    assert "eval: 1 questions" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "01.10.2026"], "--since: expected a date as YYYY-MM-DD"),
        (["--since", "2026-10-05", "--until", "2026-10-01"], "is after --until"),
    ],
)
def test_export_refuses_bad_dates(
    cli_env: str, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export-questions", *args]) == 2
    assert message in capsys.readouterr().err
