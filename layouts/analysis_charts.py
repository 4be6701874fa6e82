"""Pure chart factories for the analysis views: SPC, funnel plot, ranking with intervals.

Frames in (from :mod:`metrics.analysis`), a figure out as plotly JSON (drafted with
:class:`layouts.figure_draft.Draft`, validated in the tests); no Dash, no database. As in
:mod:`layouts.charts`: Okabe–Ito colours, and anything told apart by colour is also told apart
by marker shape or line dash, and named in the legend and the hover text.

- :func:`make_spc_figure`: values, centre line, process limits (trial limits dotted),
  two-sigma lines, the baseline period shaded, rebase points marked, special-cause points as
  improvement (blue diamond) / concern (vermillion square) / neutral (purple triangle),
  target, trajectory and stretch lines, and a text legend of the four rules;
- :func:`make_funnel_figure`: every area's value against its denominator inside the 95% and
  99.8% limits around England & Wales; the chosen area highlighted and labelled;
- :func:`make_rank_figure`: areas sorted by median bootstrap rank with 95% rank intervals —
  never a bare league table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from layouts import theme
from layouts.figure_draft import Draft, Spec
from metrics import analysis
from metrics.registry import Indicator
from metrics.statistics import spc
from metrics.views import format_value, unit_label

SPC_HEIGHT = 520
FUNNEL_HEIGHT = 520
RANK_ROW_PX = 22

IMPROVEMENT_COLOUR = theme.OKABE_ITO["blue"]
CONCERN_COLOUR = theme.OKABE_ITO["vermillion"]
NEUTRAL_SIGNAL_COLOUR = theme.OKABE_ITO["reddish_purple"]
COMMON_COLOUR = theme.SECONDARY_TEXT
LIMIT_COLOUR = theme.SECONDARY_TEXT
SIGMA_COLOUR = "#8a9296"
BASELINE_FILL = "rgba(86, 180, 233, 0.12)"  # Okabe–Ito sky blue, faint
SIGNAL_STYLE: dict[str, tuple[str, str, int]] = {
    # signal: (colour, marker symbol, size)
    spc.IMPROVEMENT: (IMPROVEMENT_COLOUR, "diamond", 13),
    spc.CONCERN: (CONCERN_COLOUR, "square", 11),
    spc.NEUTRAL_SIGNAL: (NEUTRAL_SIGNAL_COLOUR, "triangle-up", 12),
}
RULES_LEGEND = ("Special-cause rules: " + "; ".join(
    f"{analysis.RULE_SHORT[r]} = {analysis.RULE_TEXT[r]}" for r in spc.RULES) + ". "
    "Where several fire, the colour follows " + ", then ".join(
        analysis.RULE_SHORT[r] for r in spc.PRECEDENCE) + " (Making Data Count).")


def _chart_name(frame: pl.DataFrame, chart: str) -> str:
    """The chart's name, and for Laney p′ why: the overdispersion factor σz."""
    name = analysis.CHART_NAMES[chart]
    if chart == analysis.LANEY and frame.height and frame["sigma_z"].drop_nulls().len():
        sz = float(frame["sigma_z"].drop_nulls()[-1])
        name += f": periods vary {sz:.1f}× more than sampling alone (σz), limits widened"
    return name


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _values(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with NaN for missing (plotly draws a gap; arrays validate fast)."""
    if column not in frame.columns or frame.height == 0:
        return np.full(frame.height, np.nan)
    return frame.get_column(column).cast(pl.Float64).fill_null(np.nan).to_numpy()



def _layout(fig: Draft, title: str, subtitle: str, height: int, *, meta: dict) -> None:
    fig.update_layout(
        template=theme.TEMPLATE_NAME, height=height,
        title={"text": title, "subtitle": {"text": subtitle}},
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom",
                "x": 0, "xanchor": "left"},
        hovermode="closest", meta=meta,
    )


# --- SPC ----------------------------------------------------------------------------------------

def _ticks(fig: Draft, axis: Sequence[str], most: int = 10) -> None:
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(axis),
                     title={"text": "Period"})  # labels turn where they would collide
    if len(axis) > most:
        step = math.ceil(len(axis) / most)
        shown = list(axis[::-1][::step])[::-1]
        fig.update_xaxes(tickmode="array", tickvals=shown, ticktext=shown)


def _segment_runs(frame: pl.DataFrame) -> list[tuple[int, int, bool]]:
    """(first index, last index, trial) of each rebased segment."""
    segs = frame["segment"].to_list()
    trial = frame["trial"].to_list()
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for i in range(1, len(segs) + 1):
        if i == len(segs) or segs[i] != segs[start]:
            runs.append((start, i - 1, bool(trial[start])))
            start = i
    return runs


def _add_limit_lines(fig: Draft, frame: pl.DataFrame, axis: list[str], ind: Indicator
                     ) -> None:
    proportion = frame["chart"][0] in analysis.PROPORTION_CHARTS
    shape = "hvh" if proportion else "linear"
    centre_name = "Centre line (p̄)" if proportion else "Centre line (mean)"
    lines = (
        ("upper_limit", "lower_limit", "Process limits", LIMIT_COLOUR, "solid", 1.4),
        ("upper_two_sigma", "lower_two_sigma", "Two-sigma lines (2-of-3 rule)", SIGMA_COLOUR,
         "dot", 1.0),
    )
    shown: set[str] = set()
    for first, last, trial in _segment_runs(frame):
        part = frame.slice(first, last - first + 1)
        x = axis[first:last + 1]
        for up, low, name, colour, dash, width in lines:
            label = f"{name} (trial)" if trial and up == "upper_limit" else name
            for column in (up, low):
                fig.add_scatter(
                    x=x, y=_values(part, column), mode="lines", name=label,
                    legendgroup=label, showlegend=label not in shown, line_shape=shape,
                    line={"color": colour, "dash": "dot" if trial else dash, "width": width},
                    hovertemplate=f"{name}: %{{y:.{ind.decimals + 1}f}}<extra></extra>",
                )
                shown.add(label)
        fig.add_scatter(
            x=x, y=_values(part, "centre"), mode="lines", name=centre_name,
            legendgroup="centre", showlegend="centre" not in shown, line_shape=shape,
            line={"color": theme.TEXT_COLOUR, "width": 1.6},
            hovertemplate=f"Centre: %{{y:.{ind.decimals + 1}f}}<extra></extra>",
        )
        shown.add("centre")


def _spc_hover(row: dict[str, Any], ind: Indicator, area_name: str) -> str:
    lines = [f"<b>{area_name}</b>", row["period_label"]]
    if row["suppressed"]:
        lines.append(f"Suppressed {theme.SUPPRESSED_MARK}: not plotted")
        return "<br>".join(lines)
    lines.append(f"Value: {format_value(row['value'], ind)}")
    if not _missing(row.get("denominator")):
        lines.append(f"{row['numerator']:,.0f} of {row['denominator']:,.0f}")
    lines.append(f"Centre {format_value(row['centre'], ind)}; limits "
                 f"{format_value(row['lower_limit'], ind)} to "
                 f"{format_value(row['upper_limit'], ind)}" + (" (trial)" if row["trial"]
                                                               else ""))
    signal = row["signal"] or spc.COMMON
    lines.append(analysis.SIGNAL_WORDS.get(signal, signal).capitalize())
    for code in (row["rules"] or "").split(","):
        if code:
            lines.append(f"• {analysis.RULE_TEXT[code]}")
    return "<br>".join(lines)


def _add_points(fig: Draft, frame: pl.DataFrame, axis: list[str], ind: Indicator,
                area_name: str) -> None:
    rows = list(frame.iter_rows(named=True))
    text = [_spc_hover(r, ind, area_name) for r in rows]
    fig.add_scatter(
        x=axis, y=_values(frame, "value"), mode="lines+markers",
        name=f"{area_name}: common cause", connectgaps=False, line={"color": COMMON_COLOUR, "width": 1.6},
        marker={"color": COMMON_COLOUR, "size": 7, "symbol": "circle"}, text=text,
        hovertemplate="%{text}<extra></extra>",
    )
    for signal, (colour, symbol, size) in SIGNAL_STYLE.items():
        idx = [i for i, r in enumerate(rows) if r["signal"] == signal]
        if not idx:
            continue
        fig.add_scatter(
            x=[axis[i] for i in idx], y=[rows[i]["value"] for i in idx], mode="markers",
            name=analysis.SIGNAL_WORDS[signal].capitalize(),
            marker={"color": colour, "size": size, "symbol": symbol,
                    "line": {"color": theme.TEXT_COLOUR, "width": 1}},
            text=[text[i] for i in idx], hovertemplate="%{text}<extra></extra>",
        )


def _add_targets(fig: Draft, frame: pl.DataFrame, axis: list[str], ind: Indicator,
                 trajectory: pl.DataFrame | None) -> None:
    series = [("target", "Target", "dash", frame)]
    if trajectory is not None and trajectory.height:
        series += [("trajectory", "Trajectory", "dashdot", trajectory),
                   ("stretch", "Stretch target", "longdash", trajectory)]
    drawn_apart = (_values(trajectory, "trajectory") if trajectory is not None
                   and trajectory.height else None)
    for column, name, dash, source in series:
        values = _values(source, column)
        if column == "target" and drawn_apart is not None:
            # A period judged against its trajectory is drawn on the trajectory line only.
            values = np.where(np.isclose(values, drawn_apart), np.nan, values)
        if not np.isfinite(values).any():
            continue
        fig.add_scatter(
            x=axis, y=values, mode="lines", name=name, line_shape="hv",
            line={"color": theme.TARGET_COLOUR, "width": 2, "dash": dash},
            hovertemplate=f"{name}: %{{y:.{ind.decimals}f}}<extra></extra>",
        )


def _mark_baseline_and_rebases(fig: Draft, frame: pl.DataFrame) -> None:
    flags = frame["baseline"].to_list()
    for first, last, _ in _segment_runs(frame):
        idx = [i for i in range(first, last + 1) if flags[i]]
        if idx:
            fig.add_vrect(x0=idx[0] - 0.5, x1=idx[-1] + 0.5, fillcolor=BASELINE_FILL,
                          line_width=0, layer="below")
            fig.add_annotation(x=idx[0] - 0.5, xanchor="left", y=1, yref="paper",
                               yanchor="top", showarrow=False,
                               font={"size": 12, "color": theme.SECONDARY_TEXT},
                               text=f" limits set by {len(idx)} points")
        if first > 0:
            fig.add_vline(x=first - 0.5, line={"color": theme.TEXT_COLOUR, "width": 2,
                                               "dash": "dash"})
            fig.add_annotation(x=first - 0.5, y=0, yref="paper", yanchor="bottom",
                               xanchor="left", showarrow=False, text=" rebased here",
                               font={"size": 12, "color": theme.TEXT_COLOUR},
                               bgcolor="rgba(255,255,255,0.85)")


def make_spc_figure(spc_rows: pl.DataFrame, ind: Indicator, *, area_name: str,
                    trajectory: pl.DataFrame | None = None) -> Spec:
    """The SPC chart of :func:`metrics.analysis.spc_frame` for one area.

    ``trajectory`` (optional) has ``trajectory`` and ``stretch`` columns aligned with the
    rows (:func:`metrics.analysis.trajectory_targets`).
    """
    fig = Draft()
    chart = spc_rows["chart"][0] if spc_rows.height else analysis.XMR
    _layout(fig, f"{ind.title}: statistical process control",
            f"{area_name} · {_chart_name(spc_rows, chart)}", SPC_HEIGHT,
            meta={"indicator": ind.id, "chart": chart})
    if spc_rows.height == 0 or spc_rows["value"].drop_nulls().len() < 2:
        return fig.empty("Too few figures for an SPC chart (at least two are needed)", size=15)
    axis = spc_rows["period_label"].to_list()
    _ticks(fig, axis, most=6)
    _mark_baseline_and_rebases(fig, spc_rows)
    _add_limit_lines(fig, spc_rows, axis, ind)
    _add_targets(fig, spc_rows, axis, ind, trajectory)
    _add_points(fig, spc_rows, axis, ind, area_name)
    fig.update_yaxes(title={"text": unit_label(ind)})
    fig.update_layout(
        margin={"b": 130, "r": 230},
        legend={"orientation": "v", "yref": "paper", "y": 1, "yanchor": "top", "x": 1.02,
                "xanchor": "left", "font": {"size": 12}},
    )
    fig.add_annotation(
        x=0, xref="paper", xanchor="left", y=0, yref="paper", yanchor="top", yshift=-58,
        showarrow=False, align="left", font={"size": 12, "color": theme.SECONDARY_TEXT},
        text="<br>".join(_wrap(RULES_LEGEND, 130)),
    )
    return fig.spec()


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


# --- funnel ---------------------------------------------------------------------------------------

def _denominator_title(ind: Indicator) -> str:
    if ind.denominator is not None:
        return ind.denominator.title
    return "Population (Census 2011)" if ind.population_denominator else "Denominator"


def _funnel_hover(row: dict[str, Any], ind: Indicator) -> str:
    ci = ("" if _missing(row.get("lower")) else
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
    _layout(fig, f"{ind.title}: funnel plot", f"All {kind_words}, {period}", FUNNEL_HEIGHT,
            meta={"indicator": ind.id, "chart": "funnel"})
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
    _layout(fig, f"{ind.title}: rank with 95% rank intervals",
            f"{rows.height} {kind_words}, {period}; rank 1 = {best}"
            + (f"; {int(rows['rank_draws'][0]):,} bootstrap draws" if rows.height
               and "rank_draws" in rows.columns and rows["rank_draws"][0] else ""), height,
            meta={"indicator": ind.id, "chart": "rank"})
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
