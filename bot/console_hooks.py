"""Console startup hooks, kept apart from bot.console so registering one imports no aiogram.

Features append coroutines run once the local console is ready (e.g. load demo data);
`bot.console.STARTUP_HOOKS` is this same list. Feature modules are imported by every CLI
command (reports included), which should not pay for importing the whole Bot API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

StartupHook = Callable[["App", Callable[[str], None]], Awaitable[None]]
STARTUP_HOOKS: list[StartupHook] = []
