"""The data page's upload: the drop zone, the file's decoding, and what the load said.

The page never imports ``ingest``: the file goes to ``get_context().uploader``, which the
app factory injects (:mod:`cjsdash.uploads`). The scripts run in the browser (the busy
message, and the drop zone's own refusals) are here as text; the page registers them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from dash import dcc, html, no_update

from cjsdash.core.config import REPO_ROOT, get_settings
from layouts.context import UploadOutcome, get_context
from layouts.data_tables import PREFIX, count_text, esc, html_table, table_block

ACCEPT = ".csv,.xlsx,.xlsm,.ods"
TEMPLATE = REPO_ROOT / "data" / "templates" / "board_extract_template.csv"
TARGETS_TEMPLATE = REPO_ROOT / "data" / "templates" / "targets_template.csv"


def decode_upload(contents: str, limit: int) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL; ValueError (for the user) if not a file."""
    header, sep, data = (contents or "").partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        raise ValueError("the browser did not send a file")
    if (len(data) // 4) * 3 - data.count("=") > limit:  # too big: refuse without decoding
        raise ValueError(f"the file is over the {size_text(limit)} limit for uploads; load "
                         "it with `cjsdash ingest` instead")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the browser sent a damaged file; try again") from None


def accept_offer() -> html.Div:
    """Shown under a file refused as cut short (:func:`offer`): what loading it anyway
    does, and the button; hidden otherwise."""
    return html.Div([
        html.P("Loading it anyway does what the command would: this file's figures replace "
               "those named above, and the load is logged like any other."),
        html.Button("Load it anyway", id=f"{PREFIX}-upload-accept", n_clicks=0,
                    type="button", className="cjs-button"),
        dcc.Store(id=f"{PREFIX}-upload-kept"),
    ], id=f"{PREFIX}-upload-offer", hidden=True, className="cjs-upload-offer")


def loaded(outcome: UploadOutcome, version: int | None) -> tuple[Any, ...]:
    """What the page shows after a load through it (its outputs ``LOADED``): the status, the
    rejected rows, the version (raised when the warehouse may have changed, which refreshes
    every table) and the offer to load a file refused as cut short anyway."""
    new_version = (version or 0) + 1 if outcome.changed_warehouse else no_update
    return (status_message(outcome), result_children(outcome), new_version, *offer(outcome))


def _offered(outcome: UploadOutcome) -> bool:
    """Whether the page offers to load this outcome's kept upload anyway."""
    return bool(outcome.can_accept and outcome.saved_as)


def offer(outcome: UploadOutcome) -> tuple[bool, list[str] | None, str]:
    """(offer hidden, the kept upload [saved name, name shown], the button's words)."""
    if _offered(outcome):
        return False, [outcome.saved_as, outcome.file_name], f"Load ‘{outcome.file_name}’ anyway"
    return True, None, "Load it anyway"


def accept_kept(kept: list[str]) -> UploadOutcome:
    """The kept upload ([saved name, name shown], from the page) loaded anyway."""
    acceptor = get_context().acceptor
    shown = kept[1] if len(kept) > 1 else "upload"
    if acceptor is None or len(kept) != 2:
        return UploadOutcome(shown, "rejected", f"{shown}: refused: this dashboard does not "
                             "load kept uploads")
    return acceptor(kept[0], shown)


def status_message(outcome: UploadOutcome) -> html.Div:
    ok = outcome.status in ("loaded", "unchanged")
    if outcome.status == "loaded":
        title = f"‘{outcome.file_name}’ loaded as run {outcome.run_id}."
    elif outcome.status == "unchanged":
        title = f"‘{outcome.file_name}’ was loaded before: nothing changed."
    elif outcome.status == "failed":
        title = f"‘{outcome.file_name}’ was not loaded."
    else:
        title = f"‘{outcome.file_name}’ was refused: nothing was loaded."
    children = [html.P(html.Strong(title)),
                html.P(outcome.line, id=f"{PREFIX}-upload-line", className="cjs-upload-line")]
    if _offered(outcome):  # said here, in the live region
        children.append(html.P("You can load it anyway with the button below."))
    return html.Div(children, className="cjs-upload-ok" if ok else "cjs-upload-bad")


def result_children(outcome: UploadOutcome) -> list[Any]:
    if not outcome.rejects:
        return []
    headers = [("Row", "cjs-num"), ("Column", ""), ("Value", ""), ("Reason", "")]
    rows = [[(count_text(row) or "whole file", "cjs-num"), (esc(column), ""),
             (esc(value), "cjs-wrap"), (esc(reason), "cjs-wrap")]
            for row, column, value, reason in outcome.rejects]
    total = max(outcome.rows_rejected, len(outcome.rejects))
    caption = (f"The first {len(outcome.rejects)} of {total:,} rejected rows"
               if total > len(outcome.rejects) else f"Rejected rows: {total:,}")
    children: list[Any] = [table_block(html_table(f"{PREFIX}-upload-rejects", caption,
                                                  headers, rows, empty=""), caption)]
    if outcome.run_id is not None:
        children.append(html.P(html.A("Every rejected row of this file",
                                      href=f"/data?run={outcome.run_id}"
                                           f"#{PREFIX}-rejects-section"),
                               className="cjs-upload-more"))
    return children


def receive(contents: str, file_name: str | None) -> UploadOutcome:
    """Decode the upload and hand it to the injected uploader (which saves and loads it)."""
    shown = (file_name or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    try:
        content = decode_upload(contents, get_settings().upload_max_bytes)
    except ValueError as exc:
        return UploadOutcome(shown, "rejected", f"{shown}: refused: {exc}")
    return get_context().uploader(file_name or "upload", content)



def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.0f} KB"


def upload_section() -> list[Any]:
    limit = get_settings().upload_max_bytes
    return [
        html.P(["Load a board performance extract (columns area, period, measure, numerator, "
                "denominator) or a file in a published format cjsdash reads. It is checked "
                "and loaded exactly as ", html.Code("cjsdash ingest"), " loads it: good rows "
                "in one go, each bad row listed with its reason, and nothing at all if the "
                "file cannot be read. Loading the same file twice changes nothing. A targets "
                "file (columns indicator, area, period, target, and optionally kind and "
                "source) loads the board's own targets and trajectories."]),
        html.Div([
            html.Button("Download the extract template (CSV)",
                        id=f"{PREFIX}-template-button", n_clicks=0, type="button",
                        className="cjs-button"),
            dcc.Download(id=f"{PREFIX}-template"),
            html.Button("Download the targets template (CSV)",
                        id=f"{PREFIX}-targets-template-button", n_clicks=0, type="button",
                        className="cjs-button"),
            dcc.Download(id=f"{PREFIX}-targets-template"),
        ], className="cjs-download"),
        dcc.Upload(
            id=f"{PREFIX}-upload",
            children=html.Div([
                html.P(html.Strong("Drag and drop a file here, or"), className="cjs-upload-lead"),
                html.Button("Choose a file", id=f"{PREFIX}-upload-button", type="button",
                            className="cjs-button cjs-upload-choose",
                            **{"aria-describedby": f"{PREFIX}-upload-hint"}),
                html.P(f"CSV (.csv) or spreadsheet (.xlsx, .xlsm, .ods), up to "
                       f"{size_text(limit)}. Spreadsheets are read for their values only: "
                       "macros are never run.", id=f"{PREFIX}-upload-hint",
                       className="cjs-hint cjs-upload-hint"),
            ]),
            accept=ACCEPT, max_size=limit, multiple=False,
            className="cjs-upload-zone", className_active="cjs-upload-active",
            className_reject="cjs-upload-reject", className_disabled="cjs-upload-disabled",
            style={}, style_active={}, style_reject={}, style_disabled={},
        ),
        dcc.Store(id=f"{PREFIX}-upload-watch"),
        html.Div(id=f"{PREFIX}-upload-status", className="cjs-upload-status", role="status",
                 tabIndex=-1, **{"aria-live": "polite"}),  # focused once its button goes
        accept_offer(),
        dcc.Loading(html.Div(id=f"{PREFIX}-upload-result"), type="dot", delay_show=200),
    ]


# While the file is read and loaded: say so (aria-live) and take no second file.
BUSY_JS = """
function(contents, fileName) {
    if (!contents) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
    const name = String(fileName || "the file").split(/[\\\\/]/).pop();
    const text = "Loading… checking and loading ‘" + name + "’. A large file takes a while.";
    return [{namespace: "dash_html_components", type: "P",
             props: {children: text, className: "cjs-upload-busy"}}, true];
}"""

# Once "Load it anyway" is pressed: say so and take the button away (a second press would find
# the file loaded already); focus moves to the status region, where the answer then shows
# what became of it (the hidden button would otherwise leave focus on the page itself).
ACCEPT_BUSY_JS = """
function(clicks, _kept) {
    const fired = (window.dash_clientside.callback_context.triggered || [])
        .map(t => t.prop_id);
    if (!clicks || !fired.includes("__BUTTON__.n_clicks")) {
        return [window.dash_clientside.no_update, window.dash_clientside.no_update];
    }
    setTimeout(() => {
        const status = document.getElementById("__STATUS__");
        if (status) { status.focus(); }
    }, 0);
    return [true, {namespace: "dash_html_components", type: "P",
                   props: {children: "Loading… loading the file anyway.",
                           className: "cjs-upload-busy"}}];
}""".replace("__BUTTON__", f"{PREFIX}-upload-accept").replace("__STATUS__",
                                                             f"{PREFIX}-upload-status")

# The drop zone turns away a wrong type or an oversize file without telling anyone (it
# never reaches a callback), so the page listens for drops and file choices on the zone
# (delegated from the document, once per window) and says why in the status region. The
# server checks type and size again. The zone's button is the keyboard route to the file
# dialog; the invisible file input itself is taken out of the tab order.
WATCH_JS = """
function(maxSize, accept) {
    const zone = "__UPLOAD__";
    const state = window.cjsUploadWatch = window.cjsUploadWatch || {};
    state.maxSize = maxSize;
    state.allowed = String(accept || "").split(",");
    if (!state.listening) {
        state.listening = true;
        const size = n => n >= 1048576 ? (n / 1048576).toFixed(1) + " MB"
                                       : Math.ceil(n / 1024) + " KB";
        const check = (event, files) => {
            const target = event.target;
            if (!target || !target.closest || !target.closest("#" + zone)) { return; }
            if (!files || !files.length) { return; }
            const file = files[0];
            const dot = file.name.lastIndexOf(".");
            const ext = dot > 0 ? file.name.slice(dot).toLowerCase() : "";
            let why = null;
            if (!state.allowed.includes(ext)) {
                why = (ext ? "a " + ext + " file" : "a file without an extension") +
                      " cannot be uploaded: choose a CSV (.csv) or a spreadsheet " +
                      "(.xlsx, .xlsm or .ods)";
            } else if (state.maxSize > 0 && file.size > state.maxSize) {
                why = "the file is " + size(file.size) + ", over the " +
                      size(state.maxSize) + " limit for uploads; load it with " +
                      "`cjsdash ingest` instead";
            }
            if (why) {
                window.dash_clientside.set_props("__STATUS__", {children: {
                    namespace: "dash_html_components", type: "P",
                    props: {children: file.name + ": refused: " + why,
                            className: "cjs-upload-bad", id: "__STATUS__-refused"}}});
            }
        };
        document.addEventListener("drop", e => check(e, e.dataTransfer && e.dataTransfer.files),
                                  true);
        document.addEventListener("change", e => check(e, e.target && e.target.files), true);
    }
    let tries = 0;
    const untab = () => {
        const input = document.querySelector("#" + zone + " input[type=file]");
        if (input) {
            input.setAttribute("tabindex", "-1");
            input.setAttribute("aria-hidden", "true");
        } else if (tries++ < 100) {
            setTimeout(untab, 100);
        }
    };
    untab();
    return "watching";
}""".replace("__UPLOAD__", f"{PREFIX}-upload").replace("__STATUS__", f"{PREFIX}-upload-status")
