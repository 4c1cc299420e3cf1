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

__all__ = ["ReportScope", "ReportSource", "collect", "register_source", "registered_sources"]


def collect(parts: Iterable[FeatureParts]) -> dict[str, ReportSource]:
    """The report sources of these features, by name (a later feature's name wins)."""
    sources: dict[str, ReportSource] = {}
    for feature in parts:
        sources.update(feature.report_sources)
    return sources


# --- legacy registry, read by nothing ------------------------------------------------------
# Catalogue, announcements and FAQ still call `register_source` on import until they expose
# `parts()`; the report no longer reads this registry. Delete both functions with the last call.

_LEGACY: dict[str, object] = {}


def register_source(name: str, source: object) -> None:
    """Deprecated: declare the source in the feature's `parts().report_sources` instead."""
    _LEGACY[name] = source


def registered_sources() -> dict[str, object]:
    """Deprecated: what `register_source` was given (only old tests still read it)."""
    from bot.features import load_features

    load_features()
    return dict(_LEGACY)
