"""One generic page for every indicator: definition, trend chart, SPC, comparison, figures.

``/indicator/<id>?area=CJA03&grain=fy&by=ethnicity&rebase=2020-04-01``: the registry drives
everything shown; an unknown id gets a "page not found" message listing the indicators. The
URL is kept in step with the controls as on the overview (see :mod:`layouts.pages.overview`).

The page leads with one sentence answering all three questions for the latest period
(:mod:`layouts.indicator_summary`), then the charts, and puts the long figures table last.

Two questions on top of the trend (METHODS.md): "Is it really changing, and will we hit the
target?" — an SPC chart (XmR, or a p-chart for counted proportions with varying denominators)
with its assurance reading and, labelled as the board-pack rule, RAG; the user may mark a
rebase point (``rebase=YYYY-MM-DD``, the first period of the new process). "How do we
compare?" — a funnel plot, a ranking with bootstrap rank intervals and the area against its
most similar group and England & Wales. The trend, the SPC section and the comparison are
three callbacks, so that each stays fast and none waits for another. Every chart has its numbers one click away (a table and a CSV) and a
caption stating source, vintage, denominator, CI method and suppression.

This page reads the series and wires the callbacks; the sections are assembled in
:mod:`layouts.indicator_spc`, :mod:`layouts.indicator_compare`,
:mod:`layouts.indicator_definition` and :mod:`layouts.indicator_controls`.
"""

from __future__ import annotations

from typing import Any

import dash
import duckdb
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from layouts import analysis_components as ax
from layouts import charts, sparklines
from layouts import comparison_charts as cc
from layouts import components as cx
from layouts.context import get_context
from layouts.indicator_compare import COMPARE_CSV, MSG_CSV, RANK_DRAWS, RANK_SEED, compare_blocks
from layouts.indicator_controls import (
    NO_REBASE,
    PREFIX,
    WHOLE_SERIES,
    controls,
    pick_fix,
    pick_rebase,
    rebase_options,
)
from layouts.indicator_definition import definition, not_found
from layouts.indicator_spc import SPC_CSV, spc_rows, spc_section
from layouts.indicator_summary import summary_sentence
from layouts.inputs import BadCallbackInput, checked
from metrics import analysis, views
from metrics.registry import Indicator


def _title(indicator_id: str | None = None, **_: Any) -> str:
    try:
        return f"{get_context().registry.get(indicator_id or '').title} – cjsdash"
    except (KeyError, RuntimeError):
        return "Indicator not found – cjsdash"


dash.register_page(__name__, path_template="/indicator/<indicator_id>", title=_title,
                   name="Indicator", order=90)


def figures(ind: Indicator, area: str, grain: str, by: str | None) -> pl.DataFrame:
    """The rows the table and the CSV show: this area only (and its groups when ``by``)."""
    ctx = get_context()
    frame = views.series(ctx.reader(), ctx.registry, ind.id, [area], grain=grain, by=by or None)
    return frame.filter(pl.col("area_code") == area) if frame.height else frame


# --- How do we compare? -------------------------------------------------------------------------

def _compare_frame(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str, grain: str
                   ) -> tuple[pl.DataFrame, str]:
    kind = analysis.comparison_kind(con, area)
    frame = analysis.compare_areas(con, get_context().registry, ind.id, None, grain, kind=kind,
                                   seed=RANK_SEED, draws=RANK_DRAWS)
    return frame, kind


def compare_section(ind: Indicator, area: str, grain: str) -> list[Any]:
    """'How do we compare?': funnel, ranking and MSG, for the latest period."""
    ctx = get_context()
    con = ctx.reader()
    frame, kind = _compare_frame(con, ind, area, grain)
    choice = cx.pick_area(views.list_areas(con), area)
    msg = (analysis.msg_comparison(con, ctx.registry, ind.id, choice.code, None, grain,
                                   compare=frame) if frame.height else None)
    return compare_blocks(ind, frame, kind, choice, msg)


# --- the page -----------------------------------------------------------------------------------

def _series(ind: Indicator, area_code: str, grain: str) -> pl.DataFrame:
    """The indicator's series at the area and England and Wales (one read)."""
    ctx = get_context()
    codes = [area_code] if area_code == views.NATIONAL else [area_code, views.NATIONAL]
    return views.series(ctx.reader(), ctx.registry, ind.id, codes, grain=grain)


def render(ind: Indicator, area: str, grain: str, by: str | None,
           both: pl.DataFrame | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """(content: the lead sentence and the trend, its figures table (shown last, after the
    SPC and comparison sections), tail: definition and footer); ``both``: :func:`_series`
    when the caller has read it."""
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    name = cx.area_label(choice)
    if both is None:
        both = _series(ind, choice.code, grain)
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
    content = [
        html.P(summary_sentence(ind, name, area_rows, national,
                                is_national=choice.code == views.NATIONAL),
               id=f"{PREFIX}-summary", className="cjs-lead cjs-verdict"),
        cx.synthetic_banner(cx.any_synthetic(table, national)),
        html.Figure([
            dcc.Graph(id=f"{PREFIX}-chart", figure=figure, responsive=True,
                      config={"displaylogo": False, "responsive": True}),
            html.Figcaption(sparklines.describe_series(area_rows, ind)
                            if not by else f"{ind.title} for {name}, one line per group.",
                            className="cjs-visually-hidden"),
        ], className="cjs-chart"),
    ]
    figures_part = [
        html.H2("Figures", id=f"{PREFIX}-figures-heading"),
        cx.download_button(PREFIX),
        cx.figures_table(PREFIX, table, ind, caption=caption),
    ]
    tail = [definition(ind), cx.footer(cx.vintages(table, national))]
    return content, figures_part, tail


def render_spc(ind: Indicator, area: str, grain: str, by: str | None, rebase: str | None,
               fix: str | int | None = None, both: pl.DataFrame | None = None
               ) -> tuple[list[Any], list[dict[str, str]], str]:
    """(the SPC section, rebase options, rebase value) — a callback of its own; ``both``:
    :func:`_series` when the caller has read it (the layout, which draws the trend too)."""
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    area_rows = (analysis.area_series(con, ctx.registry, ind.id, choice.code, grain)
                 if both is None else analysis.area_series_in(both, choice.code))
    rebase_value = pick_rebase(rebase, area_rows)
    section = spc_section(con, ind, choice.code, cx.area_label(choice), area_rows, grain,
                           rebase_value, by, pick_fix(fix))
    return section, rebase_options(area_rows), rebase_value


def layout(indicator_id: str | None = None, area: str | None = None,
           grain: str | None = None, by: str | None = None, rebase: str | None = None,
           fix: str | None = None, **_other: Any) -> html.Div:
    ctx = get_context()
    try:
        ind = ctx.registry.get(indicator_id or "")
    except KeyError:
        return not_found(indicator_id)
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    both = _series(ind, area_code, grain)  # the trend's and the SPC chart's rows, read once
    content, figures_part, tail = render(ind, area_code, grain, by, both)
    spc_section, options, rebase_value = render_spc(ind, area_code, grain, by, rebase, fix,
                                                    both)
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        dcc.Store(id=f"{PREFIX}-id", data=ind.id),
        html.P([
            dcc.Link("← Overview", href="/" + cx.query_string(
                area=None if area_code == views.NATIONAL else area_code,
                grain=None if grain == "quarter" else grain)),
            html.Span([" · ", dcc.Link("Baseline for this area", href=f"/baseline/{area_code}",
                                        id=f"{PREFIX}-baseline-link")],
                      id=f"{PREFIX}-baseline", hidden=area_code == views.NATIONAL),
        ], className="cjs-back"),
        html.H1(ind.title),
        html.P(ind.description, className="cjs-lead"),
        controls(ind, areas, area_code, grain, by, options, rebase_value, pick_fix(fix)),
        dcc.Loading(html.Div(content, id=f"{PREFIX}-content"), delay_show=400, type="dot"),
        dcc.Loading(html.Section(spc_section, id=f"{PREFIX}-spc",
                                 **{"aria-labelledby": f"{PREFIX}-spc-heading"}),
                    delay_show=400, type="dot"),
        dcc.Loading(html.Section([
            html.H2("How do we compare?", id=f"{PREFIX}-compare-heading"),
            html.P("Comparing every area…", className="cjs-hint"),
        ], id=f"{PREFIX}-compare", **{"aria-labelledby": f"{PREFIX}-compare-heading"}),
            delay_show=400, type="dot"),
        html.Section(figures_part, id=f"{PREFIX}-figures-section",
                     **{"aria-labelledby": f"{PREFIX}-figures-heading"}),
        html.Div(tail, id=f"{PREFIX}-tail"),
    ], className="cjs-page cjs-indicator")


def _search(area: str, grain: str, by: str | None, rebase: str, fix: int | None = None
            ) -> str:
    return cx.query_string(area=None if area == views.NATIONAL else area,
                           grain=None if grain == "quarter" else grain, by=by,
                           rebase=None if rebase == NO_REBASE else rebase,
                           fix=None if fix is None else str(fix))


def _indicator(indicator_id: str | None) -> Indicator:
    """The page's indicator; :class:`BadCallbackInput` for an id the registry does not hold."""
    try:
        return get_context().registry.get(indicator_id or "")
    except KeyError:
        raise BadCallbackInput(f"there is no indicator '{str(indicator_id)[:60]}'") from None


@callback(
    Output(f"{PREFIX}-content", "children"),
    Output(f"{PREFIX}-figures-section", "children"),
    Output(f"{PREFIX}-tail", "children"),
    Output(f"{PREFIX}-baseline-link", "href"),
    Output(f"{PREFIX}-baseline", "hidden"),  # England and Wales has no baseline of its own
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def update(area: str, grain: str, by: str | None, indicator_id: str) -> tuple[Any, ...]:
    """Controls → the lead sentence, the trend and its figures."""
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    content, figures_part, tail = render(ind, area, grain, by)
    return content, figures_part, tail, f"/baseline/{area}", area == views.NATIONAL


@callback(
    Output(f"{PREFIX}-spc", "children"),
    Output(f"{PREFIX}-url", "search"),
    Output(f"{PREFIX}-rebase", "options"),
    Output(f"{PREFIX}-rebase", "value"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-by", "value"),
    Input(f"{PREFIX}-rebase", "value"),
    Input(f"{PREFIX}-fix", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def update_spc(area: str, grain: str, by: str | None, rebase: str | None, fix: str | None,
               indicator_id: str) -> tuple[Any, ...]:
    """Controls → SPC and the URL. ``rebase`` is input and output (no loop in Dash)."""
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    section, options, rebase_value = render_spc(ind, area, grain, by, rebase, fix)
    return (section, _search(area, grain, by, rebase_value, pick_fix(fix)), options,
            rebase_value)


@callback(
    Output(f"{PREFIX}-compare", "children"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-id", "data"),
)
@checked
def update_compare(area: str, grain: str, indicator_id: str) -> list[Any]:
    """Controls → 'How do we compare?'. Its own callback, run on load too, so the page
    appears without waiting for every area to be compared."""
    ind = _indicator(indicator_id)
    return compare_section(ind, area, cx.pick_grain(grain))


@callback(
    Output(f"{PREFIX}-download", "data"),
    Input(f"{PREFIX}-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def download(n_clicks: int, area: str, grain: str, by: str | None, indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    frame = figures(ind, area, grain, by)
    name = f"{ind.id}_{area}_{grain}" + (f"_by_{by}" if by else "") + ".csv"
    return {"content": cx.figures_csv(frame), "filename": name, "type": "text/csv"}


@callback(
    Output(f"{PREFIX}-spc-download", "data"),
    Input(f"{PREFIX}-spc-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-rebase", "value"),
    State(f"{PREFIX}-fix", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def download_spc(n_clicks: int, area: str, grain: str, rebase: str | None, fix: str | None,
                 indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    area_rows = analysis.area_series(ctx.reader(), ctx.registry, ind.id, area, grain)
    frame = spc_rows(ctx.reader(), ind, area, area_rows, pick_rebase(rebase, area_rows),
                     pick_fix(fix))
    return {"content": ax.frame_csv(frame, SPC_CSV), "type": "text/csv",
            "filename": f"{ind.id}_{area}_{grain}_spc.csv"}


def _compare_download(n_clicks: int, area: str, grain: str, indicator_id: str, what: str
                      ) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    frame, _ = _compare_frame(ctx.reader(), ind, area, grain)
    if what == "rank":
        frame = cc.rank_order(frame)
    return {"content": ax.frame_csv(frame, COMPARE_CSV), "type": "text/csv",
            "filename": f"{ind.id}_{grain}_{what}.csv"}


def _register_compare_download(what: str) -> None:
    """The funnel's and the ranking's CSV buttons: the same callback, one per chart."""

    @callback(
        Output(f"{PREFIX}-{what}-download", "data"),
        Input(f"{PREFIX}-{what}-download-button", "n_clicks"),
        State(f"{PREFIX}-area", "value"),
        State(f"{PREFIX}-grain", "value"),
        State(f"{PREFIX}-id", "data"),
        prevent_initial_call=True,
    )
    @checked
    def download(n_clicks: int, area: str, grain: str, indicator_id: str) -> dict:
        return _compare_download(n_clicks, area, grain, indicator_id, what)


for _chart in ("funnel", "rank"):
    _register_compare_download(_chart)


@callback(
    Output(f"{PREFIX}-msg-download", "data"),
    Input(f"{PREFIX}-msg-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def download_msg(n_clicks: int, area: str, grain: str, indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    frame, _ = _compare_frame(ctx.reader(), ind, area, grain)
    msg = analysis.msg_comparison(ctx.reader(), ctx.registry, ind.id, area, None, grain,
                                  compare=frame)
    table = msg.table(ind).with_columns(pl.lit(msg.group.label).alias("group"))
    return {"content": ax.frame_csv(table, (*MSG_CSV, "group")), "type": "text/csv",
            "filename": f"{ind.id}_{area}_{grain}_msg.csv"}


clientside_callback(
    cx.url_to_controls_js({"area": views.NATIONAL, "grain": "quarter", "by": "",
                           "rebase": NO_REBASE, "fix": WHOLE_SERIES}),
    Output(f"{PREFIX}-area", "value", allow_duplicate=True),
    Output(f"{PREFIX}-grain", "value", allow_duplicate=True),
    Output(f"{PREFIX}-by", "value", allow_duplicate=True),
    Output(f"{PREFIX}-rebase", "value", allow_duplicate=True),
    Output(f"{PREFIX}-fix", "value", allow_duplicate=True),
    Input(f"{PREFIX}-url", "search"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-rebase", "value"),
    State(f"{PREFIX}-fix", "value"),
    prevent_initial_call=True,
)
