"""The one place that names every feature's content section (used by `create_app`,
the CLI and `load_content`'s default). Importing it registers nothing."""

from __future__ import annotations

from bot.content import SectionLoader


def content_sections() -> dict[str, SectionLoader]:
    from bot.services.faq.knowledge import FAQ_DIR, load_knowledge_base

    return {FAQ_DIR: load_knowledge_base}
