"""The data page's sources, files loaded and summary line (with the revisions table, the
part of the page a load refreshes together)."""

from __future__ import annotations

from typing import Any

import polars as pl
from dash import html

from cjsdash.core.safe_text import count_of
from layouts import components as cx
from layouts.context import get_context
from layouts.data_rejects import rejects
from layouts.data_revisions import revisions_table
from layouts.data_tables import (
    ALL_RUNS,
    PREFIX,
    count_text,
    esc,
    html_table,
    synthetic_text,
    table_block,
    when_text,
)
from metrics import cache, provenance

SHOWN_ROWS = provenance.REJECTS_LIMIT
SCHEMA_ONLY_TEXT = "Built from the published schema: no real file has been seen."
"""Beside a source declared ``schema_only`` (meta.sources.schema_only)."""
STATUS_WORDS = {"loaded": "✓ loaded", "refused": "✗ refused", "failed": "✗ failed"}


def _vintages_text(vintages: list[str] | None) -> str:
    """The vintages, the newest (last in order) first; at most two, then how many more."""
    vintages = list(reversed(vintages or []))
    shown = "; ".join(vintages[:2])
    return shown + (f"; and {len(vintages) - 2} more" if len(vintages) > 2 else "")


def schema_only_note(schema_only: bool | None) -> str:
    """HTML said beside a source whose layout no real file has confirmed (else nothing)."""
    if not schema_only:
        return ""
    return f'<br/><span class="cjs-schema-only">{esc(SCHEMA_ONLY_TEXT)}</span>'


def sources_table(frame: pl.DataFrame) -> html.Div:
    headers = [("Source", ""), ("Publisher and licence", ""), ("Current figures", "cjs-num"),
               ("Older values kept", "cjs-num"), ("Files", "cjs-num"), ("Vintages", ""),
               ("Periods", ""), ("Last loaded", "")]
    rows = []
    for r in frame.iter_rows(named=True):
        periods = ""
        if r["first_period_start"] is not None:
            periods = (f"{r['first_period_start']:%b %Y} to {r['last_period_end']:%b %Y}")
        rows.append([
            (synthetic_text(r["title"], r["synthetic"])
             + f'<br/><span class="cjs-period">{esc(r["source"])} ({esc(r["kind"])})</span>'
             + schema_only_note(r["schema_only"]), "cjs-w-m"),
            (esc(r["publisher"]) + f'<br/><span class="cjs-period">{esc(r["licence"])}</span>',
             "cjs-w-m"),
            (count_text(r["figures"]), "cjs-num"), (count_text(r["superseded"]), "cjs-num"),
            (count_text(r["runs"]), "cjs-num"), (esc(_vintages_text(r["vintages"])), "cjs-w-m"),
            (esc(periods), "cjs-w-s"), (esc(when_text(r["last_loaded_at"])), "cjs-w-s"),
        ])
    unregistered = frame.filter(pl.col("kind") == "unregistered").height
    caption = f"Sources: {frame.height}" + (f", {unregistered} not registered"
                                            if unregistered else "")
    return table_block(html_table(f"{PREFIX}-sources-table", caption, headers, rows,
                                  empty="No sources yet: load a file."), caption)


RUN_HEADERS = [("Run", "cjs-num"), ("File and loader", ""), ("Source", ""), ("Vintage", ""),
               ("Loaded at", ""), ("Rows read", "cjs-num"), ("Figures loaded", "cjs-num"),
               ("Revised", "cjs-num"), ("Unchanged", "cjs-num"), ("Rejected", "cjs-num"),
               ("Status", "")]
RUNS_SHOWN = 12


def runs_table(frame: pl.DataFrame) -> html.Div:
    rows = []
    for r in frame.head(RUNS_SHOWN).iter_rows(named=True):
        rejected = count_text(r["rows_rejected"])
        if r["rows_rejected"]:
            rejected = (f'<a href="/data?run={r["run_id"]}#{PREFIX}-rejects-section">'
                        f"{rejected}</a>")
        status = esc(STATUS_WORDS.get(r["status"], r["status"]))
        if r["message"]:
            status += f'<br/><span class="cjs-period">{esc(r["message"])}</span>'
        rows.append([
            (str(r["run_id"]), "cjs-num"),
            (esc(r["file_name"]) + f'<br/><span class="cjs-period">{esc(r["loader"])}</span>',
             "cjs-w-m"),
            (synthetic_text(r["source_title"] or "", r["synthetic"])
             + schema_only_note(r["schema_only"]), "cjs-w-s"),
            (esc(r["vintage"]), "cjs-w-m"),
            (esc(when_text(r["loaded_at"])).replace(" ", "<br/>", 1), "cjs-nowrap"),
            (count_text(r["rows_in"]), "cjs-num"), (count_text(r["rows_loaded"]), "cjs-num"),
            (count_text(r["rows_revised"]), "cjs-num"),
            (count_text(r["rows_unchanged"]), "cjs-num"),
            (rejected, "cjs-num"), (status, "cjs-w-s"),
        ])
    shown = (f"the newest {RUNS_SHOWN} of {frame.height:,} (the CSV lists every one)"
             if frame.height > RUNS_SHOWN else f"{frame.height:,}, newest first")
    caption = f"Files loaded: {shown}"
    return table_block(html_table(f"{PREFIX}-runs-table", caption, RUN_HEADERS, rows,
                                  empty="No file has been loaded yet."), caption)




def _run_options(runs: pl.DataFrame) -> list[dict[str, str]]:
    options = [{"label": "Every file", "value": ALL_RUNS}]
    for r in runs.filter(pl.col("rows_rejected") > 0).iter_rows(named=True):
        options.append({"label": f"Run {r['run_id']}: {r['file_name']} "
                                 f"({r['rows_rejected']:,} rejected)",
                        "value": str(r["run_id"])})
    return options


def summary(s: dict[str, int], sources: pl.DataFrame) -> html.Div:
    """The banner (when any figure is synthetic) and one line of counts."""
    synthetic = bool(sources.filter(pl.col("synthetic") & (pl.col("figures") > 0)).height)
    text = (f"{count_of(s['runs_loaded'], 'file')} loaded ({s['runs_refused']:,} refused); "
            f"{count_of(s['figures'], 'current figure')} from "
            f"{count_of(sources.filter(pl.col('figures') > 0).height, 'source')}; "
            f"{count_of(s['superseded'], 'older value')} kept as revisions; "
            f"{count_of(s['rejects'], 'rejected row')}.")
    return html.Div([cx.synthetic_banner(synthetic),
                     html.P(text, id=f"{PREFIX}-summary", className="cjs-summary")])


def tables(run: str) -> tuple[Any, ...]:
    """(summary, sources, files, revisions, run options, run value, footer), as they now are
    (kept for this data version: a load makes a new one)."""
    return cache.cached(get_context().reader(), ("data-tables", run), lambda: _tables(run))


def prime() -> None:
    """Before a server's first request (:func:`cjsdash.server.prime`, decision 41): the
    tables every view of the page shows whatever its area, kept per data version (sources,
    files, revisions, every file's rejected rows): 11–18 ms a process. The page's first
    view in a process was 1.8× its warm view at p50 without them (2.15× at worst), 1.2×
    with (1.5×)."""
    tables(ALL_RUNS)
    rejects(ALL_RUNS)


def _tables(run: str) -> tuple[Any, ...]:
    con = get_context().reader()
    counts = provenance.coverage_summary(con)
    sources = provenance.sources_frame(con)
    head = summary(counts, sources)
    runs = provenance.runs_frame(con)
    revisions = provenance.revisions_frame(con, limit=SHOWN_ROWS)
    total_revisions = counts["superseded"]
    options = _run_options(runs)
    run = run if run in {o["value"] for o in options} else ALL_RUNS
    count = sum(len(r["vintages"] or []) for r in sources.iter_rows(named=True))
    used = sources.filter(pl.col("figures") > 0).height
    data_vintages = [f"{count:,} vintages of {used:,} sources, each listed under "
                     "“Sources and files loaded”"] if count else []
    return (head, sources_table(sources), runs_table(runs),
            revisions_table(revisions, total_revisions), options, run,
            cx.footer(data_vintages))
