"""The one place that names every feature: its content section and its parts (data owner,
report sources, console hooks). Used by `create_app`, the CLI and `load_content`'s default.
Importing it registers nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.content import SectionLoader
    from bot.services.plugins import FeatureParts


def content_sections() -> dict[str, SectionLoader]:
    from bot.services.faq.knowledge import FAQ_DIR, load_knowledge_base

    return {FAQ_DIR: load_knowledge_base}


def feature_parts() -> list[FeatureParts]:
    from bot.services import announcements, catalogue, faq, outreach

    return [catalogue.parts(), announcements.parts(), outreach.parts(), faq.parts()]
