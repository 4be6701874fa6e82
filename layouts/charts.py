"""Pure chart factories: a frame and an Indicator in, a figure out as plotly JSON.

No Dash and no database here: the board-pack exports call the same functions, so a board pack
and the website cannot disagree. Frames are those of :func:`metrics.views.series` and
:func:`metrics.views.overview` (``RESULT_COLUMNS`` plus ``display_value``/``display_ci``).
Each figure is drafted with :class:`layouts.figure_draft.Draft` and returned as its spec, the
JSON plotly.js reads (a dict: ``dcc.Graph`` takes it as it is; ``go.Figure(spec)`` validates
it, as the tests do and the board-pack exporters before drawing it).

Conventions every chart follows:

- the x axis is the period label, in period order, over every period either line has, so a
  missing or suppressed period is a visible gap (never a line drawn across it);
- suppressed periods are marked ``[c]`` under the gap, and said so in the hover text;
- figures from the synthetic demo extract say "synthetic demo data" in their hover text;
- the y axis is titled with :func:`metrics.views.unit_label`, the chart with the indicator
  title; lines differ by dash and marker as well as colour (Okabe–Ito, :mod:`layouts.theme`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from layouts import theme
from layouts.figure_draft import Draft, Spec
from metrics.analysis import is_missing
from metrics.registry import Indicator
from metrics.views import format_value, target_text, unit_label

_TREND_HEIGHT = 460


def headline_rows(frame: pl.DataFrame | None, ind: Indicator) -> pl.DataFrame:
    """The headline rows, in period order: breakdown '' (for a ratio indicator, its declared
    comparison, e.g. Black vs White, labelled '' or with the group's name)."""
    if frame is None or frame.height == 0:
        return pl.DataFrame()
    if "breakdown" in frame.columns:
        groups = ["", ind.comparison.group] if ind.comparison else [""]
        frame = frame.filter(pl.col("breakdown").fill_null("").is_in(groups))
    return frame.sort("period_start")


def format_count(value: Any) -> str:
    if is_missing(value):
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def hover_text(row: dict[str, Any], ind: Indicator, *, series_name: str) -> str:
    """The hover text of one point: value, CI, numerator/denominator, source, caveats."""
    lines = [f"<b>{series_name}</b>", row.get("period_label") or ""]
    suppressed = bool(row.get("suppressed"))
    value = format_value(row.get("value"), ind, suppressed=suppressed)
    lines.append(f"Value: {value}")
    if suppressed:
        lines.append(f"Suppressed {theme.SUPPRESSED_MARK}: {row.get('note') or 'small numbers'}")
    else:
        level = row.get("level") or 0.95
        if not is_missing(row.get("lower")) and not is_missing(row.get("upper")):
            lines.append(
                f"{level:.0%} CI: {format_value(row['lower'], ind)} to "
                f"{format_value(row['upper'], ind)}"
            )
        elif ind.ci_method == "none":
            lines.append(f"No CI: {ind.ci_note or 'not applicable'}")
        parts = [f"{ind.numerator.title}: {format_count(row.get('numerator'))}"]
        if ind.denominator is not None or not is_missing(row.get("denominator")):
            title = ind.denominator.title if ind.denominator else "Denominator"
            parts.append(f"{title}: {format_count(row.get('denominator'))}")
        lines.extend(parts)
    if not is_missing(row.get("target")):
        value = format_value(row["target"], ind)
        lines.append(f"{target_text(row, ind).removesuffix(' ' + value)}: {value}")
    if row.get("source"):
        lines.append(f"Source: {row['source']}" + (
            f" ({row['vintage']})" if row.get("vintage") else ""))
    if row.get("built_from"):
        lines.append(f"Made from: {row['built_from']}")
    if row.get("synthetic"):
        lines.append(f"{theme.SYNTHETIC_MARK} synthetic demo data")
    return "<br>".join(lines)


def _period_axis(*frames: pl.DataFrame) -> list[str]:
    """Every period label of the frames, in period order."""
    parts = [f.select("period_start", "period_label") for f in frames if f.height]
    if not parts:
        return []
    periods = pl.concat(parts).unique().sort("period_start")
    return periods["period_label"].unique(maintain_order=True).to_list()


def _aligned(rows: pl.DataFrame, axis: Sequence[str]) -> list[dict[str, Any] | None]:
    by_label = {r["period_label"]: r for r in rows.iter_rows(named=True)}
    return [by_label.get(label) for label in axis]


def _values(points: list[dict[str, Any] | None], column: str) -> list[float | None]:
    out: list[float | None] = []
    for p in points:
        v = None if p is None else p.get(column)
        out.append(None if is_missing(v) else v)
    return out


def _ci_band(axis: Sequence[str], points: list[dict[str, Any] | None]) -> tuple[list, list]:
    """One closed polygon per run of consecutive periods with a CI (None between runs)."""
    xs: list[Any] = []
    ys: list[Any] = []
    run: list[int] = []

    def close() -> None:
        if run:
            if xs:
                xs.append(None)
                ys.append(None)
            xs.extend([axis[i] for i in run] + [axis[i] for i in reversed(run)])
            ys.extend([points[i]["upper"] for i in run] +  # type: ignore[index]
                      [points[i]["lower"] for i in reversed(run)])  # type: ignore[index]
            run.clear()

    for i, p in enumerate(points):
        if p is not None and not is_missing(p.get("lower")) and not is_missing(p.get("upper")):
            run.append(i)
        else:
            close()
    close()
    return xs, ys


def _add_line(fig: Draft, axis: Sequence[str], rows: pl.DataFrame, ind: Indicator, *,
              name: str, colour: str, dash: str, symbol: str, yaxis: str = "y"
              ) -> list[dict[str, Any] | None]:
    points = _aligned(rows, axis)
    text = [hover_text(p, ind, series_name=name) if p else f"<b>{name}</b><br>{axis[i]}<br>no data"
            for i, p in enumerate(points)]
    fig.add_scatter(
        x=list(axis), y=_values(points, "value"), mode="lines+markers", name=name,
        connectgaps=False, line={"color": colour, "width": 2.5, "dash": dash},
        marker={"color": colour, "size": 8, "symbol": symbol}, text=text,
        hovertemplate="%{text}<extra></extra>", yaxis=yaxis,
    )
    return points


def _add_target(fig: Draft, axis: Sequence[str], targets: pl.DataFrame,
                ind: Indicator) -> None:
    points = _aligned(targets, axis)
    values = _values(points, "target")
    if not any(v is not None for v in values):
        return
    last = max(i for i, v in enumerate(values) if v is not None)
    name = _target_name(points)
    fig.add_scatter(
        x=list(axis), y=values, mode="lines", name=name, line_shape="hv",
        line={"color": theme.TARGET_COLOUR, "width": 1.5,
              "dash": "dashdot" if "rajectory" in name else "dash"},
        hovertemplate=f"{name}: %{{y:.{ind.decimals}f}}<extra></extra>",
    )
    fig.add_annotation(
        x=axis[last], y=values[last], text=target_text(points[last] or {}, ind),
        showarrow=False, xanchor="right", yanchor="bottom", font={"size": 12},
        bgcolor="rgba(255,255,255,0.8)",
    )


def _target_name(points: Sequence[dict[str, Any] | None]) -> str:
    """'Target', 'Trajectory', 'Local trajectory', 'Local target and trajectory'…: what the
    line joins (a trajectory is a target per period: the line steps through it)."""
    shown = [p for p in points if p is not None and not is_missing(p.get("target"))]
    kinds = sorted({p.get("target_kind") or "target" for p in shown}, reverse=True)
    words = " and ".join(kinds).capitalize()
    if shown and all(p.get("target_scope") == "local" for p in shown):
        words = "Local " + words.lower()
    return words


def _annotate_suppressed(fig: Draft, axis: Sequence[str],
                         points: list[dict[str, Any] | None]) -> bool:
    """Mark each suppressed period [c] under its gap; say once what the mark means."""
    hidden = [axis[i] for i, p in enumerate(points) if p is not None and p.get("suppressed")]
    noted = any((a.get("text") or "").endswith("gap in the line")
                for a in fig.layout.get("annotations", []))
    for label in hidden:
        fig.add_annotation(
            x=label, y=1, yref="paper", yanchor="top", showarrow=False,
            text=theme.SUPPRESSED_MARK, font={"size": 13, "color": theme.TEXT_COLOUR},
            bgcolor="rgba(255,255,255,0.85)",
            hovertext=f"{label}: suppressed (small numbers)",
        )
    if hidden and not noted:
        fig.add_annotation(
            x=1, xref="paper", xanchor="right", y=1.02, yref="paper", yanchor="bottom",
            showarrow=False, align="right", font={"size": 12, "color": theme.SECONDARY_TEXT},
            text=f"{theme.SUPPRESSED_MARK} suppressed period: gap in the line",
        )
    return bool(hidden)



_MAX_TICKS = 10


def _base_layout(fig: Draft, ind: Indicator, subtitle: str) -> None:
    fig.update_layout(
        template=theme.TEMPLATE_NAME, height=_TREND_HEIGHT,
        title={"text": ind.title, "subtitle": {"text": subtitle}},
        yaxis={"title": {"text": unit_label(ind)},
               "rangemode": "tozero"},
        # no fixed tickangle: on a phone the labels turn rather than overprint each other
        xaxis={"type": "category", "title": {"text": "Period"}},
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom",
                "x": 0, "xanchor": "left"},
        margin={"b": 110}, hovermode="closest", meta={"indicator": ind.id},
    )


def _period_xaxis(fig: Draft, axis: Sequence[str]) -> None:
    """Periods in period order (not the order traces mention them); about ten labels,
    always including the latest."""
    fig.update_xaxes(categoryorder="array", categoryarray=list(axis))
    if len(axis) <= _MAX_TICKS:
        return
    step = math.ceil(len(axis) / _MAX_TICKS)
    shown = list(axis[::-1][::step])[::-1]
    fig.update_xaxes(tickmode="array", tickvals=shown, ticktext=shown)


TOTAL_TYPES = ("count", "amount")
"""Indicator types whose values are totals that grow with the size of the area."""


def make_trend_figure(
    area_series: pl.DataFrame, national_series: pl.DataFrame | None, ind: Indicator, *,
    area_name: str, target_series: pl.DataFrame | None = None,
    national_name: str = "England and Wales",
) -> Spec:
    """The indicator over time for one area: value, 95% CI band, target and England & Wales.

    ``target_series`` (``period_label``, ``period_start``, ``target``) defaults to the
    ``target`` column of ``area_series``. Pass ``national_series=None`` when the area is
    England and Wales itself.
    """
    area = headline_rows(area_series, ind)
    national = headline_rows(national_series, ind)
    fig = Draft()
    _base_layout(fig, ind, area_name)
    if area.height == 0 and national.height == 0:
        return fig.empty("No data for this area and grain")
    targets = headline_rows(target_series, ind) if target_series is not None else area
    axis = _period_axis(area, national)
    _period_xaxis(fig, axis)
    if area.height:
        points = _aligned(area, axis)
        band_x, band_y = _ci_band(axis, points)
        level = area["level"].drop_nulls()[0] if "level" in area.columns and area[
            "level"].drop_nulls().len() else 0.95
        if band_x:
            fig.add_scatter(
                x=band_x, y=band_y, fill="toself", fillcolor=theme.CI_FILL, mode="lines",
                line={"width": 0}, name=f"{area_name}: {level:.0%} confidence interval",
                hoverinfo="skip",
            )
    if national.height:
        # A total (a count, or money) for an area and for England and Wales differ in scale
        # a hundredfold: on one axis the area's line would sit on zero. The national total
        # gets its own right-hand axis, named as such; rates share one axis.
        own_axis = ind.type in TOTAL_TYPES and area.height > 0
        if own_axis:
            fig.update_layout(yaxis2={
                "title": {"text": f"{national_name} ({unit_label(ind)}, right axis)"},
                "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False})
        _add_line(fig, axis, national, ind,
                  name=f"{national_name} (right axis)" if own_axis else national_name,
                  colour=theme.NATIONAL_COLOUR, dash="dot", symbol="square",
                  yaxis="y2" if own_axis else "y")
    if area.height:
        points = _add_line(fig, axis, area, ind, name=area_name, colour=theme.AREA_COLOUR,
                           dash="solid", symbol="circle")
        _annotate_suppressed(fig, axis, points)
    else:
        fig.add_annotation(x=0.5, y=1.02, xref="paper", yref="paper", showarrow=False,
                           text=f"No figures for {area_name}", yanchor="bottom")
    if "target" in targets.columns and targets.height:
        _add_target(fig, axis, targets, ind)
    if ind.unit == "ratio":
        fig.add_hline(y=1, line={"color": theme.SECONDARY_TEXT, "width": 1},
                      annotation_text="parity", annotation_position="top left")
    return fig.spec()


def make_breakdown_figure(series: pl.DataFrame, ind: Indicator, *, area_name: str,
                          by: str = "ethnicity") -> Spec:
    """One line per breakdown group (e.g. by ethnicity) for one area."""
    fig = Draft()
    _base_layout(fig, ind, f"{area_name}, by {by}")
    rows = series.filter(pl.col("breakdown").fill_null("") != "") if series.height else series
    if rows.height == 0:
        return fig.empty(f"No figures by {by} for this area and grain")
    rows = rows.sort("period_start")
    axis = _period_axis(rows)
    _period_xaxis(fig, axis)
    hidden = False
    dashes = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")
    symbols = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star")
    for i, group in enumerate(rows["breakdown"].unique(maintain_order=False).sort().to_list()):
        colour = theme.COLOURWAY[i % len(theme.COLOURWAY)]
        points = _add_line(fig, axis, rows.filter(pl.col("breakdown") == group), ind,
                           name=group, colour=colour, dash=dashes[i % len(dashes)],
                           symbol=symbols[i % len(symbols)])
        hidden = hidden or any(p is not None and p.get("suppressed") for p in points)
    if hidden:  # one [c] per group and period would crowd the axis: say it once
        fig.add_annotation(
            x=1, xref="paper", xanchor="right", y=1.02, yref="paper", yanchor="bottom",
            showarrow=False, align="right", font={"size": 12, "color": theme.SECONDARY_TEXT},
            text=f"gaps: suppressed {theme.SUPPRESSED_MARK} or missing periods (see the table)",
        )
    return fig.spec()
