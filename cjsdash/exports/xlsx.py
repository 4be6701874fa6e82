"""Excel: a contents sheet, a sheet per section, native charts, a chart-data and a notes sheet.

Each section sheet holds a tidy table (one row per figure: numerator, denominator, value, CI,
target, status, MSG average and England and Wales, source, vintage, suppression and synthetic
flags, and a column per commentary placeholder for the producer to fill) with frozen headers and number formats by unit, a native Excel sparkline per
indicator and a native line chart for every ``trend`` item. Suppressed cells hold ``[c]`` and
no number. Every text cell is written as a string (never a formula) and neutralised
(:func:`cells.neutralise`); the workbook is created with ``strings_to_formulas`` off as well.

The workbook, its formats and cells are in :mod:`.xlsx_book`; the chart-data sheet and the
native charts in :mod:`.xlsx_charts`; this module writes the section, contents and notes sheets.
"""

from __future__ import annotations

import io
from typing import Any

from xlsxwriter.utility import quote_sheetname
from xlsxwriter.worksheet import Worksheet

from layouts import theme
from metrics.registry import Indicator

from .cells import SUPPRESSED, hidden, is_missing, neutralise
from .content import NATIONAL_NAME, ItemContent, PackContent, SectionContent
from .pack_notes import SYNTHETIC_TEXT, definition_rows, method_notes
from .packs import Placeholder
from .xlsx_book import Book, number_format, sheet_name
from .xlsx_charts import CHART_DATA, CHART_ROWS, CHART_W, ChartData, line_chart

COLUMNS: tuple[tuple[str, str, int], ...] = (
    # key, heading, width
    ("indicator_title", "Indicator", 44), ("indicator", "Indicator id", 22),
    ("period_label", "Period", 14), ("breakdown", "Group", 10), ("numerator", "Numerator", 12),
    ("denominator", "Denominator", 13), ("value", "Value", 11), ("lower", "Lower 95% CI", 12),
    ("upper", "Upper 95% CI", 12), ("method", "CI method", 12), ("target", "Target", 10),
    ("status", "Status", 16), ("msg_value", "MSG average", 12),
    ("national_value", NATIONAL_NAME, 14), ("unit", "Unit", 18), ("trend", "Trend", 18),
    ("source", "Source", 18), ("vintage", "Vintage", 14), ("suppressed", "Suppressed", 11),
    ("synthetic", "Synthetic", 11), ("note", "Note", 40),
)  # then one column per commentary placeholder of the section (see _columns)
COMMENTARY = "commentary:"
VALUE_COLUMNS = ("value", "lower", "upper", "target", "msg_value", "national_value")
HEADER_ROW = 4


# --- section sheets ---------------------------------------------------------------------------

def _columns(section: SectionContent) -> list[tuple[str, str, int]]:
    """The fixed columns, then a column per commentary placeholder, for producers to fill."""
    placeholders: dict[str, str] = {}
    for item in section.items:
        for p, _ in item.commentary:
            placeholders.setdefault(p.id, p.label)
    return [*COLUMNS, *((COMMENTARY + ident, label, 40) for ident, label in placeholders.items())]


def _cell(book: Book, ws: Worksheet, r: int, c: int, key: str, row: dict[str, Any],
          ind: Indicator, commentary: tuple[tuple[Placeholder, str], ...] = ()) -> None:
    value = row.get(key)
    if hidden(key, row):
        book.text(ws, r, c, SUPPRESSED, book.mark)
    elif key in ("numerator", "denominator"):
        whole = is_missing(value) or float(value).is_integer()
        book.number(ws, r, c, value, book.fmt(num_format="#,##0" if whole else "#,##0.00"))
    elif key in VALUE_COLUMNS:
        book.number(ws, r, c, value, book.fmt(num_format=number_format(ind)))
    elif key == "status":
        book.text(ws, r, c, theme.status_style(value).text if value else "")
    elif key in ("suppressed", "synthetic"):
        mark = SUPPRESSED if key == "suppressed" else theme.SYNTHETIC_MARK
        book.text(ws, r, c, f"{mark} yes" if value else "no")
    elif key == "breakdown":
        book.text(ws, r, c, value or "All")
    elif key == "trend":
        ws.write_blank(r, c, None)
    elif key.startswith(COMMENTARY):
        texts = {p.id: text for p, text in commentary}
        book.text(ws, r, c, texts.get(key.removeprefix(COMMENTARY), ""), book.wrap)
    else:
        book.text(ws, r, c, value, book.wrap if key in ("note", "commentary") else None)


def _section_sheet(book: Book, name: str, index: int, chart_data: ChartData) -> None:
    content = book.content
    section = content.sections[index]
    ws = book.wb.add_worksheet(name)
    ws.hide_gridlines(2)
    book.text(ws, 0, 0, section.section.title, book.title)
    flags = f" · {SYNTHETIC_TEXT}" if content.synthetic else ""
    book.text(ws, 1, 0, f"{content.subtitle} · generated {content.generated_text}{flags}",
              book.subtitle)
    book.text(ws, 2, 0, section.section.intro or content.disclosure(), book.subtitle)
    columns = _columns(section)
    for c, (_, heading, width) in enumerate(columns):
        ws.set_column(c, c, width)
        book.text(ws, HEADER_ROW - 1, c, heading, book.header)
    ws.set_row(HEADER_ROW - 1, 30)
    ws.freeze_panes(HEADER_ROW, 1)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW - 1)
    r = HEADER_ROW
    charts: list[tuple[ItemContent, dict[str, Any]]] = []
    trend_col = [k for k, _, _ in COLUMNS].index("trend")
    for item in section.items:
        ranges = chart_data.add(item)
        first = r
        for row in item.rows.iter_rows(named=True):
            for c, (key, _, _) in enumerate(columns):
                _cell(book, ws, r, c, key, row, item.indicator, item.commentary)
            r += 1
        if ranges and not item.item.by:
            ws.add_sparkline(first, trend_col, {
                "range": ranges["series"][0][1].lstrip("="), "markers": False,
                "last_point": True, "series_color": theme.AREA_COLOUR,
                "empty_cells": "gaps"})
        if ranges and item.item.chart == "trend":
            charts.append((item, ranges))
    ws.autofilter(HEADER_ROW - 1, 0, max(r - 1, HEADER_ROW), len(columns) - 1)
    top = r + 2
    for i, (item, ranges) in enumerate(charts):
        ws.insert_chart(top + (i // 2) * CHART_ROWS, 0, line_chart(book, item, ranges),
                        {"x_offset": 10 + (i % 2) * (CHART_W + 20), "y_offset": 5,
                         "object_position": 3})


# --- contents and notes -----------------------------------------------------------------------

def _contents(book: Book, ws: Worksheet, names: list[str]) -> None:
    content = book.content
    ws.hide_gridlines(2)
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 2, 14)
    book.text(ws, 0, 0, content.pack.title, book.title)
    book.text(ws, 1, 0, content.subtitle, book.bold)
    book.text(ws, 2, 0, f"Generated {content.generated_text} by cjsdash", book.subtitle)
    r = 3
    if content.synthetic:
        book.text(ws, r, 0, SYNTHETIC_TEXT, book.fmt(bold=True, font_color="#b0281a"))
        r += 1
    ws.merge_range(r, 0, r, 4, "", book.wrap)
    book.text(ws, r, 0, content.disclosure(), book.wrap)
    ws.set_row(r, 44)
    r += 1
    if content.pack.description:
        ws.merge_range(r, 0, r, 4, "", book.wrap)
        book.text(ws, r, 0, content.pack.description, book.wrap)
        ws.set_row(r, 32)
        r += 1
    r += 1
    for c, heading in enumerate(("Sheet", "What it holds", "Indicators")):
        book.text(ws, r, c, heading, book.header)
    entries = [(name, s.section.title, len(s.items)) for name, s in zip(
        names, content.sections, strict=True)]
    entries += [(CHART_DATA, "The series behind every chart and sparkline", None),
                ("Notes", "Definitions and methods, from the indicator registry", None)]
    for name, what, count in entries:
        r += 1
        ws.write_url(r, 0, f"internal:{quote_sheetname(name)}!A1", book.link,
                     string=neutralise(name))
        book.text(ws, r, 1, what)
        book.number(ws, r, 2, count)
    r += 2
    book.text(ws, r, 0, "Data vintages", book.bold)
    book.text(ws, r, 1, "; ".join(content.vintages) or "no figures", book.wrap)


def _notes(book: Book) -> None:
    content = book.content
    ws = book.wb.add_worksheet("Notes")
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 110)
    book.text(ws, 0, 0, "Notes: definitions and methods", book.title)
    r = 2
    for term, text in method_notes(content):
        book.text(ws, r, 0, term, book.bold)
        book.text(ws, r, 1, text, book.wrap)
        r += 1
    for ind in content.indicators:
        r += 1
        book.text(ws, r, 0, f"{ind.title} ({ind.id})", book.fmt(bold=True, font_size=12))
        r += 1
        for term, text in definition_rows(ind, content.registry, content.options):
            book.text(ws, r, 0, term, book.bold)
            book.text(ws, r, 1, text, book.wrap)
            r += 1


def _short(section: SectionContent, content: PackContent) -> str:
    """The sheet's name: the short title, the title if short, the theme's short title."""
    s = section.section
    if s.short_title:
        return s.short_title
    if len(s.title) <= 27:
        return s.title
    if s.theme and s.theme in {t.id for t in content.registry.themes}:
        return content.registry.theme(s.theme).short_title
    return s.title


def render_xlsx(content: PackContent) -> bytes:
    """The workbook's bytes."""
    target = io.BytesIO()
    book = Book(target, content)
    book.wb.set_properties({
        "title": neutralise(content.pack.title), "subject": neutralise(content.subtitle),
        "author": "cjsdash", "comments": content.disclosure(),
    })
    contents = book.wb.add_worksheet("Contents")  # filled last, first in the workbook
    used = {"contents", CHART_DATA.lower(), "notes"}
    names = [sheet_name(i, _short(s, content), used) for i, s in enumerate(content.sections, 1)]
    chart_data = ChartData(book)
    for index, name in enumerate(names):
        _section_sheet(book, name, index, chart_data)
    chart_data.write()
    _notes(book)
    _contents(book, contents, names)
    contents.activate()
    book.wb.close()
    return target.getvalue()
