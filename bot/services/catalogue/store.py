"""Planning and applying imports, and figures for the report, on a `CatalogueRepo`.

The functions here run inside the caller's unit of work; `CatalogueService` opens it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.content import Content
from bot.directions import Direction
from bot.services.catalogue.importer import FIELDS, ParsedFile, parse_file
from bot.services.catalogue.query import search_text
from db.base import utcnow
from db.repositories.catalogue import IMPORTED_FIELDS, CatalogueRepo

PENDING_TTL = timedelta(hours=1)
# An imported record holds the importer's fields, with the municipality resolved to its id.
_COMPARED = (*(f for f in FIELDS if f != "municipality"), "municipality_id")
assert set(_COMPARED) == set(IMPORTED_FIELDS), "the importer and the repository disagree on the columns"


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes, by Navigator id; removal is limited to the file's municipalities."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
        }

    @property
    def changes(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def municipality_names(content: Content) -> dict[str, str]:
    return {mid: m.name for mid, m in content.municipalities.items()}


def resolve_municipality(content: Content, name: str) -> str | None:
    """A municipality id from its name or id, case-insensitively."""
    key = name.strip().lower().replace("ё", "е")
    for mid, m in content.municipalities.items():
        if key in (mid.lower(), m.name.lower().replace("ё", "е")):
            return mid
    return None


def parse_for_content(
    data: bytes, content: Content, override: str | None = None, name: str = ""
) -> ParsedFile:
    return parse_file(data, municipality_names(content), override, name)


def row_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a program row from an imported record (the search text included)."""
    values = {k: record[k] for k in _COMPARED}
    values["search_text"] = search_text(record["title"], record["description"])
    return values


async def _plan(
    repo: CatalogueRepo, records: Sequence[Mapping[str, Any]]
) -> tuple[ImportPlan, dict[str, dict[str, Any]]]:
    municipalities = sorted({r["municipality_id"] for r in records})
    existing = await repo.existing(municipalities, [r["external_id"] for r in records])
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    incoming = {r["external_id"] for r in records}
    for record in records:
        old = existing.get(record["external_id"])
        if old is None:
            added.append(record["external_id"])
        elif any(old[k] != record[k] for k in _COMPARED):
            updated.append(record["external_id"])
        else:
            unchanged.append(record["external_id"])
    removed = sorted(
        ext
        for ext, row in existing.items()
        if ext not in incoming and row["municipality_id"] in municipalities
    )
    plan = ImportPlan(tuple(added), tuple(updated), tuple(unchanged), tuple(removed), tuple(municipalities))
    return plan, existing


async def plan_import(repo: CatalogueRepo, records: Sequence[Mapping[str, Any]]) -> ImportPlan:
    """What applying `records` would change (nothing is written)."""
    plan, _ = await _plan(repo, records)
    return plan


async def apply_import(
    repo: CatalogueRepo,
    records: Sequence[Mapping[str, Any]],
    values: Mapping[str, dict[str, Any]] | None = None,
) -> ImportPlan:
    """Apply in the caller's (write) unit of work: all or nothing when it commits or rolls back.

    `values` ({external id: row_values(record)}) may be prepared before the unit of work
    opens, so the writer's turn is spent on the database only."""
    if values is None:
        values = {r["external_id"]: row_values(r) for r in records}
    plan, existing = await _plan(repo, records)
    now = utcnow()
    await repo.delete_programs([existing[e]["id"] for e in plan.removed])
    await repo.update_programs([{"id": existing[e]["id"], **values[e]} for e in plan.updated], now)
    await repo.insert_programs([values[e] for e in plan.added], now)
    return plan


# --- demo catalogue -------------------------------------------------------------------------


def demo_file(content: Content) -> Path:
    return content.directory / "programs" / "demo_programs.csv"


# --- report ---------------------------------------------------------------------------------


async def programs_by_direction(repo: CatalogueRepo, municipality_id: str | None) -> dict[str, Any]:
    counts = await repo.counts_by_direction(municipality_id)
    rows = [
        {
            "direction": d.code,
            "title": d.title,
            "programs": counts.get(d.code, (0, 0))[0],
            "ovz_programs": counts.get(d.code, (0, 0))[1],
        }
        for d in Direction
    ]
    return {
        "municipality_id": municipality_id,
        "directions": rows,
        "total": sum(r["programs"] for r in rows),
        "ovz_total": sum(r["ovz_programs"] for r in rows),
    }
