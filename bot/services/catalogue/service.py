"""The catalogue service: every unit of work of the program catalogue.

Searches and cards are reads (no write lock). Logging a search or a card view is a
separate, tiny write the handler asks for after the reply is out. An import is parsed off
the event loop, planned in a read, kept as a pending import in a short write, and applied
in one write when the staff member presses «Применить»; the handler speaks only after
the method returned, so what it says is already committed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.content import Content
from bot.services.catalogue.importer import ParsedFile, Problem, describe
from bot.services.catalogue.search import (
    ProgramCard,
    ProgramHit,
    SearchFilters,
    blocking_filter,
    district_name,
    ranked,
    ranked_ids,
)
from bot.services.catalogue.store import (
    PENDING_TTL,
    ImportPlan,
    RemovalNotConfirmed,
    apply_import,
    demo_file,
    parse_for_content,
    plan_import,
    programs_by_direction,
    row_values,
    with_defaults,
)
from bot.settings import Settings
from db.base import utcnow
from db.repositories.activity import ActivityRepo, Kind
from db.repositories.catalogue import CatalogueRepo
from db.uow import Database


@dataclass(frozen=True)
class SearchResult:
    """One page of a search. `blocking` and `empty_catalogue` explain an empty result."""

    filters: SearchFilters
    total: int
    page: int
    hits: tuple[ProgramHit, ...]
    blocking: tuple[str, int] | None = None  # (filter name, results without it)
    empty_catalogue: bool = False  # the municipality has no programs at all
    # The districts of all the results, most programs first: (name, programs there).
    districts: tuple[tuple[str, int], ...] = ()
    district: str | None = None  # the district filter's name, when one applies
    unknown_district: bool = False  # an old button names a district the catalogue no longer has


@dataclass(frozen=True)
class RemovalToConfirm:
    """Nothing applied: the import removes programs, and that needs its own «yes»."""

    plan: ImportPlan

    @property
    def removed(self) -> int:
        return len(self.plan.removed)


@dataclass(frozen=True)
class ImportPreview:
    """A file read and compared with the catalogue; `token` is set when it waits for «Применить»."""

    file_name: str
    rows: int
    file_error: Problem | None
    row_errors: tuple[Problem, ...]
    unknown_columns: tuple[str, ...]
    plan: ImportPlan | None
    token: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.row_errors

    @classmethod
    def of(cls, name: str, parsed: ParsedFile, plan: ImportPlan | None, token: str | None) -> ImportPreview:
        return cls(
            file_name=name,
            rows=parsed.rows,
            file_error=parsed.file_error,
            row_errors=tuple(parsed.row_errors),
            unknown_columns=tuple(parsed.unknown_columns),
            plan=plan,
            token=token,
        )


def _prepared(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["external_id"]: row_values(r) for r in records}


class CatalogueService:
    def __init__(self, database: Database, settings: Settings | None = None) -> None:
        self.database = database
        self.settings = settings

    # --- search (reads) ---------------------------------------------------------------------

    async def search(
        self, filters: SearchFilters, *, page: int = 0, page_size: int = 5
    ) -> SearchResult | None:
        """A page of ranked results; None when the page does not exist (page 0 always does)."""
        async with self.database.read() as uow:
            repo = uow.repo(CatalogueRepo)
            found = await ranked(repo, filters)
            ids = found.ids
            if page and page * page_size >= len(ids):
                return None
            if ids:
                hits = await repo.hits(ids[page * page_size : (page + 1) * page_size])
                return SearchResult(
                    filters, len(ids), page, tuple(hits), districts=found.districts, district=found.district
                )
            if found.unknown_district:
                return SearchResult(filters, 0, page, (), unknown_district=True)
            blocking = await blocking_filter(repo, filters)
            empty = blocking is None and not await repo.count(filters.municipality_id)
        return SearchResult(filters, 0, page, (), blocking, empty, district=found.district)

    async def find(self, filters: SearchFilters, limit: int | None = None) -> list[ProgramHit]:
        """Ranked programs (all of them, or the first `limit`), as `mocbot search` prints them."""
        async with self.database.read() as uow:
            repo = uow.repo(CatalogueRepo)
            ids = await ranked_ids(repo, filters)
            return await repo.hits(ids[:limit] if limit else ids)

    async def district(self, municipality_id: str | None, code: str) -> str | None:
        """The name of the district a search button carries as a code."""
        async with self.database.read() as uow:
            return await district_name(uow.repo(CatalogueRepo), municipality_id, code)

    async def program(self, program_id: int) -> ProgramCard | None:
        async with self.database.read() as uow:
            return await uow.repo(CatalogueRepo).card(program_id)

    async def record_search(self, user_id: int, result: SearchResult) -> None:
        """Log a search (never the typed words): call it after the results were sent."""
        f = result.filters
        async with self.database.write() as uow:
            await uow.repo(ActivityRepo).record(
                Kind.PROGRAM_SEARCH,
                user_id=user_id,
                municipality_id=f.municipality_id,
                topic=f.direction.code if f.direction else None,
                age=f.age.low if f.age else None,
                value=result.total,
                outcome=f.summary_code(),
            )

    async def record_view(self, user_id: int, program: ProgramCard) -> None:
        """Log that a card was opened: call it after the card was sent."""
        async with self.database.write() as uow:
            await uow.repo(ActivityRepo).record(
                Kind.PROGRAM_VIEW,
                user_id=user_id,
                municipality_id=program.municipality_id,
                topic=program.direction,
                ref=program.external_id,
            )

    async def programs_by_direction(self, municipality_id: str | None) -> dict[str, Any]:
        async with self.database.read() as uow:
            return await programs_by_direction(uow.repo(CatalogueRepo), municipality_id)

    # --- staff import from the bot ----------------------------------------------------------

    async def prepare_import(
        self, user_id: int, file_name: str, data: bytes, content: Content
    ) -> ImportPreview:
        """Read a downloaded file and compare it with the catalogue; a valid file that changes
        something is kept as a pending import (for an hour) under `token`."""
        parsed = await asyncio.to_thread(parse_for_content, data, content, None, file_name)
        if parsed.file_error is not None:
            return ImportPreview.of(file_name, parsed, None, None)
        async with self.database.read() as uow:
            plan = await plan_import(uow.repo(CatalogueRepo), parsed.records)
        if not parsed.ok or not plan.changes:
            return ImportPreview.of(file_name, parsed, plan, None)
        payload = await asyncio.to_thread(json.dumps, parsed.records, ensure_ascii=False)
        token = secrets.token_urlsafe(6)
        now = utcnow()
        async with self.database.write() as uow:
            await uow.repo(CatalogueRepo).add_pending(
                token, user_id, file_name=file_name, payload=payload, now=now, stale_before=now - PENDING_TTL
            )
        return ImportPreview.of(file_name, parsed, plan, token)

    async def apply_import(
        self, token: str, user_id: int, *, removals_confirmed: int = 0
    ) -> ImportPlan | RemovalToConfirm | None:
        """Apply this user's pending import in one write; None when it is unknown, another
        user's, already applied or cancelled, or older than an hour.

        An import that removes more programs than `removals_confirmed` is not applied: the
        answer is RemovalToConfirm, and the staff member is asked a second time."""
        async with self.database.read() as uow:
            repo = uow.repo(CatalogueRepo)
            payload = await repo.pending_payload(token, user_id, utcnow() - PENDING_TTL)
            if payload is None:
                return None
            loaded: list[dict[str, Any]] = await asyncio.to_thread(json.loads, payload)
            records = [with_defaults(r) for r in loaded]
            plan = await plan_import(repo, records)
        if len(plan.removed) > removals_confirmed:
            return RemovalToConfirm(plan)
        values = await asyncio.to_thread(_prepared, records)
        try:
            async with self.database.write() as uow:
                repo = uow.repo(CatalogueRepo)
                if not await repo.claim_pending(token, user_id, utcnow() - PENDING_TTL):
                    return None  # pressed twice, or cancelled meanwhile
                return await apply_import(repo, records, values, max_removed=removals_confirmed)
        except RemovalNotConfirmed as exc:  # the catalogue changed since the question: ask again
            return RemovalToConfirm(exc.plan)

    async def cancel_import(self, token: str, user_id: int) -> bool:
        """Drop this user's pending import; False when there was none."""
        async with self.database.write() as uow:
            return await uow.repo(CatalogueRepo).drop_pending(token, user_id)

    # --- import from the command line and the demo catalogue --------------------------------

    async def plan(self, records: Sequence[dict[str, Any]]) -> ImportPlan:
        """What importing `records` would change (`--dry-run`)."""
        async with self.database.read() as uow:
            return await plan_import(uow.repo(CatalogueRepo), records)

    async def import_records(
        self, records: Sequence[dict[str, Any]], *, max_removed: int | None = None
    ) -> ImportPlan:
        """Apply validated records at once (the CLI, the benchmark); with `max_removed`, raise
        RemovalNotConfirmed (nothing written) when more programs would go."""
        values = await asyncio.to_thread(_prepared, records)
        async with self.database.write() as uow:
            return await apply_import(uow.repo(CatalogueRepo), records, values, max_removed=max_removed)

    async def load_demo_if_empty(self, content: Content) -> int:
        """Import the demo catalogue through the real importer when there are no programs;
        the number of programs added (0 when the catalogue was not empty)."""
        async with self.database.read() as uow:
            if await uow.repo(CatalogueRepo).count():
                return 0
        path = demo_file(content)
        if not path.is_file():
            return 0
        data = await asyncio.to_thread(path.read_bytes)
        parsed = await asyncio.to_thread(parse_for_content, data, content, None, path.name)
        if not parsed.ok:
            problem = parsed.file_error or parsed.row_errors[0]
            raise ValueError(f"demo catalogue {path} is invalid: {describe(problem)}")
        values = await asyncio.to_thread(_prepared, parsed.records)
        async with self.database.write() as uow:
            repo = uow.repo(CatalogueRepo)
            if await repo.count():  # filled meanwhile
                return 0
            plan = await apply_import(repo, parsed.records, values)
        return len(plan.added)
