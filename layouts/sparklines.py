"""Sparklines: the small trend beside each figure on the overview, the indicator page and the
board packs, as a standalone SVG (fifty of them render without fifty plotly graphs) or a tiny
plotly figure, with the sentence that describes each for screen readers.

Pure: headline rows in (:func:`layouts.charts.headline_rows`), text or a figure spec out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from layouts import theme
from layouts.charts import headline_rows, is_missing
from layouts.figure_draft import Draft, Spec
from metrics.registry import Indicator
from metrics.views import format_value

_SPARK_HEIGHT = 40


def headline_points(frame: pl.DataFrame | None, ind: Indicator) -> list[dict[str, Any]]:
    """The headline rows as plain dicts, in period order (what sparklines are drawn from)."""
    rows = headline_rows(frame, ind)
    return rows.to_dicts() if rows.height else []


SPARK_COLUMNS = ("period_label", "value", "suppressed")
"""What a sparkline and its text alternative read of each point (:func:`sparkline_svg`,
:func:`describe_points`)."""


def headline_points_by_indicator(indicators: Sequence[Indicator], history: pl.DataFrame
                                 ) -> dict[str, list[dict[str, Any]]]:
    """Every indicator's :func:`headline_points`, picked out of one history frame in a single
    pass (the overview draws fifty sparklines; one filter each cost ~100 ms in all), with
    only the :data:`SPARK_COLUMNS` a sparkline reads (a whole row each cost more than the
    sparkline)."""
    wanted = {i.id: ("", i.comparison.group if i.comparison else "") for i in indicators}
    points: dict[str, list[dict[str, Any]]] = {}
    if history.height == 0:
        return points
    rows = history.sort("indicator", "period_start").select(
        "indicator", pl.col("breakdown").fill_null(""), *SPARK_COLUMNS).rows()
    for ind_id, breakdown, *values in rows:
        if breakdown in wanted.get(ind_id, ("",)):
            points.setdefault(ind_id, []).append(dict(zip(SPARK_COLUMNS, values, strict=True)))
    return points


def describe_points(points: Sequence[dict[str, Any]], ind: Indicator) -> str:
    """A sentence describing a trend, from its headline points."""
    shown = [p for p in points if not p.get("suppressed") and not is_missing(p.get("value"))]
    if not shown:
        return f"{ind.title}: no figures to show"
    first, last = shown[0], shown[-1]
    return (
        f"{ind.title}: {len(points)} periods, from {format_value(first['value'], ind)} in "
        f"{first['period_label']} to {format_value(last['value'], ind)} in "
        f"{last['period_label']}"
    )


def describe_series(history: pl.DataFrame, ind: Indicator) -> str:
    """A sentence describing a trend, for screen readers (the sparkline's accessible name)."""
    return describe_points(headline_points(history, ind), ind)


def make_sparkline_svg(history: pl.DataFrame, ind: Indicator, *, width: int = 140,
                       height: int = 36) -> str:
    """The sparkline as a small standalone SVG document: a line with gaps for missing or
    suppressed periods and the latest point marked. Pure text, so a scorecard of fifty
    indicators renders in the browser without fifty plotly graphs."""
    return sparkline_svg(headline_points(history, ind), width=width, height=height)


def sparkline_svg(points: Sequence[dict[str, Any]], *, width: int = 140, height: int = 36
                  ) -> str:
    """:func:`make_sparkline_svg` from headline points (:func:`headline_points`)."""
    values = [p.get("value") for p in points]
    known = [v for v in values if not is_missing(v)]
    pad = 3.0
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">']
    if len(known) >= 1:
        low, high = min(known), max(known)
        span = (high - low) or 1.0
        step = (width - 2 * pad) / max(len(values) - 1, 1)

        def point(i: int, v: float) -> tuple[float, float]:
            return pad + i * step, height - pad - (v - low) / span * (height - 2 * pad)

        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(values):
            if is_missing(v):
                runs.append([])
            else:
                runs[-1].append(point(i, v))
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                svg.append(f'<polyline points="{path}" fill="none" '
                           f'stroke="{theme.AREA_COLOUR}" stroke-width="1.5"/>')
        last = next(i for i in range(len(values) - 1, -1, -1) if not is_missing(values[i]))
        x, y = point(last, values[last])
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{theme.AREA_COLOUR}"/>')
    svg.append("</svg>")
    return "".join(svg)


def make_sparkline_figure(history: pl.DataFrame, ind: Indicator) -> Spec:
    """A tiny line of the indicator's history; the last point marked; no axes."""
    rows = headline_rows(history, ind)
    fig = Draft()
    title = describe_series(history, ind) if rows.height else f"{ind.title}: no data"
    if rows.height:
        values = rows["value"].to_list()
        labels = rows["period_label"].to_list()
        fig.add_scatter(x=labels, y=values, mode="lines", connectgaps=False,
                        line={"color": theme.AREA_COLOUR, "width": 1.5}, hoverinfo="skip",
                        name=ind.short_title)
        last = next((i for i in range(len(values) - 1, -1, -1) if not is_missing(values[i])),
                    None)
        if last is not None:
            fig.add_scatter(x=[labels[last]], y=[values[last]], mode="markers",
                            marker={"color": theme.AREA_COLOUR, "size": 6}, hoverinfo="skip",
                            name="latest")
    fig.update_layout(
        template=theme.TEMPLATE_NAME, height=_SPARK_HEIGHT, showlegend=False,
        margin={"l": 2, "r": 4, "t": 4, "b": 4},
        xaxis={"visible": False, "type": "category"}, yaxis={"visible": False},
        meta={"title": title},
    )
    return fig.spec()
