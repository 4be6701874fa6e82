"""The disproportionality page's tables and CSV: plain HTML in one component (see
:func:`layouts.components.figures_table`), cells worded from the stage matrix, sensitivity,
all-areas and data quality frames. No database here."""

from __future__ import annotations

import csv
import io
from typing import Any

import polars as pl
from dash import dcc, html

from cjsdash.core.safe_text import markup
from layouts import disproportionality_text as dt
from metrics import disproportionality as dq


def table(table_id: str, caption: str, headers: list[str], rows: list[list[str]], *,
           empty: str) -> html.Div:
    esc = markup
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    body = body or f'<tr><td colspan="{len(headers)}">{esc(empty)}</td></tr>'
    table = (f'<table id="{esc(table_id)}" class="cjs-table cjs-figures">'
             f"<caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
             f"<tbody>{body}</tbody></table>")
    return html.Div(dcc.Markdown(table, dangerously_allow_html=True,
                                 className="cjs-figures-markdown"),
                    className="cjs-table-scroll", tabIndex=0, role="region",
                    **{"aria-label": caption})


def with_ci(value: str, lower: Any, upper: Any) -> str:
    ci = dt.ci_text(lower, upper)
    return f"{value} ({ci})" if ci else value


def _rate_text(r: dict[str, Any]) -> str:
    if r.get("rate_per_1000") is None:
        return "–"
    return (f"{r['rate_per_1000']:,.2f} ({r['rate_lower']:,.2f} to {r['rate_upper']:,.2f})"
            if r.get("rate_lower") is not None else f"{r['rate_per_1000']:,.2f}")


def matrix_rows(matrix: pl.DataFrame) -> list[list[str]]:
    """Per population first (rate per 1,000, disparity ratio), then per previous stage."""
    out = []
    for r in matrix.iter_rows(named=True):
        if r["stage"] == "population":
            out.append([r["stage_title"], r["group"], dt.count_text(r["count"]), "base",
                        f"{dt.share_text(r['population_share'])} of the population",
                        "", "", "", "", "", "", "", "", r["population_source"] or ""])
            continue
        rate = "–" if r["stage_rate"] is None else f"{r['stage_rate']:.4g}"
        out.append([
            r["stage_title"], r["group"],
            dt.SUPPRESSED_MARK if r["suppressed"] else dt.count_text(r["count"]),
            r["status"], _rate_text(r),
            with_ci(dt.ratio_text(r["disparity_ratio"]), r["ratio_lower"], r["ratio_upper"]),
            dt.mark(r, "disparity_ratio", "ratio_significant")
            or ("yes" if r["ratio_significant"] else "no"),
            f"{dt.count_text(r['previous_count'])} ({(r['previous_stage'] or '').replace('_', ' ')})",
            rate, with_ci(dt.ratio_text(r["rri"]), r["rri_lower"], r["rri_upper"]),
            dt.mark(r, "rri", "significant") or ("yes" if r["significant"] else "no"),
            "–" if r["excess"] is None or r["status"] == "reference" else f"{r['excess']:+,.0f}",
            "–" if r["status"] == "reference" else dt.share_text(r["parity_reduction"]),
            r["note"] or "",
        ])
    return out


MATRIX_HEADERS = ["Stage", "Group", "Count", "Status", "Rate per 1,000 population (95% CI)",
                  "Disparity ratio per population (95% CI)", "Ratio significant",
                  "Previous stage count", "Stage rate (per previous stage)",
                  "RRI per previous stage (95% CI)", "RRI significant",
                  "Excess over reference rate", "Reduction for parity", "Note"]


def bounds_cell(r: dict[str, Any]) -> str:
    if r["bound_low"] is None:
        return f"{dt.ratio_text(r['disparity_ratio'])}; {r['note'] or 'no bounds'}"
    text = (f"{dt.ratio_text(r['disparity_ratio'])} (range {dt.ratio_text(r['bound_low'])} to "
            f"{dt.ratio_text(r['bound_high'])})")
    if r["tipping_share"] is not None:
        text += f"; parity if {dt.share_text(r['tipping_share'])} were {r['group']}"
    return text


def pivot(frame: pl.DataFrame, analysis: str, row_key: str, cell: Any
           ) -> tuple[list[str], list[list[str]]]:
    """Rows: ``row_key`` values (stages or assumptions); columns: the compared groups."""
    part = [r for r in frame.iter_rows(named=True)
            if r["analysis"] == analysis and r["group"] is not None]
    present = {r["group"] for r in part}
    groups = [g for g in dq.GROUPS if g in present]
    keys = list(dict.fromkeys((r["stage_title"], r[row_key]) for r in part))
    cells = {(r["stage_title"], r[row_key], r["group"]): r for r in part}
    rows = [[stage, *([key] if row_key != "stage_title" else []),
             *[cell(cells[(stage, key, g)]) if (stage, key, g) in cells else "–"
               for g in groups]] for stage, key in keys]
    return groups, rows


def quality_rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[r["stage_title"], dt.count_text(r["total"]),
             dt.SUPPRESSED_MARK if r["suppressed"] else dt.count_text(r["stated"]),
             dt.SUPPRESSED_MARK if r["suppressed"] else dt.count_text(r["not_stated"]),
             dt.share_text(r["share_recorded"]),
             "" if r["lower"] is None else f"{r['lower']:.1%} to {r['upper']:.1%}",
             r["note"] or ""] for r in frame.iter_rows(named=True)]


def forest_rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[r["area_name"] + (" (all areas)" if r["is_national"] else ""),
             with_ci(dt.ratio_text(r["value"]), r["lower"], r["upper"]),
             "yes" if r["significant"] else "no", r["status"],
             dt.SUPPRESSED_MARK if r["suppressed"] else dt.count_text(r["count"]),
             dt.count_text(r["denominator"]), r["note"] or ""]
            for r in frame.iter_rows(named=True)]


def frame_csv(frame: pl.DataFrame) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow(["" if v is None else ("'" + v if isinstance(v, str) and v[:1] in
                                               "=+-@" and v else v) for v in row])
    return out.getvalue()
