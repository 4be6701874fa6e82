"""The data page's rejected rows: for every file, or for one run."""

from __future__ import annotations

import polars as pl
from dash import html

from layouts.context import get_context
from layouts.data_tables import ALL_RUNS, PREFIX, count_text, esc, html_table, table_block
from layouts.inputs import run_number
from metrics import cache, provenance

SHOWN_ROWS = provenance.REJECTS_LIMIT


def rejects_table(frame: pl.DataFrame, total: int, run: str) -> html.Div:
    headers = [("Run", "cjs-num"), ("File", ""), ("Row", "cjs-num"), ("Column", ""),
               ("Value", ""), ("Reason", "")]
    rows = [[
        (str(r["run_id"]), "cjs-num"), (esc(r["file_name"]), "cjs-wrap"),
        (count_text(r["row_number"]) or "whole file", "cjs-num"), (esc(r["column_name"]), ""),
        (esc(r["value"]), "cjs-wrap"), (esc(r["reason"]), "cjs-wrap"),
    ] for r in frame.iter_rows(named=True)]
    which = "every file" if run == ALL_RUNS else f"run {run}"
    shown = f"the first {frame.height:,} of {total:,}" if total > frame.height else f"{total:,}"
    caption = f"Rejected rows for {which}: {shown}"
    return table_block(html_table(f"{PREFIX}-rejects-table", caption, headers, rows,
                                  empty="No rows were rejected."), caption)



def rejects(run: str) -> html.Div:
    return cache.cached(get_context().reader(), ("data-rejects", run), lambda: _rejects(run))


def _rejects(run: str) -> html.Div:
    con = get_context().reader()
    run_id = run_number(run, ALL_RUNS)
    frame = provenance.rejects_frame(con, run_id, limit=SHOWN_ROWS)
    return rejects_table(frame, provenance.rejects_count(con, run_id), run or ALL_RUNS)
