"""Overview: every indicator for one area and period, grouped by theme (the scorecard).

The URL holds the view (``/?area=CJA03&grain=fy&period=2025-03-31``) so that it can be
bookmarked. ``layout`` renders the page from the query string; afterwards the control callback
re-renders the content and writes the new query string to ``overview-url``, a ``dcc.Location``
with ``refresh=False``: that only pushes a browser history entry, it does not tell the page
router, so the page is not rendered twice and no callback fires in a loop. Back and forward
go through the router, which renders the page again from the URL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from cjsdash.core.periods import GRAIN_LABELS
from layouts import components as cx
from layouts import sparklines
from layouts.context import get_context
from layouts.inputs import checked, period_end
from metrics import views

dash.register_page(__name__, path="/", title="Overview – cjsdash", name="Overview", order=0)

PREFIX = "overview"


def _period_choices(history: pl.DataFrame) -> list[tuple[date, str]]:
    """Period ends present in ``history``, newest first, with their labels."""
    if history.height == 0:
        return []
    ends = history.select("period_end", "period_label").unique("period_end").sort(
        "period_end", descending=True)
    return [(end, label) for end, label in ends.rows()]


def _theme_sections(registry: Any, headline: pl.DataFrame, history: pl.DataFrame, *,
                    area: str, grain: str) -> list[Any]:
    rows_by_id = {r["indicator"]: r for r in headline.iter_rows(named=True)}
    points = sparklines.headline_points_by_indicator(registry.indicators, history)
    sections: list[Any] = []
    for theme_, indicators in registry.by_theme():
        rows = [
            cx.scorecard_row(ind, rows_by_id.get(ind.id), points.get(ind.id, []), area=area,
                             grain=grain, prefix=PREFIX)
            for ind in indicators
        ]
        heading_id = f"{PREFIX}-theme-{theme_.id}"
        sections.append(html.Section([
            html.H2(theme_.title, id=heading_id, className="cjs-theme-heading"),
            html.P(theme_.psa, className="cjs-psa"),
            cx.scorecard_table(f"{theme_.title}: {len(indicators)} indicators", rows),
        ], className="cjs-theme", **{"aria-labelledby": heading_id}))
    return sections


def render(area: str, grain: str, period: str | None) -> tuple[list[Any], list[dict], str]:
    """(content, period options, period value) for one area, grain and period."""
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    headline, history = views.overview(con, ctx.registry, choice.code, grain=grain)
    choices = _period_choices(history)
    ends = {end.isoformat(): end for end, _ in choices}
    period_value = period if period in ends and period != (
        choices[0][0].isoformat() if choices else None) else cx.LATEST
    if period_value != cx.LATEST:
        headline, history = views.overview(con, ctx.registry, choice.code, grain=grain,
                                           period_end=ends[period_value])
    when = ("the latest period available for each indicator" if period_value == cx.LATEST
            else f"the period ending {ends[period_value]:%d %B %Y} (or the latest before it)")
    summary = (f"{headline.height} of {len(ctx.registry.indicators)} indicators have figures "
               f"for {cx.area_label(choice)}, by {GRAIN_LABELS[grain].lower()}, "
               f"for {when}.")
    content = [
        cx.synthetic_banner(cx.any_synthetic(headline, history)),
        html.P(summary, id=f"{PREFIX}-summary", className="cjs-summary"),
        *([html.P(dcc.Link(f"Baseline for {cx.area_label(choice)}: every indicator against its "
                           "most similar group and England and Wales",
                           href=f"/baseline/{choice.code}", id=f"{PREFIX}-baseline-link"))]
          if choice.kind in ("force", "lcjb") else []),
        cx.download_button(PREFIX, "Download the scorecard figures (CSV)"),
        *_theme_sections(ctx.registry, headline, history, area=choice.code, grain=grain),
        cx.footer(cx.vintages(headline)),
    ]
    return content, cx.period_options(choices), period_value


def layout(area: str | None = None, grain: str | None = None, period: str | None = None,
           **_other: Any) -> html.Div:
    ctx = get_context()
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = cx.pick_grain(grain)
    content, options, period_value = render(area_code, grain, period)
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        html.H1("Overview"),
        html.P("Every indicator for one area against its target and the same period last "
               "year. Choose an indicator for its trend, definition and figures.",
               className="cjs-lead"),
        html.Div([
            cx.area_dropdown(PREFIX, areas, area_code),
            cx.grain_radio(PREFIX, grain),
            cx.period_dropdown(PREFIX, options, period_value),
        ], className="cjs-controls", role="group", **{"aria-label": "Choose what to show"}),
        dcc.Loading(html.Div(content, id=f"{PREFIX}-content"), delay_show=400,
                    type="dot"),
    ], className="cjs-page cjs-overview")


@callback(
    Output(f"{PREFIX}-content", "children"),
    Output(f"{PREFIX}-period", "options"),
    Output(f"{PREFIX}-period", "value"),
    Output(f"{PREFIX}-url", "search"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-period", "value"),
    prevent_initial_call=True,
)
@checked
def update(area: str, grain: str, period: str) -> tuple[Any, ...]:
    """Controls → content and URL. ``period`` is both input and output (no loop in Dash)."""
    grain = cx.pick_grain(grain)
    content, options, period_value = render(area, grain, period)
    search = cx.query_string(area=None if area == views.NATIONAL else area,
                             grain=None if grain == "quarter" else grain,
                             period=None if period_value == cx.LATEST else period_value)
    return content, options, period_value, search


clientside_callback(
    cx.url_to_controls_js({"area": views.NATIONAL, "grain": "quarter", "period": cx.LATEST}),
    Output(f"{PREFIX}-area", "value", allow_duplicate=True),
    Output(f"{PREFIX}-grain", "value", allow_duplicate=True),
    Output(f"{PREFIX}-period", "value", allow_duplicate=True),
    Input(f"{PREFIX}-url", "search"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-period", "value"),
    prevent_initial_call=True,
)


@callback(
    Output(f"{PREFIX}-download", "data"),
    Input(f"{PREFIX}-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-period", "value"),
    prevent_initial_call=True,
)
@checked
def download(n_clicks: int, area: str, grain: str, period: str) -> dict:
    """The headline figures on screen, with the columns ``cjsdash query`` writes."""
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    grain = cx.pick_grain(grain)
    end = period_end(period, cx.LATEST)
    headline, _ = views.overview(ctx.reader(), ctx.registry, area, grain=grain, period_end=end)
    name = f"scorecard_{area}_{grain}_{period or cx.LATEST}.csv"
    return {"content": cx.figures_csv(headline), "filename": name, "type": "text/csv"}
