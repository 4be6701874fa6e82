"""Data: what is in the warehouse, and can I trust it? Sources, coverage, rejects, revisions, upload.

``/data?area=CJA03&grain=fy&group=lcjb&period=2025-04-01&run=5``: every source and every file
loaded (with its vintage, row counts and status), which figures exist (a coverage matrix of
indicators × periods for one area, and of areas × indicators for one period), the rows that
were rejected and why, the figures that were revised (older vintages are kept), and an upload
that loads a file exactly as ``cjsdash ingest`` does.

The page never imports ``ingest``: the upload goes through ``get_context().uploader``, which
the app factory injects (:mod:`cjsdash.uploads`). Tables are written as escaped HTML in one
``dcc.Markdown`` each (see :func:`layouts.components.figures_table` for why); every value
from the warehouse, which may come from an uploaded file, is escaped, braces included (the
Markdown's HTML is parsed as JSX). The URL holds the view as on the overview.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cjsdash.core.config import REPO_ROOT, get_settings
from cjsdash.core.periods import GRAIN_LABELS, label_period
from cjsdash.core.safe_text import count_of, markup
from layouts import components as cx
from layouts import theme
from layouts.context import UploadOutcome, get_context
from layouts.inputs import checked, run_number
from metrics import cache, provenance, views
from metrics.registry import Registry

dash.register_page(__name__, path="/data", title="Data – cjsdash", name="Data", order=80)

PREFIX = "data"
GRAINS = ("fy", "year", "fquarter", "quarter", "month")
DEFAULT_GRAIN = provenance.COVERAGE_DEFAULT_GRAIN
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lcjb": ("LCJB areas", ("lcjb",)),
    "force": ("police force areas", ("force",)),
    "region": ("regions and countries", ("region", "country", "national")),
}
GROUP_LABELS = {"lcjb": "LCJB areas", "force": "Police force areas",
                "region": "Regions, countries and England and Wales"}
DEFAULT_GROUP = "lcjb"
ALL_RUNS = "all"
ACCEPT = ".csv,.xlsx,.xlsm,.ods"
TEMPLATE = REPO_ROOT / "data" / "templates" / "board_extract_template.csv"
TARGETS_TEMPLATE = REPO_ROOT / "data" / "templates" / "targets_template.csv"
SHOWN_ROWS = provenance.REJECTS_LIMIT
SECTIONS = (
    ("sources", "Sources"),
    ("upload", "Add a file"),
    ("files", "Files loaded"),
    ("coverage", "Coverage"),
    ("rejects", "Rejected rows"),
    ("revisions", "Revisions"),
    ("quality", "Data-quality checks"),
)
STATUS_WORDS = {"loaded": "✓ loaded", "refused": "✗ refused", "failed": "✗ failed"}



# --- escaped HTML tables ----------------------------------------------------------------------

def _esc(value: Any) -> str:
    """Text for HTML that is parsed as JSX: escaped, on one line, braces as entities."""
    return markup("" if value is None else " ".join(str(value).split()))


def _count(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _period(start: date | None, end: date | None) -> str:
    if start is None or end is None:
        return ""
    return label_period(start, end)


def _html_table(table_id: str, caption: str, headers: Sequence[tuple[str, str]],
                rows: Iterable[Sequence[tuple[str, str]]], *, empty: str,
                extra_class: str = "") -> str:
    """A table from pre-escaped cells: headers and rows are (HTML, class) pairs.

    A row's first cell is its row header (``<th scope="row">``).
    """
    head = "".join(f'<th scope="col" class="{c}">{h}</th>' for h, c in headers)
    body = []
    for row in rows:
        cells = [f'<th scope="row" class="{row[0][1]}">{row[0][0]}</th>']
        cells += [f'<td class="{c}">{v}</td>' for v, c in row[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body = [f'<tr><td colspan="{len(headers)}">{_esc(empty)}</td></tr>']
    return (f'<table id="{table_id}" class="cjs-table cjs-data-table {extra_class}">'
            f"<caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _table_block(table_html: str, label: str) -> html.Div:
    """One focusable, scrollable region holding a table written as HTML."""
    return html.Div(
        dcc.Markdown(table_html, dangerously_allow_html=True, className="cjs-figures-markdown"),
        className="cjs-table-scroll", tabIndex=0, role="region", **{"aria-label": label},
    )


# --- sources and runs -------------------------------------------------------------------------

def _synthetic(text: str, synthetic: bool) -> str:
    mark = (f' <span title="synthetic demo data">{theme.SYNTHETIC_MARK}</span>'
            '<span class="cjs-visually-hidden"> (synthetic)</span>')
    return _esc(text) + (mark if synthetic else "")


def _vintages_text(vintages: list[str] | None) -> str:
    """The vintages, the newest (last in order) first; at most two, then how many more."""
    vintages = list(reversed(vintages or []))
    shown = "; ".join(vintages[:2])
    return shown + (f"; and {len(vintages) - 2} more" if len(vintages) > 2 else "")


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
            (_synthetic(r["title"], r["synthetic"])
             + f'<br/><span class="cjs-period">{_esc(r["source"])} ({_esc(r["kind"])})</span>',
             "cjs-w-m"),
            (_esc(r["publisher"]) + f'<br/><span class="cjs-period">{_esc(r["licence"])}</span>',
             "cjs-w-m"),
            (_count(r["figures"]), "cjs-num"), (_count(r["superseded"]), "cjs-num"),
            (_count(r["runs"]), "cjs-num"), (_esc(_vintages_text(r["vintages"])), "cjs-w-m"),
            (_esc(periods), "cjs-w-s"), (_esc(_when(r["last_loaded_at"])), "cjs-w-s"),
        ])
    unregistered = frame.filter(pl.col("kind") == "unregistered").height
    caption = f"Sources: {frame.height}" + (f", {unregistered} not registered"
                                            if unregistered else "")
    return _table_block(_html_table(f"{PREFIX}-sources-table", caption, headers, rows,
                                    empty="No sources yet: load a file."), caption)


RUN_HEADERS = [("Run", "cjs-num"), ("File and loader", ""), ("Source", ""), ("Vintage", ""),
               ("Loaded at", ""), ("Rows read", "cjs-num"), ("Figures loaded", "cjs-num"),
               ("Revised", "cjs-num"), ("Unchanged", "cjs-num"), ("Rejected", "cjs-num"),
               ("Status", "")]
RUNS_SHOWN = 12


def runs_table(frame: pl.DataFrame) -> html.Div:
    rows = []
    for r in frame.head(RUNS_SHOWN).iter_rows(named=True):
        rejected = _count(r["rows_rejected"])
        if r["rows_rejected"]:
            rejected = (f'<a href="/data?run={r["run_id"]}#{PREFIX}-rejects-section">'
                        f"{rejected}</a>")
        status = _esc(STATUS_WORDS.get(r["status"], r["status"]))
        if r["message"]:
            status += f'<br/><span class="cjs-period">{_esc(r["message"])}</span>'
        rows.append([
            (str(r["run_id"]), "cjs-num"),
            (_esc(r["file_name"]) + f'<br/><span class="cjs-period">{_esc(r["loader"])}</span>',
             "cjs-w-m"),
            (_synthetic(r["source_title"] or "", r["synthetic"]), "cjs-w-s"),
            (_esc(r["vintage"]), "cjs-w-m"),
            (_esc(_when(r["loaded_at"])).replace(" ", "<br/>", 1), "cjs-nowrap"),
            (_count(r["rows_in"]), "cjs-num"), (_count(r["rows_loaded"]), "cjs-num"),
            (_count(r["rows_revised"]), "cjs-num"), (_count(r["rows_unchanged"]), "cjs-num"),
            (rejected, "cjs-num"), (status, "cjs-w-s"),
        ])
    shown = (f"the newest {RUNS_SHOWN} of {frame.height:,} (the CSV lists every one)"
             if frame.height > RUNS_SHOWN else f"{frame.height:,}, newest first")
    caption = f"Files loaded: {shown}"
    return _table_block(_html_table(f"{PREFIX}-runs-table", caption, RUN_HEADERS, rows,
                                    empty="No file has been loaded yet."), caption)


# --- rejects and revisions --------------------------------------------------------------------

def rejects_table(frame: pl.DataFrame, total: int, run: str) -> html.Div:
    headers = [("Run", "cjs-num"), ("File", ""), ("Row", "cjs-num"), ("Column", ""),
               ("Value", ""), ("Reason", "")]
    rows = [[
        (str(r["run_id"]), "cjs-num"), (_esc(r["file_name"]), "cjs-wrap"),
        (_count(r["row_number"]) or "whole file", "cjs-num"), (_esc(r["column_name"]), ""),
        (_esc(r["value"]), "cjs-wrap"), (_esc(r["reason"]), "cjs-wrap"),
    ] for r in frame.iter_rows(named=True)]
    which = "every file" if run == ALL_RUNS else f"run {run}"
    shown = f"the first {frame.height:,} of {total:,}" if total > frame.height else f"{total:,}"
    caption = f"Rejected rows for {which}: {shown}"
    return _table_block(_html_table(f"{PREFIX}-rejects-table", caption, headers, rows,
                                    empty="No rows were rejected."), caption)


def _value(value: float | None, note: str | None) -> str:
    if value is None:
        return f"withheld ({note})" if note else "withheld"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def revisions_table(frame: pl.DataFrame, total: int) -> html.Div:
    headers = [("Figure", ""), ("Area", ""), ("Period", ""), ("Group", ""), ("Source", ""),
               ("Old value", "cjs-num"), ("Old vintage (run)", ""), ("New value", "cjs-num"),
               ("New vintage (run)", ""), ("Change", "cjs-num")]
    rows = []
    for r in frame.iter_rows(named=True):
        change = r["change"]
        change_text = "" if change is None else (
            ("+" if change > 0 else "−" if change < 0 else "±") + _value(abs(change), None))
        rows.append([
            (_esc(r["measure_title"]) + f'<br/><span class="cjs-period">{_esc(r["measure"])}'
             "</span>", ""),
            (_esc(r["area_name"]), ""), (_esc(_period(r["period_start"], r["period_end"])),
                                         "cjs-nowrap"),
            (_esc(r["breakdown"] or "All"), ""), (_esc(r["source"]), ""),
            (_esc(_value(r["old_value"], r["old_value_note"])), "cjs-num"),
            (_esc(f"{r['old_vintage']} (run {r['old_run_id']})"), "cjs-wrap"),
            (_esc(_value(r["new_value"], r["new_value_note"])), "cjs-num"),
            (_esc(f"{r['new_vintage']} (run {r['new_run_id']})"
                  + ("" if r["new_is_current"] else ", itself revised later")), "cjs-wrap"),
            (_esc(change_text), "cjs-num"),
        ])
    shown = f"the newest {frame.height:,} of {total:,}" if total > frame.height else f"{total:,}"
    caption = f"Revised figures: {shown}"
    return _table_block(_html_table(f"{PREFIX}-revisions-table", caption, headers, rows,
                                    empty="No figure has been revised: every figure loaded "
                                          "has one vintage."), caption)


def quality_table(frame: pl.DataFrame) -> html.Div:
    """Months that depart wildly from the area's own history (cjsdash.core.quality)."""
    headers = [("Month", "cjs-nowrap"), ("Area", ""), ("Figure", ""), ("Part", ""),
               ("What is odd", ""), ("File (run)", "")]
    rows = [[
        (_esc(r["period_start"].strftime("%b %Y")), "cjs-nowrap"), (_esc(r["area_name"]), ""),
        (_esc(r["measure_title"]), ""),
        (_esc(f"by {r['breakdown'].replace('_', ' ')}" if r["breakdown"] else "total"), ""),
        (_esc(r["reason"]), "cjs-wrap"),
        (_esc(f"{r['file_name'] or ''} (run {r['run_id']})"), "cjs-wrap"),
    ] for r in frame.iter_rows(named=True)]
    caption = f"Months that depart from their area's history: {frame.height:,}"
    return _table_block(_html_table(f"{PREFIX}-quality-table", caption, headers, rows,
                                    empty="No month departs wildly from its area's history."),
                        caption)


# --- coverage ---------------------------------------------------------------------------------

KEY = (
    ("cjs-cov-full", "✓ 4", "every month of the period is covered (the number is the count "
                            "of figures)"),
    ("cjs-cov-part", "◐ 2", "some months are missing"),
    ("cjs-cov-held", "[c]", "figures exist but the publisher withheld them"),
    ("cjs-cov-none", "–", "no figures"),
)


def _key() -> html.Div:
    items = "".join(
        f'<li><span class="cjs-cov-swatch {css}" aria-hidden="true">{_esc(sym)}</span>'
        f"{_esc(words)}</li>" for css, sym, words in KEY)
    return dcc.Markdown(f'<ul class="cjs-cov-key" aria-label="Key to the coverage tables">'
                        f"{items}</ul>", dangerously_allow_html=True)


@functools.lru_cache(maxsize=4096)
def _esc_kept(value: str) -> str:
    """:func:`_esc` of text that repeats across thousands of cells (names, labels, sources)."""
    return _esc(value)


def _cell(row: dict[str, Any] | None, *, counts: bool, label: str) -> tuple[str, str]:
    """(HTML, class) of one coverage cell: a symbol, the count, words for screen readers.
    ``label`` is escaped HTML already (the cell's numbers need no escaping)."""
    if row is None:
        return '<span aria-hidden="true">–</span><span class="cjs-visually-hidden">none' \
               "</span>", "cjs-cov-none"
    detail = (f"{label}: {row['figures']:,} figures covering {row['months_covered']} of "
              f"{row['months_expected']} months; {row['withheld']:,} withheld; "
              f"{row['breakdown_figures']:,} for groups; {_esc_kept(row['sources'] or '')}")
    if row["months_covered"] == 0:
        symbol, words, css = theme.SUPPRESSED_MARK, "withheld", "cjs-cov-held"
    elif row["complete"]:
        symbol, words, css = "✓", "complete", "cjs-cov-full"
    else:
        symbol, words, css = "◐", "partial", "cjs-cov-part"
    count = f"&#160;{row['figures']:,}" if counts and row["months_covered"] else ""
    mark = f" {theme.SYNTHETIC_MARK}" if row.get("_mark_synthetic") else ""
    return (f'<span title="{detail}"><span aria-hidden="true">{_esc_kept(symbol)}</span>'
            f"{count}<span class=\"cjs-visually-hidden\"> {words}</span>{mark}</span>",
            css)


def _mark_synthetic(frame: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Mark synthetic cells with ◆ only when real and synthetic cells are mixed."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(False).alias("_mark_synthetic")), ""
    synthetic = frame["synthetic"].fill_null(False)
    if bool(synthetic.all()):
        return (frame.with_columns(pl.lit(False).alias("_mark_synthetic")),
                f"{theme.SYNTHETIC_MARK} Every figure counted here is synthetic demo data.")
    mixed = bool(synthetic.any())
    return (frame.with_columns(synthetic.alias("_mark_synthetic")),
            f"{theme.SYNTHETIC_MARK} marks cells with synthetic demo data." if mixed else "")


def area_matrix(frame: pl.DataFrame, registry: Registry, area: views.AreaChoice,
                grain: str) -> html.Div:
    """Indicators (rows, by theme) × periods (columns) for one area."""
    frame, note = _mark_synthetic(frame)
    periods = _periods_in(frame)
    by_key = {(r["indicator"], r["period_start"]): r for r in frame.iter_rows(named=True)}
    name = cx.area_label(area)
    caption = (f"Figures present for {name}, by {GRAIN_LABELS[grain].lower()}: "
               f"{len(registry.indicators)} indicators × {len(periods)} periods")
    head = '<th scope="col">Indicator</th>' + "".join(
        f'<th scope="col">{_esc(label)}</th>' for _, label in periods)
    body = []
    query = cx.query_string(area=None if area.code == views.NATIONAL else area.code,
                            grain=grain)
    for theme_, indicators in registry.by_theme():
        body.append(f'<tr><th scope="colgroup" colspan="{len(periods) + 1}" '
                    f'class="cjs-cov-theme">{_esc(theme_.title)}</th></tr>')
        for ind in indicators:
            title = _esc_kept(ind.short_title)
            cells = [_cell(by_key.get((ind.id, start)), counts=True,
                           label=f"{title}, {_esc_kept(label)}") for start, label in periods]
            body.append(
                f'<tr><th scope="row"><a href="/indicator/{_esc(ind.id)}{_esc(query)}">'
                f"{_esc(ind.title)}</a></th>"
                + "".join(f'<td class="{c}">{v}</td>' for v, c in cells) + "</tr>")
    if not periods:
        body = [f'<tr><td colspan="1">No figures for {_esc(name)} yet.</td></tr>']
    table = (f'<table id="{PREFIX}-coverage-area" class="cjs-table cjs-cov">'
             f"<caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table>")
    children: list[Any] = [_table_block(table, caption)]
    if note:
        children.insert(0, html.P(note, className="cjs-hint"))
    return html.Div(children)


def group_matrix(frame: pl.DataFrame, registry: Registry, areas: Sequence[views.AreaChoice],
                 group: str, period_label: str) -> html.Div:
    """Areas (rows) × indicators (columns, by theme) for one period."""
    frame, note = _mark_synthetic(frame)
    by_key = {(r["area_code"], r["indicator"]): r for r in frame.iter_rows(named=True)}
    themes = [(t, inds) for t, inds in registry.by_theme() if inds]
    indicators = [ind for _, inds in themes for ind in inds]
    group_name = GROUPS[group][0]
    caption = (f"Figures present in {period_label}: {len(areas)} {group_name} × "
               f"{len(indicators)} indicators")
    theme_row = '<th scope="col" rowspan="2">Area</th>' + "".join(
        f'<th scope="colgroup" colspan="{len(inds)}" class="cjs-cov-theme">'
        f"{_esc(t.short_title)}</th>" for t, inds in themes)
    ind_row = "".join(
        f'<th scope="col" class="cjs-cov-vert" title="{_esc(ind.title)}">'
        f"<span>{_esc(ind.short_title)}</span></th>" for ind in indicators)
    body = []
    for area in areas:
        name = _esc_kept(area.name)
        cells = [_cell(by_key.get((area.code, ind.id)), counts=False,
                       label=f"{name}, {_esc_kept(ind.short_title)}") for ind in indicators]
        body.append(f'<tr><th scope="row">{_esc(area.name)}</th>'
                    + "".join(f'<td class="{c}">{v}</td>' for v, c in cells) + "</tr>")
    table = (f'<table id="{PREFIX}-coverage-group" class="cjs-table cjs-cov cjs-cov-group">'
             f"<caption>{_esc(caption)}</caption><thead><tr>{theme_row}</tr>"
             f"<tr>{ind_row}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    complete = {ind.id for ind in indicators
                if all((by_key.get((a.code, ind.id)) or {}).get("complete") for a in areas)}
    absent = {ind.id for ind in indicators
              if not any((a.code, ind.id) in by_key for a in areas)}
    summary = (f"In {period_label}, {len(complete)} of {len(indicators)} indicators have "
               f"figures for every month in all {len(areas)} {group_name}; "
               f"{len(indicators) - len(complete) - len(absent)} have gaps; "
               f"{len(absent)} have none.")
    children: list[Any] = [html.P(summary, id=f"{PREFIX}-coverage-group-summary"),
                           _table_block(table, caption)]
    if note:
        children.insert(1, html.P(note, className="cjs-hint"))
    return html.Div(children)


def _periods_in(frame: pl.DataFrame) -> list[tuple[date, str]]:
    """(first day, label) of the periods in a coverage frame, oldest first."""
    if frame.height == 0:
        return []
    periods = frame.select("period_start", "period_label").unique("period_start")
    return list(periods.sort("period_start").rows())


def _pick(value: str | None, allowed: Iterable[str], default: str) -> str:
    return value if value in set(allowed) else default


def _group_areas(areas: Sequence[views.AreaChoice], group: str) -> list[views.AreaChoice]:
    kinds = GROUPS[group][1]
    return [a for a in areas if a.kind in kinds]


def coverage(area: str, grain: str, group: str, period: str | None
             ) -> tuple[list[Any], list[dict[str, str]], str]:
    """(content, period options, period value) of the coverage section, kept for this data
    version (:mod:`metrics.cache`)."""
    return cache.cached(get_context().reader(), ("data-coverage", area, grain, group, period),
                        lambda: _coverage(area, grain, group, period))


def _coverage(area: str, grain: str, group: str, period: str | None
              ) -> tuple[list[Any], list[dict[str, str]], str]:
    ctx = get_context()
    con = ctx.reader()
    areas = views.list_areas(con)
    choice = cx.pick_area(areas, area)
    members = _group_areas(areas, group)
    codes = [a.code for a in members]
    per_area = provenance.coverage(con, ctx.registry, grain, areas=[choice.code])
    choices = provenance.coverage_periods(con, ctx.registry, grain, areas=codes)
    options = [{"label": "Latest available", "value": cx.LATEST}] + [
        {"label": label, "value": start.isoformat()} for start, label in reversed(choices)]
    starts = {start.isoformat(): (start, label) for start, label in choices}
    value = period if period in starts else cx.LATEST
    content: list[Any] = [
        html.H3(f"Every indicator for {cx.area_label(choice)}", id=f"{PREFIX}-coverage-h-area"),
        area_matrix(per_area, ctx.registry, choice, grain),
    ]
    if choices:
        start, label = starts[value] if value != cx.LATEST else choices[-1]
        per_group = provenance.coverage(con, ctx.registry, grain, areas=codes, period=start)
        content += [html.H3(f"Every one of the {GROUPS[group][0]} in {label}",
                            id=f"{PREFIX}-coverage-h-group"),
                    group_matrix(per_group, ctx.registry, members, group, label)]
    else:
        content.append(html.P(f"No figures for any of the {GROUPS[group][0]} yet."))
    return content, options, value


def coverage_csv(area: str, grain: str, group: str) -> str:
    """Every period's counts for the chosen area and the areas of the group."""
    ctx = get_context()
    con = ctx.reader()
    areas = views.list_areas(con)
    codes = [cx.pick_area(areas, area).code] + [a.code for a in _group_areas(areas, group)]
    frame = provenance.coverage(con, ctx.registry, grain, areas=sorted(set(codes)))
    names = {a.code: a.name for a in areas}
    frame = frame.with_columns(pl.col("area_code").replace_strict(names, default=None)
                               .alias("area_name"))
    return frame_csv(frame)


# --- CSV --------------------------------------------------------------------------------------

def _neutral(value: Any) -> Any:
    """Text starting with = + - @ (or a tab or CR) is prefixed with ' so a spreadsheet never
    runs it: rejected rows repeat what uploaded files said."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def frame_csv(frame: pl.DataFrame) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow(["" if v is None else _neutral(v) for v in row])
    return out.getvalue()


# --- the page ---------------------------------------------------------------------------------

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


def rejects(run: str) -> html.Div:
    return cache.cached(get_context().reader(), ("data-rejects", run), lambda: _rejects(run))


def _rejects(run: str) -> html.Div:
    con = get_context().reader()
    run_id = run_number(run, ALL_RUNS)
    frame = provenance.rejects_frame(con, run_id, limit=SHOWN_ROWS)
    return rejects_table(frame, provenance.rejects_count(con, run_id), run or ALL_RUNS)


def _section(key: str, title: str, children: list[Any]) -> html.Section:
    heading = f"{PREFIX}-{key}-heading"
    return html.Section([html.H2(title, id=heading), *children], id=f"{PREFIX}-{key}-section",
                        className="cjs-data-section", **{"aria-labelledby": heading})


def _radio(name: str, legend: str, value: str, options: list[dict[str, str]]) -> html.Fieldset:
    return html.Fieldset([
        html.Legend(legend, className="cjs-label"),
        dcc.RadioItems(id=f"{PREFIX}-{name}", value=value, inline=True, options=options,
                       className="cjs-radios"),
    ], className=f"cjs-field cjs-field-{name}")


def _size_text(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.0f} KB"


def _upload_section() -> list[Any]:
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
                html.P(html.Strong("Drag and drop a file here, or"), style={"margin": "0"}),
                html.Button("Choose a file", id=f"{PREFIX}-upload-button", type="button",
                            className="cjs-button", style={"margin": "0.5rem 0"},
                            **{"aria-describedby": f"{PREFIX}-upload-hint"}),
                html.P(f"CSV (.csv) or spreadsheet (.xlsx, .xlsm, .ods), up to "
                       f"{_size_text(limit)}. Spreadsheets are read for their values only: "
                       "macros are never run.", id=f"{PREFIX}-upload-hint",
                       className="cjs-hint", style={"margin": "0 auto", "maxWidth": "34em"}),
            ]),
            accept=ACCEPT, max_size=limit, multiple=False,
            className="cjs-upload-zone", className_active="cjs-upload-active",
            className_reject="cjs-upload-reject", className_disabled="cjs-upload-disabled",
            style={}, style_active={}, style_reject={}, style_disabled={},
        ),
        dcc.Store(id=f"{PREFIX}-upload-watch"),
        html.Div(id=f"{PREFIX}-upload-status", className="cjs-upload-status", role="status",
                 **{"aria-live": "polite"}),
        dcc.Loading(html.Div(id=f"{PREFIX}-upload-result"), type="dot", delay_show=200),
    ]


def layout(area: str | None = None, grain: str | None = None, group: str | None = None,
           period: str | None = None, run: str | None = None, **_other: Any) -> html.Div:
    ctx = get_context()
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = _pick(grain, GRAINS, DEFAULT_GRAIN)
    group = _pick(group, GROUPS, DEFAULT_GROUP)
    (head, source_table, files_table, revision_table, run_options, run,
     footer) = tables(run or ALL_RUNS)
    cover, period_options, period_value = coverage(area_code, grain, group, period)
    contents = html.Nav([
        html.H2("On this page", className="cjs-label", style={"marginTop": "0"}),
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
            html.P("Who publishes each source, under what licence, how many of its figures "
                   "are loaded and which vintages (editions) they come from. A newer vintage "
                   "of the same figure becomes current and the older value is kept."),
            html.Div(source_table, id=f"{PREFIX}-sources"),
        ]),
        _section("upload", "Add a file", _upload_section()),
        _section("files", "Files loaded", [
            html.P("Every file offered to cjsdash, whether it was loaded or refused: each is "
                   "loaded in one transaction and logged with its counts."),
            cx.download_button(f"{PREFIX}-runs", "Download the list of every file (CSV)"),
            html.Div(files_table, id=f"{PREFIX}-files"),
        ]),
        _section("coverage", "Coverage", [
            html.P("Which figures exist. A figure counts for every month it covers, so a "
                   "quarter's figure covers three months of a financial year. Counts are of "
                   "headline figures (all people); the CSV also counts figures for groups "
                   "and withheld figures."),
            html.Div([
                cx.grain_radio(PREFIX, grain, GRAINS),
                cx.area_dropdown(PREFIX, areas, area_code),
            ], className="cjs-controls", role="group",
                **{"aria-label": "Choose the periods and the area of the first table"}),
            html.Div([
                _radio("group", "Areas to compare", group,
                       [{"label": title, "value": key} for key, title in GROUP_LABELS.items()]),
                cx.period_dropdown(PREFIX, period_options, period_value),
            ], className="cjs-controls", role="group",
                **{"aria-label": "Choose the areas and the period of the second table"}),
            _key(),
            cx.download_button(f"{PREFIX}-coverage", "Download the coverage counts (CSV)"),
            dcc.Loading(html.Div(cover, id=f"{PREFIX}-coverage"), type="dot",
                        delay_show=400),
        ]),
        _section("rejects", "Rejected rows", [
            html.P("Rows a file could not load, with the row as a spreadsheet numbers it "
                   "(the header is row 1), the column, the value and the reason. The rest "
                   "of the file was loaded; a file with no good row was refused."),
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
            html.P("Figures that a later file gave a different value. The older value is "
                   "kept (it is no longer current), so what was reported at the time can "
                   "always be reproduced."),
            cx.download_button(f"{PREFIX}-revisions", "Download the revisions (CSV)"),
            html.Div(revision_table, id=f"{PREFIX}-revisions"),
        ]),
        _section("quality", "Data-quality checks", [
            html.P("Each month a file brings is compared with the same area's months before "
                   "it (up to 24, at least 12): a total at most half or at least double the "
                   "median and more than five robust deviations (MAD) from it, or a group's "
                   "share that moved by 20 points or more, is listed here and in the load's "
                   "summary. It is a warning: the figures are loaded; check the file with "
                   "its publisher."),
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
    grain = _pick(grain, GRAINS, DEFAULT_GRAIN)
    group = _pick(group, GROUPS, DEFAULT_GROUP)
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

def decode_upload(contents: str, limit: int) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL; ValueError (for the user) if not a file."""
    header, sep, data = (contents or "").partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        raise ValueError("the browser did not send a file")
    if (len(data) // 4) * 3 - data.count("=") > limit:  # too big: refuse without decoding
        raise ValueError(f"the file is over the {_size_text(limit)} limit for uploads; load "
                         "it with `cjsdash ingest` instead")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the browser sent a damaged file; try again") from None


def _status(outcome: UploadOutcome) -> html.Div:
    ok = outcome.status in ("loaded", "unchanged")
    if outcome.status == "loaded":
        title = f"‘{outcome.file_name}’ loaded as run {outcome.run_id}."
    elif outcome.status == "unchanged":
        title = f"‘{outcome.file_name}’ was loaded before: nothing changed."
    elif outcome.status == "failed":
        title = f"‘{outcome.file_name}’ was not loaded."
    else:
        title = f"‘{outcome.file_name}’ was refused: nothing was loaded."
    return html.Div([
        html.P(html.Strong(title)),
        html.P(outcome.line, id=f"{PREFIX}-upload-line", className="cjs-upload-line"),
    ], className="cjs-upload-ok" if ok else "cjs-upload-bad")


def _result(outcome: UploadOutcome) -> list[Any]:
    if not outcome.rejects:
        return []
    headers = [("Row", "cjs-num"), ("Column", ""), ("Value", ""), ("Reason", "")]
    rows = [[(_count(row) or "whole file", "cjs-num"), (_esc(column), ""),
             (_esc(value), "cjs-wrap"), (_esc(reason), "cjs-wrap")]
            for row, column, value, reason in outcome.rejects]
    total = max(outcome.rows_rejected, len(outcome.rejects))
    caption = (f"The first {len(outcome.rejects)} of {total:,} rejected rows"
               if total > len(outcome.rejects) else f"Rejected rows: {total:,}")
    children: list[Any] = [_table_block(_html_table(f"{PREFIX}-upload-rejects", caption,
                                                    headers, rows, empty=""), caption)]
    if outcome.run_id is not None:
        children.append(html.P(html.A("Every rejected row of this file",
                                      href=f"/data?run={outcome.run_id}"
                                           f"#{PREFIX}-rejects-section"),
                               style={"marginTop": "0.5rem"}))
    return children


def receive(contents: str, file_name: str | None) -> UploadOutcome:
    """Decode the upload and hand it to the injected uploader (which saves and loads it)."""
    shown = (file_name or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    try:
        content = decode_upload(contents, get_settings().upload_max_bytes)
    except ValueError as exc:
        return UploadOutcome(shown, "rejected", f"{shown}: refused: {exc}")
    return get_context().uploader(file_name or "upload", content)


@callback(
    Output(f"{PREFIX}-upload-status", "children", allow_duplicate=True),
    Output(f"{PREFIX}-upload-result", "children"),
    Output(f"{PREFIX}-version", "data"),
    Output(f"{PREFIX}-upload", "disabled", allow_duplicate=True),
    Input(f"{PREFIX}-upload", "contents"),
    State(f"{PREFIX}-upload", "filename"),
    State(f"{PREFIX}-version", "data"),
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
    outcome = receive(contents, file_name)
    new_version = (version or 0) + 1 if outcome.changed_warehouse else no_update
    return _status(outcome), _result(outcome), new_version, False


# Once the result is shown, drop the file's contents from the browser's page state.
clientside_callback(
    "function(_) { return null; }",
    Output(f"{PREFIX}-upload", "contents"),
    Input(f"{PREFIX}-upload-result", "children"),
    prevent_initial_call=True,
)


# While the file is read and loaded: say so (aria-live) and take no second file.
clientside_callback(
    """
function(contents, fileName) {
    if (!contents) { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; }
    const name = String(fileName || "the file").split(/[\\\\/]/).pop();
    const text = "Loading… checking and loading ‘" + name + "’. A large file takes a while.";
    return [{namespace: "dash_html_components", type: "P",
             props: {children: text, className: "cjs-upload-busy"}}, true];
}""",
    Output(f"{PREFIX}-upload-status", "children", allow_duplicate=True),
    Output(f"{PREFIX}-upload", "disabled", allow_duplicate=True),
    # Inputs differ from the upload callback's: Dash tells duplicate outputs apart by them.
    Input(f"{PREFIX}-upload", "contents"),
    Input(f"{PREFIX}-upload", "filename"),
    prevent_initial_call=True,
)

# The drop zone turns away a wrong type or an oversize file without telling anyone (it
# never reaches a callback), so the page listens for drops and file choices on the zone
# (delegated from the document, once per window) and says why in the status region. The
# server checks type and size again. The zone's button is the keyboard route to the file
# dialog; the invisible file input itself is taken out of the tab order.
clientside_callback(
    """
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
}""".replace("__UPLOAD__", f"{PREFIX}-upload").replace("__STATUS__", f"{PREFIX}-upload-status"),
    Output(f"{PREFIX}-upload-watch", "data"),
    Input(f"{PREFIX}-upload", "max_size"),
    State(f"{PREFIX}-upload", "accept"),
)


# --- downloads --------------------------------------------------------------------------------

def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d")


@callback(Output(f"{PREFIX}-runs-download", "data"),
          Input(f"{PREFIX}-runs-download-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_runs(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    frame = provenance.runs_frame(get_context().reader())
    return {"content": frame_csv(frame), "filename": f"cjsdash_files_loaded_{_stamp()}.csv",
            "type": "text/csv"}


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
    return {"content": frame_csv(frame), "filename": f"cjsdash_rejects_{which}.csv",
            "type": "text/csv"}


@callback(Output(f"{PREFIX}-revisions-download", "data"),
          Input(f"{PREFIX}-revisions-download-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_revisions(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    frame = provenance.revisions_frame(get_context().reader())
    return {"content": frame_csv(frame), "filename": f"cjsdash_revisions_{_stamp()}.csv",
            "type": "text/csv"}


@callback(Output(f"{PREFIX}-coverage-download", "data"),
          Input(f"{PREFIX}-coverage-download-button", "n_clicks"),
          State(f"{PREFIX}-area", "value"), State(f"{PREFIX}-grain", "value"),
          State(f"{PREFIX}-group", "value"), State(f"{PREFIX}-period", "value"),
          prevent_initial_call=True)
@checked
def download_coverage(n_clicks: int, area: str, grain: str, group: str, period: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    grain = _pick(grain, GRAINS, DEFAULT_GRAIN)
    group = _pick(group, GROUPS, DEFAULT_GROUP)
    del period  # the CSV holds every period of both tables
    return {"content": coverage_csv(area, grain, group),
            "filename": f"cjsdash_coverage_{area}_{group}_{grain}.csv", "type": "text/csv"}


@callback(Output(f"{PREFIX}-template", "data"),
          Input(f"{PREFIX}-template-button", "n_clicks"), prevent_initial_call=True)
@checked
def download_template(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    return {"content": TEMPLATE.read_text(encoding="utf-8"),
            "filename": "board_extract_template.csv", "type": "text/csv"}


@callback(Output(f"{PREFIX}-targets-template", "data"),
          Input(f"{PREFIX}-targets-template-button", "n_clicks"), prevent_initial_call=True)
def download_targets_template(n_clicks: int) -> dict:
    if not n_clicks:
        raise PreventUpdate
    return {"content": TARGETS_TEMPLATE.read_text(encoding="utf-8"),
            "filename": "targets_template.csv", "type": "text/csv"}
