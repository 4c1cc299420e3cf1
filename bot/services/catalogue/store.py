"""Planning and applying imports, and figures for the report, on a `CatalogueRepo`.

The functions here run inside the caller's unit of work; `CatalogueService` opens it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.content import Content, place_key
from bot.directions import Direction
from bot.services.catalogue.importer import FIELDS, ParsedFile, municipality_index, parse_file
from bot.services.catalogue.query import search_text
from db.base import utcnow
from db.repositories.catalogue import IMPORTED_FIELDS, CatalogueRepo

PENDING_TTL = timedelta(hours=1)
# An imported record holds the importer's fields, with the municipality resolved to its id.
_COMPARED = (*(f for f in FIELDS if f != "municipality"), "municipality_id")
assert set(_COMPARED) == set(IMPORTED_FIELDS), "the importer and the repository disagree on the columns"


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes, by Navigator id; removal is limited to the file's municipalities.

    `titles` names every added, updated and removed program (staff recognise titles, not ids)."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    titles: Mapping[str, str] = field(default_factory=dict)

    def title(self, external_id: str) -> str:
        return self.titles.get(external_id, "")

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


class RemovalNotConfirmed(Exception):
    """Applying would remove more programs than the staff member confirmed removing."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        super().__init__(f"{len(plan.removed)} program(s) would be removed")


def municipality_names(content: Content) -> dict[str, tuple[str, ...]]:
    """{id: the name and the aliases} of every configured municipality."""
    return {mid: (m.name, *m.aliases) for mid, m in content.municipalities.items()}


def resolve_municipality(content: Content, name: str) -> str | None:
    """A municipality id from its id, name or alias, as import files write them («г. Зима»)."""
    return municipality_index(municipality_names(content)).get(place_key(name))


def parse_for_content(
    data: bytes, content: Content, override: str | None = None, name: str = ""
) -> ParsedFile:
    return parse_file(data, municipality_names(content), override, name)


def with_defaults(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as the importer writes it now: a pending import kept before an upgrade
    (an hour at most) has no district yet."""
    return {"district": "", **record}


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
    scope = set(municipalities)
    gone = [e for e, old in existing.items() if e not in incoming and old["municipality_id"] in scope]
    removed = sorted(gone, key=lambda e: (str(existing[e]["title"]).casefold(), e))
    same = set(unchanged)
    titles = {r["external_id"]: r["title"] for r in records if r["external_id"] not in same}
    titles.update({ext: existing[ext]["title"] for ext in removed})
    plan = ImportPlan(
        tuple(added), tuple(updated), tuple(unchanged), tuple(removed), tuple(municipalities), titles
    )
    return plan, existing


async def plan_import(repo: CatalogueRepo, records: Sequence[Mapping[str, Any]]) -> ImportPlan:
    """What applying `records` would change (nothing is written)."""
    plan, _ = await _plan(repo, records)
    return plan


async def apply_import(
    repo: CatalogueRepo,
    records: Sequence[Mapping[str, Any]],
    values: Mapping[str, dict[str, Any]] | None = None,
    *,
    max_removed: int | None = None,
) -> ImportPlan:
    """Apply in the caller's (write) unit of work: all or nothing when it commits or rolls back.

    `values` ({external id: row_values(record)}) may be prepared before the unit of work
    opens, so the writer's turn is spent on the database only. With `max_removed`, an import
    that would remove more programs than that raises RemovalNotConfirmed before writing."""
    if values is None:
        values = {r["external_id"]: row_values(r) for r in records}
    plan, existing = await _plan(repo, records)
    if max_removed is not None and len(plan.removed) > max_removed:
        raise RemovalNotConfirmed(plan)
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
