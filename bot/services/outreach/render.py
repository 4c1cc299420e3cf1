"""The report in the formats staff and machines read: a paragraph, JSON, XLSX, CSV, PNG."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.services.outreach import russian, vocab
from bot.services.outreach.model import Report
from bot.services.outreach.tables import Cell, Table, build_tables


def _outreach_sentence(report: Report, phrase: str) -> str:
    outreach = report.outreach
    held = [(t, outreach.of(t.code)) for t in vocab.AUDIENCES if outreach.of(t.code).events > 0]
    parts = [
        f"{russian.EVENT.count(figures.events)} {t.phrase} с охватом {russian.PERSON.count(figures.reached)}"
        for t, figures in held
    ]
    if not parts:
        return f"{phrase} мероприятия в журнал МОЦ не вносились."
    first = held[0][1].events
    sentence = f"{phrase} {russian.held(first)} " + ", ".join(parts) + "."
    if len(parts) > 1:
        total = outreach.total
        sentence += (
            f" Всего — {russian.EVENT.count(total.events)} с охватом {russian.PERSON.count(total.reached)}."
        )
    return sentence


def _kinds_sentence(report: Report) -> str | None:
    items = [k for k in report.by_kind if k.events > 0]
    if not items:
        return None
    labels = {t.code: t.phrase for t in vocab.KINDS}
    parts = [f"{labels.get(k.kind, k.title)} — {k.events}" for k in items]
    return "По видам: " + ", ".join(parts) + "."


def _bot_sentences(report: Report) -> list[str]:
    bot = report.bot
    result: list[str] = []
    c = bot.consultations
    if c.questions:
        text = (
            f"Чат-бот МОЦ: консультации — {russian.QUESTION.count(c.questions)} "
            f"с охватом {russian.PERSON.count(c.people)}"
        )
        if c.share_without_staff is not None:
            text += (
                f"; без участия специалиста получен ответ на "
                f"{russian.percent(c.answered_without_staff, c.questions)} вопросов"
            )
        result.append(text + ".")
    h = bot.handoffs
    if h.created:
        text = f"Вопросов, переданных специалистам, — {h.created}"
        if h.median_answer_seconds is not None:
            text += f", медианное время ответа — {russian.duration(h.median_answer_seconds)}"
        result.append(text + ".")
    s = bot.search
    if s.searches:
        result.append(
            f"Поиск кружков и секций в чат-боте — {russian.REQUEST.count(s.searches)} "
            f"с охватом {russian.PERSON.count(s.people)}."
        )
    b = bot.broadcasts
    if b.count:
        result.append(f"Рассылки подписчикам — {b.count} с охватом {russian.PERSON.count(b.reached)}.")
    e = bot.event_signups
    if e.signups:
        result.append(
            f"Записи на мероприятия через чат-бот — {russian.SIGNUP.count(e.signups)} "
            f"с охватом {russian.PERSON.count(e.people)}."
        )
    return result


def _catalogue_sentence(report: Report) -> str | None:
    """From the "catalogue" report source, in the seeds' words: «художественной направленности — 42»."""
    catalogue = report.sections.catalogue
    if catalogue is None or catalogue.total == 0:  # no catalogue loaded: nothing worth a sentence
        return None
    parts = [f"{row.genitive} направленности — {row.programs}" for row in catalogue.rows if row.programs]
    sentence = f"В каталоге программ — {russian.PROGRAM.count(catalogue.total)}"
    if parts:
        sentence += ": " + ", ".join(parts)
    if catalogue.ovz_total:
        sentence += f"; для детей с ОВЗ — {catalogue.ovz_total}"
    return sentence + "."


def paragraph(report: Report, phrase: str) -> str:
    """Plain text, ready to paste into the annual report (escape it for Telegram HTML).

    `phrase` opens the first sentence: «В 2025 году» (Period.phrase).
    """
    first = [_outreach_sentence(report, phrase)]
    kinds = _kinds_sentence(report)
    if kinds:
        first.append(kinds)
    paragraphs = [" ".join(first)]
    catalogue = _catalogue_sentence(report)
    if catalogue:
        paragraphs.append(catalogue)
    bot = _bot_sentences(report)
    if bot:
        paragraphs.append(" ".join(bot))
    return "\n\n".join(paragraphs)


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


def _period_and_place(report: Report) -> str:
    return f"{report.period.label} ({report.place_name})"


def title_of(report: Report) -> str:
    return f"Отчёт МОЦ об охвате — {_period_and_place(report)}"


def chart_title(report: Report) -> str:
    return f"Охват участников мероприятий МОЦ по месяцам — {_period_and_place(report)}"


def to_xlsx(report: Report) -> bytes:
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
    title = title_of(report)
    for table in build_tables(report):
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
        ws.oddFooter.right.text = "Стр. &P из &N"

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


def to_csv(report: Report) -> str:
    """One file, one block per table: a `# title` line, the header, the rows, the totals, a blank line.

    `;`-separated with a BOM (the caller writes UTF-8-SIG) so Excel in a Russian locale opens it
    as is; decimal commas.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([f"# {title_of(report)}"])
    writer.writerow([])
    for table in build_tables(report):
        writer.writerow([f"# {table.title}"])
        writer.writerow(table.headers)
        for row in table.rows:
            writer.writerow([_csv_cell(v) for v in row])
        if table.totals is not None:
            writer.writerow([_csv_cell(v) for v in table.totals])
        writer.writerow([])
    return buffer.getvalue()


def tables_of(report: Report) -> list[Table]:
    return build_tables(report)
