"""Export: build a board pack (Excel, PowerPoint, PDF or CSV) for one area and period.

The renderer is injected: the app factory puts a ``PackExporter``
(:mod:`cjsdash.exports.service`) in the layouts context as ``exporter``; layouts never import
the exporters (they import the chart factories from here, and import-linter keeps the layers
apart). No path comes from the user: the server renders into a temporary folder it names,
and the browser receives the bytes through ``dcc.Download``. Every choice is checked against
the lists offered (areas through the warehouse, packs and formats through the exporter,
periods through :func:`metrics.views.period_choices`).

While the pack renders (a PowerPoint or PDF draws its charts in a headless browser, a few
seconds), the button is disabled, a ``dcc.Loading`` spinner shows and a status region
(``role=status``, announced politely) says what is happening, then what was built.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cjsdash.core.periods import GRAINS
from layouts import components as cx
from layouts.context import get_context
from layouts.inputs import checked
from metrics import views

dash.register_page(__name__, path="/export", title="Export a board pack – cjsdash",
                   name="Export", order=80)

PREFIX = "export"
DEFAULT_PACK = "lcjb_default"
DEFAULT_GRAIN = "fquarter"
DEFAULT_FORMAT = "xlsx"


def _exporter() -> Any:
    """The exporter the app factory injected, or None when this server has none."""
    try:
        return getattr(get_context(), "exporter", None)
    except RuntimeError:
        return None


def _radios(name: str, legend: str, options: list[dict[str, str]], value: str,
            hint: str = "") -> html.Fieldset:
    children: list[Any] = [html.Legend(legend, className="cjs-label")]
    if hint:
        children.append(html.Span(hint, className="cjs-hint"))
    children.append(dcc.RadioItems(id=f"{PREFIX}-{name}", options=options, value=value,
                                   className="cjs-radios"))
    return html.Fieldset(children, className=f"cjs-field cjs-field-{name}")


def _period_options(area: str, grain: str) -> list[dict[str, str]]:
    ctx = get_context()
    return cx.period_options(views.period_choices(ctx.reader(), ctx.registry, area, grain))


def _unavailable() -> html.Div:
    return html.Div([
        html.H1("Export a board pack"),
        html.P("Board-pack exports are not available on this server. Use the command line: "
               "cjsdash export pack --area NAME --period PERIOD --format xlsx --out FILE.",
               id=f"{PREFIX}-unavailable"),
    ], className="cjs-page cjs-export")


def layout(area: str | None = None, **_other: Any) -> html.Div:
    exporter = _exporter()
    if exporter is None:
        return _unavailable()
    ctx = get_context()
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    packs = sorted(exporter.packs(), key=lambda p: (p[0] != DEFAULT_PACK, p[1]))
    pack_ids = [ident for ident, _ in packs]
    pack_value = DEFAULT_PACK if DEFAULT_PACK in pack_ids else (pack_ids[0] if pack_ids else "")
    formats = [{"label": exporter.format_labels.get(f, f), "value": f}
               for f in exporter.formats]
    return html.Div([
        html.H1("Export a board pack"),
        html.P("The same figures, charts and caveats as these pages, as an Excel workbook, "
               "PowerPoint slides, a PDF or CSV with its metadata. Small numbers are "
               "suppressed exactly as on the pages; synthetic demo figures are marked.",
               className="cjs-lead"),
        html.Div([
            cx.area_dropdown(PREFIX, areas, area_code),
            cx.grain_radio(PREFIX, DEFAULT_GRAIN),
            cx.period_dropdown(PREFIX, _period_options(area_code, DEFAULT_GRAIN), cx.LATEST),
        ], className="cjs-controls", role="group", **{"aria-label": "Area and period"}),
        html.Div([
            _radios("pack", "Pack", [{"label": title, "value": ident}
                                     for ident, title in packs], pack_value),
            _radios("format", "Format", formats, DEFAULT_FORMAT),
            html.Fieldset([
                html.Legend("Disclosure control", className="cjs-label"),
                dcc.Checklist(id=f"{PREFIX}-rounding", value=[], className="cjs-radios",
                              options=[{"label": "Also round counts to the nearest 5",
                                        "value": "5"}]),
            ], className="cjs-field cjs-field-rounding"),
        ], className="cjs-controls", role="group", **{"aria-label": "Pack and format"}),
        html.Button("Build and download the pack", id=f"{PREFIX}-button", n_clicks=0,
                    className="cjs-button", type="button"),
        html.P(id=f"{PREFIX}-progress", className="cjs-hint", role="status",
               **{"aria-live": "polite"}),
        dcc.Loading(html.Div(id=f"{PREFIX}-status", role="status", style={"marginTop": "1rem"},
                             **{"aria-live": "polite", "aria-atomic": "true"}),
                    type="dot", delay_show=200),
        dcc.Download(id=f"{PREFIX}-download"),
    ], className="cjs-page cjs-export")


@callback(
    Output(f"{PREFIX}-period", "options"),
    Output(f"{PREFIX}-period", "value"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    prevent_initial_call=True,
)
@checked
def periods(area: str, grain: str) -> tuple[list[dict[str, str]], str]:
    return _period_options(area, cx.pick_grain(grain)), cx.LATEST


def _period(value: str | None, area: str, grain: str) -> date | str:
    """The chosen period end (one of the offered choices) or 'latest'."""
    if not value or value == cx.LATEST:
        return "latest"
    offered = {o["value"] for o in _period_options(area, grain)}
    if value not in offered:
        raise ValueError("that period is not available for this area and grain")
    return date.fromisoformat(value)


@callback(
    Output(f"{PREFIX}-download", "data"),
    Output(f"{PREFIX}-status", "children"),
    Input(f"{PREFIX}-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-period", "value"),
    State(f"{PREFIX}-pack", "value"),
    State(f"{PREFIX}-format", "value"),
    State(f"{PREFIX}-rounding", "value"),
    running=[
        (Output(f"{PREFIX}-button", "disabled"), True, False),
        (Output(f"{PREFIX}-progress", "children"),
         "Building the pack: this takes a few seconds for slides and PDFs…", ""),
    ],
    prevent_initial_call=True,
)
@checked
def build(n_clicks: int, area: str, grain: str, period: str | None, pack: str, fmt: str,
          rounding: list[str] | None) -> tuple[Any, Any]:
    if not n_clicks:
        raise PreventUpdate
    exporter = _exporter()
    if exporter is None:
        return no_update, "Board-pack exports are not available on this server."
    ctx = get_context()
    grain = grain if grain in GRAINS else DEFAULT_GRAIN
    try:
        chosen = _period(period, area, grain)
        with ctx.warehouse.reading():
            result = exporter.render(ctx.reader(), ctx.registry, area=area, period=chosen,
                                     pack=pack, fmt=fmt, grain=grain,
                                     rounding=5 if rounding else None)
    except (ValueError, RuntimeError) as exc:
        return no_update, html.Span(f"The pack could not be built: {exc}",
                                    className="cjs-error", id=f"{PREFIX}-error")
    size = f"{len(result.content) / 1024:,.0f} KB"
    message = html.Span([html.Strong("Ready: "), f"{result.filename} ({size}). ",
                         result.summary], id=f"{PREFIX}-done")
    return dcc.send_bytes(result.content, result.filename, type=result.media_type), message
