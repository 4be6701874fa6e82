"""Data: what is in the warehouse, and can I trust it? Sources, coverage, rejects, revisions, upload.

``/data?area=CJA03&grain=fy&group=lcjb&period=2025-04-01&run=5``: every source and file loaded
(vintage, row counts, status), which figures exist (indicators × periods for one area, areas ×
indicators for one period), rejected rows and why, revised figures (older vintages are kept),
and an upload that loads a file exactly as ``cjsdash ingest`` does.

This module is the page's layout and callbacks; each section is built in its own
``layouts/data_*.py``, styled in ``layouts/assets/style_data.css``. The page never imports
``ingest``: an upload goes through ``get_context().uploader`` (a file refused as cut short,
loaded anyway, through ``get_context().acceptor``), injected by :mod:`cjsdash.uploads`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from layouts import components as cx
from layouts.context import get_context
from layouts.data_coverage import (
    DEFAULT_GRAIN,
    DEFAULT_GROUP,
    GRAINS,
    GROUPS,
    coverage,
    coverage_controls,
    coverage_csv,
    pick,
)
from layouts.data_quality import quality_table
from layouts.data_rejects import rejects
from layouts.data_sources import RUNS_SHOWN, prime, tables
from layouts.data_tables import ALL_RUNS, INTROS, PREFIX, frame_csv
from layouts.data_upload import (
    ACCEPT_BUSY_JS,
    BUSY_JS,
    TARGETS_TEMPLATE,
    TEMPLATE,
    WATCH_JS,
    accept_kept,
    loaded,
    receive,
    upload_section,
)
from layouts.inputs import checked, run_number
from metrics import provenance, views

dash.register_page(__name__, path="/data", title="Data – cjsdash", name="Data", order=80)

__all__ = ["ALL_RUNS", "RUNS_SHOWN", "coverage", "layout", "prime", "refresh", "tables"]
SECTIONS = (
    ("sources", "Sources"),
    ("upload", "Add a file"),
    ("files", "Files loaded"),
    ("coverage", "Coverage"),
    ("rejects", "Rejected rows"),
    ("revisions", "Revisions"),
    ("quality", "Data-quality checks"),
)


# --- the page ---------------------------------------------------------------------------------

def _section(key: str, title: str, children: list[Any]) -> html.Section:
    heading = f"{PREFIX}-{key}-heading"
    return html.Section([html.H2(title, id=heading), *children], id=f"{PREFIX}-{key}-section",
                        className="cjs-data-section", **{"aria-labelledby": heading})


def layout(area: str | None = None, grain: str | None = None, group: str | None = None,
           period: str | None = None, run: str | None = None, **_other: Any) -> html.Div:
    ctx = get_context()
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = pick(grain, GRAINS, DEFAULT_GRAIN)
    group = pick(group, GROUPS, DEFAULT_GROUP)
    (head, source_table, files_table, revision_table, run_options, run,
     footer) = tables(run or ALL_RUNS)
    cover, period_options, period_value = coverage(area_code, grain, group, period)
    contents = html.Nav([
        html.H2("On this page", className="cjs-label cjs-data-contents-heading"),
        html.Ul([html.Li(html.A(title, href=f"#{PREFIX}-{key}-section"))
                 for key, title in SECTIONS]),
    ], className="cjs-data-contents", **{"aria-label": "On this page"})
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        dcc.Store(id=f"{PREFIX}-version", data=0),
        html.H1("Data"),
        html.P("What is in this dashboard, where it came from, and how far to trust it: every "
               "source and file loaded, which figures exist for which areas and periods, the "
               "rows that were turned away and why, and the figures that were revised.",
               className="cjs-lead"),
        contents,
        html.Div(head, id=f"{PREFIX}-head"),
        _section("sources", "Sources", [
            html.P(INTROS["sources"]),
            html.Div(source_table, id=f"{PREFIX}-sources"),
        ]),
        _section("upload", "Add a file", upload_section()),
        _section("files", "Files loaded", [
            html.P(INTROS["files"]),
            cx.download_button(f"{PREFIX}-runs", "Download the list of every file (CSV)"),
            html.Div(files_table, id=f"{PREFIX}-files"),
        ]),
        _section("coverage", "Coverage", [
            html.P(INTROS["coverage"]),
            *coverage_controls(areas, area_code, grain, group, period_options, period_value),
            cx.download_button(f"{PREFIX}-coverage", "Download the coverage counts (CSV)"),
            dcc.Loading(html.Div(cover, id=f"{PREFIX}-coverage"), type="dot",
                        delay_show=400),
        ]),
        _section("rejects", "Rejected rows", [
            html.P(INTROS["rejects"]),
            html.Div(html.Div([
                html.Label("File", htmlFor=f"{PREFIX}-run", className="cjs-label"),
                dcc.Dropdown(id=f"{PREFIX}-run", options=run_options, value=run,
                             clearable=False, searchable=False, maxHeight=360),
            ], className="cjs-field cjs-field-area"), className="cjs-controls", role="group",
                **{"aria-label": "Choose the file"}),
            cx.download_button(f"{PREFIX}-rejects", "Download these rejected rows (CSV)"),
            html.Div(rejects(run), id=f"{PREFIX}-rejects"),
        ]),
        _section("revisions", "Revisions", [
            html.P(INTROS["revisions"]),
            cx.download_button(f"{PREFIX}-revisions", "Download the revisions (CSV)"),
            html.Div(revision_table, id=f"{PREFIX}-revisions"),
        ]),
        _section("quality", "Data-quality checks", [
            html.P(INTROS["quality"]),
            html.Div(quality_table(provenance.quality_flags_frame(ctx.reader())),
                     id=f"{PREFIX}-quality"),
        ]),
        html.Div(footer, id=f"{PREFIX}-footer"),
    ], className="cjs-page cjs-data")


# --- callbacks --------------------------------------------------------------------------------

@callback(
    Output(f"{PREFIX}-head", "children"),
    Output(f"{PREFIX}-sources", "children"),
    Output(f"{PREFIX}-files", "children"),
    Output(f"{PREFIX}-revisions", "children"),
    Output(f"{PREFIX}-run", "options"),
    Output(f"{PREFIX}-run", "value"),
    Output(f"{PREFIX}-footer", "children"),
    Input(f"{PREFIX}-version", "data"),
    State(f"{PREFIX}-run", "value"),
    prevent_initial_call=True,
)
@checked
def refresh(_version: int, run: str) -> tuple[Any, ...]:
    """After a load: every table from the warehouse as it now is."""
    head, sources, files, revisions, options, value, footer = tables(run or ALL_RUNS)
    return (head, sources, files, revisions, options, no_update if value == run else value,
            footer)


@callback(
    Output(f"{PREFIX}-quality", "children"),
    Input(f"{PREFIX}-version", "data"),
    prevent_initial_call=True,
)
@checked
def refresh_quality(_version: int) -> html.Div:
    """After a load: the months it flagged."""
    return quality_table(provenance.quality_flags_frame(get_context().reader()))


@callback(
    Output(f"{PREFIX}-coverage", "children"),
    Output(f"{PREFIX}-period", "options"),
    Output(f"{PREFIX}-period", "value"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-group", "value"),
    Input(f"{PREFIX}-period", "value"),
    Input(f"{PREFIX}-version", "data"),
    prevent_initial_call=True,
)
@checked
def update_coverage(area: str, grain: str, group: str, period: str, _version: int
                    ) -> tuple[Any, ...]:
    grain = pick(grain, GRAINS, DEFAULT_GRAIN)
    group = pick(group, GROUPS, DEFAULT_GROUP)
    if dash.ctx.triggered_id == f"{PREFIX}-grain":
        period = cx.LATEST  # another grain's period start means nothing here
    return coverage(area, grain, group, period)


@callback(
    Output(f"{PREFIX}-rejects", "children"),
    Input(f"{PREFIX}-run", "value"),
    Input(f"{PREFIX}-version", "data"),
    prevent_initial_call=True,
)
@checked
def update_rejects(run: str, _version: int) -> html.Div:
    return rejects(run or ALL_RUNS)


@callback(
    Output(f"{PREFIX}-url", "search"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-group", "value"),
    Input(f"{PREFIX}-period", "value"),
    Input(f"{PREFIX}-run", "value"),
    prevent_initial_call=True,
)
@checked
def write_url(area: str, grain: str, group: str, period: str, run: str) -> str:
    """The controls → the query string (a history entry; the page is not rendered again)."""
    return cx.query_string(
        area=None if area == views.NATIONAL else area,
        grain=None if grain == DEFAULT_GRAIN else grain,
        group=None if group == DEFAULT_GROUP else group,
        period=None if period in (None, cx.LATEST) else period,
        run=None if run in (None, ALL_RUNS) else run,
    )


clientside_callback(
    cx.url_to_controls_js({"area": views.NATIONAL, "grain": DEFAULT_GRAIN,
                           "group": DEFAULT_GROUP, "period": cx.LATEST, "run": ALL_RUNS}),
    Output(f"{PREFIX}-area", "value", allow_duplicate=True),
    Output(f"{PREFIX}-grain", "value", allow_duplicate=True),
    Output(f"{PREFIX}-group", "value", allow_duplicate=True),
    Output(f"{PREFIX}-period", "value", allow_duplicate=True),
    Output(f"{PREFIX}-run", "value", allow_duplicate=True),
    Input(f"{PREFIX}-url", "search"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-group", "value"),
    State(f"{PREFIX}-period", "value"),
    State(f"{PREFIX}-run", "value"),
    prevent_initial_call=True,
)


# --- upload -----------------------------------------------------------------------------------

LOADED = [Output(f"{PREFIX}-{key}", prop, allow_duplicate=True) for key, prop in (
    ("upload-status", "children"), ("upload-result", "children"), ("version", "data"),
    ("upload-offer", "hidden"), ("upload-kept", "data"), ("upload-accept", "children"))]
"""What a load through the page updates (:func:`layouts.data_upload.loaded`)."""


@callback(
    *LOADED,
    Output(f"{PREFIX}-upload", "disabled", allow_duplicate=True),
    Input(f"{PREFIX}-upload", "contents"),
    State(f"{PREFIX}-upload", "filename"), State(f"{PREFIX}-version", "data"),
    prevent_initial_call=True,
)
@checked(long_text=("contents",))
def upload(contents: str | None, file_name: str | None, version: int | None
           ) -> tuple[Any, ...]:
    """Save and load the file; then every table refreshes (through the version store).

    It must not write the upload's ``contents`` itself: Dash would then hold the "Loading…"
    callback (an input of which it writes) back until it had finished.
    """
    if not contents:
        raise PreventUpdate
    return (*loaded(receive(contents, file_name), version), False)


@callback(
    *LOADED,
    Input(f"{PREFIX}-upload-accept", "n_clicks"),
    State(f"{PREFIX}-upload-kept", "data"), State(f"{PREFIX}-version", "data"),
    prevent_initial_call=True,
)
@checked
def accept(clicks: int, kept: list[str], version: int | None) -> tuple[Any, ...]:
    """A file refused as cut short, loaded anyway: the user says the drop is real."""
    if not clicks or not kept:
        raise PreventUpdate
    return loaded(accept_kept(kept), version)


# Once the result is shown, drop the file's contents from the browser's page state.
clientside_callback(
    "function(_) { return null; }",
    Output(f"{PREFIX}-upload", "contents"),
    Input(f"{PREFIX}-upload-result", "children"),
    prevent_initial_call=True,
)


# While the file is read and loaded: say so (aria-live) and take no second file.
clientside_callback(
    BUSY_JS,
    Output(f"{PREFIX}-upload-status", "children", allow_duplicate=True),
    Output(f"{PREFIX}-upload", "disabled", allow_duplicate=True),
    # Inputs differ from the upload callback's: Dash tells duplicate outputs apart by them.
    Input(f"{PREFIX}-upload", "contents"),
    Input(f"{PREFIX}-upload", "filename"),
    prevent_initial_call=True,
)

# Pressed "Load it anyway": the offer goes, the status says so (inputs differ from accept's).
clientside_callback(
    ACCEPT_BUSY_JS,
    Output(f"{PREFIX}-upload-offer", "hidden", allow_duplicate=True),
    Output(f"{PREFIX}-upload-status", "children", allow_duplicate=True),
    Input(f"{PREFIX}-upload-accept", "n_clicks"), Input(f"{PREFIX}-upload-kept", "data"),
    prevent_initial_call=True,
)

# The drop zone says why it turns a file away (layouts.data_upload.WATCH_JS).
clientside_callback(
    WATCH_JS,
    Output(f"{PREFIX}-upload-watch", "data"),
    Input(f"{PREFIX}-upload", "max_size"),
    State(f"{PREFIX}-upload", "accept"),
)


# --- downloads --------------------------------------------------------------------------------

def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d")


def _csv(content: str, filename: str) -> dict:
    return {"content": content, "filename": filename, "type": "text/csv"}


@callback(Output(f"{PREFIX}-runs-download", "data"),
          Input(f"{PREFIX}-runs-download-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_runs(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    frame = provenance.runs_frame(get_context().reader())
    return _csv(frame_csv(frame), f"cjsdash_files_loaded_{_stamp()}.csv")


@callback(Output(f"{PREFIX}-rejects-download", "data"),
          Input(f"{PREFIX}-rejects-download-button", "n_clicks"),
          State(f"{PREFIX}-run", "value"), prevent_initial_call=True)
@checked
def download_rejects(n_clicks: int, run: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    run_id = run_number(run, ALL_RUNS)
    frame = provenance.rejects_frame(get_context().reader(), run_id, limit=None)
    which = "all" if run_id is None else f"run{run_id}"
    return _csv(frame_csv(frame), f"cjsdash_rejects_{which}.csv")


@callback(Output(f"{PREFIX}-revisions-download", "data"),
          Input(f"{PREFIX}-revisions-download-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_revisions(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    frame = provenance.revisions_frame(get_context().reader())
    return _csv(frame_csv(frame), f"cjsdash_revisions_{_stamp()}.csv")


@callback(Output(f"{PREFIX}-coverage-download", "data"),
          Input(f"{PREFIX}-coverage-download-button", "n_clicks"),
          State(f"{PREFIX}-area", "value"), State(f"{PREFIX}-grain", "value"),
          State(f"{PREFIX}-group", "value"), State(f"{PREFIX}-period", "value"),
          prevent_initial_call=True)
@checked
def download_coverage(n_clicks: int, area: str, grain: str, group: str, period: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    grain = pick(grain, GRAINS, DEFAULT_GRAIN)
    group = pick(group, GROUPS, DEFAULT_GROUP)
    del period  # the CSV holds every period of both tables
    return _csv(coverage_csv(area, grain, group), f"cjsdash_coverage_{area}_{group}_{grain}.csv")


@callback(Output(f"{PREFIX}-template", "data"),
          Input(f"{PREFIX}-template-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_template(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    return _csv(TEMPLATE.read_text(encoding="utf-8"), "board_extract_template.csv")


@callback(Output(f"{PREFIX}-targets-template", "data"),
          Input(f"{PREFIX}-targets-template-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_targets_template(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    return _csv(TARGETS_TEMPLATE.read_text(encoding="utf-8"), "targets_template.csv")
