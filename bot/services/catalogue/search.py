"""Program search: structured filters in the repository's SQL, keyword ranking here in Python.

The same `ranked_ids()` serves the bot and `mocbot search --json`. The functions take a
`CatalogueRepo` of the caller's unit of work (CatalogueService opens it).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
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
    "FORMS",
    "FUNDINGS",
    "ProgramCard",
    "ProgramHit",
    "Ranked",
    "SearchFilters",
    "blocking_filter",
    "district_code",
    "district_name",
    "hit_json",
    "ranked",
]

# The codes a program's funding and form take (their words are texts: catalogue.funding.*).
FUNDINGS = ("free", "cert", "paid")
FORMS = ("och", "dist", "mix")
# For `mocbot search --json`, which prints plain values for scripts, not messages.
_JSON_FUNDING = {"free": "бесплатно", "cert": "по сертификату", "paid": "платно"}


def district_code(district: str) -> str:
    """A district's short, stable code for callback data (a name may be 100 Cyrillic
    letters; a button carries 64 bytes): 6 hex digits of its hash, case and ё ignored."""
    key = " ".join(district.lower().replace("ё", "е").split())
    return hashlib.blake2s(key.encode(), digest_size=3).hexdigest()


@dataclass(frozen=True)
class SearchFilters:
    municipality_id: str | None = None
    direction: Direction | None = None
    age: AgeRange | None = None
    funding: str | None = None  # free | cert
    ovz: bool = False
    form: str | None = None  # och | dist | mix
    keywords: tuple[str, ...] = ()
    district: str | None = None  # district_code() of a district of the municipality

    def summary_code(self) -> str | None:
        """The filters besides direction and age, compact for the activity log (≤ 32 chars)."""
        parts = [p for p in (self.funding, "ovz" if self.ovz else None, self.form) if p]
        if self.keywords:
            parts.append("kw")
        if self.district:
            parts.append("dst")
        return ",".join(parts) or None

    def active(self) -> list[str]:
        """Names of the filters set, in the order they are offered for dropping."""
        names = []
        if self.district:
            names.append("district")
        if self.form:
            names.append("form")
        if self.ovz:
            names.append("ovz")
        if self.funding:
            names.append("funding")
        if self.age:
            names.append("age")
        if self.direction:
            names.append("direction")
        if self.keywords:  # last: «без слов запроса» is every program, rarely what was meant
            names.append("keywords")
        return names

    def without(self, name: str) -> SearchFilters:
        values: dict[str, Any] = {
            "form": None, "ovz": False, "funding": None, "keywords": (), "age": None, "direction": None,
            "district": None,
        }  # fmt: skip
        return replace(self, **{name: values[name]})

    def structured(self, district: str | None = None) -> ProgramFilter:
        """The part the database filters on; `district` is the name `self.district` stands for."""
        return ProgramFilter(
            municipality_id=self.municipality_id,
            direction=self.direction.code if self.direction else None,
            age_low=self.age.low if self.age else None,
            age_high=self.age.high if self.age else None,
            funding=self.funding,
            ovz=self.ovz,
            form=self.form,
            district=district,
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
        "address": hit.address,
        "district": hit.district,
        "funding": _JSON_FUNDING.get(hit.funding, hit.funding),
        "ovz": hit.ovz,
    }


@dataclass(frozen=True)
class Ranked:
    """A search's programs, best first, and the districts they are held in (most first)."""

    ids: list[int]
    districts: tuple[tuple[str, int], ...] = ()
    district: str | None = None  # the name of the district filter, when one applies
    unknown_district: bool = False  # the filter's code names no district of the catalogue


def _district_counts(candidates: Iterable[Candidate], ids: Sequence[int]) -> tuple[tuple[str, int], ...]:
    keep = set(ids)
    counts = Counter(c.district for c in candidates if c.id in keep and c.district)
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].casefold())))


async def _candidates(
    repo: CatalogueRepo, where: ProgramFilter, groups: Sequence[tuple[str, ...]]
) -> list[Candidate]:
    patterns = [p for g in groups for p in like_patterns(g)]
    return [Candidate(*row) for row in await repo.ranking_rows(where, patterns)]


async def district_name(repo: CatalogueRepo, municipality_id: str | None, code: str) -> str | None:
    """The district a button's code stands for; None when the catalogue has none such."""
    for name in await repo.districts(municipality_id):
        if district_code(name) == code:
            return name
    return None


async def _vocabulary(repo: CatalogueRepo, where: ProgramFilter) -> set[str]:
    """Words of the titles and descriptions the structured filters leave (typo fallback only)."""
    return {w for t in await repo.search_texts(where) for w in t.split() if len(w) >= 4}


async def ranked(repo: CatalogueRepo, f: SearchFilters) -> Ranked:
    """Matching programs, best first (see `query.rank`), with the districts they are in."""
    district: str | None = None
    if f.district:
        district = await district_name(repo, f.municipality_id, f.district)
        if district is None:  # the catalogue changed under an old button
            return Ranked([], district=None, unknown_district=True)
    where = f.structured(district)
    if not f.keywords:
        candidates = [Candidate(*row) for row in await repo.ranking_rows(where)]
        ids = rank(candidates, [], f.age)
        return Ranked(ids, _district_counts(candidates, ids), district)
    groups = keyword_groups(f.keywords)
    candidates = await _candidates(repo, where, groups)
    if not candidates:
        # No word matched: maybe a typo («шахмты»); try close words of the catalogue.
        vocabulary = await _vocabulary(repo, where)
        extended = [g + fuzzy_alternatives(k, vocabulary) for k, g in zip(f.keywords, groups, strict=True)]
        if extended != groups:
            groups = extended
            candidates = await _candidates(repo, where, groups)
    ids = rank(candidates, groups, f.age)
    return Ranked(ids, _district_counts(candidates, ids), district)


async def ranked_ids(repo: CatalogueRepo, f: SearchFilters) -> list[int]:
    """Ids of matching programs, best first."""
    return (await ranked(repo, f)).ids


async def blocking_filter(repo: CatalogueRepo, f: SearchFilters) -> tuple[str, int] | None:
    """For an empty result: the filter whose removal gives results, and how many."""
    for name in f.active():
        count = len(await ranked_ids(repo, f.without(name)))
        if count:
            return name, count
    return None
