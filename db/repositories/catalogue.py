"""The program catalogue: the only code that queries `programs` and `catalogue_pending_imports`.

Filters arrive as plain values (`ProgramFilter`: direction codes, whole ages); rows leave
as frozen records or tuples. Ranking, planning an import and parsing files are the
service's business (bot/services/catalogue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PendingImport, Program

# The columns an import sets (and compares, to tell "updated" from "unchanged"); search_text
# and updated_at are derived from them.
IMPORTED_FIELDS = (
    "external_id", "municipality_id", "title", "direction", "age_from", "age_to", "organisation", "address",
    "district", "form", "funding", "price", "ovz", "description", "schedule", "url",
)  # fmt: skip
_CHUNK = 500  # ids per IN (...) list
_INSERT_BATCH = 5000


@dataclass(frozen=True)
class ProgramFilter:
    """The structured part of a search; None or False means "any"."""

    municipality_id: str | None = None
    direction: str | None = None  # Direction.code
    age_low: int | None = None  # programs whose ages overlap [age_low, age_high]
    age_high: int | None = None
    funding: str | None = None  # free | cert | paid
    ovz: bool = False
    form: str | None = None  # och | dist | mix
    district: str | None = None  # exactly as stored


@dataclass(frozen=True)
class ProgramHit:
    """One line of a results page."""

    id: int
    external_id: str
    title: str
    direction: str
    age_from: int
    age_to: int
    organisation: str
    funding: str
    price: int | None
    ovz: bool
    form: str
    address: str
    district: str


@dataclass(frozen=True)
class ProgramCard:
    """Everything a program's card shows."""

    id: int
    external_id: str
    municipality_id: str
    title: str
    direction: str
    age_from: int
    age_to: int
    organisation: str
    address: str
    district: str
    form: str
    funding: str
    price: int | None
    ovz: bool
    description: str
    schedule: str
    url: str


# (id, title, age_from, age_to, search_text, district): what ranking reads
RankingRow = tuple[int, str, int, int, str, str]

_HIT_COLUMNS = (
    Program.id, Program.external_id, Program.title, Program.direction, Program.age_from, Program.age_to,
    Program.organisation, Program.funding, Program.price, Program.ovz, Program.form, Program.address,
    Program.district,
)  # fmt: skip
_CARD_COLUMNS = (
    Program.id, Program.external_id, Program.municipality_id, Program.title, Program.direction,
    Program.age_from, Program.age_to, Program.organisation, Program.address, Program.district, Program.form,
    Program.funding, Program.price, Program.ovz, Program.description, Program.schedule, Program.url,
)  # fmt: skip


def _conditions(f: ProgramFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.municipality_id:
        conds.append(Program.municipality_id == f.municipality_id)
    if f.direction:
        conds.append(Program.direction == f.direction)
    if f.age_high is not None:
        conds.append(Program.age_from <= f.age_high)
    if f.age_low is not None:
        conds.append(Program.age_to >= f.age_low)
    if f.funding:
        conds.append(Program.funding == f.funding)
    if f.ovz:
        conds.append(Program.ovz.is_(True))
    if f.form:
        conds.append(Program.form == f.form)
    if f.district is not None:
        conds.append(Program.district == f.district)
    return conds


class CatalogueRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- search -----------------------------------------------------------------------------

    async def ranking_rows(self, f: ProgramFilter, like_any: Sequence[str] = ()) -> list[RankingRow]:
        """Programs passing `f` (and, when given, whose search text is LIKE any pattern).

        Without patterns the search text is not read (it stays ""); either way the covering
        index answers the query alone."""
        conds = _conditions(f)
        if not like_any:
            stmt = select(
                Program.id, Program.title, Program.age_from, Program.age_to, Program.district
            ).where(and_(*conds))
            return [(r[0], r[1], r[2], r[3], "", r[4]) for r in (await self.session.execute(stmt)).all()]
        matches = or_(*(Program.search_text.like(p) for p in like_any))
        stmt2 = select(
            Program.id, Program.title, Program.age_from, Program.age_to, Program.search_text, Program.district
        ).where(and_(*conds, matches))
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in (await self.session.execute(stmt2)).all()]

    async def districts(self, municipality_id: str | None) -> list[str]:
        """The districts the programs of a municipality name (a button's short code is
        resolved against them)."""
        stmt = select(Program.district).where(Program.district != "").distinct()
        if municipality_id:
            stmt = stmt.where(Program.municipality_id == municipality_id)
        return list(await self.session.scalars(stmt))

    async def search_texts(self, f: ProgramFilter) -> list[str]:
        """The search texts of the programs passing `f` (the typo fallback builds its vocabulary)."""
        return list(await self.session.scalars(select(Program.search_text).where(and_(*_conditions(f)))))

    async def hits(self, ids: Sequence[int]) -> list[ProgramHit]:
        """The display rows of `ids`, in the same order (ids no longer there are skipped)."""
        if not ids:
            return []
        rows = (await self.session.execute(select(*_HIT_COLUMNS).where(Program.id.in_(list(ids))))).all()
        by_id = {r.id: ProgramHit(**r._mapping) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def card(self, program_id: int) -> ProgramCard | None:
        row = (await self.session.execute(select(*_CARD_COLUMNS).where(Program.id == program_id))).first()
        return ProgramCard(**row._mapping) if row is not None else None

    async def count(self, municipality_id: str | None = None) -> int:
        stmt = select(func.count()).select_from(Program)
        if municipality_id is not None:
            stmt = stmt.where(Program.municipality_id == municipality_id)
        return int(await self.session.scalar(stmt) or 0)

    async def counts_by_direction(self, municipality_id: str | None) -> dict[str, tuple[int, int]]:
        """{direction code: (programs, of them adapted for ОВЗ)}, in a municipality or everywhere."""
        stmt = select(Program.direction, func.count(), func.sum(cast(Program.ovz, Integer))).group_by(
            Program.direction
        )
        if municipality_id:
            stmt = stmt.where(Program.municipality_id == municipality_id)
        return {row[0]: (int(row[1]), int(row[2] or 0)) for row in (await self.session.execute(stmt)).all()}

    # --- imports ----------------------------------------------------------------------------

    async def existing(
        self, municipalities: Sequence[str], external_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """{external id: {"id": ..., every IMPORTED_FIELDS column}} of the programs of
        `municipalities` and of any other program whose external id is in `external_ids`."""
        columns = [Program.id, *(getattr(Program, c) for c in IMPORTED_FIELDS)]
        found: dict[str, dict[str, Any]] = {}
        stmt = select(*columns).where(Program.municipality_id.in_(list(municipalities)))
        for row in (await self.session.execute(stmt)).all():
            found[row.external_id] = dict(row._mapping)
        missing = [e for e in external_ids if e not in found]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            stmt = select(*columns).where(Program.external_id.in_(chunk))
            for row in (await self.session.execute(stmt)).all():
                found[row.external_id] = dict(row._mapping)
        return found

    async def delete_programs(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), _CHUNK):
            await self.session.execute(
                delete(Program).where(Program.id.in_(list(ids[start : start + _CHUNK])))
            )

    async def update_programs(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        """`rows` hold "id" and the new column values."""
        if not rows:
            return
        # Core executemany: the ORM bulk path would split rows by which values are NULL.
        table: Table = Program.__table__  # type: ignore[assignment]
        stmt = update(table).where(table.c.id == bindparam("row_id"))
        params = [{**{k: v for k, v in row.items() if k != "id"}, "row_id": row["id"], "updated_at": now}
                  for row in rows]  # fmt: skip
        await self.session.execute(stmt, params)

    async def insert_programs(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        table: Table = Program.__table__  # type: ignore[assignment]
        for start in range(0, len(rows), _INSERT_BATCH):
            batch = [{**row, "updated_at": now} for row in rows[start : start + _INSERT_BATCH]]
            await self.session.execute(insert(table), batch)

    # --- pending imports (staff confirm with a button) --------------------------------------

    async def add_pending(
        self, token: str, user_id: int, *, file_name: str, payload: str, now: datetime, stale_before: datetime
    ) -> None:
        """Keep a parsed import under `token`, replacing the user's earlier one and dropping stale ones."""
        await self.session.execute(
            delete(PendingImport).where(
                or_(PendingImport.user_id == user_id, PendingImport.created_at < stale_before)
            )
        )
        await self.session.execute(
            insert(PendingImport).values(
                id=token, user_id=user_id, created_at=now, file_name=file_name[:200], payload=payload
            )
        )

    async def pending_payload(self, token: str, user_id: int, stale_before: datetime) -> str | None:
        """The payload of this user's pending import; None when unknown, another user's or stale."""
        row = (
            await self.session.execute(
                select(PendingImport.payload).where(
                    PendingImport.id == token,
                    PendingImport.user_id == user_id,
                    PendingImport.created_at >= stale_before,
                )
            )
        ).first()
        return row[0] if row is not None else None

    async def claim_pending(self, token: str, user_id: int, stale_before: datetime) -> bool:
        """Delete this user's pending import; True when it was there and fresh (it is applied now)."""
        created = await self.session.scalar(
            select(PendingImport.created_at).where(
                PendingImport.id == token, PendingImport.user_id == user_id
            )
        )
        if created is None:
            return False
        result = await self.session.execute(
            delete(PendingImport).where(PendingImport.id == token, PendingImport.user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0)) and created >= stale_before

    async def drop_pending(self, token: str, user_id: int) -> bool:
        result = await self.session.execute(
            delete(PendingImport).where(PendingImport.id == token, PendingImport.user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def count_pending(self, user_id: int) -> int:
        stmt = select(func.count()).select_from(PendingImport).where(PendingImport.user_id == user_id)
        return int(await self.session.scalar(stmt) or 0)

    async def delete_pending_of(self, user_id: int) -> None:
        await self.session.execute(delete(PendingImport).where(PendingImport.user_id == user_id))
