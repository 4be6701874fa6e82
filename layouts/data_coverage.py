"""The data page's coverage: which figures exist, as two matrices and a CSV.

One area's indicators × periods, and one period's areas (of a group) × indicators; each
cell a symbol, the count of figures, and words for screen readers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import polars as pl
from dash import dcc, html

from cjsdash.core.periods import GRAIN_LABELS
from layouts import components as cx
from layouts import theme
from layouts.context import get_context
from layouts.data_tables import PREFIX, esc, frame_csv, table_block
from metrics import cache, figure_coverage, views
from metrics.registry import Registry

GRAINS = ("fy", "year", "fquarter", "quarter", "month")
DEFAULT_GRAIN = figure_coverage.COVERAGE_DEFAULT_GRAIN
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lcjb": ("LCJB areas", ("lcjb",)),
    "force": ("police force areas", ("force",)),
    "region": ("regions and countries", ("region", "country", "national")),
}
GROUP_LABELS = {"lcjb": "LCJB areas", "force": "Police force areas",
                "region": "Regions, countries and England and Wales"}
DEFAULT_GROUP = "lcjb"


# --- coverage ---------------------------------------------------------------------------------

KEY = (
    ("cjs-cov-full", "✓ 4", "every month of the period is covered (the number is the count "
                            "of figures)"),
    ("cjs-cov-part", "◐ 2", "some months are missing"),
    ("cjs-cov-held", "[c]", "figures exist but the publisher withheld them"),
    ("cjs-cov-none", "–", "no figures"),
)


def coverage_key() -> html.Div:
    items = "".join(
        f'<li><span class="cjs-cov-swatch {css}" aria-hidden="true">{esc(sym)}</span>'
        f"{esc(words)}</li>" for css, sym, words in KEY)
    return dcc.Markdown(f'<ul class="cjs-cov-key" aria-label="Key to the coverage tables">'
                        f"{items}</ul>", dangerously_allow_html=True)



def _radio(name: str, legend: str, value: str, options: list[dict[str, str]]) -> html.Fieldset:
    return html.Fieldset([
        html.Legend(legend, className="cjs-label"),
        dcc.RadioItems(id=f"{PREFIX}-{name}", value=value, inline=True, options=options,
                       className="cjs-radios"),
    ], className=f"cjs-field cjs-field-{name}")


def coverage_controls(areas: Sequence[views.AreaChoice], area_code: str, grain: str, group: str,
                      period_options: list[dict[str, str]], period_value: str) -> list[Any]:
    """The section's controls (grain and area of the first table; areas and period of the
    second) and the key to its symbols."""
    return [
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
        coverage_key(),
    ]

@functools.lru_cache(maxsize=4096)
def esc_kept(value: str) -> str:
    """:func:`esc` of text that repeats across thousands of cells (names, labels, sources)."""
    return esc(value)


_CELL_FIELDS = ("figures", "months_covered", "months_expected", "withheld", "complete",
                "_mark_synthetic")
"""What :func:`_cell` reads of a coverage row, in this order."""

Cell = tuple[int, int, int, int, bool, bool]
"""A coverage row's :data:`_CELL_FIELDS`."""

_NO_CELL = '<td class="cjs-cov-none"></td>'


def _cells(frame: pl.DataFrame, first: str, second: str) -> dict[tuple[Any, Any], Cell]:
    """Each row's :data:`Cell`, by its (``first``, ``second``) columns' values."""
    return {row[:2]: row[2:] for row in frame.select(first, second, *_CELL_FIELDS).rows()}


@functools.lru_cache(maxsize=4096)
def _complete_cell(count: str, synthetic: bool) -> str:
    """The ``<td>`` of a complete cell: the same few strings thousands of times."""
    mark = f" {theme.SYNTHETIC_MARK}" if synthetic else ""
    return f'<td class="cjs-cov-full">{count}{mark}</td>'


def _cell(row: Cell | None, *, counts: bool, label: tuple[str, str]) -> str:
    """One coverage cell's ``<td>``: its class draws the symbol and names it for screen
    readers (CSS generated content with alternative text, ``style_data.css``), then the
    count; a cell that is not simply complete (months missing, figures withheld) says how in
    a tooltip that begins with ``label``'s two parts (escaped HTML already; the cell's
    numbers need no escaping).

    One element a cell, and the sources and counts for groups left to the section's CSV:
    three elements and a tooltip a cell made the quarter grain's answer 1.5 MB and the
    browser's parse of it 0.45 s (1.0 s by month; decision 49)."""
    if row is None:
        return _NO_CELL
    figures, covered, expected, withheld, complete, synthetic = row
    count = f"{figures:,}" if counts and covered else ""
    if covered and complete and not withheld:
        return _complete_cell(count, synthetic)
    css = "cjs-cov-held" if covered == 0 else "cjs-cov-full" if complete else "cjs-cov-part"
    mark = f" {theme.SYNTHETIC_MARK}" if synthetic else ""
    return (f'<td class="{css}" title="{label[0]}, {label[1]}: {covered} of {expected} months '
            f'covered; {withheld:,} figures withheld">{count}{mark}</td>')


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
    by_key = _cells(frame, "indicator", "period_start")
    name = cx.area_label(area)
    caption = (f"Figures present for {name}, by {GRAIN_LABELS[grain].lower()}: "
               f"{len(registry.indicators)} indicators × {len(periods)} periods")
    head = '<th scope="col">Indicator</th>' + "".join(
        f'<th scope="col">{esc(label)}</th>' for _, label in periods)
    body = []
    query = cx.query_string(area=None if area.code == views.NATIONAL else area.code,
                            grain=grain)
    labels = [(start, esc_kept(label)) for start, label in periods]
    for theme_, indicators in registry.by_theme():
        body.append(f'<tr><th scope="colgroup" colspan="{len(periods) + 1}" '
                    f'class="cjs-cov-theme">{esc(theme_.title)}</th></tr>')
        for ind in indicators:
            title = esc_kept(ind.short_title)
            cells = "".join(_cell(by_key.get((ind.id, start)), counts=True,
                                  label=(title, label)) for start, label in labels)
            body.append(
                f'<tr><th scope="row"><a href="/indicator/{esc(ind.id)}{esc(query)}">'
                f"{esc(ind.title)}</a></th>{cells}</tr>")
    if not periods:
        body = [f'<tr><td colspan="1">No figures for {esc(name)} yet.</td></tr>']
    table = (f'<table id="{PREFIX}-coverage-area" class="cjs-table cjs-cov">'
             f"<caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table>")
    children: list[Any] = [table_block(table, caption)]
    if note:
        children.insert(0, html.P(note, className="cjs-hint"))
    return html.Div(children)


def group_matrix(frame: pl.DataFrame, registry: Registry, areas: Sequence[views.AreaChoice],
                 group: str, period_label: str) -> html.Div:
    """Areas (rows) × indicators (columns, by theme) for one period."""
    return _group_div(*group_parts(frame, registry, areas, group, period_label))


def group_parts(frame: pl.DataFrame, registry: Registry, areas: Sequence[views.AreaChoice],
                group: str, period_label: str) -> tuple[str, str, str, str]:
    """(summary, table HTML, caption, note) of :func:`group_matrix`: text alone, so that
    one period's matrix (the same for every area's view of the page) can be kept per data
    version (:func:`coverage`)."""
    frame, note = _mark_synthetic(frame)
    by_key = _cells(frame, "area_code", "indicator")
    themes = [(t, inds) for t, inds in registry.by_theme() if inds]
    indicators = [ind for _, inds in themes for ind in inds]
    group_name = GROUPS[group][0]
    caption = (f"Figures present in {period_label}: {len(areas)} {group_name} × "
               f"{len(indicators)} indicators")
    theme_row = '<th scope="col" rowspan="2">Area</th>' + "".join(
        f'<th scope="colgroup" colspan="{len(inds)}" class="cjs-cov-theme">'
        f"{esc(t.short_title)}</th>" for t, inds in themes)
    ind_row = "".join(
        f'<th scope="col" class="cjs-cov-vert" title="{esc(ind.title)}">'
        f"<span>{esc(ind.short_title)}</span></th>" for ind in indicators)
    body = []
    short = [(ind.id, esc_kept(ind.short_title)) for ind in indicators]
    for area in areas:
        name = esc_kept(area.name)
        cells = "".join(_cell(by_key.get((area.code, ind)), counts=False, label=(name, title))
                        for ind, title in short)
        body.append(f'<tr><th scope="row">{esc(area.name)}</th>{cells}</tr>')
    table = (f'<table id="{PREFIX}-coverage-group" class="cjs-table cjs-cov cjs-cov-group">'
             f"<caption>{esc(caption)}</caption><thead><tr>{theme_row}</tr>"
             f"<tr>{ind_row}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    complete = {ind.id for ind in indicators
                if all((cell := by_key.get((a.code, ind.id))) and cell[4] for a in areas)}
    absent = {ind.id for ind in indicators
              if not any((a.code, ind.id) in by_key for a in areas)}
    summary = (f"In {period_label}, {len(complete)} of {len(indicators)} indicators have "
               f"figures for every month in all {len(areas)} {group_name}; "
               f"{len(indicators) - len(complete) - len(absent)} have gaps; "
               f"{len(absent)} have none.")
    return summary, table, caption, note


def _group_div(summary: str, table: str, caption: str, note: str) -> html.Div:
    children: list[Any] = [html.P(summary, id=f"{PREFIX}-coverage-group-summary"),
                           table_block(table, caption)]
    if note:
        children.insert(1, html.P(note, className="cjs-hint"))
    return html.Div(children)


def _periods_in(frame: pl.DataFrame) -> list[tuple[date, str]]:
    """(first day, label) of the periods in a coverage frame, oldest first."""
    if frame.height == 0:
        return []
    periods = frame.select("period_start", "period_label").unique("period_start")
    return list(periods.sort("period_start").rows())


def pick(value: str | None, allowed: Iterable[str], default: str) -> str:
    return value if value in set(allowed) else default


def _group_areas(areas: Sequence[views.AreaChoice], group: str) -> list[views.AreaChoice]:
    kinds = GROUPS[group][1]
    return [a for a in areas if a.kind in kinds]


def coverage(area: str, grain: str, group: str, period: str | None
             ) -> tuple[list[Any], list[dict[str, str]], str]:
    """(content, period options, period value) of the coverage section, drawn from the
    figure mart's coverage cells (:mod:`metrics.mart_stages`): nothing kept between requests."""
    ctx = get_context()
    con = ctx.reader()
    areas = views.list_areas(con)
    choice = cx.pick_area(areas, area)
    members = _group_areas(areas, group)
    codes = [a.code for a in members]
    per_area = figure_coverage.coverage(con, ctx.registry, grain, areas=[choice.code])
    choices = figure_coverage.coverage_periods(con, ctx.registry, grain, areas=codes)
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
        parts = cache.cached(  # every area's view of the page shows the same matrix
            con, ("coverage-group", id(ctx.registry), grain, group, start, label),
            lambda: group_parts(figure_coverage.coverage(con, ctx.registry, grain,
                                                         areas=codes, period=start),
                                ctx.registry, members, group, label))
        content += [html.H3(f"Every one of the {GROUPS[group][0]} in {label}",
                            id=f"{PREFIX}-coverage-h-group"),
                    _group_div(*parts)]
    else:
        content.append(html.P(f"No figures for any of the {GROUPS[group][0]} yet."))
    return content, options, value


def coverage_csv(area: str, grain: str, group: str) -> str:
    """Every period's counts for the chosen area and the areas of the group."""
    ctx = get_context()
    con = ctx.reader()
    areas = views.list_areas(con)
    codes = [cx.pick_area(areas, area).code] + [a.code for a in _group_areas(areas, group)]
    frame = figure_coverage.coverage(con, ctx.registry, grain, areas=sorted(set(codes)))
    names = {a.code: a.name for a in areas}
    frame = frame.with_columns(pl.col("area_code").replace_strict(names, default=None)
                               .alias("area_name"))
    return frame_csv(frame)
