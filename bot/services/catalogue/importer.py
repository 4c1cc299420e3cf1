"""Reading program spreadsheets (XLSX, CSV) into validated records.

Pure: bytes in, records and problems out. The file is refused as a whole when
anything is wrong (a file problem, or any invalid row), so an import is all or
nothing. Problems carry a code and values; the bot words them from its texts
(bot.views.catalogue.problem_text), `describe` in English for the CLI.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.content import place_key
from bot.directions import parse_direction
from bot.urls import ascii_url

MAX_FILE_BYTES = 20 * 1024 * 1024  # the Bot API's download limit
MIN_IMPORT_AGE = 3  # some regions admit 3-year-olds in the Navigator
MAX_IMPORT_AGE = 18
MAX_HEADER_CELLS = 200
HEADER_SEARCH_ROWS = 10  # the header row may follow a title of a few rows

# field → accepted header names (matched case-, space- and punctuation-insensitively)
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("ID программы", "ID", "Идентификатор программы", "Код программы", "Номер программы",
                    "ID в Навигаторе"),
    "title": ("Наименование программы", "Название программы", "Программа", "Наименование", "Название"),
    "direction": ("Направленность", "Направленность программы", "Направление"),
    "age_from": ("Возраст от", "Возраст с", "Мин. возраст", "Минимальный возраст", "Возраст (от)"),
    "age_to": ("Возраст до", "Макс. возраст", "Максимальный возраст", "Возраст (до)", "Возраст по"),
    "municipality": ("Муниципалитет", "Муниципальное образование", "Муниципальный район", "Город",
                     "Городской округ", "Муниципальный округ"),
    "organisation": ("Организация", "Учреждение", "Наименование организации", "Образовательная организация",
                     "Поставщик"),
    "address": ("Адрес", "Адрес проведения", "Место проведения", "Адрес проведения занятий"),
    # «Район» is the municipality in a file without a municipality column (see _map_header).
    "district": ("Район", "Округ", "Район города", "Административный округ", "Внутригородской район",
                 "Микрорайон", "Район проведения", "Территория"),
    "form": ("Форма обучения", "Форма", "Форма реализации"),
    "funding": ("Финансирование", "Вид финансирования", "Источник финансирования", "Оплата"),
    "price": ("Стоимость", "Цена", "Стоимость в месяц", "Стоимость, руб."),
    "ovz": ("ОВЗ", "Для детей с ОВЗ", "Адаптирована для детей с ОВЗ", "Адаптированная программа"),
    "description": ("Описание", "Краткое описание", "Аннотация", "Описание программы"),
    "schedule": ("Расписание", "Время занятий", "График занятий"),
    "url": ("Ссылка", "Ссылка на программу", "URL", "Ссылка в Навигаторе", "Адрес в Навигаторе"),
}  # fmt: skip
REQUIRED = ("external_id", "title", "direction", "age_from", "age_to", "municipality")
MAX_LENGTH = {"external_id": 32, "title": 300, "organisation": 300, "address": 300, "district": 100,
              "schedule": 300, "url": 500, "description": 3000}  # fmt: skip
# Headers that name the municipality when the file has no municipality column of its own.
_DISTRICT_OR_MUNICIPALITY = frozenset({"район"})

FORMS = {"очно": "och", "очная": "och", "очный": "och", "дистанционно": "dist", "дистанционная": "dist",
         "онлайн": "dist", "заочно": "dist", "смешанно": "mix", "смешанная": "mix", "очнозаочная": "mix",
         "очнозаочно": "mix", "очноdистанционная": "mix", "": "och"}  # fmt: skip
FUNDING = {"бесплатно": "free", "бесплатная": "free", "бюджет": "free", "муниципальноезадание": "free",
           "бесплатнопомуниципальномузаданию": "free", "": "free",
           "посертификату": "cert", "сертификат": "cert", "социальныйсертификат": "cert", "пфдо": "cert",
           "посоциальномусертификату": "cert", "оплатасертификатом": "cert",
           "платно": "paid", "платная": "paid", "внебюджет": "paid", "платныеуслуги": "paid"}  # fmt: skip
YES = {"да", "yes", "1", "true", "+", "адаптирована", "есть"}
NO = {"нет", "no", "0", "false", "-", "", "не адаптирована"}


@functools.lru_cache(maxsize=4096)
def header_key(text: str) -> str:
    return re.sub(r"[\s.,:;()\-–_/«»\"'№]+", "", text.strip().lower().replace("ё", "е"))


# Column values repeat from row to row (20,000 rows, six directions): parse each once.
_direction = functools.lru_cache(maxsize=1024)(parse_direction)


_HEADER_INDEX: dict[str, str] = {header_key(v): f for f, names in COLUMNS.items() for v in names}
FIELDS = tuple(COLUMNS)


@dataclass(frozen=True)
class Problem:
    """A file or row problem: `code` picks the message, `values` fill it."""

    code: str
    row: int | None = None
    values: tuple[str, ...] = ()


@dataclass
class ParsedFile:
    records: list[dict[str, Any]] = field(default_factory=list)
    row_errors: list[Problem] = field(default_factory=list)
    file_error: Problem | None = None
    unknown_columns: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.row_errors


class FileProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.code)


# --- reading cells ------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken archive
        raise FileProblem(Problem("not_table")) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise FileProblem(Problem("empty"))
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        workbook.close()


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or Windows-1251; garbage is refused."""
    if b"\x00" in data[:65536]:
        raise FileProblem(Problem("not_table"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            raise FileProblem(Problem("not_table")) from None
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if sample and controls > len(sample) // 200:
        raise FileProblem(Problem("not_table"))
    return text


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = decode_text(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield [c.strip() for c in row]
    except csv.Error as exc:
        raise FileProblem(Problem("not_table")) from exc


def table_rows(data: bytes, file_name: str = "") -> Iterator[list[str]]:
    """Rows of cells from an XLSX or CSV file (the kind is told by the content)."""
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(Problem("too_big", values=(str(MAX_FILE_BYTES // (1024 * 1024)),)))
    if not data.strip():
        raise FileProblem(Problem("empty"))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(Problem("xls"))
    if data.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise FileProblem(Problem("not_table"))
        return _xlsx_rows(data)
    return _csv_rows(data)


# --- validating rows ----------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def navigator_url(url: str) -> str | None:
    """The program's Navigator link as a URL button takes it, None when it is not http(s).

    The host becomes punycode (р38.навигатор.дети), path and query are %-encoded, and the
    fragment is dropped (the Navigator needs none): `bot.urls.ascii_url`, the rules the card's
    button uses too."""
    return ascii_url(url, keep_fragment=False)


def _int(value: str) -> int | None:
    value = value.replace("\u00a0", "").replace(" ", "")
    value = re.sub(r"(?i)(руб\.?|р\.?|₽)$", "", value)
    value = re.sub(r"[,.]0+$", "", value)
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else None


def _row_record(
    cells: Mapping[str, str], row: int, municipalities: Mapping[str, str], override: str | None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []
    for name in REQUIRED:
        if name == "municipality" and override:
            continue
        if not cells.get(name, ""):
            problems.append(Problem("required", row, (name,)))
    for name, limit in MAX_LENGTH.items():
        if len(cells.get(name, "")) > limit:
            problems.append(Problem("too_long", row, (name, str(limit))))
    if problems:
        return None, problems
    external_id = cells["external_id"]
    if not re.fullmatch(r"[0-9A-Za-z_.\-]+", external_id):
        problems.append(Problem("bad_id", row, (external_id,)))
    direction = _direction(cells["direction"])
    if direction is None:
        problems.append(Problem("direction", row, (cells["direction"],)))
    ages: list[int] = []
    for name in ("age_from", "age_to"):
        value = _int(cells[name])
        if value is None:
            problems.append(Problem("not_number", row, (name, cells[name])))
        elif not MIN_IMPORT_AGE <= value <= MAX_IMPORT_AGE:
            problems.append(Problem("age_range", row, (name, str(value))))
        else:
            ages.append(value)
    if len(ages) == 2 and ages[0] > ages[1]:
        problems.append(Problem("age_order", row, (str(ages[0]), str(ages[1]))))
    municipality_id = override
    if municipality_id is None:
        municipality_id = municipalities.get(place_key(cells["municipality"]))
        if municipality_id is None:
            problems.append(Problem("municipality", row, (cells["municipality"],)))
    form = FORMS.get(header_key(cells.get("form", "")))
    if form is None:
        problems.append(Problem("form", row, (cells.get("form", ""),)))
    funding = FUNDING.get(header_key(cells.get("funding", "")))
    if funding is None:
        problems.append(Problem("funding", row, (cells.get("funding", ""),)))
    price: int | None = None
    if cells.get("price", ""):
        price = _int(cells["price"])
        if price is None or price < 0:
            problems.append(Problem("price", row, (cells["price"],)))
    ovz_raw = cells.get("ovz", "").strip().lower()
    if ovz_raw not in YES | NO:
        problems.append(Problem("ovz", row, (cells.get("ovz", ""),)))
    url = cells.get("url", "")
    if url and navigator_url(url) is None:
        problems.append(Problem("url", row, (url,)))
    if problems:
        return None, problems
    assert direction is not None and municipality_id is not None and form is not None
    return {
        "external_id": external_id,
        "municipality_id": municipality_id,
        "title": cells["title"],
        "direction": direction.code,
        "age_from": ages[0],
        "age_to": ages[1],
        "organisation": cells.get("organisation", ""),
        "address": cells.get("address", ""),
        "district": " ".join(cells.get("district", "").split()),
        "form": form,
        "funding": funding,
        "price": price,
        "ovz": ovz_raw in YES,
        "description": cells.get("description", ""),
        "schedule": cells.get("schedule", ""),
        "url": url,
    }, []


def municipality_index(items: Mapping[str, str | Sequence[str]]) -> dict[str, str]:
    """{id: name, or the names and aliases} → lookup by `place_key` of a name, alias or id
    («г. Зима», «город Зима», «ЗИМА» all find `zima`)."""
    index: dict[str, str] = {}
    for mid, names in items.items():
        for name in (mid, *([names] if isinstance(names, str) else names)):
            index.setdefault(place_key(name), mid)
    return index


def parse_file(
    data: bytes,
    municipalities: Mapping[str, str | Sequence[str]],
    override: str | None = None,
    file_name: str = "",
) -> ParsedFile:
    """Parse and validate a whole file. `municipalities` is {id: name or names}; `override` an id."""
    result = ParsedFile()
    index = municipality_index(municipalities)
    try:
        rows = table_rows(data, file_name)
        columns: dict[int, str] | None = None
        seen: dict[str, int] = {}
        required = [f for f in REQUIRED if not (override and f == "municipality")]
        first_missing: list[str] | None = None
        first_unknown: list[str] = []
        row_number = 0
        for cells in rows:
            row_number += 1
            if not any(cells):
                continue
            if columns is None:
                # The header may sit below a title («Реестр программ…»): look at the first rows.
                unknown: list[str] = []
                candidate = _map_header(cells, unknown, municipality_column=override is None)
                missing = [f for f in required if f not in candidate.values()]
                if first_missing is None:
                    first_missing, first_unknown = missing, unknown
                if not missing:
                    columns = candidate
                    result.unknown_columns = unknown
                elif row_number >= HEADER_SEARCH_ROWS:
                    result.unknown_columns = first_unknown
                    raise FileProblem(Problem("missing_columns", values=tuple(first_missing)))
                continue
            result.rows += 1
            values = {name: cells[i] if i < len(cells) else "" for i, name in columns.items()}
            record, problems = _row_record(values, row_number, index, override)
            if record is not None:
                first = seen.setdefault(record["external_id"], row_number)
                if first != row_number:
                    problems = [Problem("duplicate", row_number, (record["external_id"], str(first)))]
                    record = None
            if record is not None:
                result.records.append(record)
            result.row_errors.extend(problems)
        if columns is None:
            if first_missing:
                result.unknown_columns = first_unknown
                raise FileProblem(Problem("missing_columns", values=tuple(first_missing)))
            raise FileProblem(Problem("empty"))
        if result.rows == 0:
            raise FileProblem(Problem("only_headers"))
    except FileProblem as exc:
        return ParsedFile(file_error=exc.problem, unknown_columns=result.unknown_columns)
    return result


def _map_header(cells: list[str], unknown: list[str], *, municipality_column: bool = True) -> dict[int, str]:
    """{cell index: field} of a header row. «Район» is the district, except in a file whose
    rows name their municipality nowhere else (an older export: «Район» = municipality)."""
    if len(cells) > MAX_HEADER_CELLS and sum(1 for c in cells if c) > MAX_HEADER_CELLS:
        raise FileProblem(Problem("not_table"))
    columns: dict[int, str] = {}
    for i, cell in enumerate(cells):
        name = _HEADER_INDEX.get(header_key(cell))
        if name is None:
            if cell:
                unknown.append(cell[:60])
            continue
        if name in columns.values():
            raise FileProblem(Problem("duplicate_column", values=(cell[:60],)))
        columns[i] = name
    if municipality_column and "municipality" not in columns.values():
        for i, name in columns.items():
            if name == "district" and header_key(cells[i]) in _DISTRICT_OR_MUNICIPALITY:
                columns[i] = "municipality"
                break
    return columns


# --- messages -----------------------------------------------------------------------------

MESSAGES_EN = {
    "not_table": "the file is not an XLSX or CSV table",
    "xls": "the old XLS format is not supported; save the file as XLSX or CSV",
    "empty": "the file is empty",
    "only_headers": "the file has headers only, no programs",
    "too_big": "the file is larger than {0} MB",
    "missing_columns": "required column(s) missing: {0}",
    "duplicate_column": "column {0!r} appears twice",
    "required": "{0!r} is empty",
    "too_long": "{0!r} is longer than {1} characters",
    "bad_id": "program id {0!r} has characters other than letters, digits, '-', '_', '.'",
    "direction": "direction {0!r} is not one of the six",
    "not_number": "{0!r}: {1!r} is not a number",
    "age_range": "{0!r}: {1} is outside 3-18",
    "age_order": "age from ({0}) is above age to ({1})",
    "municipality": "unknown municipality {0!r} (use --municipality or a name from municipalities.yaml)",
    "form": "form {0!r}: expected очно, дистанционно or смешанно",
    "funding": "funding {0!r}: expected бесплатно, по сертификату or платно",
    "price": "price {0!r}: expected whole roubles",
    "ovz": "ОВЗ {0!r}: expected да or нет",
    "url": "link {0!r}: expected an https:// address",
    "duplicate": "program id {0} repeats (first in row {1})",
}


def describe(problem: Problem) -> str:
    """A problem in English for operators (the CLI, logs); the bot's Russian words are
    texts (catalogue.import_problem.* in content/texts/catalogue.yaml)."""
    values: tuple[str, ...] = tuple(v[:80] for v in problem.values)
    if problem.code == "missing_columns":
        values = (", ".join(COLUMNS[v][0] for v in values),)
    if problem.code in ("required", "too_long", "not_number", "age_range"):
        values = (COLUMNS.get(values[0], (values[0],))[0], *values[1:])
    text = MESSAGES_EN[problem.code].format(*values)
    return f"row {problem.row}: {text}" if problem.row is not None else text
