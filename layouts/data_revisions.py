"""The data page's revised figures: the older value kept beside the newer."""

from __future__ import annotations

import polars as pl
from dash import html

from layouts.data_tables import PREFIX, esc, html_table, period_text, table_block


def _value(value: float | None, note: str | None) -> str:
    if value is None:
        return f"withheld ({note})" if note else "withheld"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def revisions_table(frame: pl.DataFrame, total: int) -> html.Div:
    headers = [("Figure", ""), ("Area", ""), ("Period", ""), ("Group", ""), ("Source", ""),
               ("Old value", "cjs-num"), ("Old vintage (run)", ""), ("New value", "cjs-num"),
               ("New vintage (run)", ""), ("Change", "cjs-num")]
    rows = []
    for r in frame.iter_rows(named=True):
        change = r["change"]
        change_text = "" if change is None else (
            ("+" if change > 0 else "−" if change < 0 else "±") + _value(abs(change), None))
        rows.append([
            (esc(r["measure_title"]) + f'<br/><span class="cjs-period">{esc(r["measure"])}'
             "</span>", ""),
            (esc(r["area_name"]), ""), (esc(period_text(r["period_start"], r["period_end"])),
                                         "cjs-nowrap"),
            (esc(r["breakdown"] or "All"), ""), (esc(r["source"]), ""),
            (esc(_value(r["old_value"], r["old_value_note"])), "cjs-num"),
            (esc(f"{r['old_vintage']} (run {r['old_run_id']})"), "cjs-wrap"),
            (esc(_value(r["new_value"], r["new_value_note"])), "cjs-num"),
            (esc(f"{r['new_vintage']} (run {r['new_run_id']})"
                  + ("" if r["new_is_current"] else ", itself revised later")), "cjs-wrap"),
            (esc(change_text), "cjs-num"),
        ])
    shown = f"the newest {frame.height:,} of {total:,}" if total > frame.height else f"{total:,}"
    caption = f"Revised figures: {shown}"
    return table_block(html_table(f"{PREFIX}-revisions-table", caption, headers, rows,
                                  empty="No figure has been revised: every figure loaded "
                                        "has one vintage."), caption)
