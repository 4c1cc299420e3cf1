"""The report in the formats staff and machines read: a paragraph, JSON, XLSX, CSV, PNG.

Every word comes from content/texts/report.yaml through `Words`: pass the live `Content`
(the bot and `mocbot report` do); without it the shipped content/ is used.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.content import Content
from bot.directions import Direction
from bot.services.outreach import vocab
from bot.services.outreach.model import CatalogueRow, Report
from bot.services.outreach.russian import percent
from bot.services.outreach.tables import Cell, Table, build_tables
from bot.services.outreach.words import Words


def _outreach_sentence(report: Report, phrase: str, words: Words) -> str:
    outreach = report.outreach
    held = [(t, outreach.of(t.code)) for t in vocab.AUDIENCES if outreach.of(t.code).events > 0]
    if not held:
        return words("report.none", phrase=phrase)
    parts = [
        words("report.audience_part", events=figures.events, audience=t.phrase, reached=figures.reached)
        for t, figures in held
    ]
    sentence = words("report.outreach", phrase=phrase, first=held[0][1].events, parts=", ".join(parts))
    if len(parts) > 1:
        total = outreach.total
        sentence += " " + words("report.total", events=total.events, reached=total.reached)
    return sentence


def _kinds_sentence(report: Report, words: Words) -> str | None:
    """«Среди них 45 родительских собраний, 33 мастер-класса и 15 семинаров (...)» — most first."""
    items = sorted((k for k in report.by_kind if k.events > 0), key=lambda k: -k.events)
    if not items or (len(items) == 1 and items[0].events == 1):
        return None  # nothing to say, or «проведено 1 мероприятие» already says it
    if len(items) == 1:
        term = vocab.KIND_BY_CODE.get(items[0].kind)
        return words("report.kinds_single", kind=term.phrase if term else items[0].title)
    parts = []
    for k in items:
        key = f"report.kind.{k.kind}"
        parts.append(
            words(key, n=k.events)
            if words.has(key)
            else words("report.kind.unknown", n=k.events, title=k.title)
        )
    return words("report.kinds", items=words.join(parts))


def _bot_sentences(report: Report, words: Words) -> list[str]:
    bot = report.bot
    result: list[str] = []
    c = bot.consultations
    if c.questions:
        text = words("report.bot_questions", people=c.people, questions=c.questions)
        if c.share_without_staff is not None:
            text += words("report.bot_share", percent=percent(c.answered_without_staff, c.questions))
        result.append(text + ".")
        in_max = bot.channel("max")
        if in_max is not None and in_max.people:
            result.append(
                words("report.bot_channels", max_people=in_max.people, max_questions=in_max.questions) + "."
            )
    h = bot.handoffs
    if h.created:
        text = words("report.bot_handoffs", n=h.created)
        if h.median_answer_seconds is not None:
            text += words("report.bot_median", duration=words.duration(h.median_answer_seconds))
        result.append(text + ".")
    s = bot.search
    if s.searches:
        result.append(words("report.bot_search", people=s.people, searches=s.searches))
    b = bot.broadcasts
    if b.count:
        result.append(words("report.bot_broadcasts", count=b.count, reached=b.reached))
    open_days = report.sections.open_days
    if open_days is not None and open_days.items:  # the numbers of the sign-ups sheet
        totals = open_days.totals
        text = words("report.bot_signups", events=totals.events, signups=totals.signups)
        if totals.cancelled:
            text += words("report.bot_cancelled", n=totals.cancelled)
        result.append(text + ".")
    return result


def _genitive(row: CatalogueRow) -> str:
    direction = Direction.from_code(row.direction)
    return direction.genitive if direction else row.title


def _catalogue_sentence(report: Report, words: Words) -> str | None:
    """From the "catalogue" report source, most programs first, each направленность named once:
    «Больше всего программ физкультурно-спортивной направленности (52) и художественной (42);
    затем технической — 32, …; меньше всего — туристско-краеведческой (3)»."""
    catalogue = report.sections.catalogue
    if catalogue is None or catalogue.total == 0:  # no catalogue loaded: nothing worth a sentence
        return None
    rows = sorted((r for r in catalogue.rows if r.programs), key=lambda r: -r.programs)
    sentence = words("report.catalogue_total", total=catalogue.total)
    if len(rows) == 1:
        sentence += " " + words("report.catalogue_only", direction=_genitive(rows[0]))
    elif rows:
        first, second = rows[0], rows[1]
        if len(rows) == 2:
            detail = words("report.catalogue_top", first=_genitive(first), n1=first.programs)
            detail += words("report.catalogue_then", items=words(
                "report.catalogue_item", direction=_genitive(second), n=second.programs
            ))  # fmt: skip
        else:
            detail = words(
                "report.catalogue_top2",
                first=_genitive(first),
                n1=first.programs,
                second=_genitive(second),
                n2=second.programs,
            )
            middle = [
                words("report.catalogue_item", direction=_genitive(r), n=r.programs) for r in rows[2:-1]
            ]
            if middle:
                detail += words("report.catalogue_then", items=words.join(middle))
            last = rows[-1]
            detail += words("report.catalogue_least", direction=_genitive(last), n=last.programs)
        sentence += " " + detail + "."
    if catalogue.ovz_total:
        sentence += " " + words("report.catalogue_ovz", n=catalogue.ovz_total)
    return sentence


def paragraph(report: Report, phrase: str, content: Content | None = None) -> str:
    """Plain text, ready to paste into the annual report (escape it for Telegram HTML).

    `phrase` opens the first sentence: «В 2025 году» (Period.phrase).
    """
    words = Words.of(report, content)
    first = [_outreach_sentence(report, phrase, words)]
    kinds = _kinds_sentence(report, words)
    if kinds:
        first.append(kinds)
    paragraphs = [" ".join(first)]
    catalogue = _catalogue_sentence(report, words)
    if catalogue:
        paragraphs.append(catalogue)
    bot = _bot_sentences(report, words)
    if bot:
        paragraphs.append(" ".join(bot))
    return "\n\n".join(paragraphs)


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


def title_of(report: Report, content: Content | None = None) -> str:
    words = Words.of(report, content)
    return words("report.file_title", period=report.period.label, place=words.place(report))


def chart_title(report: Report, content: Content | None = None) -> str:
    words = Words.of(report, content)
    return words("report.chart_title", period=report.period.label, place=words.place(report))


def to_xlsx(report: Report, content: Content | None = None) -> bytes:
    """One sheet per table: bold header, column widths, a bold totals row, set up for printing.

    Written in openpyxl's write-only mode (rows streamed, only the header and totals styled) so a
    year with thousands of activities still renders in well under a second.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    thin = Side(style="thin", color="999999")
    border = Border(top=thin, bottom=thin, left=thin, right=thin)
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="center")
    title = title_of(report, content)
    footer = Words.of(report, content)("report.page", page="&P", pages="&N")
    for table in build_tables(report, content):
        ws = workbook.create_sheet(table.sheet[:31])
        for index, header in enumerate(table.headers, start=1):
            width = table.widths[index - 1] if index - 1 < len(table.widths) else max(12, len(header) + 2)
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape" if len(table.headers) > 4 else "portrait"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        ws.oddHeader.center.text = f"{title}. {table.title}"
        ws.oddFooter.right.text = footer

        def styled(value: Cell, fill: bool, ws: Any = ws) -> WriteOnlyCell:
            cell = WriteOnlyCell(ws, value=value)
            cell.font = bold
            cell.border = border
            if fill:
                cell.fill = header_fill
                cell.alignment = wrap
            return cell

        ws.append([styled(h, True) for h in table.headers])
        for row in table.rows:
            ws.append(list(row))
        if table.totals is not None:
            totals = list(table.totals) + [None] * (len(table.headers) - len(table.totals))
            ws.append([styled(v, False) for v in totals])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def to_csv(report: Report, content: Content | None = None) -> str:
    """One file, one block per table: a `# title` line, the header, the rows, the totals, a blank line.

    `;`-separated with a BOM (the caller writes UTF-8-SIG) so Excel in a Russian locale opens it
    as is; decimal commas.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([f"# {title_of(report, content)}"])
    writer.writerow([])
    for table in build_tables(report, content):
        writer.writerow([f"# {table.title}"])
        writer.writerow(table.headers)
        for row in table.rows:
            writer.writerow([_csv_cell(v) for v in row])
        if table.totals is not None:
            writer.writerow([_csv_cell(v) for v in table.totals])
        writer.writerow([])
    return buffer.getvalue()


def tables_of(report: Report, content: Content | None = None) -> list[Table]:
    return build_tables(report, content)
