"""Applying imports to the database, pending imports, figures for the report."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Table, bindparam, cast, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.directions import Direction
from bot.services.catalogue.importer import FIELDS, ParsedFile, parse_file
from bot.services.catalogue.query import search_text
from db.base import utcnow
from db.models import PendingImport, Program

PENDING_TTL = timedelta(hours=1)
_COMPARED = (*(f for f in FIELDS if f != "municipality"), "municipality_id")
_CHUNK = 500


@dataclass
class ImportPlan:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
        }


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


def _row_values(record: dict[str, Any]) -> dict[str, Any]:
    values = {k: record[k] for k in _COMPARED}
    values["search_text"] = search_text(record["title"], record["description"])
    return values


async def _existing(
    session: AsyncSession, municipalities: Sequence[str], external_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    columns = [Program.id, *(getattr(Program, c) for c in _COMPARED)]
    found: dict[str, dict[str, Any]] = {}
    stmt = select(*columns).where(Program.municipality_id.in_(list(municipalities)))
    for row in (await session.execute(stmt)).all():
        found[row.external_id] = dict(row._mapping)
    missing = [e for e in external_ids if e not in found]
    for start in range(0, len(missing), _CHUNK):
        chunk = missing[start : start + _CHUNK]
        stmt = select(*columns).where(Program.external_id.in_(chunk))
        for row in (await session.execute(stmt)).all():
            found[row.external_id] = dict(row._mapping)
    return found


async def plan_import(session: AsyncSession, records: Sequence[dict[str, Any]]) -> ImportPlan:
    """What applying `records` would change. Removal is limited to the file's municipalities."""
    plan, _, _ = await _plan(session, records)
    return plan


async def _plan(
    session: AsyncSession, records: Sequence[dict[str, Any]]
) -> tuple[ImportPlan, dict[str, dict[str, Any]], list[dict[str, Any]]]:
    municipalities = sorted({r["municipality_id"] for r in records})
    existing = await _existing(session, municipalities, [r["external_id"] for r in records])
    plan = ImportPlan(municipalities=municipalities)
    incoming = {r["external_id"] for r in records}
    changed: list[dict[str, Any]] = []
    for record in records:
        old = existing.get(record["external_id"])
        if old is None:
            plan.added.append(record["external_id"])
        elif any(old[k] != record[k] for k in _COMPARED):
            plan.updated.append(record["external_id"])
            changed.append({"id": old["id"], **_row_values(record)})
        else:
            plan.unchanged.append(record["external_id"])
    plan.removed = sorted(
        ext
        for ext, row in existing.items()
        if ext not in incoming and row["municipality_id"] in municipalities
    )
    return plan, existing, changed


async def apply_import(session: AsyncSession, records: Sequence[dict[str, Any]]) -> ImportPlan:
    """Apply in the caller's transaction (all or nothing when it commits or rolls back)."""
    plan, existing, changed = await _plan(session, records)
    now = utcnow()
    removed_ids = [existing[e]["id"] for e in plan.removed]
    for start in range(0, len(removed_ids), _CHUNK):
        await session.execute(delete(Program).where(Program.id.in_(removed_ids[start : start + _CHUNK])))
    # Core executemany: the ORM bulk path would split rows by which values are NULL.
    table: Table = Program.__table__  # type: ignore[assignment]
    if changed:
        stmt = update(table).where(table.c.id == bindparam("row_id"))
        rows = [{**{k: v for k, v in row.items() if k != "id"}, "row_id": row["id"], "updated_at": now}
                for row in changed]  # fmt: skip
        await session.execute(stmt, rows)
    added = set(plan.added)
    new_rows = [{**_row_values(r), "updated_at": now} for r in records if r["external_id"] in added]
    for start in range(0, len(new_rows), 5000):
        await session.execute(insert(table), new_rows[start : start + 5000])
    return plan


async def catalogue_size(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Program)) or 0)


async def get_program(session: AsyncSession, program_id: int) -> Program | None:
    return await session.get(Program, program_id)


# --- pending imports (staff confirm with a button) -----------------------------------------


async def save_pending(
    session: AsyncSession, user_id: int, file_name: str, records: Sequence[dict[str, Any]]
) -> str:
    """Keep parsed records until the staff member confirms; returns the short id for the button."""
    now = utcnow()
    await session.execute(
        delete(PendingImport).where(
            or_(PendingImport.user_id == user_id, PendingImport.created_at < now - PENDING_TTL)
        )
    )
    token = secrets.token_urlsafe(6)
    session.add(
        PendingImport(
            id=token,
            user_id=user_id,
            created_at=now,
            file_name=file_name[:200],
            payload=json.dumps(list(records), ensure_ascii=False),
        )
    )
    return token


async def take_pending(session: AsyncSession, token: str, user_id: int) -> list[dict[str, Any]] | None:
    """The records of a pending import of this user, deleting it; None when unknown or stale."""
    pending = await session.get(PendingImport, token)
    if pending is None or pending.user_id != user_id:
        return None
    await session.delete(pending)
    if pending.created_at < utcnow() - PENDING_TTL:
        return None
    records: list[dict[str, Any]] = json.loads(pending.payload)
    return records


async def drop_pending(session: AsyncSession, token: str, user_id: int) -> bool:
    result = await session.execute(
        delete(PendingImport).where(PendingImport.id == token, PendingImport.user_id == user_id)
    )
    return bool(getattr(result, "rowcount", 0))


# --- demo catalogue -------------------------------------------------------------------------


def demo_file(content: Content) -> Path:
    return content.directory / "programs" / "demo_programs.csv"


async def load_demo_if_empty(session: AsyncSession, content: Content) -> int:
    """Import the demo catalogue through the real importer when there are no programs; 0 otherwise."""
    if await catalogue_size(session):
        return 0
    path = demo_file(content)
    if not path.is_file():
        return 0
    parsed = parse_for_content(path.read_bytes(), content, name=path.name)
    if not parsed.ok:
        from bot.services.catalogue.importer import describe

        problem = parsed.file_error or parsed.row_errors[0]
        raise ValueError(f"demo catalogue {path} is invalid: {describe(problem, 'en')}")
    plan = await apply_import(session, parsed.records)
    return len(plan.added)


# --- report ---------------------------------------------------------------------------------


async def programs_by_direction(session: AsyncSession, municipality_id: str | None) -> dict[str, Any]:
    stmt = select(Program.direction, func.count(), func.sum(cast(Program.ovz, Integer))).group_by(
        Program.direction
    )
    if municipality_id:
        stmt = stmt.where(Program.municipality_id == municipality_id)
    counts = {row[0]: (int(row[1]), int(row[2] or 0)) for row in (await session.execute(stmt)).all()}
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
