"""Who signed up for an event, as an XLSX file staff print or keep: one row per person with
the name and phone they gave, when they signed up, and an empty column to tick at the door.

Rendered after the read unit closed (EventService.signup_sheet runs it off the event loop);
every word comes from content/texts/announcements.yaml.
"""

from __future__ import annotations

import io

from bot.content import Content
from bot.services.announcements.events import EventSignups, local, when_text

__all__ = ["signups_xlsx"]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split("|")]


def signups_xlsx(found: EventSignups, content: Content) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    event = found.event
    mid = event.municipality_id

    def t(key: str, **params: object) -> str:
        return content.text(key, mid, **params)

    book = Workbook()
    sheet = book.active
    sheet.title = t("signups.xlsx_sheet")[:31]
    headers = _split(t("signups.xlsx_columns"))
    place = event.place
    city = content.municipalities[mid].name if mid in content.municipalities else None
    if city and city.lower() not in place.lower():
        place = f"{city}, {place}"
    sheet.append([t("signups.xlsx_title", title=event.title)])
    sheet.append([t("signups.xlsx_when_place", when=when_text(event), place=place)])
    sheet.append([t("signups.xlsx_counts", count=len(found.signups), named=found.named,
                    cancelled=found.cancelled)])  # fmt: skip
    sheet.append([])
    sheet.append(headers)
    header_row = sheet.max_row
    for index, signup in enumerate(found.signups, start=1):
        name = t("signups.xlsx_forgotten") if signup.user_id < 0 else signup.name or t("signups.xlsx_no_name")
        when = local(signup.created_at, event.timezone).strftime("%d.%m.%Y %H:%M")
        sheet.append([index, name, signup.phone or "", when, ""])
    bold = Font(bold=True)
    thin = Side(style="thin", color="999999")
    border = Border(top=thin, bottom=thin, left=thin, right=thin)
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[header_row]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in sheet.iter_rows(min_row=header_row, max_row=sheet.max_row, max_col=len(headers)):
        for cell in row:
            cell.border = border
    for index, width in enumerate((6, 40, 20, 18, 18), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
