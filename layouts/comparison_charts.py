"""The comparison charts: pure chart factories that set one area among all the others.

Frames of :func:`metrics.analysis.compare_areas` in, a figure out as plotly JSON (drafted
with :class:`layouts.figure_draft.Draft`, validated in the tests); no Dash, no database.

- :func:`make_funnel_figure`: every area's value against its denominator inside the 95% and
  99.8% limits around England & Wales; the chosen area highlighted and labelled;
- :func:`make_rank_figure`: areas sorted by median bootstrap rank with 95% rank intervals —
  never a bare league table.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from layouts import theme
from layouts.analysis_chart_style import COMMON_COLOUR, LIMIT_COLOUR, analysis_layout
from layouts.charts import is_missing
from layouts.figure_draft import Draft, Spec
from metrics import analysis
from metrics.registry import Indicator
from metrics.views import format_value, unit_label

FUNNEL_HEIGHT = 520
RANK_ROW_PX = 22


# --- funnel ---------------------------------------------------------------------------------------

def _denominator_title(ind: Indicator) -> str:
    if ind.denominator is not None:
        return ind.denominator.title
    return "Population (Census 2011)" if ind.population_denominator else "Denominator"


def _funnel_hover(row: dict[str, Any], ind: Indicator) -> str:
    ci = ("" if is_missing(row.get("lower")) else
          f"<br>95% CI {format_value(row['lower'], ind)} to {format_value(row['upper'], ind)}")
    return (f"<b>{row['area_name']}</b><br>{row['period_label']}<br>"
            f"Value: {format_value(row['value'], ind)}{ci}<br>"
            f"{_denominator_title(ind)}: {row['denominator']:,.0f}<br>"
            f"Funnel: {row['funnel_position']}")


def make_funnel_figure(compare: pl.DataFrame, ind: Indicator, highlight_area: str | None, *,
                       curve: pl.DataFrame | None = None, kind_words: str = "areas"
                       ) -> Spec:
    """Funnel plot of :func:`metrics.analysis.compare_areas`: value against denominator, the
    England & Wales line and its 95% (dashed) and 99.8% (dotted) limits — exact (PHE's
    method), or widened for overdispersion where the areas differ by more than chance, and
    then labelled so on the chart."""
    fig = Draft()
    period = compare["period_label"][0] if compare.height else ""
    analysis_layout(fig, f"{ind.title}: funnel plot", f"All {kind_words}, {period}",
                    FUNNEL_HEIGHT, meta={"indicator": ind.id, "chart": "funnel"})
    if analysis.funnel_kind(ind) is None:
        return fig.empty(f"No funnel plot: {analysis.NOT_COMPARED.get(ind.type, '')}", size=15)
    rows = compare.filter(pl.col("value").is_not_null() & pl.col("denominator").is_not_null()
                          & (pl.col("denominator") > 0)) if compare.height else compare
    if rows.height == 0:
        return fig.empty("No figures for this period", size=15)
    curve = analysis.funnel_curve(compare, ind) if curve is None else curve
    if curve.height == 0:  # no national figure to draw the limits around
        return fig.empty("No funnel plot: no England and Wales figure for this period", size=15)
    n = curve["denominator"].to_numpy()
    adjusted = ("adjustment" in curve.columns and curve.height
                and bool(curve["adjustment"][0]))
    suffix = " (adjusted)" if adjusted else ""
    if adjusted:  # said in the subtitle, where nothing else is drawn
        fig.update_layout(title={
            "text": f"{ind.title}: funnel plot",
            "subtitle": {"text": f"All {kind_words}, {period} · areas differ by more than "
                                 f"chance: {curve['adjustment'][0]}"}})
    for level, dash, name in (("998", "dot", f"99.8% limits{suffix}"),
                              ("95", "dash", f"95% limits{suffix}")):
        for side in ("upper", "lower"):
            fig.add_scatter(x=n, y=curve[f"{side}_{level}"].to_numpy(), mode="lines",
                            name=name, legendgroup=name, showlegend=side == "upper",
                            line={"color": LIMIT_COLOUR, "dash": dash, "width": 1.5},
                            hoverinfo="skip")
    fig.add_scatter(x=n, y=curve["national"].to_numpy(), mode="lines",
                    name=f"England and Wales ({format_value(curve['national'][0], ind)})",
                    line={"color": theme.NATIONAL_COLOUR, "width": 2}, hoverinfo="skip")
    others = rows.filter(pl.col("area_code") != (highlight_area or ""))
    fig.add_scatter(
        x=others["denominator"].to_numpy(), y=others["value"].to_numpy(), mode="markers",
        name=kind_words.capitalize(), marker={"color": COMMON_COLOUR, "size": 8,
                                              "symbol": "circle", "opacity": 0.85},
        text=[_funnel_hover(r, ind) for r in others.iter_rows(named=True)],
        hovertemplate="%{text}<extra></extra>",
    )
    mine = rows.filter(pl.col("area_code") == (highlight_area or ""))
    _label_outliers(fig, others, avoid=[(math.log10(r["denominator"]), r["value"])
                                        for r in mine.iter_rows(named=True)],
                    span=float(rows["value"].max() - rows["value"].min()) if rows.height else 0)
    if mine.height:
        r = mine.row(0, named=True)
        fig.add_scatter(
            x=[r["denominator"]], y=[r["value"]], mode="markers", name=r["area_name"],
            marker={"color": theme.AREA_COLOUR, "size": 15, "symbol": "diamond",
                    "line": {"color": theme.TEXT_COLOUR, "width": 1.5}},
            text=[_funnel_hover(r, ind)], hovertemplate="%{text}<extra></extra>",
        )
        fig.add_annotation(x=math.log10(r["denominator"]), y=r["value"], text=r["area_name"],
                           showarrow=True, arrowhead=0, ax=30, ay=-30,
                           font={"size": 13, "color": theme.TEXT_COLOUR},
                           bgcolor="rgba(255,255,255,0.85)")
    elif note := withheld_note(compare, highlight_area):
        fig.add_annotation(xref="paper", yref="paper", x=0.01, y=0.99, xanchor="left",
                           yanchor="top", text=note, showarrow=False,
                           font={"size": 13, "color": theme.TEXT_COLOUR},
                           bgcolor="rgba(255,255,255,0.85)")
    fig.update_xaxes(type="log", title={"text": f"{_denominator_title(ind)} (log scale)"},
                     tickvals=_log_ticks(float(n.min()), float(n.max())), tickformat=",")
    fig.update_yaxes(title={"text": unit_label(ind)})
    fig.update_layout(margin={"b": 110})
    return fig.spec()


def withheld_note(compare: pl.DataFrame, area: str | None) -> str | None:
    """Why ``area`` has no point on a funnel plot when its figure is withheld (disclosure
    control), else None: an area left out is said, not silently missing."""
    if not area or compare.height == 0 or "suppressed" not in compare.columns:
        return None
    row = compare.filter((pl.col("area_code") == area) & pl.col("suppressed").fill_null(False))
    if row.height == 0:
        return None
    return f"{row['area_name'][0]}: figure withheld (disclosure control), not plotted"


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5 × powers of ten between ``low`` and ``high`` (at least two)."""
    ticks: list[float] = []
    power = 10 ** math.floor(math.log10(max(low, 1e-9)))
    while power <= high * 10:
        ticks += [m * power for m in (1, 2, 5) if low <= m * power <= high]
        power *= 10
    return ticks if len(ticks) >= 2 else [low, high]


def _label_outliers(fig: Draft, rows: pl.DataFrame, most: int = 6, *,
                    avoid: list[tuple[float, float]] | None = None, span: float = 0) -> None:
    """Name the areas beyond the 99.8% limits (the special-cause ones), the ``most`` furthest
    from England & Wales only, so that labels stay readable: a label that would sit on one
    already placed (or on the chosen area's, ``avoid``) goes below its point, or, if that is
    taken too, is left to the hover text. ``span``: the y range, to judge nearness."""
    near_y = 0.06 * span if span > 0 else 0.0
    # the chosen area's big marker and its label: kept clear on both sides, further out
    taken = [(x, y, side, 2.5 * near_y) for x, y in avoid or [] for side in (1, -1)]
    outside = rows.filter(pl.col("funnel_position").str.contains("99.8"))
    if outside.height == 0:
        return
    outside = outside.with_columns(
        ((pl.col("value") - pl.col("national_value")).abs() / pl.col("national_value"))
        .alias("_gap")).sort("_gap", descending=True).head(most)

    def free(x: float, y: float, side: int) -> bool:
        return all(abs(x - tx) > 0.25 or abs(y - ty) > near or side != ts
                   for tx, ty, ts, near in taken)

    for r in outside.iter_rows(named=True):
        x, y = math.log10(r["denominator"]), r["value"]
        side = next((s for s in (1, -1) if free(x, y, s)), 0)
        if side == 0:
            continue
        taken.append((x, y, side, near_y))
        fig.add_annotation(x=x, y=y, text=r["area_name"], showarrow=False, yshift=12 * side,
                           font={"size": 11, "color": theme.SECONDARY_TEXT})


# --- ranks ----------------------------------------------------------------------------------------

def rank_order(compare: pl.DataFrame) -> pl.DataFrame:
    """The ranked areas, best median rank first (ties by the interval, then the name)."""
    if compare.height == 0:
        return compare
    return compare.filter(pl.col("rank").is_not_null()).sort(
        ["rank", "rank_lower", "rank_upper", "area_name"])


def make_rank_figure(compare: pl.DataFrame, ind: Indicator, highlight_area: str | None, *,
                     kind_words: str = "areas") -> Spec:
    """Areas sorted by median bootstrap rank, each with its 95% rank interval (rank 1 at
    the top); the chosen area highlighted. Never a bare league table."""
    fig = Draft()
    rows = rank_order(compare)
    best = "highest" if ind.polarity == "neutral" else "best"
    period = compare["period_label"][0] if compare.height else ""
    height = max(360, 150 + RANK_ROW_PX * rows.height)
    analysis_layout(fig, f"{ind.title}: rank with 95% rank intervals",
                    f"{rows.height} {kind_words}, {period}; rank 1 = {best}"
                    + (f"; {int(rows['rank_draws'][0]):,} bootstrap draws" if rows.height
                       and "rank_draws" in rows.columns and rows["rank_draws"][0] else ""),
                    height, meta={"indicator": ind.id, "chart": "rank"})
    if analysis.funnel_kind(ind) is None:
        return fig.empty(f"Not ranked: {analysis.NOT_COMPARED.get(ind.type, '')}", size=15)
    if rows.height == 0:
        return fig.empty("No figures to rank for this period", size=15)
    names = rows["area_name"].to_list()
    for is_mine in (False, True):
        part = rows.filter((pl.col("area_code") == (highlight_area or "")) == is_mine)
        if part.height == 0:
            continue
        rank = part["rank"].to_list()
        fig.add_scatter(
            x=rank, y=part["area_name"].to_list(), mode="markers",
            name=(part["area_name"][0] if is_mine else f"Median rank (other {kind_words})"),
            marker={"color": theme.AREA_COLOUR if is_mine else COMMON_COLOUR,
                    "size": 13 if is_mine else 8, "symbol": "diamond" if is_mine else "circle",
                    "line": {"color": theme.TEXT_COLOUR, "width": 1 if is_mine else 0}},
            error_x={"type": "data", "symmetric": False,
                     "array": [u - m for u, m in zip(part["rank_upper"], rank, strict=True)],
                     "arrayminus": [m - lo for lo, m in zip(part["rank_lower"], rank,
                                                             strict=True)],
                     "color": theme.AREA_COLOUR if is_mine else COMMON_COLOUR,
                     "thickness": 2.5 if is_mine else 1.5, "width": 3},
            text=[f"<b>{r['area_name']}</b><br>Value {format_value(r['value'], ind)}<br>"
                  f"Median rank {r['rank']:g}; 95% interval {r['rank_lower']:g} to "
                  f"{r['rank_upper']:g}" for r in part.iter_rows(named=True)],
            hovertemplate="%{text}<extra></extra>",
        )
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names[::-1],
                     title={"text": ""}, automargin=True, tickfont={"size": 12})
    fig.update_xaxes(title={"text": f"Rank (1 = {best}); bars: 95% rank interval"},
                     range=[0.5, rows.height + 0.5], zeroline=False)
    fig.update_layout(margin={"b": 90, "l": 10})
    return fig.spec()
