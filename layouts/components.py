"""Building blocks the pages share: controls, banner, scorecard row, figures table, footer.

Every control has a visible ``<label for>`` (or a fieldset legend for radio groups); ids are
namespaced by the page's prefix (``overview-area``, ``indicator-area`` …). Nothing here reads
the database: pages pass frames from :mod:`metrics.views` in.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from urllib.parse import unquote, urlencode

import polars as pl
from dash import dcc, html

from cjsdash.core.periods import GRAIN_LABELS, GRAINS
from cjsdash.core.safe_text import markup, neutralise
from layouts import charts, sparklines, theme
from layouts.elements import element
from metrics.analysis import changes, is_missing
from metrics.registry import Indicator
from metrics.views import (  # vintages: the pages call it cx.vintages
    NATIONAL,
    AreaChoice,
    format_value,
    resolve_area,
    target_text,
    vintages,  # noqa: F401
)

AREA_GROUPS: tuple[tuple[str, str, str], ...] = (
    # kind, group heading, suffix that tells twins apart once a search hides the headings
    ("national", "England and Wales", ""),
    ("lcjb", "Local Criminal Justice Board areas", " (LCJB)"),
    ("force", "Police force areas", " (police force area)"),
    ("region", "Regions and countries", " (region)"),
    ("country", "", " (country)"),
)
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("period_label", "Period"), ("breakdown", "Group"), ("numerator", "Numerator"),
    ("denominator", "Denominator"), ("display_value", "Value"), ("display_ci", "95% CI"),
    ("method", "CI method"), ("suppressed", "Suppressed"), ("target", "Target"),
    ("status", "Status"), ("source", "Source"), ("built_from", "Made from"),
    ("synthetic", "Synthetic"), ("note", "Note"),
)
SYNTHETIC_TEXT = (f"Synthetic demo data: figures marked {theme.SYNTHETIC_MARK} are generated, "
                  "not real")
OGL = ("Contains public sector information licensed under the Open Government Licence v3.0.")


def query_string(**params: str | None) -> str:
    """``?a=1&b=2`` from the non-empty params ('' when there are none)."""
    shown = {k: v for k, v in params.items() if v}
    return f"?{urlencode(shown)}" if shown else ""


def url_to_controls_js(defaults: dict[str, str]) -> str:
    """A clientside callback: the page's ``dcc.Location`` search → its controls' values.

    It runs when the browser's Back or Forward changes the query string (the Location hears
    ``popstate``), and sets only the controls whose value differs; when the search was
    written by the page's own callback every value already matches, so nothing fires again.
    Inputs: the search; states: the controls, in the order of ``defaults``. An area given as
    a name rather than a code is left as the server resolved it.
    """
    names = list(defaults)
    return f"""
function(search, ...current) {{
    const q = new URLSearchParams(search || "");
    const defaults = {json.dumps(defaults)};
    const names = {json.dumps(names)};
    const noUpdate = window.dash_clientside.no_update;
    const wanted = names.map(n => {{
        const v = q.get(n) || defaults[n];
        return n === "area" ? v.toUpperCase() : v;
    }});
    // An area spelt as a name ("Cumbria", "devon-and-cornwall") was resolved by the server
    // (pick_area); only a code (codes have digits) is set from the URL here.
    return wanted.map((v, i) => (v === (current[i] ?? defaults[names[i]])
        || (names[i] === "area" && !/[0-9]/.test(v)) ? noUpdate : v));
}}"""


# --- controls ----------------------------------------------------------------------------------

def area_options(areas: Iterable[AreaChoice]) -> list[dict[str, Any]]:
    """Dropdown options grouped by kind: a disabled heading, then the areas (values are codes)."""
    areas = list(areas)
    options: list[dict[str, Any]] = []
    for kind, heading, suffix in AREA_GROUPS:
        members = [a for a in areas if a.kind == kind]
        if not members:
            continue
        if heading:
            options.append({"label": f"— {heading} —", "value": f"__group_{kind}",
                            "disabled": True})
        options.extend({"label": f"{a.name}{suffix}", "value": a.code} for a in members)
    return options


def area_label(choice: AreaChoice) -> str:
    """The area's name, with its kind where a twin has the same name (Cumbria LCJB/force)."""
    suffix = {kind: sfx for kind, _, sfx in AREA_GROUPS}.get(choice.kind, "")
    return f"{choice.name}{suffix}"


def pick_area(areas: Sequence[AreaChoice], code: str | None) -> AreaChoice:
    """The area a URL or control names, else England and Wales.

    Accepts every spelling the command line accepts (a code in any case, "Cumbria",
    "devon-and-cornwall", "Metropolitan Police Service", percent-encoded or not): codes are
    matched here, other spellings through the warehouse's aliases (:func:`views.resolve_area`).
    """
    by_code = {a.code.upper(): a for a in areas}
    fallback = by_code.get(NATIONAL) or AreaChoice(NATIONAL, "England and Wales", "national")
    key = unquote(code or "").strip()
    if not key:
        return fallback
    if key.upper() in by_code:
        return by_code[key.upper()]
    from layouts.context import get_context

    try:
        choice = resolve_area(get_context().reader(), key)
    except RuntimeError:  # no warehouse set (a unit test of a page function)
        choice = None
    return by_code.get(choice.code.upper(), fallback) if choice else fallback


def pick_grain(grain: str | None) -> str:
    return grain if grain in GRAINS else "quarter"


def _labelled(prefix: str, name: str, label: str, control: Any, hint: str = "") -> html.Div:
    children: list[Any] = [html.Label(label, htmlFor=f"{prefix}-{name}", className="cjs-label")]
    if hint:
        children.append(html.Span(hint, id=f"{prefix}-{name}-hint", className="cjs-hint"))
    children.append(control)
    return html.Div(children, className=f"cjs-field cjs-field-{name}")


def area_dropdown(prefix: str, areas: Iterable[AreaChoice], value: str) -> html.Div:
    return _labelled(prefix, "area", "Area", dcc.Dropdown(
        id=f"{prefix}-area", options=area_options(areas), value=value, clearable=False,
        searchable=True, maxHeight=360, placeholder="Choose an area",
    ), hint="LCJB, police force area, region or England and Wales")


def grain_radio(prefix: str, value: str, grains: Sequence[str] = GRAINS) -> html.Fieldset:
    return html.Fieldset([
        html.Legend("Period grain", className="cjs-label"),
        dcc.RadioItems(id=f"{prefix}-grain", value=value, inline=True,
                       options=[{"label": GRAIN_LABELS[g], "value": g} for g in grains],
                       className="cjs-radios"),
    ], className="cjs-field cjs-field-grain")


LATEST = "latest"


def period_options(choices: Iterable[tuple[date, str]]) -> list[dict[str, str]]:
    """'Latest available (2024-25 Q1)' then every period (newest first), valued by ISO
    period end: the latest is named, so nobody has to guess which period it is."""
    periods = [{"label": label, "value": end.isoformat()} for end, label in choices]
    latest = f"Latest available ({periods[0]['label']})" if periods else "Latest available"
    return [{"label": latest, "value": LATEST}, *periods]


def period_dropdown(prefix: str, options: list[dict[str, str]], value: str | None
                    ) -> html.Div:
    """Options from :func:`period_options`."""
    return _labelled(prefix, "period", "Period", dcc.Dropdown(
        id=f"{prefix}-period", options=options, value=value or LATEST,
        clearable=False, searchable=False, maxHeight=360,
    ))


# --- banner and footer ------------------------------------------------------------------------

def synthetic_banner(show: bool) -> html.Div:
    """role=status: announced politely; shown whenever any figure on the page is synthetic."""
    children = [html.Strong(f"{theme.SYNTHETIC_MARK} "), SYNTHETIC_TEXT, "."] if show else []
    return html.Div(children, role="status",
                    className="cjs-banner" + ("" if show else " cjs-banner-empty"))


def any_synthetic(*frames: pl.DataFrame | None) -> bool:
    return any(f is not None and f.height and "synthetic" in f.columns
               and bool(f["synthetic"].fill_null(False).any()) for f in frames)


def footer(data_vintages: Sequence[str]) -> html.Footer:
    shown = ", ".join(data_vintages) if data_vintages else "no figures shown"
    return html.Footer([
        html.P(OGL),
        html.P(["Data vintages shown: ", html.Span(shown, className="cjs-vintages")]),
    ], className="cjs-page-footer")


# --- scorecard --------------------------------------------------------------------------------

def ci_text(row: dict[str, Any], ind: Indicator) -> str:
    """'95% CI a to b', or why there is none."""
    if row.get("suppressed"):
        return ""
    if row.get("display_ci"):
        return f"{(row.get('level') or 0.95):.0%} CI {row['display_ci']}"
    if ind.ci_method == "none":
        return f"no CI: {ind.ci_note}" if ind.ci_note else "no CI"
    return "no CI"


def change_text(row: dict[str, Any], ind: Indicator) -> str:
    """The change on the same period last year, with its significance."""
    change = row.get("change")
    if is_missing(change):
        return "no figure for the same period last year"
    sign = "+" if change > 0 else ("−" if change < 0 else "±")  # a true minus sign
    if ind.unit == "percent":
        amount = f"{sign}{abs(change):,.{ind.decimals}f} pts"
    else:
        amount = sign + format_value(abs(change), ind)
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "▶")
    if not changes.tested(ind):  # no declared sampling model: the same words everywhere
        test = "(not tested)"
    else:
        test = "(significant)" if row.get("change_significant") else "(not significant)"
    return f"{arrow} {amount} {test}"


def status_badge(status: str | None) -> html.Span:
    style = theme.status_style(status)
    return element(html.Span, [element(html.Span, style.symbol, className="cjs-status-symbol",
                                       **{"aria-hidden": "true"}), f" {style.label}"],
                   className=f"cjs-status {style.css}")


def indicator_href(ind: Indicator, *, area: str, grain: str) -> str:
    return f"/indicator/{ind.id}" + query_string(
        area=None if area == NATIONAL else area, grain=None if grain == "quarter" else grain)


def sparkline(history: pl.DataFrame | Sequence[dict[str, Any]], ind: Indicator, *,
              graph_id: str) -> html.Img:
    """The sparkline as an SVG image whose text alternative describes the trend.

    ``history``: the indicator's rows, or its headline points already picked out
    (:func:`layouts.sparklines.headline_points`; the overview picks them for every indicator at
    once)."""
    points = (sparklines.headline_points(history, ind) if isinstance(history, pl.DataFrame)
              else history)
    svg = sparklines.sparkline_svg(points)
    return element(
        html.Img, id=graph_id,
        src="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        alt=sparklines.describe_points(points, ind), className="cjs-sparkline",
        width=140, height=36,
    )


def scorecard_row(ind: Indicator, row: dict[str, Any] | None,
                  history: pl.DataFrame | Sequence[dict[str, Any]], *,
                  area: str, grain: str, prefix: str = "overview") -> html.Tr:
    """One indicator: title link, value, CI, target and status, change, sparkline."""
    title = element(html.Th, [
        dcc.Link(ind.title, href=indicator_href(ind, area=area, grain=grain),
                 className="cjs-indicator-link"),
        element(html.Div, row["period_label"] if row else "", className="cjs-period"),
    ], scope="row", role="rowheader", className="cjs-sc-title")
    if row is None:
        return element(html.Tr, [title, element(html.Td, "no data for this area and grain",
                                                colSpan=5, role="cell",
                                                className="cjs-no-data")],
                       id=f"{prefix}-row-{ind.id}", role="row",
                       className="cjs-sc-row cjs-sc-empty")
    synthetic = bool(row.get("synthetic"))
    value = element(html.Td, [
        element(html.Span, row["display_value"], className="scorecard-value"),
        element(html.Span, f" {theme.SYNTHETIC_MARK}", className="cjs-synthetic-mark",
                title="synthetic demo data") if synthetic else None,
    ], role="cell", className="cjs-sc-value")
    target = "" if is_missing(row.get("target")) else target_text(row, ind)
    return element(html.Tr, [
        title,
        value,
        element(html.Td, ci_text(row, ind), role="cell", className="cjs-sc-ci"),
        element(html.Td, [element(html.Div, target, className="cjs-target"),
                          status_badge(row.get("status"))], role="cell",
                className="cjs-sc-status"),
        element(html.Td, change_text(row, ind), role="cell", className="cjs-sc-change"),
        element(html.Td, sparkline(history, ind, graph_id=f"{prefix}-spark-{ind.id}"),
                role="cell", className="cjs-sc-spark"),
    ], id=f"{prefix}-row-{ind.id}", role="row", className="cjs-sc-row")


SCORECARD_HEADINGS = ("Indicator", "Latest", "Confidence interval", "Target and status",
                      "Change on same period last year", "Trend")


def scorecard_table(caption: str, rows: Sequence[html.Tr]) -> html.Div:
    """The rows in a table that scrolls sideways in its box, and on a phone is a card a row
    (its roles given explicitly: the stylesheet makes its rows grids there)."""
    return html.Div(html.Table([
        html.Caption(caption, className="cjs-visually-hidden"),
        html.Thead(html.Tr([html.Th(h, scope="col", role="columnheader")
                            for h in SCORECARD_HEADINGS], role="row"), role="rowgroup"),
        html.Tbody(list(rows), role="rowgroup"),
    ], role="table", className="cjs-table cjs-scorecard"), className="cjs-table-scroll")


# --- figures table and CSV --------------------------------------------------------------------

def _cell(column: str, value: Any, ind: Indicator) -> str:
    if column in ("suppressed", "synthetic"):
        mark = theme.SUPPRESSED_MARK if column == "suppressed" else theme.SYNTHETIC_MARK
        return f"{mark} yes" if value else "no"
    if column in ("numerator", "denominator"):
        return charts.format_count(value) if not is_missing(value) else ""
    if column == "target":
        return "" if is_missing(value) else format_value(value, ind)
    if column == "breakdown":
        return value or "All"
    return "" if value is None else str(value)


def _figures_html(frame: pl.DataFrame, ind: Indicator, columns: list[tuple[str, str]], *,
                  caption: str, table_id: str) -> str:
    esc = markup
    head = "".join(f'<th scope="col">{esc(h)}</th>' for _, h in columns)
    rows = "".join(
        "<tr>" + "".join(
            f'<td class="cjs-col-{c}">{esc(" ".join(_cell(c, r.get(c), ind).split()))}</td>'
            for c, _ in columns) + "</tr>"
        for r in frame.iter_rows(named=True)
    ) or f'<tr><td colspan="{len(columns)}">No figures for this area and grain.</td></tr>'
    return (f'<table id="{esc(table_id)}" class="cjs-table cjs-figures">'
            f"<caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def figures_table(prefix: str, frame: pl.DataFrame, ind: Indicator, *, caption: str
                  ) -> html.Div:
    """The figures behind a chart as one plain HTML table (``{prefix}-figures``).

    Written as escaped HTML in one ``dcc.Markdown`` rather than a component per cell: Dash
    4.4 takes time quadratic in the number of components a callback replaces (a 220-row
    table of ``html.Td`` took 15-25 s to appear; as one component it takes under a second).
    Every value is escaped, so text from uploaded files cannot inject markup.
    """
    columns = [(c, h) for c, h in TABLE_COLUMNS if c in frame.columns]
    table = _figures_html(frame, ind, columns, caption=caption, table_id=f"{prefix}-figures")
    return html.Div(
        dcc.Markdown(table, dangerously_allow_html=True, className="cjs-figures-markdown"),
        className="cjs-table-scroll", tabIndex=0, role="region", **{"aria-label": caption},
    )


def download_button(prefix: str, label: str = "Download these figures (CSV)") -> html.Div:
    """A button and its ``dcc.Download``: ``{prefix}-download-button``, ``{prefix}-download``."""
    return html.Div([
        html.Button(label, id=f"{prefix}-download-button", n_clicks=0, className="cjs-button",
                    type="button"),
        dcc.Download(id=f"{prefix}-download"),
    ], className="cjs-download")


CSV_COLUMNS = ("indicator", "area_code", "area_name", "period_label", "period_start",
               "period_end", "breakdown", "numerator", "denominator", "value", "lower",
               "upper", "method", "suppressed", "target", "target_kind", "target_scope",
               "status", "display_value", "display_ci", "source", "vintage", "built_from",
               "synthetic", "note")


def figures_csv(frame: pl.DataFrame) -> str:
    """CSV text of the figures (the columns ``cjsdash query --format csv`` writes)."""
    columns = [c for c in CSV_COLUMNS if c in frame.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in frame.select(columns).iter_rows():
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return out.getvalue()
