"""A tiny run of bench/broadcast.py: the real bot process, a SIGKILL and a restart."""

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
