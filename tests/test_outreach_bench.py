"""Smoke test of bench/report.py on a tiny data set (no timing assertions)."""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from bot.settings import PROJECT_ROOT


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", PROJECT_ROOT / "bench" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_runs_on_a_tiny_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    path = tmp_path / "bench.sqlite3"
    bench.generate(path, 3000, 200)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM activity_events").fetchone() == (3000,)
        assert conn.execute("SELECT count(*) FROM outreach_activities").fetchone() == (200,)
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(bench.time_reports(url, repeats=1))
    asyncio.run(bench.time_handlers(url, updates=5, rounds=1, warmup=2))
    out = capsys.readouterr().out
    for fmt in ("json", "text", "csv", "xlsx", "png"):
        assert f"  {fmt:5s} " in out
    assert "3000 bot events in the year" in out
    assert "with activity logging" in out
    with sqlite3.connect(path) as conn:
        # the logging handler really recorded its events (warm-up 2 + 5)
        assert conn.execute("SELECT count(*) FROM activity_events WHERE topic = 'bench'").fetchone() == (7,)
