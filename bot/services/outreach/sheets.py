"""A spreadsheet of past activities (XLSX or CSV), checked row by row and imported all-or-nothing
(`OutreachLogService.import_rows`).

The reader is generic (a header row, then rows as {header: text}); the import
maps forgiving Russian or English column names to the log's fields.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.services.outreach import log, vocab
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.log import ActivityInput
from bot.services.outreach.periods import parse_date
from db.repositories.outreach import ActivityData

MAX_ROWS = 100_000
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet shows it (the header is row 1)
    values: dict[str, str]


class SheetError(Exception):
    """The file as a whole cannot be read; the text is for the operator."""


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SheetError("the CSV file is neither UTF-8 nor Windows-1251 text")


def read_rows(path: Path) -> tuple[list[str], list[Row]]:
    """Headers (lower-cased, trimmed) and the non-empty rows of the first sheet."""
    if not path.is_file():
        raise SheetError(f"no such file: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SheetError(f"{path.name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    suffix = path.suffix.lower()
    raw_rows: list[list[str]]
    if suffix == ".csv":
        text = _decode(path.read_bytes())
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=";,\t")
        except csv.Error:
            dialect = csv.excel
        raw_rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), dialect)]
    elif suffix in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a broken file
            raise SheetError(f"{path.name} is not a readable XLSX file ({exc.__class__.__name__})") from None
        try:
            sheet = workbook.worksheets[0]
            raw_rows = [[_cell_text(v) for v in r] for r in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    else:
        raise SheetError(f"{path.name}: use an .xlsx or .csv file")
    if not raw_rows or not any(raw_rows[0]):
        raise SheetError(f"{path.name} is empty or has no header row")
    headers = [h.strip().lower().replace("ё", "е") for h in raw_rows[0]]
    rows = []
    for number, cells in enumerate(raw_rows[1:], start=2):
        if not any(cells):
            continue
        values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers) if h}
        rows.append(Row(number, values))
    if len(rows) > MAX_ROWS:
        raise SheetError(f"{path.name} has {len(rows)} rows; at most {MAX_ROWS} at once")
    return headers, rows


COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("дата", "дата проведения", "date"),
    "audience": ("аудитория", "категория", "категория участников", "для кого", "audience"),
    "kind": ("вид", "вид мероприятия", "тип", "kind"),
    "reached": ("охват", "охват, человек", "участников", "количество участников", "человек", "reached"),
    "title": ("название", "мероприятие", "наименование", "наименование мероприятия", "title"),
    "organisation": ("организация", "место проведения", "organisation", "organization"),
    "directions": ("направленность", "направленности", "direction", "directions"),
    "format": ("формат", "format"),
    "municipality": ("муниципалитет", "municipality"),
}
REQUIRED = ("date", "audience", "reached", "title")


def _columns(headers: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for field, names in COLUMNS.items():
        for header in headers:
            if header in names:
                found[field] = header
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        wanted = "; ".join(f"{f}: {' / '.join(COLUMNS[f][:3])}" for f in missing)
        raise SheetError(f"missing column(s) — {wanted}")
    return found


def row_to_input(
    values: dict[str, str], columns: dict[str, str], tz: ZoneInfo, content: Content, default_municipality: str
) -> ActivityInput:
    def get(field: str) -> str:
        return values.get(columns[field], "").strip() if field in columns else ""

    title = log.check_title(get("title"))
    kind_text = get("kind")
    municipality_text = get("municipality")
    organisation = get("organisation")
    format_text = get("format")
    directions_text = get("directions")
    return ActivityInput(
        held_on=parse_date(get("date"), tz),
        title=title,
        kind=log.check_kind(kind_text) if kind_text else vocab.guess_kind(title).code,
        audience=log.check_audience(get("audience")),
        reached=log.parse_reached(get("reached")),
        municipality_id=log.find_municipality(content, municipality_text)
        if municipality_text
        else default_municipality,
        organisation=log.check_organisation(organisation) if organisation else None,
        directions=log.check_directions(directions_text) if directions_text else (),
        format=log.check_format(format_text) if format_text else None,
    )


@dataclass(frozen=True)
class ImportResult:
    imported: int
    reached: int
    errors: list[str]


@dataclass(frozen=True)
class CheckedRows:
    """The rows of a file, checked on their own; `errors` name the rows by their number."""

    items: list[tuple[int, ActivityInput]]  # (row number, activity)
    errors: list[str]


def duplicate_key(item: ActivityData) -> tuple[date, str, str, str]:
    """Two entries with this key are the same activity logged twice."""
    return (item.held_on, item.title.lower(), item.audience, item.municipality_id)


def check_file(path: Path, tz: ZoneInfo, content: Content, *, confirm_large: bool = False) -> CheckedRows:
    """Read and check every row of the file (slow for a big file: no unit of work is open meanwhile)."""
    headers, rows = read_rows(path)
    columns = _columns(headers)
    errors: list[str] = []
    items: list[tuple[int, ActivityInput]] = []
    seen: dict[tuple[date, str, str, str], int] = {}
    for row in rows:
        try:
            item = row_to_input(row.values, columns, tz, content, content.default_municipality_id)
        except OutreachError as exc:
            errors.append(f"row {row.number}: {exc.en}")
            continue
        if item.needs_confirmation and not confirm_large:
            errors.append(
                f"row {row.number}: {item.reached} people at one activity is more than "
                f"{log.CONFIRM_ABOVE}; check it, or pass --yes if it is right"
            )
            continue
        key = duplicate_key(item)
        if key in seen:
            errors.append(f"row {row.number}: the same activity as row {seen[key]}")
            continue
        seen[key] = row.number
        items.append((row.number, item))
    if not rows:
        errors.append("the file has a header but no rows")
    return CheckedRows(items, errors)
