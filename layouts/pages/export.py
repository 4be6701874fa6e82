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
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
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
DEFAULT_GRAIN = "quarter"  # the overview's: one default grain on every page
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


def _pick(value: str | None, allowed: list[str], default: str) -> str:
    return value if value in allowed else default


def layout(area: str | None = None, grain: str | None = None, period: str | None = None,
           pack: str | None = None, format: str | None = None,
           **_other: Any) -> html.Div:
    """Every choice comes from the URL (``?area=…&grain=…&period=…&pack=…&format=…``), so a
    link from another page carries its area and period here, and the view can be shared."""
    exporter = _exporter()
    if exporter is None:
        return _unavailable()
    ctx = get_context()
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = cx.pick_grain(grain or DEFAULT_GRAIN)
    period_options = _period_options(area_code, grain)
    period_value = period if period in {o["value"] for o in period_options} else cx.LATEST
    packs = sorted(exporter.packs(), key=lambda p: (p[0] != DEFAULT_PACK, p[1]))
    pack_ids = [ident for ident, _ in packs]
    pack_value = _pick(pack, pack_ids,
                       DEFAULT_PACK if DEFAULT_PACK in pack_ids else (pack_ids[0] if pack_ids else ""))
    formats = [{"label": exporter.format_labels.get(f, f), "value": f}
               for f in exporter.formats]
    format_value = _pick(format, list(exporter.formats), DEFAULT_FORMAT)
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        dcc.Store(id=f"{PREFIX}-notes", storage_type="local"),
        html.H1("Export a board pack"),
        html.P("The same figures, charts and caveats as these pages, as an Excel workbook, "
               "PowerPoint slides, a PDF or CSV with its metadata. Small numbers are "
               "suppressed exactly as on the pages; synthetic demo figures are marked.",
               className="cjs-lead"),
        html.Div([
            cx.area_dropdown(PREFIX, areas, area_code),
            cx.grain_radio(PREFIX, grain),
            cx.period_dropdown(PREFIX, period_options, period_value),
        ], className="cjs-controls", role="group", **{"aria-label": "Area and period"}),
        html.Div([
            _radios("pack", "Pack", [{"label": title, "value": ident}
                                     for ident, title in packs], pack_value),
            _radios("format", "Format", formats, format_value),
            html.Fieldset([
                html.Legend("Disclosure control", className="cjs-label"),
                dcc.Checklist(id=f"{PREFIX}-rounding", value=[], className="cjs-radios",
                              options=[{"label": "Also round counts to the nearest 5",
                                        "value": "5"}]),
            ], className="cjs-field cjs-field-rounding"),
        ], className="cjs-controls", role="group", **{"aria-label": "Pack and format"}),
        html.Section([
            html.H2("Commentary", id=f"{PREFIX}-commentary-heading"),
            html.P("What the board should read beside the figures, by section. It is kept in "
                   "this browser for this pack, area and period, and goes into the pack.",
                   className="cjs-hint"),
            html.Div(_commentary_fields(pack_value, {}), id=f"{PREFIX}-commentary"),
        ], className="cjs-commentary", **{"aria-labelledby": f"{PREFIX}-commentary-heading"}),
        html.Button("Build and download the pack", id=f"{PREFIX}-button", n_clicks=0,
                    className="cjs-button", type="button"),
        html.P(id=f"{PREFIX}-progress", className="cjs-hint", role="status",
               **{"aria-live": "polite"}),
        dcc.Loading(html.Div(id=f"{PREFIX}-status", role="status", style={"marginTop": "1rem"},
                             **{"aria-live": "polite", "aria-atomic": "true"}),
                    type="dot", delay_show=200),
        dcc.Download(id=f"{PREFIX}-download"),
    ], className="cjs-page cjs-export")


# --- commentary: typed here, kept in the browser (localStorage) per pack, area and period ----

NOTE = f"{PREFIX}-note"


def _notes_key(pack: str, area: str, period: str | None) -> str:
    return f"{pack}|{area}|{period or cx.LATEST}"


def _commentary_fields(pack: str, saved: dict[str, dict[str, str]]) -> list[Any]:
    """A text box per indicator and placeholder of the pack, grouped by section."""
    try:
        sections = _exporter().commentary_fields(pack, get_context().registry)
    except (ValueError, AttributeError):
        return [html.P("This pack has no commentary fields.", className="cjs-hint")]
    out: list[Any] = []
    for title, fields in sections:
        boxes = []
        for ind, ind_title, field, label, prompt in fields:
            ident = {"type": NOTE, "indicator": ind, "field": field}
            box_id = f"{PREFIX}-note-{ind}-{field}"
            boxes.append(html.Div(html.Label([  # the label wraps its box (ids are dicts)
                html.Span(f"{ind_title}: {label}", className="cjs-label"),
                dcc.Textarea(id=ident, value=saved.get(ind, {}).get(field, ""),
                             placeholder=prompt, maxLength=4000, className="cjs-textarea"),
            ]), className="cjs-field cjs-field-note", id=box_id))
        out.append(html.Details([html.Summary(title), *boxes], open=False,
                                className="cjs-note-section"))
    return out


@callback(
    Output(f"{PREFIX}-commentary", "children"),
    Input(f"{PREFIX}-pack", "value"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-period", "value"),
    State(f"{PREFIX}-notes", "data"),
)
@checked
def show_commentary(pack: str, area: str, period: str | None, notes: Any) -> list[Any]:
    """The pack's commentary fields, filled with what was typed for this pack, area, period."""
    if not isinstance(pack, str) or not isinstance(area, str):
        raise PreventUpdate
    saved = notes.get(_notes_key(pack, area, period)) if isinstance(notes, dict) else None
    return _commentary_fields(pack, saved if isinstance(saved, dict) else {})


@callback(
    Output(f"{PREFIX}-notes", "data"),
    Input({"type": NOTE, "indicator": ALL, "field": ALL}, "value"),
    State({"type": NOTE, "indicator": ALL, "field": ALL}, "id"),
    State(f"{PREFIX}-pack", "value"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-period", "value"),
    State(f"{PREFIX}-notes", "data"),
    prevent_initial_call=True,
)
@checked
def save_commentary(values: Any, ids: Any, pack: str, area: str,
                    period: str | None, notes: Any) -> dict[str, Any]:
    """Keep what was typed (up to 4,000 characters a field) for this pack, area and period."""
    if not isinstance(pack, str) or not isinstance(area, str):
        raise PreventUpdate
    kept = _typed(values, ids)
    notes = dict(notes) if isinstance(notes, dict) else {}
    key = _notes_key(pack, area, period)
    if kept:
        notes[key] = kept
    else:
        notes.pop(key, None)
    return notes


def _typed(values: Any, ids: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if not isinstance(values, list) or not isinstance(ids, list):
        return {}
    for value, ident in zip(values, ids, strict=False):
        if isinstance(value, str) and value.strip() and isinstance(ident, dict):
            out.setdefault(str(ident.get("indicator")), {})[str(ident.get("field"))] = value[:4000]
    return out


@callback(
    Output(f"{PREFIX}-url", "search"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-period", "value"),
    Input(f"{PREFIX}-pack", "value"),
    Input(f"{PREFIX}-format", "value"),
    prevent_initial_call=True,
)
@checked
def url(area: str, grain: str, period: str | None, pack: str, fmt: str) -> str:
    """The choices, in the URL (defaults left out), so the view can be bookmarked."""
    return cx.query_string(
        area=None if area == views.NATIONAL else area,
        grain=None if grain == DEFAULT_GRAIN else grain,
        period=None if period in (None, cx.LATEST) else period,
        pack=None if pack == DEFAULT_PACK else pack,
        format=None if fmt == DEFAULT_FORMAT else fmt)


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


def _period(value: str | None, area: str, grain: str) -> date:
    """The chosen period end (one of the offered choices); 'latest' is named as the period
    it is, so the pack's title and file name say "2024-25 Q1", not "latest"."""
    offered = [o["value"] for o in _period_options(area, grain) if o["value"] != cx.LATEST]
    if not offered:
        raise ValueError("this area has no figures at this grain")
    if not value or value == cx.LATEST:
        return date.fromisoformat(offered[0])
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
    State({"type": NOTE, "indicator": ALL, "field": ALL}, "value"),
    State({"type": NOTE, "indicator": ALL, "field": ALL}, "id"),
    running=[
        (Output(f"{PREFIX}-button", "disabled"), True, False),
        (Output(f"{PREFIX}-progress", "children"),
         "Building the pack: this takes a few seconds for slides and PDFs…", ""),
    ],
    prevent_initial_call=True,
)
@checked
def build(n_clicks: int, area: str, grain: str, period: str | None, pack: str, fmt: str,
          rounding: list[str] | None, notes: Any = None,
          note_ids: Any = None) -> tuple[Any, Any]:
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
                                     rounding=5 if rounding else None,
                                     commentary=_typed(notes or [], note_ids or []))
    except (ValueError, RuntimeError) as exc:
        return no_update, html.Span(f"The pack could not be built: {exc}",
                                    className="cjs-error", id=f"{PREFIX}-error")
    size = f"{len(result.content) / 1024:,.0f} KB"
    message = html.Span([html.Strong("Ready: "), f"{result.filename} ({size}). ",
                         result.summary], id=f"{PREFIX}-done")
    return dcc.send_bytes(result.content, result.filename, type=result.media_type), message
