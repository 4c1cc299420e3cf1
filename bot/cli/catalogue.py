"""Catalogue subcommands: import-programs, search."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cli.core import CliError, content_or_fail, load_settings, setup_logging
from bot.content import Content
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services.catalogue import CatalogueService
    from bot.services.catalogue.search import ProgramHit, SearchFilters
    from bot.services.catalogue.store import ImportPlan

T = TypeVar("T")


async def _with_catalogue(settings: Settings, work: Callable[[CatalogueService], Awaitable[T]]) -> T:
    """Run `work` with the catalogue service on the migrated database (the bot's units of work)."""
    from bot.services.catalogue import CatalogueService
    from db.engine import create_engine
    from db.migrate import upgrade_async
    from db.uow import Database

    await upgrade_async(settings.database_url)
    database = Database(create_engine(settings.database_url))
    try:
        return await work(CatalogueService(database, settings))
    finally:
        await database.dispose()


def _municipality(content: Content, name: str | None) -> str | None:
    from bot.services.catalogue.store import resolve_municipality

    if name is None:
        return None
    mid = resolve_municipality(content, name)
    if mid is None:
        known = ", ".join(f"{m.name} ({mid})" for mid, m in content.municipalities.items())
        raise CliError(f"unknown municipality {name!r}; known: {known}")
    return mid


def cmd_import(args: argparse.Namespace) -> int:
    from bot.services.catalogue.importer import describe
    from bot.services.catalogue.store import parse_for_content

    settings = load_settings()
    setup_logging("WARNING")
    content = content_or_fail(settings)
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"file not found: {path}")
    override = _municipality(content, args.municipality)
    parsed = parse_for_content(path.read_bytes(), content, override, path.name)
    if parsed.unknown_columns:
        print("unknown columns (ignored): " + ", ".join(parsed.unknown_columns))
    if parsed.file_error is not None:
        raise CliError(f"{path.name}: {describe(parsed.file_error)}; nothing was imported")
    if parsed.row_errors:
        for problem in parsed.row_errors:
            print(describe(problem), file=sys.stderr)
        raise CliError(
            f"{path.name}: {len(parsed.row_errors)} invalid row(s) of {parsed.rows}; nothing was imported"
        )
    plan = asyncio.run(_import(settings, parsed.records, dry_run=True))
    if plan.removed and not args.dry_run and not _removal_confirmed(plan, args.yes):
        raise CliError(
            f"{path.name}: {len(plan.removed)} program(s) would be removed; nothing was imported. "
            "Run again with --yes to remove them."
        )
    if not args.dry_run:
        plan = asyncio.run(_import(settings, parsed.records, dry_run=False, max_removed=len(plan.removed)))
    counts = plan.counts()
    verb = "would be" if args.dry_run else "were"
    print(
        f"{path.name}: {parsed.rows} rows; programs that {verb} added: {counts['added']}, "
        f"updated: {counts['updated']}, unchanged: {counts['unchanged']}, removed: {counts['removed']}"
    )
    for label, ids in (("added", plan.added), ("updated", plan.updated), ("removed", plan.removed)):
        if ids and (args.verbose or (label == "removed" and args.dry_run)):
            print(f"  {label}:")
            for external_id in ids:
                print(f"    {external_id}\t{plan.title(external_id)}")
    if args.dry_run:
        print("dry run: the database was not changed")
    return 0


def _removal_confirmed(plan: ImportPlan, yes: bool) -> bool:
    """Removing programs is asked a second time: --yes, or «y» typed at a terminal."""
    print(f"{len(plan.removed)} program(s) of {', '.join(plan.municipalities)} are not in the file "
          "and would be REMOVED from the catalogue:")  # fmt: skip
    for external_id in plan.removed:
        print(f"  {external_id}\t{plan.title(external_id)}")
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    answer = input(f"Remove these {len(plan.removed)} program(s) and apply the import? [y/N] ")
    return answer.strip().lower() in ("y", "yes", "д", "да")


async def _import(
    settings: Settings, records: list[dict[str, Any]], *, dry_run: bool, max_removed: int | None = None
) -> ImportPlan:
    from bot.services.catalogue.store import RemovalNotConfirmed

    async def work(catalogue: CatalogueService) -> ImportPlan:
        if dry_run:
            return await catalogue.plan(records)
        return await catalogue.import_records(records, max_removed=max_removed)

    try:
        return await _with_catalogue(settings, work)
    except RemovalNotConfirmed as exc:  # the catalogue changed between the question and now
        raise CliError(
            f"{len(exc.plan.removed)} program(s) would be removed now, more than confirmed; "
            "nothing was imported. Run the import again."
        ) from None


def cmd_search(args: argparse.Namespace) -> int:
    from bot.directions import parse_direction
    from bot.services.catalogue.query import MAX_AGE, MIN_AGE, AgeRange, keywords_from_text
    from bot.services.catalogue.search import SearchFilters, district_code, hit_json

    settings = load_settings()
    setup_logging("WARNING")
    content = content_or_fail(settings)
    direction = None
    if args.direction:
        direction = parse_direction(args.direction)
        if direction is None:
            raise CliError(f"unknown direction {args.direction!r}; use one of the six направленности")
    age = None
    if args.age is not None:
        age = AgeRange.parse_code(str(args.age))
        if age is None:
            raise CliError(f"--age must be from {MIN_AGE} to {MAX_AGE} (the ages the catalogue holds)")
    filters = SearchFilters(
        municipality_id=_municipality(content, args.municipality),
        direction=direction,
        age=age,
        funding="free" if args.free else "cert" if args.certificate else None,
        ovz=args.ovz,
        keywords=keywords_from_text(args.query) if args.query else (),
        district=district_code(args.district) if args.district else None,
    )
    hits = asyncio.run(_search(settings, filters, args.limit))
    if args.json:
        print(json.dumps([hit_json(h) for h in hits], ensure_ascii=False, indent=2))
    else:
        for h in hits:
            district = "" if h.district.lower() in h.address.lower() else h.district
            place = ", ".join(p for p in (district, h.address) if p)
            print(f"{h.external_id}\t{h.title}\t{h.age_from}-{h.age_to}\t{h.organisation}\t{place}")
        print(f"{len(hits)} program(s)", file=sys.stderr)
    return 0


async def _search(settings: Settings, filters: SearchFilters, limit: int | None) -> list[ProgramHit]:
    return await _with_catalogue(settings, lambda catalogue: catalogue.find(filters, limit))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import-programs",
        help="import the program catalogue from an XLSX or CSV file (all or nothing)",
        description="Import programs from a Navigator export (XLSX or CSV). Programs of the file's "
        "municipalities that are missing from the file are removed: they are listed by title and "
        "removed only after a «y» at the terminal, or with --yes. Any invalid row refuses the "
        "whole file. Municipalities are matched by name, id or alias (content/municipalities.yaml), "
        "with «г.»/«город» in front or not; a «Район»/«Округ» column is the district.",
    )
    p.add_argument("file", type=Path, help="XLSX or CSV file")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.add_argument("--municipality", metavar="NAME", help="put every row in this municipality (name or id)")
    p.add_argument("-v", "--verbose", action="store_true", help="list the programs added, updated, removed")
    p.add_argument("--yes", action="store_true", help="remove programs missing from the file, no question")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("search", help="search programs as the bot does (ranked)")
    p.add_argument("--direction", metavar="NAME", help="направленность (forgiving: «техн.», «ФСП»)")
    p.add_argument("--age", type=int, metavar="N", help="child's age, 3-18 (as the catalogue holds)")
    p.add_argument("--district", metavar="NAME", help="only programs in this district (as the file names it)")
    p.add_argument("--query", metavar="TEXT", help="keywords, e.g. «робототехника»")
    p.add_argument("--municipality", metavar="NAME", help="municipality name or id (default: all)")
    p.add_argument("--free", action="store_true", help="only free programs")
    p.add_argument("--certificate", action="store_true", help="only programs paid by certificate")
    p.add_argument("--ovz", action="store_true", help="only programs adapted for children with ОВЗ")
    p.add_argument("--limit", type=int, default=None, help="print at most N programs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_search)
