"""Tiny runs of bench/broadcast.py: the bot process, a SIGKILL, a restart (Telegram; Telegram + MAX)."""

from __future__ import annotations

import subprocess
import sys

from bot.settings import PROJECT_ROOT


def test_broadcast_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, "bench/broadcast.py", "--recipients", "60", "--limit", "200", "--latency", "0.01",
         "--blocked-share", "0.1", "--only-kill"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "failed 0, uncertain" in out and "sum 60 of 60" in out
    assert "duplicates: 0" in out
    assert "every other recipient delivered exactly once: yes" in out
    assert "RESULT: OK" in out


def test_broadcast_benchmark_split_between_telegram_and_max_smoke() -> None:
    """The same with half the subscribers in MAX: the MAX stand-in beside the fake Bot API,
    the bot serving both, a SIGKILL and a restart, 0 duplicates across both channels."""
    result = subprocess.run(
        [sys.executable, "bench/broadcast.py", "--recipients", "40", "--limit", "200", "--latency", "0.01",
         "--blocked-share", "0.1", "--max-share", "0.5", "--only-kill"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "sum 40 of 40" in out
    assert "Telegram: delivered" in out and "MAX: delivered" in out
    assert "failed 0, uncertain" in out and "duplicates: 0" in out
    assert "every other recipient delivered exactly once: yes" in out
    assert "RESULT: OK" in out
