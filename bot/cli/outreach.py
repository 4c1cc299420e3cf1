"""Outreach subcommands: log-event, import-events, report."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cli.core import CliError, content_or_fail, load_settings
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services.plugins import ReportSource
    from db.uow import Database

T = TypeVar("T")

FORMATS = ("json", "xlsx", "csv", "png", "text")


async def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the migrated database; services open their own units of work."""
    from db.engine import create_engine
    from db.migrate import upgrade_async
    from db.uow import Database

    await upgrade_async(settings.database_url)
    database = Database(create_engine(settings.database_url))
    try:
        return await work(database)
    finally:
        await database.dispose()


def feature_report_sources() -> dict[str, ReportSource]:
    """The report sources of every feature (bot.wiring names them)."""
    from bot.services.report_sources import collect
    from bot.wiring import feature_parts

    return collect(feature_parts())


# --- log-event ----------------------------------------------------------------------------


def cmd_log_event(args: argparse.Namespace) -> int:
    from bot.services.outreach import log
    from bot.services.outreach.errors import OutreachError
    from bot.services.outreach.log import ActivityInput, municipality_or_ask
    from bot.services.outreach.periods import parse_date
    from bot.services.outreach.service import OutreachLogService

    settings = load_settings()
    content = content_or_fail(settings)
    try:
        title = log.check_title(args.title)
        draft = ActivityInput(
            held_on=parse_date(args.date, settings.tz),
            title=title,
            kind=log.check_kind(args.kind),
            audience=log.check_audience(args.audience),
            reached=log.parse_reached(str(args.reached)),
            municipality_id=municipality_or_ask(content, args.municipality),
            organisation=log.check_organisation(args.organisation) if args.organisation else None,
            directions=log.check_directions(",".join(args.direction)) if args.direction else (),
            format=log.check_format(args.format) if args.format else None,
        )
    except OutreachError as exc:
        raise CliError(exc.en) from None
    if draft.needs_confirmation and not args.yes:
        raise CliError(
            f"{draft.reached} people at one activity is more than {log.CONFIRM_ABOVE}: "
            "check the number, or repeat with --yes if it is right"
        )

    async def work(database: Database) -> int:
        entry = await OutreachLogService(database, settings).create(draft, None, source="cli")
        return entry.id

    activity_id = asyncio.run(with_database(settings, work))
    print(
        f"logged activity #{activity_id}: {draft.held_on.isoformat()} {draft.audience} "
        f"{draft.reached} people, {draft.kind}: {draft.title}"
    )
    return 0


# --- import-events ------------------------------------------------------------------------


def cmd_import_events(args: argparse.Namespace) -> int:
    from bot.services.outreach.errors import OutreachError
    from bot.services.outreach.service import OutreachLogService
    from bot.services.outreach.sheets import ImportResult, SheetError, check_file

    settings = load_settings()
    content = content_or_fail(settings)
    try:
        # The file is read and checked before any unit of work opens.
        checked = check_file(args.file, settings.tz, content, confirm_large=args.yes)
    except (SheetError, OutreachError) as exc:
        message = exc.en if isinstance(exc, OutreachError) else str(exc)
        raise CliError(f"{args.file}: {message}; nothing was imported") from None

    async def work(database: Database) -> ImportResult:
        return await OutreachLogService(database, settings).import_rows(checked)

    result = asyncio.run(with_database(settings, work))
    if result.errors:
        shown = result.errors[:50]
        more = len(result.errors) - len(shown)
        lines = "\n".join(f"  {e}" for e in shown) + (f"\n  ... and {more} more" if more else "")
        raise CliError(
            f"{args.file}: {len(result.errors)} problem(s); nothing was imported, "
            f"fix them and run again:\n{lines}"
        )
    print(f"imported {result.imported} activities ({result.reached} people reached) from {args.file}")
    return 0


# --- report -------------------------------------------------------------------------------


def _period(args: argparse.Namespace, settings: Settings) -> Any:
    from bot.services.outreach.periods import academic_year, calendar_year, date_range, parse_date

    chosen = [args.year is not None, args.academic_year is not None, bool(args.date_from or args.date_to)]
    if sum(chosen) != 1:
        raise CliError("choose one period: --year YYYY, --academic-year YYYY, or --from DATE --to DATE")
    if args.year is not None:
        return calendar_year(args.year, settings.tz)
    if args.academic_year is not None:
        return academic_year(args.academic_year, settings.tz)
    if not (args.date_from and args.date_to):
        raise CliError("--from and --to go together (YYYY-MM-DD each)")
    start = parse_date(args.date_from, settings.tz, allow_future=True)
    end = parse_date(args.date_to, settings.tz, allow_future=True)
    return date_range(start, end, settings.tz)


def cmd_report(args: argparse.Namespace) -> int:
    from bot.services.outreach import render
    from bot.services.outreach.chart import to_png
    from bot.services.outreach.errors import OutreachError
    from bot.services.outreach.model import Report
    from bot.services.outreach.service import ReportService, find_municipality

    settings = load_settings()
    content = content_or_fail(settings)
    try:
        period = _period(args, settings)
        municipality = find_municipality(content, args.municipality) if args.municipality else None
    except OutreachError as exc:
        raise CliError(exc.en) from None
    name = content.municipalities[municipality].name if municipality else None
    sources = feature_report_sources()

    async def work(database: Database) -> Report:
        return await ReportService(database, settings, sources).build(period, municipality, name)

    report = asyncio.run(with_database(settings, work))
    fmt = args.format
    data: bytes
    # the words of the files: content/texts/report.yaml as this МОЦ edited them
    if fmt == "json":
        data = (render.to_json(report) + "\n").encode()
    elif fmt == "text":
        data = (render.paragraph(report, period.phrase, content) + "\n").encode()
    elif fmt == "csv":
        data = render.to_csv(report, content).encode("utf-8-sig")
    elif fmt == "xlsx":
        data = render.to_xlsx(report, content)
    else:
        data = to_png(report, render.chart_title(report, content), content)
    output: Path | None = args.output
    if output is None and fmt in {"xlsx", "png"}:
        output = Path(f"otchet-moc-{period.slug}.{fmt}")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror}") from None
    print(
        f"report for {period.start.isoformat()}..{period.end.isoformat()} "
        f"written to {output} ({len(data)} bytes)",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "log-event", help="log an offline activity (parent meeting, seminar...) for the report"
    )
    p.add_argument(
        "--date", required=True, help="2025-03-14, 14.03.2025, «12 марта» or «вчера» (not in the future)"
    )
    p.add_argument("--audience", required=True, help="parents | students | educators | other")
    p.add_argument(
        "--kind",
        required=True,
        help="meeting | open_day | consultation | master_class | seminar | round_table | competition | "
        "publication | other",
    )
    p.add_argument("--reached", required=True, type=int, help="people reached (over 100000 needs --yes)")
    p.add_argument("--title", required=True)
    p.add_argument("--organisation", default=None)
    p.add_argument(
        "--direction", action="append", default=[], help="направленность (repeat or comma-separate)"
    )
    p.add_argument("--format", default=None, help="offline | online")
    p.add_argument(
        "--municipality",
        default=None,
        help="id or name; required when content/municipalities.yaml has several",
    )
    p.add_argument("--yes", action="store_true", help="confirm a headcount over 100000")
    p.set_defaults(handler=cmd_log_event)

    p = sub.add_parser(
        "import-events", help="import past activities from an XLSX or CSV file (all or nothing)"
    )
    p.add_argument("file", type=Path)
    p.add_argument("--yes", action="store_true", help="accept headcounts over 100000")
    p.set_defaults(handler=cmd_import_events)

    p = sub.add_parser("report", help="the outreach report for a year, an academic year or a date range")
    p.add_argument("--year", type=int, default=None, help="calendar year, e.g. 2025")
    p.add_argument("--academic-year", type=int, default=None, help="2024 means 1 Sep 2024 - 31 Aug 2025")
    p.add_argument("--from", dest="date_from", default=None, help="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", default=None, help="YYYY-MM-DD (inclusive)")
    p.add_argument("--municipality", default=None, help="id or name (default: the whole region)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("-o", "--output", type=Path, default=None, help="file (default: stdout for json/csv/text)")
    p.set_defaults(handler=cmd_report)
