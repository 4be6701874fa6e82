"""The SPC chart: a pure chart factory, :func:`make_spc_figure`.

A frame of :func:`metrics.analysis.spc_frame` in, a figure out as plotly JSON (drafted with
:class:`layouts.figure_draft.Draft`, validated in the tests); no Dash, no database. Values,
centre line, process limits (trial limits dotted), two-sigma lines, the baseline period
shaded, rebase points marked, special-cause points as improvement (blue diamond) / concern
(vermillion square) / neutral (purple triangle), target, trajectory and stretch lines, and a
text legend of the four rules. Anything told apart by colour is also told apart by marker
shape or line dash, and named in the legend and the hover text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from layouts import theme
from layouts.analysis_chart_style import COMMON_COLOUR, LIMIT_COLOUR, analysis_layout
from layouts.charts import is_missing
from layouts.figure_draft import Draft, Spec
from metrics import analysis
from metrics.registry import Indicator
from metrics.statistics import spc_rules, spc_signals
from metrics.views import format_value, unit_label

SPC_HEIGHT = 520

IMPROVEMENT_COLOUR = theme.OKABE_ITO["blue"]
CONCERN_COLOUR = theme.OKABE_ITO["vermillion"]
NEUTRAL_SIGNAL_COLOUR = theme.OKABE_ITO["reddish_purple"]
SIGMA_COLOUR = "#8a9296"
BASELINE_FILL = "rgba(86, 180, 233, 0.12)"  # Okabe–Ito sky blue, faint
SIGNAL_STYLE: dict[str, tuple[str, str, int]] = {
    # signal: (colour, marker symbol, size)
    spc_signals.IMPROVEMENT: (IMPROVEMENT_COLOUR, "diamond", 13),
    spc_signals.CONCERN: (CONCERN_COLOUR, "square", 11),
    spc_signals.NEUTRAL_SIGNAL: (NEUTRAL_SIGNAL_COLOUR, "triangle-up", 12),
}
RULES_LEGEND = ("Special-cause rules: " + "; ".join(
    f"{analysis.RULE_SHORT[r]} = {analysis.RULE_TEXT[r]}" for r in spc_rules.RULES) + ". "
    "Where several fire, the colour follows " + ", then ".join(
        analysis.RULE_SHORT[r] for r in spc_rules.PRECEDENCE) + " (Making Data Count).")


def _chart_name(frame: pl.DataFrame, chart: str) -> str:
    """The chart's name, and for Laney p′ why: the overdispersion factor σz."""
    name = analysis.CHART_NAMES[chart]
    if chart == analysis.LANEY and frame.height and frame["sigma_z"].drop_nulls().len():
        sz = float(frame["sigma_z"].drop_nulls()[-1])
        name += f": periods vary {sz:.1f}× more than sampling alone (σz), limits widened"
    return name


def _values(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with NaN for missing (plotly draws a gap; arrays validate fast)."""
    if column not in frame.columns or frame.height == 0:
        return np.full(frame.height, np.nan)
    return frame.get_column(column).cast(pl.Float64).fill_null(np.nan).to_numpy()


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
    if not is_missing(row.get("denominator")):
        lines.append(f"{row['numerator']:,.0f} of {row['denominator']:,.0f}")
    lines.append(f"Centre {format_value(row['centre'], ind)}; limits "
                 f"{format_value(row['lower_limit'], ind)} to "
                 f"{format_value(row['upper_limit'], ind)}" + (" (trial)" if row["trial"]
                                                               else ""))
    signal = row["signal"] or spc_signals.COMMON
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
        name=f"{area_name}: common cause", connectgaps=False,
        line={"color": COMMON_COLOUR, "width": 1.6},
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
    analysis_layout(fig, f"{ind.title}: statistical process control",
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
