"""The Excel workbook an export writes into: its formats, text and number cells, names.

:class:`Book` opens an ``xlsxwriter`` workbook with every automatic conversion off (no
formulas, URLs or numbers read out of strings) and writes text cells neutralised
(:func:`.cells.neutralise`), so a hostile area alias or commentary stays text.
:func:`number_format` is an indicator's Excel number format; :func:`sheet_name` makes a valid,
unique sheet name. Used by :mod:`.xlsx` (the section, contents and notes sheets) and
:mod:`.xlsx_charts` (the chart-data sheet and the charts).
"""

from __future__ import annotations

import io
import re
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Format, Workbook
from xlsxwriter.worksheet import Worksheet

from layouts import theme
from metrics.registry import Indicator

from .cells import is_missing, neutralise
from .content import PackContent

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\']")


def number_format(ind: Indicator) -> str:
    """The Excel number format of an indicator's values (percent values are 0–100)."""
    d = ind.decimals
    places = "0" + ("." + "0" * d if d else "")
    return {
        "percent": f'{places}"%"', "count": "#,##0", "pounds": '"£"#,##0',
        "ratio": f'{places}"×"',
    }.get(ind.unit, places)


class Book:
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

