"""The data page's data-quality flags (:mod:`cjsdash.core.quality`)."""

from __future__ import annotations

import polars as pl
from dash import html

from layouts.data_tables import PREFIX, esc, html_table, table_block


def quality_table(frame: pl.DataFrame) -> html.Div:
    """Months that depart wildly from the area's own history (cjsdash.core.quality)."""
    headers = [("Month", "cjs-nowrap"), ("Area", ""), ("Figure", ""), ("Part", ""),
               ("What is odd", ""), ("File (run)", "")]
    rows = [[
        (esc(r["period_start"].strftime("%b %Y")), "cjs-nowrap"), (esc(r["area_name"]), ""),
        (esc(r["measure_title"]), ""),
        (esc(f"by {r['breakdown'].replace('_', ' ')}" if r["breakdown"] else "total"), ""),
        (esc(r["reason"]), "cjs-wrap"),
        (esc(f"{r['file_name'] or ''} (run {r['run_id']})"), "cjs-wrap"),
    ] for r in frame.iter_rows(named=True)]
    caption = f"Months that depart from their area's history: {frame.height:,}"
    return table_block(html_table(f"{PREFIX}-quality-table", caption, headers, rows,
                                  empty="No month departs wildly from its area's history."),
                       caption)
