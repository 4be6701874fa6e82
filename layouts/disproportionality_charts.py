"""Pure chart factories for race disproportionality: frames of
:mod:`metrics.disproportionality` in, plotly figures out (no Dash, no database).

Every chart says what a colour says in words too: the stage matrix writes each cell's value
and a significance mark (▲ significantly above parity, ▼ below, no mark when the CI includes
1) and names the cells it cannot estimate ("excluded: <1%", "n < 10", "[c]"); lines and
markers differ by dash and symbol as well as colour (Okabe–Ito, :mod:`layouts.theme`); ratio
axes are logarithmic so that 2× and ½× sit equally far from parity, drawn as a line at 1.

The figures are drafted as plain plotly JSON (:class:`layouts.figure_draft.Draft`): building
them through ``go.Figure`` validated every property on every request, most of the page's
time. The tests validate each spec through ``go.Figure``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from layouts import theme
from layouts.disproportionality_text import (
    MARKS_TEXT,
    VALUE_WORDS,
    cell_hover,
    cell_text,
    ci_text,
    count_text,
    number_text,
    ratio_text,
    share_text,
    stacked_cell_text,
    staged,
)
from layouts.figure_draft import Draft, Spec
from metrics.analysis import is_missing

GROUP_STYLE: dict[str, tuple[str, str, str]] = {
    # group → (colour, dash, marker symbol)
    "White": (theme.OKABE_ITO["black"], "solid", "circle"),
    "Black": (theme.OKABE_ITO["vermillion"], "solid", "square"),
    "Asian": (theme.OKABE_ITO["blue"], "dash", "diamond"),
    "Mixed": (theme.OKABE_ITO["bluish_green"], "dot", "triangle-up"),
    "Other": (theme.OKABE_ITO["reddish_purple"], "dashdot", "x"),
}
_CLIP = math.log(8.0)  # the colour scale runs from 1/8× to 8×
_HEIGHT = 460


def _z(row: dict[str, Any], col: str) -> float | None:
    """Colour only where a value is shown as reliable: ok, reference or not significant."""
    status = row.get("status") or ""
    v = row.get(col)
    if row.get("suppressed") or status not in ("ok", "reference") or is_missing(v) or v <= 0:
        return None
    return max(-_CLIP, min(_CLIP, math.log(v)))


def _layout(fig: Draft, title: str, subtitle: str, height: int = _HEIGHT) -> None:
    fig.update_layout(template=theme.TEMPLATE_NAME, height=height,
                      title={"text": title, "subtitle": {"text": subtitle}},
                      margin={"t": 90, "b": 90}, hovermode="closest")


def make_stage_matrix_figure(matrix: pl.DataFrame, *, area_name: str,
                             value: str = "disparity_ratio") -> Spec:
    """Stage × group grid: each cell shows its ratio and significance mark in words; the
    tint (blue below parity, vermillion above, white at 1) only repeats what it says.

    By default each cell leads with the disparity ratio per population and gives the
    relative rate index per previous stage under it, labelled "RRI"; ``value="rri"`` shows
    the RRI alone."""
    title, col, *_ = VALUE_WORDS[value]
    fig = Draft()
    rows = staged(matrix)
    reference = rows["reference"][0] if rows.height else "White"
    stacked = value == "disparity_ratio"
    _layout(fig, f"Where disproportionality enters: {title.lower()}",
            f"{area_name}, {rows['period_label'][0] if rows.height else ''}; "
            f"reference group {reference}"
            + ("<br>Large: times as likely per head of population · small: RRI, times as "
               "likely per previous stage" if stacked else ""))
    if rows.height == 0:
        return fig.empty("No stage has counts by ethnicity for this area and period")
    stages = rows["stage_title"].unique(maintain_order=True).to_list()
    groups = [g for g in GROUP_STYLE if g in set(rows["group"])]
    cells = {(r["stage_title"], r["group"]): r for r in rows.iter_rows(named=True)}
    z = [[_z(cells[(s, g)], col) if (s, g) in cells else None for s in stages] for g in groups]
    text = [[(stacked_cell_text(cells[(s, g)]) if stacked else cell_text(cells[(s, g)], value))
             if (s, g) in cells else "" for s in stages] for g in groups]
    hover = [[cell_hover(cells[(s, g)], value) if (s, g) in cells else "" for s in stages]
             for g in groups]
    ticks = [0.125, 0.25, 0.5, 1, 2, 4, 8]
    fig.add_heatmap(
        x=stages, y=groups, z=z, text=text, texttemplate="%{text}",
        textfont={"size": 14, "color": theme.TEXT_COLOUR}, customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", zmin=-_CLIP, zmax=_CLIP, zmid=0,
        colorscale=[[0.0, "#7fb3d5"], [0.5, "#ffffff"], [1.0, "#eb9f6f"]], xgap=3, ygap=3,
        colorbar={"title": {"text": "ratio"}, "tickvals": [math.log(t) for t in ticks],
                  "ticktext": [f"{t:g}×" for t in ticks], "len": 0.8},
        name=title,
    )
    fig.update_yaxes(autorange="reversed", title={"text": "Ethnic group"}, showgrid=False,
                     type="category")
    fig.update_xaxes(title={"text": "Stage of the justice process"}, side="bottom",
                     showgrid=False, type="category")
    fig.update_layout(plot_bgcolor="#f3f2f1", height=max(_HEIGHT, 110 + 64 * len(groups)))
    _marks_note(fig)
    return fig.spec()


def _marks_note(fig: Draft) -> None:
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=0, yref="paper", yanchor="top",
                       yshift=-56, showarrow=False, align="left",
                       font={"size": 12, "color": theme.SECONDARY_TEXT}, text=MARKS_TEXT)


def make_rri_lines_figure(matrix: pl.DataFrame, *, area_name: str) -> Spec:
    """The relative rate index at each stage, one line per group (the reference is the
    parity line at 1), with 95% CI error bars; filled markers where significant."""
    fig = Draft()
    rows = staged(matrix)
    reference = rows["reference"][0] if rows.height else "White"
    _layout(fig, "Relative rate index by stage (per previous stage)",
            f"{area_name}: each stage's rate over the previous stage, against {reference}")
    if rows.height == 0:
        return fig.empty("No stage has counts by ethnicity for this area and period")
    stages = rows["stage_title"].unique(maintain_order=True).to_list()
    every = list(rows.iter_rows(named=True))
    shown = False
    for group, (colour, dash, symbol) in GROUP_STYLE.items():
        if group == reference:
            continue
        part = {r["stage_title"]: r for r in every if r["group"] == group}
        points = [part.get(s) for s in stages]
        usable = [p if p and p.get("status") in ("ok", "insufficient")
                  and not p.get("suppressed") and not is_missing(p.get("rri")) else None
                  for p in points]
        if not any(usable):
            continue
        shown = True
        y = [p["rri"] if p else None for p in usable]
        fig.add_scatter(
            x=stages, y=y, name=group, mode="lines+markers", connectgaps=False,
            line={"color": colour, "dash": dash, "width": 2},
            marker={"color": [colour if p and p.get("significant") else "#ffffff"
                              for p in usable],
                    "line": {"color": colour, "width": 2}, "size": 10, "symbol": symbol},
            error_y={"type": "data", "symmetric": False, "color": colour, "thickness": 1.5,
                     "array": [(p["rri_upper"] - p["rri"]) if p and not is_missing(
                         p.get("rri_upper")) else None for p in usable],
                     "arrayminus": [(p["rri"] - p["rri_lower"]) if p and not is_missing(
                         p.get("rri_lower")) else None for p in usable]},
            text=[cell_hover(p, "rri") if p else f"{group}: no reliable figure" for p in points],
            hovertemplate="%{text}<extra></extra>",
        )
    if not shown:
        return fig.empty("No group other than the reference has a reliable figure here")
    fig.add_hline(y=1, line={"color": theme.SECONDARY_TEXT, "width": 1.5, "dash": "dash"})
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=0, yanchor="bottom",
                       showarrow=False, text=f"parity ({reference})",
                       font={"size": 12, "color": theme.SECONDARY_TEXT})  # y: log10(1)
    values = [r[col] for col in ("rri_lower", "rri_upper", "rri") for r in every
              if r["status"] in ("ok", "insufficient") and r[col] is not None]
    fig.update_yaxes(type="log", title={"text": "RRI (log scale; 1 = parity)"},
                     **_log_ticks(values))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=stages,
                     title={"text": "Stage"})
    fig.add_annotation(x=1, xref="paper", xanchor="right", y=1.02, yref="paper",
                       yanchor="bottom", showarrow=False,
                       font={"size": 12, "color": theme.SECONDARY_TEXT},
                       text="filled marker: significant · open: CI includes 1 or n < 10")
    return fig.spec()


_TICKS = (0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


def _log_ticks(values: Sequence[float], max_ticks: int = 8) -> dict[str, Any]:
    """A log axis from the values and 1 (parity), padded, with ticks written as ratios."""
    finite = [v for v in values if not is_missing(v) and v > 0] + [1.0]
    low, high = math.log10(min(finite)), math.log10(max(finite))
    pad = max(0.08, (high - low) * 0.08)
    ticks = [t for t in _TICKS if low - pad <= math.log10(t) <= high + pad]
    while len(ticks) > max_ticks:  # every other tick, always keeping parity
        ticks = [t for i, t in enumerate(ticks) if (i - ticks.index(1)) % 2 == 0]
    return {"range": [low - pad, high + pad], "tickvals": ticks,
            "ticktext": [f"{t:g}×" for t in ticks]}


def make_rates_figure(matrix: pl.DataFrame, *, area_name: str, columns: int = 3) -> Spec:
    """Rates per 1,000 population by group, one panel per stage (each its own scale), with
    95% CIs and the value written on each bar."""
    rows = staged(matrix)
    stages = rows["stage_title"].unique(maintain_order=True).to_list() if rows.height else []
    if not stages:
        fig = Draft()
        _layout(fig, "Rates per 1,000 population", area_name)
        return fig.empty("No stage has counts by ethnicity for this area and period")
    cols = min(columns, len(stages))
    n_rows = math.ceil(len(stages) / cols)
    fig = Draft()
    fig.grid(n_rows, cols, titles=stages, vertical_spacing=0.22 / n_rows + 0.08,
             horizontal_spacing=0.06)
    parts: dict[str, list[dict[str, Any]]] = {}
    for r in rows.iter_rows(named=True):
        parts.setdefault(r["stage_title"], []).append(r)
    for i, stage in enumerate(stages):
        part = parts[stage]
        groups = [g for g in GROUP_STYLE if g in {r["group"] for r in part}]
        by_group = {r["group"]: r for r in part}
        values = [by_group[g].get("rate_per_1000") for g in groups]
        lows = [by_group[g].get("rate_lower") for g in groups]
        highs = [by_group[g].get("rate_upper") for g in groups]
        fig.add_bar(
            row=i // cols + 1, col=i % cols + 1,
            x=groups, y=[None if is_missing(v) else v for v in values],
            marker={"color": [GROUP_STYLE[g][0] for g in groups],
                    "pattern": {"shape": ["", "/", ".", "x", "-"][: len(groups)]}},
            error_y={"type": "data", "symmetric": False, "color": theme.TEXT_COLOUR,
                     "array": [None if is_missing(h) or is_missing(v) else h - v
                               for v, h in zip(values, highs, strict=True)],
                     "arrayminus": [None if is_missing(lo) or is_missing(v) else v - lo
                                    for v, lo in zip(values, lows, strict=True)]},
            text=[_bar_label(by_group[g]) for g in groups], textposition="outside",
            cliponaxis=False, showlegend=False, name=stage,
            hovertext=[f"{g}: {number_text(by_group[g].get('rate_per_1000'))} per 1,000 "
                       f"(95% CI {number_text(by_group[g].get('rate_lower'))} to "
                       f"{number_text(by_group[g].get('rate_upper'))}); "
                       f"{count_text(by_group[g].get('count'))} of "
                       f"{count_text(by_group[g].get('population'))} people"
                       for g in groups],
            hoverinfo="text",
        )
    fig.update_layout(template=theme.TEMPLATE_NAME, height=120 + 300 * n_rows,
                      title={"text": "Rates per 1,000 population",
                             "subtitle": {"text": f"{area_name}, "
                                                  f"{rows['period_label'][0]}; "
                                                  "bars with 95% CIs"}},
                      margin={"t": 110, "b": 40}, bargap=0.35)
    fig.update_yaxes(rangemode="tozero", title={"text": "per 1,000"}, col=1)
    fig.update_yaxes(rangemode="tozero")
    return fig.spec()


def _bar_label(row: dict[str, Any]) -> str:
    if row.get("suppressed"):
        return theme.SUPPRESSED_MARK
    if (row.get("status") or "").startswith("excluded"):
        return "excl."
    return number_text(row.get("rate_per_1000"), 1)


def make_forest_figure(forest: pl.DataFrame, *, stage_title: str, group: str, reference: str,
                       basis: str) -> Spec:
    """Every area's ratio for one stage with its 95% CI, sorted, a parity line at 1 and
    England and Wales as a dashed line; areas without a reliable ratio are listed below."""
    fig = Draft()
    value_words = ("disparity ratio" if basis == "population" else "relative rate index")
    period = forest["period_label"][0] if forest.height else ""
    _layout(fig, f"All areas: {group}/{reference} {value_words} at {stage_title.lower()}",
            f"{period}; sorted, with 95% confidence intervals")
    usable = forest.filter(pl.col("value").is_not_null() & ~pl.col("is_national")
                           & pl.col("status").is_in(["ok", "insufficient", "not estimable"])
                           ) if forest.height else forest
    if usable.height == 0:
        return fig.empty("No area has a ratio for this stage and period")
    names = usable["area_name"].to_list()
    sig = usable["significant"].to_list()
    insufficient = [s == "insufficient" for s in usable["status"].to_list()]
    values = usable["value"].to_list()
    fig.add_scatter(
        x=values, y=names, mode="markers", name=f"{group} vs {reference}",
        marker={"color": [theme.OKABE_ITO["vermillion"] if s else "#ffffff" for s in sig],
                "line": {"color": theme.OKABE_ITO["vermillion"], "width": 2}, "size": 9,
                "symbol": ["circle-open" if i else "circle" for i in insufficient]},
        error_x={"type": "data", "symmetric": False, "color": theme.TEXT_COLOUR,
                 "thickness": 1.2,
                 "array": [None if is_missing(u) else u - v
                           for v, u in zip(values, usable["upper"].to_list(), strict=True)],
                 "arrayminus": [None if is_missing(lo) else v - lo
                                for v, lo in zip(values, usable["lower"].to_list(),
                                                 strict=True)]},
        text=[f"<b>{r['area_name']}</b><br>{ratio_text(r['value'])} "
              f"(95% CI {ci_text(r['lower'], r['upper']) or 'none'})<br>{r['status']}; "
              f"{count_text(r['count'])} of {count_text(r['denominator'])}"
              for r in usable.iter_rows(named=True)],
        hovertemplate="%{text}<extra></extra>",
    )
    # shapes take data values on a log axis, annotations log10 ones
    fig.add_vline(x=1, line={"color": theme.TEXT_COLOUR, "width": 1.5})
    fig.add_annotation(x=0, y=1, yref="paper", yanchor="bottom", showarrow=False,
                       text="parity", font={"size": 12})
    national = forest.filter(pl.col("is_national") & pl.col("value").is_not_null())
    if national.height:
        value = national["value"][0]
        fig.add_vline(x=value, line={"color": theme.OKABE_ITO["blue"], "width": 2,
                                     "dash": "dash"})
        fig.add_annotation(x=math.log10(value), y=1, yref="paper", yanchor="bottom",
                           xanchor="left", showarrow=False,
                           text=f"England and Wales {ratio_text(value)}",
                           font={"size": 12, "color": theme.OKABE_ITO["blue"]})
    left_out = forest.height - usable.height - national.height
    extent = [*values, *usable["lower"].drop_nulls(), *usable["upper"].drop_nulls(),
              *national["value"].to_list()]
    fig.update_xaxes(type="log", title={"text": f"{value_words} (log scale; 1 = parity)"},
                     **_log_ticks(extent))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names,
                     tickmode="array", tickvals=names, automargin=True, title=None)
    note = "filled: significant · open: CI includes 1 · hollow ring: fewer than 10 (not tested)"
    if left_out > 0:
        note += f" · {left_out} area(s) without a ratio (under 1% or suppressed): see the table"
    fig.add_annotation(x=0, xref="paper", xanchor="left", y=0, yref="paper", yanchor="top",
                       yshift=-66, showarrow=False, align="left",
                       font={"size": 12, "color": theme.SECONDARY_TEXT}, text=note)
    fig.update_layout(height=max(_HEIGHT, 210 + 26 * len(names)), showlegend=False,
                      margin={"t": 110, "b": 110})
    return fig.spec()


def make_bounds_figure(sensitivity: pl.DataFrame, *, area_name: str) -> Spec:
    """Missing ethnicity: for each compared group (a panel) and stage, the range of the
    disparity ratio from every not-stated record in the reference group to every one in the
    group — an assumption range, drawn as a grey bar, never as a confidence interval."""
    rows = (sensitivity.filter(pl.col("analysis") == "missing ethnicity")
            if sensitivity.height else sensitivity)
    title = "Missing ethnicity: assumption ranges (not confidence intervals)"
    if rows.height == 0 or rows["bound_low"].drop_nulls().len() == 0:
        fig = Draft()
        _layout(fig, title, area_name)
        return fig.empty("No ratio to test for this area and period")
    groups = [g for g in GROUP_STYLE if g in set(rows["group"].drop_nulls())]
    stages = rows["stage_title"].unique(maintain_order=True).to_list()
    fig = Draft()
    fig.grid(1, len(groups), titles=groups, shared_yaxes=True, horizontal_spacing=0.03,
             vertical_spacing=0.3)  # make_subplots' default vertical spacing: 0.3 / rows
    extent: list[float] = []
    by_group = {g: {r["stage_title"]: r for r in part.iter_rows(named=True)}
                for (g,), part in rows.partition_by("group", as_dict=True).items()}
    for i, group in enumerate(groups):
        part = by_group.get(group, {})
        points = [part.get(s) for s in stages]
        colour = GROUP_STYLE[group][0]
        bar_x: list[float | None] = []
        bar_y: list[str | None] = []
        for s_title, p in zip(stages, points, strict=True):
            if p and not is_missing(p.get("bound_low")) and not is_missing(p.get("bound_high")):
                extent += [p["bound_low"], p["bound_high"]]
                bar_x += [p["bound_low"], p["bound_high"], None]  # one bar per stage,
                bar_y += [s_title, s_title, None]                 # gaps between them
        if bar_x:
            fig.add_scatter(row=1, col=i + 1, x=bar_x, y=bar_y, mode="lines",
                            connectgaps=False, line={"color": "#b1b4b6", "width": 10},
                            hoverinfo="skip", showlegend=False)
        fig.add_scatter(
            row=1, col=i + 1,
            x=[p.get("disparity_ratio") if p else None for p in points], y=stages,
            mode="markers", marker={"color": colour, "size": 10,
                                    "symbol": GROUP_STYLE[group][2]},
            showlegend=False, name=group,
            text=[_bounds_hover(p) for p in points], hovertemplate="%{text}<extra></extra>")
        fig.add_scatter(row=1, col=i + 1, x=[1, 1], y=[stages[0], stages[-1]], mode="lines",
                        hoverinfo="skip", line={"color": theme.TEXT_COLOUR, "width": 1},
                        showlegend=False)  # parity
    ticks = _log_ticks(extent, max_ticks=4)
    fig.update_xaxes(type="log", **ticks)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=stages[::-1])
    for col in range(2, len(groups) + 1):  # the shared axes: no stray tick marks, no labels
        fig.update_yaxes(col=col, ticks="")
    fig.update_layout(template=theme.TEMPLATE_NAME, height=max(320, 150 + 44 * len(stages)),
                      title={"text": title, "subtitle": {"text": (
                          f"{area_name}: dot = the ratio as recorded; grey bar = every "
                          "not-stated record in the reference group … every one in the group; "
                          "line at 1 = parity")}},
                      margin={"t": 110, "b": 40})
    return fig.spec()


def _bounds_hover(p: dict[str, Any] | None) -> str:
    if not p:
        return "no figure"
    tip = ("" if is_missing(p.get("tipping_share"))
           else f"<br>tipping share: {share_text(p['tipping_share'])}")
    return (f"<b>{p['group']}: {p['stage_title']}</b><br>ratio {ratio_text(p.get('disparity_ratio'))}"
            f"<br>assumption range {ratio_text(p.get('bound_low'))} to "
            f"{ratio_text(p.get('bound_high'))}{tip}<br>{p.get('note') or ''}")
