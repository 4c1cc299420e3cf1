"""Program search: structured filters in the repository's SQL, keyword ranking here in Python.

The same `ranked_ids()` serves the bot and `mocbot search --json`. The functions take a
`CatalogueRepo` of the caller's unit of work (CatalogueService opens it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.directions import Direction
from bot.services.catalogue.query import (
    AgeRange,
    Candidate,
    fuzzy_alternatives,
    keyword_groups,
    like_patterns,
    rank,
)
from db.repositories.catalogue import CatalogueRepo, ProgramCard, ProgramFilter, ProgramHit

__all__ = [
    "FORM_LABELS",
    "FUNDING_LABELS",
    "ProgramCard",
    "ProgramHit",
    "SearchFilters",
    "blocking_filter",
    "hit_json",
    "ranked_ids",
]

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

    def structured(self) -> ProgramFilter:
        """The part the database filters on."""
        return ProgramFilter(
            municipality_id=self.municipality_id,
            direction=self.direction.code if self.direction else None,
            age_low=self.age.low if self.age else None,
            age_high=self.age.high if self.age else None,
            funding=self.funding,
            ovz=self.ovz,
            form=self.form,
        )


def hit_json(hit: ProgramHit) -> dict[str, Any]:
    """What `mocbot search --json` prints for a program."""
    d = Direction.from_code(hit.direction)
    return {
        "external_id": hit.external_id,
        "title": hit.title,
        "direction": d.title if d else hit.direction,
        "age_from": hit.age_from,
        "age_to": hit.age_to,
        "organisation": hit.organisation,
        "funding": FUNDING_LABELS.get(hit.funding, hit.funding),
        "ovz": hit.ovz,
    }


async def _candidates(
    repo: CatalogueRepo, where: ProgramFilter, groups: Sequence[tuple[str, ...]]
) -> list[Candidate]:
    patterns = [p for g in groups for p in like_patterns(g)]
    return [Candidate(*row) for row in await repo.ranking_rows(where, patterns)]


async def _vocabulary(repo: CatalogueRepo, where: ProgramFilter) -> set[str]:
    """Words of the titles and descriptions the structured filters leave (typo fallback only)."""
    return {w for t in await repo.search_texts(where) for w in t.split() if len(w) >= 4}


async def ranked_ids(repo: CatalogueRepo, f: SearchFilters) -> list[int]:
    """Ids of matching programs, best first (see `query.rank`)."""
    where = f.structured()
    if not f.keywords:
        return rank((Candidate(*row) for row in await repo.ranking_rows(where)), [], f.age)
    groups = keyword_groups(f.keywords)
    candidates = await _candidates(repo, where, groups)
    if not candidates:
        # No word matched: maybe a typo («шахмты»); try close words of the catalogue.
        vocabulary = await _vocabulary(repo, where)
        extended = [g + fuzzy_alternatives(k, vocabulary) for k, g in zip(f.keywords, groups, strict=True)]
        if extended != groups:
            groups = extended
            candidates = await _candidates(repo, where, groups)
    return rank(candidates, groups, f.age)


async def blocking_filter(repo: CatalogueRepo, f: SearchFilters) -> tuple[str, int] | None:
    """For an empty result: the filter whose removal gives results, and how many."""
    for name in f.active():
        count = len(await ranked_ids(repo, f.without(name)))
        if count:
            return name, count
    return None
