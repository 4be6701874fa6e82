"""The figure each pack item shows, from the pages' own chart factories (:mod:`layouts.charts`).

``trend`` is the indicator page's chart (the area, its 95% CI, target and England and Wales)
or, for an item broken down (``by: ethnicity``), the page's breakdown chart; ``sparkline`` is
the scorecard's sparkline; ``table`` has no figure.
"""

from __future__ import annotations

import plotly.graph_objects as go

from layouts import charts, sparklines

from .content import NATIONAL_NAME, ItemContent, PackContent

TREND_WIDTH, TREND_HEIGHT = 1100, 520


def item_figure(item: ItemContent, content: PackContent) -> go.Figure | None:
    """The trend (or breakdown) figure of an item, validated (the factories hand out plotly
    JSON; a pack is not latency-critical); None for tables, sparklines, no data."""
    if item.item.chart != "trend" or not item.has_figures:
        return None
    ind = item.indicator
    if item.item.by:
        spec = charts.make_breakdown_figure(item.history, ind, area_name=content.area_label,
                                            by=item.item.by)
    else:
        spec = charts.make_trend_figure(item.history, item.national_history, ind,
                                        area_name=content.area_label,
                                        national_name=NATIONAL_NAME)
    fig = go.Figure(spec)
    fig.update_layout(width=TREND_WIDTH, height=TREND_HEIGHT)
    return fig


def describe(item: ItemContent, content: PackContent) -> str:
    """The figure's text alternative (as the pages give their charts)."""
    if item.item.by:
        return (f"{item.indicator.title} for {content.area_label}, one line per {item.item.by} "
                "group.")
    return sparklines.describe_series(item.history, item.indicator)
