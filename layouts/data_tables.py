"""The data page's tables: escaped HTML in one ``dcc.Markdown`` each, and CSV downloads.

Tables are written as escaped HTML (see :func:`layouts.components.figures_table` for why);
every value from the warehouse, which may come from an uploaded file, is escaped, braces
included (the Markdown's HTML is parsed as JSX). CSV text that a spreadsheet would run as a
formula is neutralised. Every component id of the data page starts with :data:`PREFIX`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
from dash import dcc, html

from cjsdash.core.periods import label_period
from cjsdash.core.safe_text import markup
from layouts import theme

PREFIX = "data"
ALL_RUNS = "all"
INTROS = {
    "sources": "Who publishes each source, under what licence, how many of its figures are "
               "loaded and which vintages (editions) they come from. A newer vintage of the "
               "same figure becomes current and the older value is kept.",
    "files": "Every file offered to cjsdash, whether it was loaded or refused: each is "
             "loaded in one transaction and logged with its counts.",
    "coverage": "Which figures exist. A figure counts for every month it covers, so a "
                "quarter's figure covers three months of a financial year. Counts are of "
                "headline figures (all people). A partial or withheld cell says how many "
                "months it covers when you point at it; the CSV also counts figures for "
                "groups and withheld figures, and names each cell's sources.",
    "rejects": "Rows a file could not load, with the row as a spreadsheet numbers it (the "
               "header is row 1), the column, the value and the reason. The rest of the file "
               "was loaded; a file with no good row was refused.",
    "revisions": "Figures that a later file gave a different value. The older value is kept "
                 "(it is no longer current), so what was reported at the time can always be "
                 "reproduced.",
    "quality": "Each month a file brings is compared with the same area's months before it "
               "(up to 24, at least 12): a total at most half or at least double the median "
               "and more than five robust deviations (MAD) from it, or a group's share that "
               "moved by 20 points or more, is listed here and in the load's summary. It is a "
               "warning: the figures are loaded; check the file with its publisher.",
}
"""Each section's opening paragraph on the data page."""


# --- escaped HTML tables ----------------------------------------------------------------------

def esc(value: Any) -> str:
    """Text for HTML that is parsed as JSX: escaped, on one line, braces as entities."""
    return markup("" if value is None else " ".join(str(value).split()))


def count_text(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def when_text(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def period_text(start: date | None, end: date | None) -> str:
    if start is None or end is None:
        return ""
    return label_period(start, end)


def html_table(table_id: str, caption: str, headers: Sequence[tuple[str, str]],
                rows: Iterable[Sequence[tuple[str, str]]], *, empty: str,
                extra_class: str = "") -> str:
    """A table from pre-escaped cells: headers and rows are (HTML, class) pairs.

    A row's first cell is its row header (``<th scope="row">``).
    """
    head = "".join(f'<th scope="col" class="{c}">{h}</th>' for h, c in headers)
    body = []
    for row in rows:
        cells = [f'<th scope="row" class="{row[0][1]}">{row[0][0]}</th>']
        cells += [f'<td class="{c}">{v}</td>' for v, c in row[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body = [f'<tr><td colspan="{len(headers)}">{esc(empty)}</td></tr>']
    return (f'<table id="{table_id}" class="cjs-table cjs-data-table {extra_class}">'
            f"<caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def table_block(table_html: str, label: str) -> html.Div:
    """One focusable, scrollable region holding a table written as HTML."""
    return html.Div(
        dcc.Markdown(table_html, dangerously_allow_html=True, className="cjs-figures-markdown"),
        className="cjs-table-scroll", tabIndex=0, role="region", **{"aria-label": label},
    )



def synthetic_text(text: str, synthetic: bool) -> str:
    mark = (f' <span title="synthetic demo data">{theme.SYNTHETIC_MARK}</span>'
            '<span class="cjs-visually-hidden"> (synthetic)</span>')
    return esc(text) + (mark if synthetic else "")



# --- CSV --------------------------------------------------------------------------------------

def _neutral(value: Any) -> Any:
    """Text starting with = + - @ (or a tab or CR) is prefixed with ' so a spreadsheet never
    runs it: rejected rows repeat what uploaded files said."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def frame_csv(frame: pl.DataFrame) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow(["" if v is None else _neutral(v) for v in row])
    return out.getvalue()
