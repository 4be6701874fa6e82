"""One generic page for every indicator: definition, trend chart, figures and their CSV.

``/indicator/<id>?area=CJA03&grain=fy&by=ethnicity``: the registry drives everything shown;
an unknown id gets a "page not found" message listing the indicators. The URL is kept in
step with the controls as on the overview (see :mod:`layouts.pages.overview`).
"""

from __future__ import annotations

from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from layouts import charts
from layouts import components as cx
from layouts.context import get_context
from metrics import views
from metrics.registry import Indicator

PREFIX = "indicator"
POLARITY_WORDS = {
    "higher_is_better": "Higher is better.",
    "lower_is_better": "Lower is better.",
    "neutral": "Neither higher nor lower is better: no target status is given.",
}
CI_WORDS = {
    "wilson": "Wilson score interval for a proportion",
    "poisson": "Poisson interval for a count (Byar's approximation; exact when small)",
    "byar_exact": "Byar's approximation for the count (exact Poisson below 10), over the "
                  "denominator",
    "katz": "Katz log interval for a ratio of rates",
    "normal": "Normal approximation",
    "none": "No confidence interval",
}


def _title(indicator_id: str | None = None, **_: Any) -> str:
    try:
        return f"{get_context().registry.get(indicator_id or '').title} – cjsdash"
    except (KeyError, RuntimeError):
        return "Indicator not found – cjsdash"


dash.register_page(__name__, path_template="/indicator/<indicator_id>", title=_title,
                   name="Indicator", order=90)


def _not_found(indicator_id: str | None) -> html.Div:
    registry = get_context().registry
    groups = [html.Section([
        html.H2(theme_.title),
        html.Ul([html.Li(dcc.Link(f"{ind.title} ({ind.id})", href=f"/indicator/{ind.id}"))
                 for ind in members]),
    ]) for theme_, members in registry.by_theme()]
    return html.Div([
        html.H1("Page not found"),
        html.P([f"There is no indicator called ‘{indicator_id or ''}’. ",
                "These are the indicators:"], id=f"{PREFIX}-not-found"),
        *groups,
    ], className="cjs-page cjs-not-found")


def _definition(ind: Indicator) -> html.Section:
    theme_ = get_context().registry.theme(ind.theme)
    items: list[tuple[str, Any]] = [
        ("What it measures", ind.description),
        ("Numerator", ind.numerator.title),
        ("Denominator", ind.denominator.title if ind.denominator else (
            "population (per 1,000)" if ind.population_denominator else "none: a count")),
        ("Polarity", POLARITY_WORDS[ind.polarity]),
        ("Confidence interval", CI_WORDS[ind.ci_method] + (f" ({ind.ci_note})"
                                                          if ind.ci_note else "")),
        ("Theme", f"{theme_.title} ({ind.psa or theme_.psa})"),
        ("National reference", ind.national_reference or "–"),
        ("Targets", "; ".join(f"{t.kind} {views.format_value(t.value, ind)} ({t.source})"
                              for t in ind.targets) or "no default target"),
        ("Source notes", ind.source_notes or "–"),
    ]
    return html.Section([
        html.H2("Definition", id=f"{PREFIX}-definition-heading"),
        html.Dl([part for term, text in items for part in (html.Dt(term), html.Dd(text))],
                className="cjs-definition"),
    ], **{"aria-labelledby": f"{PREFIX}-definition-heading"})


def _controls(ind: Indicator, areas: list[views.AreaChoice], area: str, grain: str,
              by: str | None) -> html.Div:
    controls: list[Any] = [cx.area_dropdown(PREFIX, areas, area), cx.grain_radio(PREFIX, grain)]
    if "ethnicity" in ind.breakdowns:
        controls.append(html.Fieldset([
            html.Legend("Breakdown", className="cjs-label"),
            dcc.RadioItems(id=f"{PREFIX}-by", value=by or "", inline=True,
                           options=[{"label": "All people", "value": ""},
                                    {"label": "By ethnicity", "value": "ethnicity"}],
                           className="cjs-radios"),
        ], className="cjs-field cjs-field-by"))
    else:
        controls.append(dcc.Input(id=f"{PREFIX}-by", type="hidden", value=""))
    return html.Div(controls, className="cjs-controls", role="group",
                    **{"aria-label": "Choose what to show"})


def figures(ind: Indicator, area: str, grain: str, by: str | None) -> pl.DataFrame:
    """The rows the table and the CSV show: this area only (and its groups when ``by``)."""
    ctx = get_context()
    frame = views.series(ctx.reader(), ctx.registry, ind.id, [area], grain=grain, by=by or None)
    return frame.filter(pl.col("area_code") == area) if frame.height else frame


def render(ind: Indicator, area: str, grain: str, by: str | None) -> list[Any]:
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    name = cx.area_label(choice)
    codes = [choice.code] if choice.code == views.NATIONAL else [choice.code, views.NATIONAL]
    both = views.series(con, ctx.registry, ind.id, codes, grain=grain)
    area_rows = both.filter(pl.col("area_code") == choice.code) if both.height else both
    national = (both.filter(pl.col("area_code") == views.NATIONAL)
                if both.height and choice.code != views.NATIONAL else None)
    if by:
        table = figures(ind, choice.code, grain, by)
        figure = charts.make_breakdown_figure(table, ind, area_name=name, by=by)
    else:
        table = area_rows
        figure = charts.make_trend_figure(area_rows, national, ind, area_name=name)
    caption = f"{ind.title}: figures for {name}" + (f" by {by}" if by else "")
    return [
        cx.synthetic_banner(cx.any_synthetic(table, national)),
        html.Figure([
            dcc.Graph(id=f"{PREFIX}-chart", figure=figure, responsive=True,
                      config={"displaylogo": False, "responsive": True}),
            html.Figcaption(charts.describe_series(area_rows, ind)
                            if not by else f"{ind.title} for {name}, one line per group.",
                            className="cjs-visually-hidden"),
        ], className="cjs-chart"),
        html.H2("Figures"),
        cx.download_button(PREFIX),
        cx.figures_table(PREFIX, table, ind, caption=caption),
        _definition(ind),
        cx.footer(cx.vintages(table, national)),
    ]


def layout(indicator_id: str | None = None, area: str | None = None,
           grain: str | None = None, by: str | None = None, **_other: Any) -> html.Div:
    ctx = get_context()
    try:
        ind = ctx.registry.get(indicator_id or "")
    except KeyError:
        return _not_found(indicator_id)
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        dcc.Store(id=f"{PREFIX}-id", data=ind.id),
        html.P(dcc.Link("← Overview", href="/" + cx.query_string(
            area=None if area_code == views.NATIONAL else area_code,
            grain=None if grain == "quarter" else grain)), className="cjs-back"),
        html.H1(ind.title),
        html.P(ind.description, className="cjs-lead"),
        _controls(ind, areas, area_code, grain, by),
        dcc.Loading(html.Div(render(ind, area_code, grain, by), id=f"{PREFIX}-content"),
                    delay_show=400, type="dot"),
    ], className="cjs-page cjs-indicator")


@callback(
    Output(f"{PREFIX}-content", "children"),
    Output(f"{PREFIX}-url", "search"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
def update(area: str, grain: str, by: str | None, indicator_id: str) -> tuple[Any, str]:
    ind = get_context().registry.get(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    search = cx.query_string(area=None if area == views.NATIONAL else area,
                             grain=None if grain == "quarter" else grain, by=by)
    return render(ind, area, grain, by), search


@callback(
    Output(f"{PREFIX}-download", "data"),
    Input(f"{PREFIX}-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
def download(n_clicks: int, area: str, grain: str, by: str | None, indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ind = get_context().registry.get(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    frame = figures(ind, area, grain, by)
    name = f"{ind.id}_{area}_{grain}" + (f"_by_{by}" if by else "") + ".csv"
    return {"content": cx.figures_csv(frame), "filename": name, "type": "text/csv"}


clientside_callback(
    cx.url_to_controls_js({"area": views.NATIONAL, "grain": "quarter", "by": ""}),
    Output(f"{PREFIX}-area", "value", allow_duplicate=True),
    Output(f"{PREFIX}-grain", "value", allow_duplicate=True),
    Output(f"{PREFIX}-by", "value", allow_duplicate=True),
    Input(f"{PREFIX}-url", "search"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-by", "value"),
    prevent_initial_call=True,
)
