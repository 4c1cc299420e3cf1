"""Smoke test: the catalogue benchmark runs end to end on a tiny catalogue (no timing asserted)."""

from __future__ import annotations

import importlib.util

import pytest

from bot.settings import PROJECT_ROOT


async def test_benchmark_runs_on_a_small_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_catalogue", PROJECT_ROOT / "bench" / "catalogue.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert await module.main(programs=120, queries=5) == 0
    out = capsys.readouterr().out
    assert "import of a 120-row XLSX" in out and "added 120" in out
    assert "search direction+age: p95" in out and "search direction+age+keyword: p95" in out
