"""Feature modules that register plug-ins at import time.

A feature's service package registers, when imported:
- a `privacy.DataOwner` (what it stores about a person, and how /forget deletes it);
- report sources (`bot.services.report_sources.register_source`);
- content sections (`bot.content.register_section`);
- console startup hooks (`bot.console.STARTUP_HOOKS`).
`load_features()` imports them all; the app factory and the CLI call it.
"""

from __future__ import annotations

import importlib

FEATURE_MODULES: list[str] = [
    "bot.services.catalogue",
    "bot.services.announcements",
    "bot.services.outreach",
    "bot.services.faq",
]


def load_features() -> None:
    for name in FEATURE_MODULES:
        importlib.import_module(name)
