#!/usr/bin/env python3
"""Bootstrap and run mocbot with nothing but Python 3.11+ installed.

    python3 scripts/dev.py run        # the bot; with no BOT_TOKEN, the local console
    python3 scripts/dev.py console --channel max   # the console as a parent in MAX
    python3 scripts/dev.py test       # ruff, mypy and the whole pytest suite
    python3 scripts/dev.py <args>     # any other `mocbot` subcommand, e.g. `content check`

The script creates `.venv/` next to `pyproject.toml`, installs the project with its
development extras there, and reinstalls only when `pyproject.toml` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".mocbot-installed"


def _venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _ensure_venv() -> Path:
    python = _venv_python()
    if not python.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        print("Installing mocbot and its dependencies (first run only) ...", flush=True)
        quiet = ["-q"] if os.environ.get("MOCBOT_VERBOSE_INSTALL") != "1" else []
        subprocess.run(
            [str(python), "-m", "pip", "install", *quiet, "--disable-pip-version-check", "-e", ".[dev]"],
            cwd=ROOT,
            check=True,
        )
        STAMP.write_text(digest)
    return python


def _run(cmd: list[str]) -> int:
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode


def test(python: Path, extra: list[str]) -> int:
    bindir = python.parent
    steps = [
        [str(bindir / "ruff"), "check", "."],
        [str(bindir / "mypy")],
        [str(bindir / "lint-imports")],  # the layer contract (pyproject.toml, [tool.importlinter])
        [str(python), "-m", "pytest", "-q", *extra],
    ]
    for step in steps:
        code = _run(step)
        if code != 0:
            print(f"FAILED: {' '.join(step)} (exit {code})", flush=True)
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    python = _ensure_venv()
    if argv[0] == "test":
        return test(python, argv[1:])
    if argv[0] == "setup":
        return 0
    return subprocess.run([str(python), "-m", "bot", *argv], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
