"""Figures other features contribute to the annual report.

The report aggregates the activity log by kind on its own. Figures that live in a
feature's own tables (programs per направленность, unanswered questions, open days
held) come from report sources: each feature lists them in its `parts()`
(`FeatureParts.report_sources`, bot/services/plugins.py), and the report service
receives them in its constructor, so the report code never imports a feature's tables.

A source is `async def source(uow, scope) -> JSON-ready data`, reading inside the read
unit of work it is given.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.services.plugins import FeatureParts, ReportScope, ReportSource

__all__ = ["ReportScope", "ReportSource", "collect"]


def collect(parts: Iterable[FeatureParts]) -> dict[str, ReportSource]:
    """The report sources of these features, by name (a later feature's name wins)."""
    sources: dict[str, ReportSource] = {}
    for feature in parts:
        sources.update(feature.report_sources)
    return sources
