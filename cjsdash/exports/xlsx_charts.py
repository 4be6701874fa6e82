"""The chart-data sheet of an Excel export and its native line charts.

:class:`ChartData` lays out the series behind every chart and sparkline, one block per
item, and hands the section sheets the ranges to chart; it writes its sheet once every
section is done. :func:`line_chart` is an item's native Excel line chart over those ranges
(England and Wales on a right-hand axis for a total, as on the pages).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from xlsxwriter.utility import quote_sheetname, xl_range_abs

from layouts import charts, theme

from .cells import SUPPRESSED, neutralise
from .content import NATIONAL_NAME, ItemContent
from .xlsx_book import Book, number_format

CHART_W, CHART_H, CHART_ROWS = 640, 330, 18
CHART_DATA = "Chart data"


class ChartData:
    """One block per item on the chart-data sheet; ranges for charts and sparklines.

    Blocks are laid out as the section sheets ask for them and written by :meth:`write`
    once every section is done, so the sheet comes after the sections in the workbook.
    """

    def __init__(self, book: Book) -> None:
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


def line_chart(book: Book, item: ItemContent, ranges: dict[str, Any]) -> Any:
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
