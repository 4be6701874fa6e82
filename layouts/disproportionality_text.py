"""What the race disproportionality charts and tables say in words: ratios, counts, shares
and intervals as text, the significance marks, and each stage-matrix cell's text and hover
(pure functions of a row; no plotly, no Dash)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from layouts import theme
from metrics.analysis import is_missing

ABOVE, BELOW = "▲", "▼"
SUPPRESSED_MARK = theme.SUPPRESSED_MARK
MARKS_TEXT = (f"{ABOVE} significantly above parity · {BELOW} significantly below · no mark: "
              "95% CI includes 1<br>n < min: fewer than the minimum count (not tested) · "
              "excluded: group under 1% of the population · [c] suppressed (small numbers)")
VALUE_WORDS = {
    "rri": ("Relative rate index (per previous stage)", "rri", "rri_lower", "rri_upper",
            "significant"),
    "disparity_ratio": ("Disparity ratio (per population)", "disparity_ratio", "ratio_lower",
                        "ratio_upper", "ratio_significant"),
}


def ratio_text(value: Any, decimals: int = 2) -> str:
    return "–" if is_missing(value) else f"{value:,.{decimals}f}×"


def count_text(value: Any) -> str:
    return "–" if is_missing(value) else f"{value:,.0f}"


def share_text(value: Any) -> str:
    if is_missing(value):
        return "–"
    return "<0.1%" if 0 < value < 0.0005 else f"{value:.1%}"


def ci_text(lower: Any, upper: Any) -> str:
    return "" if is_missing(lower) or is_missing(upper) else f"{ratio_text(lower)} to {ratio_text(upper)}"


def mark(row: dict[str, Any], value_col: str, significant_col: str) -> str:
    """▲ / ▼ for a significant ratio, '' otherwise."""
    value = row.get(value_col)
    if not row.get(significant_col) or is_missing(value):
        return ""
    return ABOVE if value > 1 else BELOW


def cell_text(row: dict[str, Any], value: str = "rri") -> str:
    """What a stage-matrix cell says: the value and its mark, or why there is none."""
    _, col, _, _, sig = VALUE_WORDS[value]
    status = row.get("status") or ""
    if row.get("suppressed"):
        return theme.SUPPRESSED_MARK
    if status.startswith("excluded"):
        return "excluded: <1%"
    if status == "reference":
        return "1× (reference)"
    if is_missing(row.get(col)):
        return {"not estimable": "not estimable", "insufficient": "n < min"}.get(status, "–")
    text = ratio_text(row[col])
    if status == "insufficient":
        return f"{text}<br>n < min"
    symbol = mark(row, col, sig)
    return f"{text} {symbol}".strip()


def stacked_cell_text(row: dict[str, Any]) -> str:
    """A stage-matrix cell: the disparity ratio per population first (what most readers
    mean by "times as likely"), then, smaller and labelled, the relative rate index per
    previous stage."""
    first = cell_text(row, "disparity_ratio")
    status = row.get("status") or ""
    if row.get("suppressed") or status.startswith("excluded") or status == "reference":
        return first
    second = cell_text(row, "rri").replace("<br>", " ")
    return f"{first}<br><span style='font-size:11px'>RRI {second}</span>"


def cell_hover(row: dict[str, Any], value: str) -> str:
    lines = [f"<b>{row['group']}: {row['stage_title']}</b>", row.get("period_label") or ""]
    if row.get("suppressed"):
        lines.append(f"Suppressed {theme.SUPPRESSED_MARK}: {row.get('note') or 'small numbers'}")
        return "<br>".join(lines)
    shown = [value] + [v for v in VALUE_WORDS if v != value]  # the chosen reading first
    for key in shown:
        title, col, lo, hi, _ = VALUE_WORDS[key]
        ci = ci_text(row.get(lo), row.get(hi))
        lines.append(f"{title}: {ratio_text(row.get(col))}" + (f" (95% CI {ci})" if ci else ""))
    lines += [
        f"Status: {row.get('status')}",
        f"Count: {count_text(row.get('count'))} of {count_text(row.get('previous_count'))} "
        f"({(row.get('previous_stage') or '').replace('_', ' ')})",
        f"Rate per 1,000 population: {number_text(row.get('rate_per_1000'))}",
    ]
    if row.get("synthetic"):
        lines.append(f"{theme.SYNTHETIC_MARK} synthetic demo data")
    return "<br>".join(lines)


def number_text(value: Any, decimals: int = 2) -> str:
    return "–" if is_missing(value) else f"{value:,.{decimals}f}"

def staged(matrix: pl.DataFrame) -> pl.DataFrame:
    """The matrix's stages after the population, in order."""
    if matrix.height == 0:
        return matrix
    rows = matrix.filter(pl.col("stage") != "population")
    return rows if rows["stage_order"].is_sorted() else rows.sort("stage_order")


def describe_matrix(matrix: pl.DataFrame, *, area_name: str) -> str:
    """A sentence for screen readers: where the largest significant disparity ratio per
    population is."""
    rows = staged(matrix)
    if rows.height == 0:
        return f"No stage has counts by ethnicity for {area_name}."
    tested = rows.filter(pl.col("ratio_significant") & pl.col("disparity_ratio").is_not_null()
                         & (pl.col("disparity_ratio") > 0))
    if tested.height == 0:
        return (f"{area_name}, {rows['period_label'][0]}: no disparity ratio per population "
                "differs significantly from parity.")
    top = tested.with_columns(pl.col("disparity_ratio").log().abs().alias("_size")).sort(
        "_size", descending=True).row(0, named=True)
    return (f"{area_name}, {top['period_label']}: {tested.height} significant disparity ratios "
            f"per population; the largest departure from parity is {top['group']} at "
            f"{top['stage_title'].lower()} ({ratio_text(top['disparity_ratio'])} as likely per "
            f"head of population, 95% CI {ci_text(top['ratio_lower'], top['ratio_upper'])}; "
            f"relative rate index per previous stage {ratio_text(top['rri'])}).")


def stage_order(matrix: pl.DataFrame) -> Sequence[str]:
    return staged(matrix)["stage_title"].unique(maintain_order=True).to_list()
