"""Excel: a contents sheet, a sheet per section, native charts, a chart-data and a notes sheet.

Each section sheet holds a tidy table (one row per figure: numerator, denominator, value, CI,
target, status, MSG average and England and Wales, source, vintage, suppression and synthetic
flags, and a column per commentary placeholder for the producer to fill) with frozen headers and number formats by unit, a native Excel sparkline per
indicator and a native line chart for every ``trend`` item. Suppressed cells hold ``[c]`` and
no number. Every text cell is written as a string (never a formula) and neutralised
(:func:`cells.neutralise`); the workbook is created with ``strings_to_formulas`` off as well.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_range_abs
from xlsxwriter.workbook import Format, Workbook
from xlsxwriter.worksheet import Worksheet

from layouts import charts, theme
from metrics.registry import Indicator

from .cells import SUPPRESSED, hidden, is_missing, neutralise
from .content import NATIONAL_NAME, ItemContent, PackContent, SectionContent
from .pack_notes import SYNTHETIC_TEXT, definition_rows, method_notes
from .packs import Placeholder

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
CHART_W, CHART_H, CHART_ROWS = 640, 330, 18
CHART_DATA = "Chart data"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\']")


def number_format(ind: Indicator) -> str:
    """The Excel number format of an indicator's values (percent values are 0–100)."""
    d = ind.decimals
    places = "0" + ("." + "0" * d if d else "")
    return {
        "percent": f'{places}"%"', "count": "#,##0", "pounds": '"£"#,##0',
        "ratio": f'{places}"×"',
    }.get(ind.unit, places)


class _Book:
    """The workbook and its cached formats."""

    def __init__(self, target: io.BytesIO, content: PackContent) -> None:
        self.wb: Workbook = xlsxwriter.Workbook(target, {
            "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "nan_inf_to_errors": True, "in_memory": True,
        })
        self.content = content
        self._formats: dict[tuple, Format] = {}
        font = {"font_name": "Arial", "font_size": 10, "font_color": theme.TEXT_COLOUR}
        self.base = font
        self.title = self.fmt(bold=True, font_size=16)
        self.subtitle = self.fmt(font_color=theme.SECONDARY_TEXT)
        self.header = self.fmt(bold=True, text_wrap=True, valign="top", bottom=2,
                               bg_color="#f3f2f1")
        self.wrap = self.fmt(text_wrap=True, valign="top")
        self.bold = self.fmt(bold=True)
        self.mark = self.fmt(font_color=theme.SECONDARY_TEXT, align="right")
        self.link = self.fmt(font_color=theme.OKABE_ITO["blue"], underline=1)
        self.date = self.fmt(num_format="yyyy-mm-dd")

    def fmt(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format({**self.base, **props})
        return self._formats[key]

    def text(self, ws: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None
             ) -> None:
        """Text as a string cell, neutralised: never a formula."""
        if is_missing(value) or value == "":
            ws.write_blank(row, col, None, fmt)
        else:
            ws.write_string(row, col, neutralise(str(value)), fmt)

    def number(self, ws: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None
               ) -> None:
        if is_missing(value):
            ws.write_blank(row, col, None, fmt)
        else:
            ws.write_number(row, col, float(value), fmt)


def sheet_name(index: int, title: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name (≤ 31 characters, none of []:*?/\\')."""
    base = _BAD_SHEET_CHARS.sub("", f"{index}. {title}").strip()[:31].strip()
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


# --- chart data -------------------------------------------------------------------------------

class _ChartData:
    """One block per item on the chart-data sheet; ranges for charts and sparklines.

    Blocks are laid out as the section sheets ask for them and written by :meth:`write`
    once every section is done, so the sheet comes after the sections in the workbook.
    """

    def __init__(self, book: _Book) -> None:
        self.book = book
        self.row = 2
        self.blocks: list[tuple[int, ItemContent, list[tuple[str, pl.DataFrame, str]],
                                pl.DataFrame]] = []

    def add(self, item: ItemContent) -> dict[str, Any] | None:
        """Lay out the item's series; return {'categories', 'series': [(name, range, style)]}."""
        if not item.has_figures:
            return None
        columns = self._columns(item)
        periods = (pl.concat([f.select("period_start", "period_label") for _, f, _ in columns
                              if f.height]).unique().sort("period_start"))
        self.blocks.append((self.row, item, columns, periods))
        first, last = self.row + 2, self.row + 1 + periods.height
        self.row = last + 2
        sheet = quote_sheetname(CHART_DATA)
        return {
            "periods": periods.height,
            "categories": f"={sheet}!{xl_range_abs(first, 0, last, 0)}",
            "series": [(name, f"={sheet}!{xl_range_abs(first, j, last, j)}", style)
                       for j, (name, style) in enumerate(self._styles(item, columns), start=1)],
        }

    def write(self) -> None:
        book = self.book
        ws = book.wb.add_worksheet(CHART_DATA)
        ws.set_column(0, 0, 16)
        ws.set_column(1, 12, 16)
        book.text(ws, 0, 0, "Chart data: the series behind every chart and sparkline "
                  f"(blank cells are suppressed {SUPPRESSED} or missing periods)", book.bold)
        for top, item, columns, periods in self.blocks:
            ind = item.indicator
            book.text(ws, top, 0, f"{item.title} ({ind.id})", book.bold)
            book.text(ws, top + 1, 0, "Period", book.header)
            for j, (name, _, _) in enumerate(columns, start=1):
                book.text(ws, top + 1, j, name, book.header)
            number = book.fmt(num_format=number_format(ind))
            for i, (start, label) in enumerate(periods.rows(), start=top + 2):
                book.text(ws, i, 0, label)
                for j, (_, frame, column) in enumerate(columns, start=1):
                    hit = frame.filter(pl.col("period_start") == start) if frame.height else frame
                    book.number(ws, i, j, hit[column][0] if hit.height else None, number)

    def _columns(self, item: ItemContent) -> list[tuple[str, pl.DataFrame, str]]:
        history, content = item.history, self.book.content
        if item.item.by:
            groups = sorted(set(history["breakdown"].to_list())) if history.height else []
            return [(g, history.filter(pl.col("breakdown") == g), "value") for g in groups]
        columns = [(content.area_label, history, "value")]
        if item.national_history is not None and item.national_history.height:
            columns.append((NATIONAL_NAME, item.national_history, "value"))
        if history.height and history["target"].drop_nulls().len():
            columns.append(("Target", history, "target"))
        return columns

    @staticmethod
    def _styles(item: ItemContent, columns: list[tuple[str, pl.DataFrame, str]]
                ) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for i, (name, _, column) in enumerate(columns):
            if item.item.by:
                colour, dash = theme.COLOURWAY[i % len(theme.COLOURWAY)], "solid"
            elif column == "target":
                colour, dash = theme.TARGET_COLOUR, "dash"
            elif i == 0:
                colour, dash = theme.AREA_COLOUR, "solid"
            else:
                colour, dash = theme.NATIONAL_COLOUR, "round_dot"
            out.append((name, {"color": colour, "dash": dash}))
        return out


def _line_chart(book: _Book, item: ItemContent, ranges: dict[str, Any]) -> Any:
    ind = item.indicator
    chart = book.wb.add_chart({"type": "line"})
    unit = item.rows["unit"][0] or ""
    # A total grows with the size of the area: England and Wales (340,000 offences) on the
    # area's axis (3,435) would flatten the area's line onto zero, so it gets the right-hand
    # axis, as on the pages (layouts.charts.TOTAL_TYPES).
    own_axis = ind.type in charts.TOTAL_TYPES and not item.item.by and any(
        name == NATIONAL_NAME for name, _, _ in ranges["series"])
    for name, values, style in ranges["series"]:
        target = style["dash"] == "dash"
        chart.add_series({
            "name": neutralise(name + (" (right axis)" if own_axis and name == NATIONAL_NAME
                                       else "")),
            "categories": ranges["categories"], "values": values,
            "line": {"color": style["color"], "width": 1.5 if target else 2.25,
                     "dash_type": style["dash"]},
            "marker": {"type": "none"} if target else {
                "type": "circle", "size": 5, "fill": {"color": style["color"]},
                "border": {"color": style["color"]}},
            "y2_axis": own_axis and name == NATIONAL_NAME,
        })
    chart.set_title({"name": neutralise(item.title), "name_font": {"size": 12, "bold": True}})
    chart.set_y_axis({"name": neutralise(f"{book.content.area_label} ({unit})" if own_axis
                                         else unit),
                      "num_format": number_format(ind), "major_gridlines": {
                          "visible": True, "line": {"color": theme.GRID_COLOUR}}})
    if own_axis:
        chart.set_y2_axis({"name": neutralise(f"{NATIONAL_NAME} ({unit}, right axis)"),
                           "num_format": number_format(ind)})
    chart.set_x_axis({"name": "Period", "num_font": {"rotation": -45, "size": 8},
                      "interval_unit": max(1, math.ceil(ranges["periods"] / 10)),
                      "interval_tick": 1})
    chart.set_legend({"position": "bottom"})
    chart.show_blanks_as("gap")
    chart.set_size({"width": CHART_W, "height": CHART_H})
    return chart


# --- section sheets ---------------------------------------------------------------------------

def _columns(section: SectionContent) -> list[tuple[str, str, int]]:
    """The fixed columns, then a column per commentary placeholder, for producers to fill."""
    placeholders: dict[str, str] = {}
    for item in section.items:
        for p, _ in item.commentary:
            placeholders.setdefault(p.id, p.label)
    return [*COLUMNS, *((COMMENTARY + ident, label, 40) for ident, label in placeholders.items())]


def _cell(book: _Book, ws: Worksheet, r: int, c: int, key: str, row: dict[str, Any],
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


def _section_sheet(book: _Book, name: str, index: int, chart_data: _ChartData) -> None:
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
        ws.insert_chart(top + (i // 2) * CHART_ROWS, 0, _line_chart(book, item, ranges),
                        {"x_offset": 10 + (i % 2) * (CHART_W + 20), "y_offset": 5,
                         "object_position": 3})


# --- contents and notes -----------------------------------------------------------------------

def _contents(book: _Book, ws: Worksheet, names: list[str]) -> None:
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


def _notes(book: _Book) -> None:
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
    book = _Book(target, content)
    book.wb.set_properties({
        "title": neutralise(content.pack.title), "subject": neutralise(content.subtitle),
        "author": "cjsdash", "comments": content.disclosure(),
    })
    contents = book.wb.add_worksheet("Contents")  # filled last, first in the workbook
    used = {"contents", CHART_DATA.lower(), "notes"}
    names = [sheet_name(i, _short(s, content), used) for i, s in enumerate(content.sections, 1)]
    chart_data = _ChartData(book)
    for index, name in enumerate(names):
        _section_sheet(book, name, index, chart_data)
    chart_data.write()
    _notes(book)
    _contents(book, contents, names)
    contents.activate()
    book.wb.close()
    return target.getvalue()
