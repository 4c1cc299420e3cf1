"""Program search over the database: structured filters in SQL, keyword ranking in Python.

The same `search()` serves the bot and `mocbot search --json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.directions import Direction
from bot.services.catalogue.query import (
    AgeRange,
    Candidate,
    fuzzy_alternatives,
    keyword_groups,
    like_patterns,
    rank,
)
from db.models import Program

FUNDING_LABELS = {"free": "бесплатно", "cert": "по сертификату", "paid": "платно"}
FORM_LABELS = {"och": "очно", "dist": "дистанционно", "mix": "смешанно"}


@dataclass(frozen=True)
class SearchFilters:
    municipality_id: str | None = None
    direction: Direction | None = None
    age: AgeRange | None = None
    funding: str | None = None  # free | cert
    ovz: bool = False
    form: str | None = None  # och | dist | mix
    keywords: tuple[str, ...] = ()

    def summary_code(self) -> str | None:
        """The filters besides direction and age, compact for the activity log (≤ 32 chars)."""
        parts = [p for p in (self.funding, "ovz" if self.ovz else None, self.form) if p]
        if self.keywords:
            parts.append("kw")
        return ",".join(parts) or None

    def active(self) -> list[str]:
        """Names of the filters set, in the order they are offered for dropping."""
        names = []
        if self.form:
            names.append("form")
        if self.ovz:
            names.append("ovz")
        if self.funding:
            names.append("funding")
        if self.keywords:
            names.append("keywords")
        if self.age:
            names.append("age")
        if self.direction:
            names.append("direction")
        return names

    def without(self, name: str) -> SearchFilters:
        values: dict[str, Any] = {
            "form": None, "ovz": False, "funding": None, "keywords": (), "age": None, "direction": None,
        }  # fmt: skip
        return replace(self, **{name: values[name]})


@dataclass(frozen=True)
class ProgramHit:
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

    def as_json(self) -> dict[str, Any]:
        d = Direction.from_code(self.direction)
        return {
            "external_id": self.external_id,
            "title": self.title,
            "direction": d.title if d else self.direction,
            "age_from": self.age_from,
            "age_to": self.age_to,
            "organisation": self.organisation,
            "funding": FUNDING_LABELS.get(self.funding, self.funding),
            "ovz": self.ovz,
        }


_HIT_COLUMNS = (
    Program.id, Program.external_id, Program.title, Program.direction, Program.age_from, Program.age_to,
    Program.organisation, Program.funding, Program.price, Program.ovz, Program.form,
)  # fmt: skip


def _conditions(f: SearchFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.municipality_id:
        conds.append(Program.municipality_id == f.municipality_id)
    if f.direction:
        conds.append(Program.direction == f.direction.code)
    if f.age:
        conds.append(Program.age_from <= f.age.high)
        conds.append(Program.age_to >= f.age.low)
    if f.funding:
        conds.append(Program.funding == f.funding)
    if f.ovz:
        conds.append(Program.ovz.is_(True))
    if f.form:
        conds.append(Program.form == f.form)
    return conds


def _like_any(groups: Sequence[tuple[str, ...]]) -> ColumnElement[bool]:
    patterns = [p for g in groups for p in like_patterns(g)]
    return or_(*(Program.search_text.like(p) for p in patterns))


async def _candidates(
    session: AsyncSession, f: SearchFilters, groups: Sequence[tuple[str, ...]]
) -> list[Candidate]:
    stmt = select(Program.id, Program.title, Program.age_from, Program.age_to, Program.search_text).where(
        and_(*_conditions(f), _like_any(groups))
    )
    rows = (await session.execute(stmt)).all()
    return [Candidate(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def _vocabulary(session: AsyncSession, f: SearchFilters) -> set[str]:
    """Words of the titles and descriptions the structured filters leave (typo fallback only)."""
    texts = await session.scalars(select(Program.search_text).where(and_(*_conditions(f))))
    return {w for t in texts for w in t.split() if len(w) >= 4}


async def search_ids(session: AsyncSession, f: SearchFilters) -> list[int]:
    """Ids of matching programs, best first (see `query.rank`)."""
    if not f.keywords:
        stmt = select(Program.id, Program.title, Program.age_from, Program.age_to).where(
            and_(*_conditions(f))
        )
        rows = (await session.execute(stmt)).all()
        return rank((Candidate(r[0], r[1], r[2], r[3], "") for r in rows), [], f.age)
    groups = keyword_groups(f.keywords)
    candidates = await _candidates(session, f, groups)
    if not candidates:
        # No word matched: maybe a typo («шахмты»); try close words of the catalogue.
        vocabulary = await _vocabulary(session, f)
        extended = [g + fuzzy_alternatives(k, vocabulary) for k, g in zip(f.keywords, groups, strict=True)]
        if extended != groups:
            groups = extended
            candidates = await _candidates(session, f, groups)
    return rank(candidates, groups, f.age)


async def load_hits(session: AsyncSession, ids: Sequence[int]) -> list[ProgramHit]:
    """The display rows of `ids`, in the same order."""
    if not ids:
        return []
    rows = (await session.execute(select(*_HIT_COLUMNS).where(Program.id.in_(list(ids))))).all()
    by_id = {r[0]: ProgramHit(*r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def search(session: AsyncSession, f: SearchFilters, limit: int | None = None) -> list[ProgramHit]:
    ids = await search_ids(session, f)
    return await load_hits(session, ids[:limit] if limit else ids)


async def blocking_filter(session: AsyncSession, f: SearchFilters) -> tuple[str, int] | None:
    """For an empty result: the filter whose removal gives results, and how many."""
    for name in f.active():
        count = len(await search_ids(session, f.without(name)))
        if count:
            return name, count
    return None
