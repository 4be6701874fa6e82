"""Race disproportionality across the stages of the justice process (``/disproportionality``).

For one area and period: the stage matrix (the relative rate index of every ethnic group at
every stage against a reference group, with 95% CIs and significance), rates per 1,000
population with the disparity ratio, excess and the reduction needed for parity; sensitivity
to missing ethnicity, the population denominator and the ethnicity definition (labelled as
assumptions, not confidence intervals); every area side by side for one stage; and the share
of records with an ethnicity recorded at each stage. Every figure comes from
:mod:`metrics.disproportionality`, as ``cjsdash query disparity_ratio --stage …`` prints it;
every chart has its table and CSV one click away.

``/disproportionality?area=CJA01&grain=fy&period=2025-03-31&reference=White&eth=officer``
``&pop=Census%202011&chain=lammy`` holds the view, kept in step with the controls as on the
overview (see :mod:`layouts.pages.overview`).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from cjsdash.core.periods import GRAIN_LABELS, GRAINS
from cjsdash.core.safe_text import markup
from layouts import components as cx
from layouts import disproportionality_charts as dc
from layouts import figure_draft
from layouts.context import get_context
from layouts.inputs import check_value, checked, period_end
from metrics import cache, views
from metrics import disproportionality as dq
from metrics.stages import default_stages

dash.register_page(__name__, path="/disproportionality",
                   title="Race disproportionality – cjsdash", name="Disproportionality",
                   order=40)

PREFIX = "dispro"
DEFAULT_GRAIN = dq.DEFAULT_GRAIN  # fy: see docs/decisions/0016-default-grain.md
GRAIN_NOTE = ("Financial year by default: counts by ethnicity are small at a quarter, and most "
              "stages are published by financial year only. Choose another grain with the Grain "
              "control; the other pages keep the overview's default, the quarter.")
CLOSEST = "closest"
CHAINS = {
    "full": "Every stage: population → stop and search → arrest → charge → prosecution → "
            "conviction → custody",
    "lammy": "Without stop and search (as the Lammy Review): population → arrest → …",
}
DEFINITIONS = {"officer": "Officer-defined", "self": "Self-defined (where recorded)"}
BASES = {"population": "Disparity ratio (per population)",
         "previous_stage": "Relative rate index (per previous stage)"}
AREA_KINDS = {"lcjb": "LCJB areas", "force": "Police force areas"}
DEFAULTS = {"area": views.NATIONAL, "grain": DEFAULT_GRAIN, "period": cx.LATEST,
            "reference": "White", "eth": "officer", "pop": CLOSEST, "chain": "full"}
DOWNLOADS = ("matrix", "sensitivity", "forest", "quality")


# --- settings --------------------------------------------------------------------------------

def _pick(value: str | None, allowed: Any, default: str) -> str:
    return value if value in allowed else default


def _settings(area: str | None, grain: str | None, period: str | None, reference: str | None,
              eth: str | None, pop: str | None, chain: str | None) -> dict[str, Any]:
    return {
        "area": area or views.NATIONAL, "grain": _pick(grain, GRAINS, DEFAULT_GRAIN),
        "period": period or cx.LATEST, "reference": _pick(reference, dq.GROUPS, "White"),
        "eth": _pick(eth, DEFINITIONS, "officer"), "pop": pop or CLOSEST,
        "chain": _pick(chain, CHAINS, "full"),
    }


def _stages(chain: str) -> list[str] | None:
    if chain == "lammy":
        return [s for s in default_stages().ids if s != "stop_and_search"]
    return None


def _query(s: dict[str, Any]) -> str:
    return cx.query_string(**{k: None if s[k] == DEFAULTS[k] else s[k] for k in DEFAULTS})


# --- reading ------------------------------------------------------------------------------------

def _figures(s: dict[str, Any]) -> dict[str, Any]:
    """Every frame the page shows for these settings, read once."""
    con = get_context().reader()
    choice = cx.pick_area(views.list_areas(con), s["area"])
    stages = _stages(s["chain"])
    counts = dq.stage_counts(con, [choice.code], s["grain"], ethnicity_source=s["eth"],
                             stages=stages)
    periods = dq.available_periods(con, choice.code, s["grain"], counts=counts)
    ends = {end.isoformat(): end for end, _ in periods}
    period_value = s["period"] if s["period"] in ends else cx.LATEST
    period_end = ends.get(period_value) or (periods[0][0] if periods else None)
    sources = dq.population_sources(con, choice.code)
    population = s["pop"] if s["pop"] in sources else None
    args = {"grain": s["grain"], "ethnicity_source": s["eth"], "stages": stages,
            "counts": counts}
    matrix = dq.stage_matrix(con, choice.code, period_end, reference=s["reference"],
                             population_source=population, **args)
    return {
        "choice": choice, "periods": periods, "period_value": period_value,
        "period_end": period_end, "sources": sources, "population": population,
        "matrix": matrix,
        "sensitivity": dq.sensitivity(con, choice.code, period_end, reference=s["reference"],
                                      population_source=population, matrix=matrix, **args)
        if matrix.height else pl.DataFrame(schema=dq.SENSITIVITY_SCHEMA),
        "quality": dq.ethnicity_quality(con, choice.code, period_end, **args),
    }


def _forest(s: dict[str, Any], stage: str, group: str, basis: str, kind: str,
            period_end: date | None) -> pl.DataFrame:
    con = get_context().reader()
    sources = dq.population_sources(con, views.NATIONAL)
    return dq.forest(con, stage, period_end, grain=s["grain"], reference=s["reference"],
                     group=group, basis=basis, kind=kind, ethnicity_source=s["eth"],
                     population_source=s["pop"] if s["pop"] in sources else None,
                     stages=_stages(s["chain"]))


# --- tables: plain HTML in one component (see components.figures_table) -------------------------

def _table(table_id: str, caption: str, headers: list[str], rows: list[list[str]], *,
           empty: str) -> html.Div:
    esc = markup
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    body = body or f'<tr><td colspan="{len(headers)}">{esc(empty)}</td></tr>'
    table = (f'<table id="{esc(table_id)}" class="cjs-table cjs-figures">'
             f"<caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
             f"<tbody>{body}</tbody></table>")
    return html.Div(dcc.Markdown(table, dangerously_allow_html=True,
                                 className="cjs-figures-markdown"),
                    className="cjs-table-scroll", tabIndex=0, role="region",
                    **{"aria-label": caption})


def _with_ci(value: str, lower: Any, upper: Any) -> str:
    ci = dc.ci_text(lower, upper)
    return f"{value} ({ci})" if ci else value


def _rate_text(r: dict[str, Any]) -> str:
    if r.get("rate_per_1000") is None:
        return "–"
    return (f"{r['rate_per_1000']:,.2f} ({r['rate_lower']:,.2f} to {r['rate_upper']:,.2f})"
            if r.get("rate_lower") is not None else f"{r['rate_per_1000']:,.2f}")


def _matrix_rows(matrix: pl.DataFrame) -> list[list[str]]:
    """Per population first (rate per 1,000, disparity ratio), then per previous stage."""
    out = []
    for r in matrix.iter_rows(named=True):
        if r["stage"] == "population":
            out.append([r["stage_title"], r["group"], dc.count_text(r["count"]), "base",
                        f"{dc.share_text(r['population_share'])} of the population",
                        "", "", "", "", "", "", "", "", r["population_source"] or ""])
            continue
        rate = "–" if r["stage_rate"] is None else f"{r['stage_rate']:.4g}"
        out.append([
            r["stage_title"], r["group"],
            dc.SUPPRESSED_MARK if r["suppressed"] else dc.count_text(r["count"]),
            r["status"], _rate_text(r),
            _with_ci(dc.ratio_text(r["disparity_ratio"]), r["ratio_lower"], r["ratio_upper"]),
            dc.mark(r, "disparity_ratio", "ratio_significant")
            or ("yes" if r["ratio_significant"] else "no"),
            f"{dc.count_text(r['previous_count'])} ({(r['previous_stage'] or '').replace('_', ' ')})",
            rate, _with_ci(dc.ratio_text(r["rri"]), r["rri_lower"], r["rri_upper"]),
            dc.mark(r, "rri", "significant") or ("yes" if r["significant"] else "no"),
            "–" if r["excess"] is None or r["status"] == "reference" else f"{r['excess']:+,.0f}",
            "–" if r["status"] == "reference" else dc.share_text(r["parity_reduction"]),
            r["note"] or "",
        ])
    return out


MATRIX_HEADERS = ["Stage", "Group", "Count", "Status", "Rate per 1,000 population (95% CI)",
                  "Disparity ratio per population (95% CI)", "Ratio significant",
                  "Previous stage count", "Stage rate (per previous stage)",
                  "RRI per previous stage (95% CI)", "RRI significant",
                  "Excess over reference rate", "Reduction for parity", "Note"]


def _bounds_cell(r: dict[str, Any]) -> str:
    if r["bound_low"] is None:
        return f"{dc.ratio_text(r['disparity_ratio'])}; {r['note'] or 'no bounds'}"
    text = (f"{dc.ratio_text(r['disparity_ratio'])} (range {dc.ratio_text(r['bound_low'])} to "
            f"{dc.ratio_text(r['bound_high'])})")
    if r["tipping_share"] is not None:
        text += f"; parity if {dc.share_text(r['tipping_share'])} were {r['group']}"
    return text


def _pivot(frame: pl.DataFrame, analysis: str, row_key: str, cell: Any
           ) -> tuple[list[str], list[list[str]]]:
    """Rows: ``row_key`` values (stages or assumptions); columns: the compared groups."""
    part = frame.filter((pl.col("analysis") == analysis) & pl.col("group").is_not_null())
    groups = [g for g in dq.GROUPS if g in set(part["group"])]
    columns = list(dict.fromkeys(["stage_title", row_key]))
    keys = [(r[0], r[-1]) for r in part.select(columns).unique(maintain_order=True).rows()]
    cells = {(r["stage_title"], r[row_key], r["group"]): r for r in part.iter_rows(named=True)}
    rows = [[stage, *([key] if row_key != "stage_title" else []),
             *[cell(cells[(stage, key, g)]) if (stage, key, g) in cells else "–"
               for g in groups]] for stage, key in keys]
    return groups, rows


def _quality_rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[r["stage_title"], dc.count_text(r["total"]),
             dc.SUPPRESSED_MARK if r["suppressed"] else dc.count_text(r["stated"]),
             dc.SUPPRESSED_MARK if r["suppressed"] else dc.count_text(r["not_stated"]),
             dc.share_text(r["share_recorded"]),
             "" if r["lower"] is None else f"{r['lower']:.1%} to {r['upper']:.1%}",
             r["note"] or ""] for r in frame.iter_rows(named=True)]


def _forest_rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[r["area_name"] + (" (all areas)" if r["is_national"] else ""),
             _with_ci(dc.ratio_text(r["value"]), r["lower"], r["upper"]),
             "yes" if r["significant"] else "no", r["status"],
             dc.SUPPRESSED_MARK if r["suppressed"] else dc.count_text(r["count"]),
             dc.count_text(r["denominator"]), r["note"] or ""]
            for r in frame.iter_rows(named=True)]


def _details(summary: str, child: Any) -> html.Details:
    return html.Details([html.Summary(summary), child], className="cjs-details")


def _download(name: str, label: str) -> html.Button:
    return html.Button(label, id=f"{PREFIX}-download-{name}", n_clicks=0,
                       className="cjs-button", type="button")


def _csv(frame: pl.DataFrame) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow(["" if v is None else ("'" + v if isinstance(v, str) and v[:1] in
                                               "=+-@" and v else v) for v in row])
    return out.getvalue()


# --- sections ---------------------------------------------------------------------------------

def _summary(f: dict[str, Any], s: dict[str, Any], name: str) -> list[Any]:
    matrix = f["matrix"]
    if matrix.height == 0:
        return [html.P(f"No stage of the justice process has counts by ethnicity for {name} at "
                       f"this grain ({GRAIN_LABELS[s['grain']].lower()}).",
                       id=f"{PREFIX}-summary", className="cjs-summary")]
    stages = dc.stage_order(matrix)
    population = matrix["population_source"].drop_nulls()
    text = (f"{name}, {matrix['period_label'][0]}: {len(stages)} stage(s) with counts by "
            f"ethnicity ({', '.join(stages)}). Reference group {s['reference']}; "
            f"{dq.ETHNICITY_WORDS[s['eth']]}; population denominator "
            f"{population[0] if population.len() else 'none'}.")
    reach = dq.data_reach_note(matrix, name, _stages(s["chain"]))
    return [html.P(text, id=f"{PREFIX}-summary", className="cjs-summary"),
            html.P(reach, id=f"{PREFIX}-reach", className="cjs-hint") if reach else None]


def _headlines(matrix: pl.DataFrame) -> html.Ul:
    """'X times as likely' sentences for the first stage loaded (Ethnicity facts and figures)."""
    rows = matrix.filter((pl.col("stage_order") == 1) & (pl.col("status") == "ok")
                         & pl.col("disparity_ratio").is_not_null())
    items = []
    for r in rows.iter_rows(named=True):
        more = "more" if r["excess"] >= 0 else "fewer"
        change = "reduction" if r["parity_reduction"] >= 0 else "increase"
        items.append(html.Li(
            f"At {r['stage_title'].lower()}, {r['group']} people were "
            f"{dc.ratio_text(r['disparity_ratio'])} as likely as {r['reference']} people per "
            f"head of population (95% CI {dc.ci_text(r['ratio_lower'], r['ratio_upper'])}): "
            f"{abs(r['excess']):,.0f} {more} than at the {r['reference']} rate; a {change} "
            f"of {dc.share_text(abs(r['parity_reduction']))} in the {r['group']} count would "
            "reach parity."))
    return html.Ul(items, id=f"{PREFIX}-headlines", className="cjs-headlines")


def _graph(graph_id: str, figure: figure_draft.Spec, description: str, *,
           wide: bool = False) -> html.Figure:
    """A responsive chart. ``wide``: a chart whose cells or categories need room to be read
    (the stage matrix, the stages along an axis); on a narrow screen it keeps a minimum width
    and scrolls sideways inside its own box."""
    height = figure_draft.height(figure, 460)  # a responsive graph takes its container's height
    graph: Any = dcc.Graph(id=graph_id, figure=figure, responsive=True,
                           style={"height": f"{height}px"},
                           config={"displaylogo": False, "responsive": True})
    if wide:
        graph = html.Div(graph, className="cjs-chart-scroll", tabIndex=0, role="region",
                         **{"aria-label": f"{description} Scrolls sideways on a narrow screen."})
    return html.Figure([
        graph,
        html.Figcaption(description, className="cjs-visually-hidden"),
    ], className="cjs-chart")


def _matrix_section(f: dict[str, Any], name: str) -> html.Section:
    matrix = f["matrix"]
    caption = f"Stage matrix for {name}" + (f", {matrix['period_label'][0]}"
                                           if matrix.height else "")
    return html.Section([
        html.H2("Stage matrix", id=f"{PREFIX}-matrix-heading"),
        html.P("Each cell leads with the disparity ratio per population: how many times as "
               "likely a group's members are to reach this stage, per head of population, as "
               "the reference group's. Under it, labelled RRI, the relative rate index per "
               "previous stage: the same comparison with the previous stage as the "
               "denominator (for arrest, arrests per stop and search), which can be below 1 "
               "where the per-population ratio is well above it. Cells under the minimum count "
               "or for groups under 1% of the population are marked, not plotted as reliable.",
               className="cjs-hint", id=f"{PREFIX}-matrix-hint"),
        _graph(f"{PREFIX}-matrix-chart", dc.make_stage_matrix_figure(matrix, area_name=name),
               dc.describe_matrix(matrix, area_name=name), wide=True),
        _details("Show the stage matrix figures (table)", _table(
            f"{PREFIX}-matrix-table", caption, MATRIX_HEADERS, _matrix_rows(matrix),
            empty="No stage has counts by ethnicity for this area and period.")),
        _download("matrix", "Download the stage matrix (CSV)"),
        html.H3("Second reading: per previous stage", id=f"{PREFIX}-rri-heading"),
        _graph(f"{PREFIX}-rri-chart", dc.make_rri_lines_figure(matrix, area_name=name),
               "Relative rate index per previous stage, by stage for each group, with 95% "
               "CIs.", wide=True),
    ], **{"aria-labelledby": f"{PREFIX}-matrix-heading"})


def _rates_section(f: dict[str, Any], name: str) -> html.Section:
    return html.Section([
        html.H2("Rates per 1,000 population, disparity ratio, excess and parity",
                id=f"{PREFIX}-rates-heading"),
        _headlines(f["matrix"]),
        _graph(f"{PREFIX}-rates-chart", dc.make_rates_figure(f["matrix"], area_name=name),
               "Rates per 1,000 population by group for each stage, with 95% CIs.", wide=True),
        html.P("The figures are in the stage matrix table above (rate per 1,000, disparity "
               "ratio with its Katz 95% CI, excess over the reference rate, reduction for "
               "parity = 1 − 1/ratio).", className="cjs-hint"),
    ], **{"aria-labelledby": f"{PREFIX}-rates-heading"})


def _sensitivity_tables(frame: pl.DataFrame, name: str, sources: list[str]) -> list[Any]:
    groups, rows = _pivot(frame, dq.ANALYSIS_MISSING, "stage_title", _bounds_cell)
    out: list[Any] = [
        html.H3("Missing or not-stated ethnicity"),
        _table(f"{PREFIX}-sensitivity-table", f"Disparity ratio per population with the "
               f"assumption range for records without ethnicity, {name} "
               f"({dq.ASSUMPTIONS_LABEL})", ["Stage", *groups], rows,
               empty="No figures to test for this area and period."),
        html.H3("Population denominator"),
    ]
    if len(sources) > 1:
        groups, rows = _pivot(frame, dq.ANALYSIS_DENOMINATOR, "assumption",
                              lambda r: dc.ratio_text(r["disparity_ratio"]))
        out.append(_table(f"{PREFIX}-denominator-table", f"Disparity ratio by population "
                          f"source, {name}", ["Stage", "Population", *groups], rows,
                          empty="No figures."))
    else:
        out.append(html.P(
            f"Population denominators loaded for {name}: {', '.join(sources) or 'none'}. "
            "Load Census 2021 (or mid-year estimates) to compare the ratios under another "
            "denominator.", id=f"{PREFIX}-sources", className="cjs-hint"))
    groups, rows = _pivot(frame, dq.ANALYSIS_DEFINITION, "assumption",
                          lambda r: dc.ratio_text(r["disparity_ratio"]))
    missing = frame.filter((pl.col("analysis") == dq.ANALYSIS_DEFINITION)
                           & pl.col("group").is_null())["note"].to_list()
    out += [html.H3("Officer-defined or self-defined ethnicity (stop and search)"),
            _table(f"{PREFIX}-definition-table", f"Stop and search disparity ratio by "
                   f"ethnicity definition, {name}", ["Stage", "Definition", *groups], rows,
                   empty="No stop and search counts by ethnicity for this area and period."),
            *[html.P(note.capitalize() + ".", className="cjs-hint") for note in missing]]
    return out


def _sensitivity_section(f: dict[str, Any], name: str) -> html.Section:
    frame = f["sensitivity"]
    return html.Section([
        html.H2("Sensitivity: assumptions, not confidence intervals",
                id=f"{PREFIX}-sensitivity-heading"),
        html.P("How the ratios move under other assumptions. These are assumptions, not "
               "confidence intervals: the range puts every record with ethnicity not stated "
               "in the reference group (low end) or in the group compared (high end); the "
               "tipping share is the share of them that would have to belong to the group "
               "for the ratio to reach parity (shown only where that is possible).",
               className="cjs-hint"),
        _graph(f"{PREFIX}-bounds-chart", dc.make_bounds_figure(frame, area_name=name),
               "Disparity ratios with assumption ranges for records without ethnicity.",
               wide=True),
        *_sensitivity_tables(frame, name, f["sources"]),
        _download("sensitivity", "Download the sensitivity figures (CSV)"),
    ], **{"aria-labelledby": f"{PREFIX}-sensitivity-heading"})


def _quality_section(f: dict[str, Any], name: str) -> html.Section:
    return html.Section([
        html.H2("Ethnicity data quality", id=f"{PREFIX}-quality-heading"),
        html.P("The share of records with an ethnicity recorded at each stage (PSA 24 "
               "indicator 4: consistent collection of good quality ethnicity data), with its "
               "Wilson 95% CI.", className="cjs-hint"),
        _table(f"{PREFIX}-quality-table", f"Ethnicity recorded per stage, {name}",
               ["Stage", "Records", "Ethnicity recorded", "Not stated", "Share recorded",
                "95% CI", "Note"], _quality_rows(f["quality"]),
               empty="No stage has counts for this area and period."),
        _download("quality", "Download the data quality figures (CSV)"),
    ], **{"aria-labelledby": f"{PREFIX}-quality-heading"})


def render(s: dict[str, Any]) -> tuple[list[Any], list[Any], list[dict], str, list[dict]]:
    """(content above the all-areas section, content below it, period options, period
    value, population options) for these settings; kept for this data version
    (:mod:`metrics.cache`), so a view seen before comes back at once."""
    return cache.cached(get_context().reader(), ("dispro-render", _key(s)), lambda: _render(s))


def _key(s: dict[str, Any], *extra: Any) -> tuple[Any, ...]:
    return (*sorted(s.items()), *extra)


def _render(s: dict[str, Any]) -> tuple[list[Any], list[Any], list[dict], str, list[dict]]:
    f = _figures(s)
    name = cx.area_label(f["choice"])
    top = [
        cx.synthetic_banner(cx.any_synthetic(f["matrix"])),
        *_summary(f, s, name),
        _matrix_section(f, name),
        _rates_section(f, name),
        _sensitivity_section(f, name),
    ]
    bottom = [_quality_section(f, name), cx.footer(cx.vintages(f["matrix"]))]
    pops = [{"label": "Closest census year before the period", "value": CLOSEST}] + [
        {"label": src, "value": src} for src in f["sources"]]
    return top, bottom, cx.period_options(f["periods"]), f["period_value"], pops


def render_forest(s: dict[str, Any], stage: str, group: str, basis: str, kind: str
                  ) -> list[Any]:
    """The all-areas section for these settings, kept for this data version."""
    return cache.cached(get_context().reader(),
                        ("dispro-forest", _key(s, stage, group, basis, kind)),
                        lambda: _render_forest(s, stage, group, basis, kind))


def _render_forest(s: dict[str, Any], stage: str, group: str, basis: str, kind: str
                   ) -> list[Any]:
    title = default_stages().get(stage).title
    if group == s["reference"]:
        return [html.P(f"{group} is the reference group: choose another group to compare "
                       f"with {group}.", id=f"{PREFIX}-forest-note", className="cjs-summary")]
    end = period_end(s["period"], cx.LATEST)
    frame = _forest(s, stage, group, basis, kind, end)
    figure = dc.make_forest_figure(frame, stage_title=title, group=group,
                                   reference=s["reference"], basis=basis)
    return [
        _graph(f"{PREFIX}-forest-chart", figure,
               f"{group}/{s['reference']} ratios at {title.lower()} for every area, sorted."),
        _details("Show the figures for every area", _table(
            f"{PREFIX}-forest-table", f"{BASES[basis]}: {group} vs {s['reference']}, "
            f"{title.lower()}", ["Area", "Ratio (95% CI)", "Significant", "Status", "Count",
                                 "Denominator", "Note"], _forest_rows(frame),
            empty="No area has counts by ethnicity for this stage and period.")),
        _download("forest", "Download every area's figures (CSV)"),
    ]


# --- layout -----------------------------------------------------------------------------------

def _radio(name: str, legend: str, options: dict[str, str], value: str) -> html.Fieldset:
    return html.Fieldset([
        html.Legend(legend, className="cjs-label"),
        dcc.RadioItems(id=f"{PREFIX}-{name}", value=value, inline=True,
                       options=[{"label": v, "value": k} for k, v in options.items()],
                       className="cjs-radios"),
    ], className=f"cjs-field cjs-field-{name}")


def _controls(areas: list[views.AreaChoice], s: dict[str, Any], periods: list[dict],
              period_value: str, pops: list[dict]) -> html.Div:
    return html.Div([
        cx.area_dropdown(PREFIX, areas, s["area"]),
        cx.grain_radio(PREFIX, s["grain"]),
        cx.period_dropdown(PREFIX, periods, period_value),
        _radio("reference", "Reference group", {g: g for g in dq.GROUPS}, s["reference"]),
        _radio("eth", "Ethnicity (stop and search)", DEFINITIONS, s["eth"]),
        html.Div([
            html.Label("Population denominator", htmlFor=f"{PREFIX}-pop",
                       className="cjs-label"),
            dcc.Dropdown(id=f"{PREFIX}-pop", options=pops, clearable=False, searchable=False,
                         value=s["pop"] if s["pop"] in {o["value"] for o in pops} else CLOSEST),
        ], className="cjs-field cjs-field-pop"),
        _radio("chain", "Stages chained", CHAINS, s["chain"]),
    ], className="cjs-controls", role="group", **{"aria-label": "Choose what to show"})


def _forest_controls(group: str) -> html.Div:
    stages = {st.id: st.title for st in default_stages().counted()}
    return html.Div([
        html.Div([
            html.Label("Stage", htmlFor=f"{PREFIX}-forest-stage", className="cjs-label"),
            dcc.Dropdown(id=f"{PREFIX}-forest-stage", clearable=False, searchable=False,
                         options=[{"label": t, "value": k} for k, t in stages.items()],
                         value="stop_and_search"),
        ], className="cjs-field cjs-field-forest-stage"),
        _radio("forest-group", "Group compared", {g: g for g in dq.GROUPS}, group),
        _radio("forest-basis", "Ratio", BASES, "population"),
        _radio("forest-kind", "Areas", AREA_KINDS, "lcjb"),
    ], className="cjs-controls", role="group", **{"aria-label": "Choose the comparison"})


def layout(area: str | None = None, grain: str | None = None, period: str | None = None,
           reference: str | None = None, eth: str | None = None, pop: str | None = None,
           chain: str | None = None, **_other: Any) -> html.Div:
    context = get_context()
    areas = views.list_areas(context.reader())
    s = _settings(cx.pick_area(areas, area).code, grain, period, reference, eth, pop, chain)
    top, bottom, periods, period_value, pops = render(s)
    s["period"] = period_value
    group = "White" if s["reference"] == "Black" else "Black"  # compared with the reference
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        dcc.Download(id=f"{PREFIX}-download"),
        html.H1("Race disproportionality across the justice process"),
        html.P("For each ethnic group and each stage — population, stop and search, arrest, "
               "charge, prosecution, conviction, custodial sentence — as far as the loaded "
               "data reaches: how many times as likely each group is to reach the stage per "
               "head of population as a reference group (the disparity ratio), then per "
               "previous stage (the relative rate index), each with its 95% confidence "
               "interval and whether it is significant. The stage matrix shows where "
               "disproportionality enters.", className="cjs-lead"),
        html.P(GRAIN_NOTE, id=f"{PREFIX}-grain-note", className="cjs-hint"),
        _controls(areas, s, periods, period_value, pops),
        dcc.Loading(html.Div(top, id=f"{PREFIX}-content"), delay_show=400, type="dot"),
        html.Section([
            html.H2("All areas", id=f"{PREFIX}-forest-heading"),
            html.P("Every area's ratio for one stage, sorted, with 95% confidence intervals "
                   "(for the period chosen above, or each stage's latest).",
                   className="cjs-hint"),
            _forest_controls(group),
            dcc.Loading(html.Div(render_forest(s, "stop_and_search", group, "population",
                                               "lcjb"), id=f"{PREFIX}-forest-content"),
                        delay_show=400, type="dot"),
        ], **{"aria-labelledby": f"{PREFIX}-forest-heading"}),
        html.Div(bottom, id=f"{PREFIX}-content-bottom"),
    ], className="cjs-page cjs-disproportionality")


MAIN_INPUTS = [Input(f"{PREFIX}-{n}", "value") for n in DEFAULTS]
MAIN_STATES = [State(f"{PREFIX}-{n}", "value") for n in DEFAULTS]
FOREST_STATES = [State(f"{PREFIX}-forest-{n}", "value") for n in ("stage", "group", "basis",
                                                                  "kind")]


@callback(
    Output(f"{PREFIX}-content", "children"),
    Output(f"{PREFIX}-content-bottom", "children"),
    Output(f"{PREFIX}-period", "options"),
    Output(f"{PREFIX}-period", "value"),
    Output(f"{PREFIX}-pop", "options"),
    Output(f"{PREFIX}-url", "search"),
    *MAIN_INPUTS,
    prevent_initial_call=True,
)
@checked
def update(area: str, grain: str, period: str, reference: str, eth: str, pop: str,
           chain: str) -> tuple[Any, ...]:
    s = _settings(area, grain, period, reference, eth, pop, chain)
    top, bottom, periods, period_value, pops = render(s)
    s["period"] = period_value
    return top, bottom, periods, period_value, pops, _query(s)


@callback(
    Output(f"{PREFIX}-forest-content", "children"),
    Input(f"{PREFIX}-forest-stage", "value"),
    Input(f"{PREFIX}-forest-group", "value"),
    Input(f"{PREFIX}-forest-basis", "value"),
    Input(f"{PREFIX}-forest-kind", "value"),
    *[Input(f"{PREFIX}-{n}", "value") for n in DEFAULTS if n != "area"],
    prevent_initial_call=True,
)
@checked
def update_forest(stage: str, group: str, basis: str, kind: str, grain: str, period: str,
                  reference: str, eth: str, pop: str, chain: str) -> list[Any]:
    s = _settings(None, grain, period, reference, eth, pop, chain)
    return render_forest(s, _pick(stage, {x.id for x in default_stages().counted()},
                                  "stop_and_search"),
                         _pick(group, dq.GROUPS, "Black"), _pick(basis, BASES, "population"),
                         _pick(kind, AREA_KINDS, "lcjb"))


@callback(
    Output(f"{PREFIX}-download", "data"),
    *[Input(f"{PREFIX}-download-{n}", "n_clicks") for n in DOWNLOADS],
    *MAIN_STATES,
    *FOREST_STATES,
    prevent_initial_call=True,
)
@checked
def download(*args: int | str | None) -> dict:
    which = str(ctx.triggered_id or "").removeprefix(f"{PREFIX}-download-")
    if which not in DOWNLOADS or not any(args[: len(DOWNLOADS)]):
        raise PreventUpdate
    values = args[len(DOWNLOADS):]
    for i, value in enumerate(values):
        check_value("disproportionality.download", f"args[{len(DOWNLOADS) + i}]", value,
                    str | None)
    s = _settings(*values[: len(DEFAULTS)])
    stage, group, basis, kind = values[len(DEFAULTS):]
    if which == "forest":
        end = period_end(s["period"], cx.LATEST)
        frame = _forest(s, stage, group, basis, kind, end)
    else:
        frame = _figures(s)[which]
    name = f"disproportionality_{which}_{s['area']}_{s['grain']}.csv"
    return {"content": _csv(frame), "filename": name, "type": "text/csv"}


clientside_callback(
    cx.url_to_controls_js(DEFAULTS),
    *[Output(f"{PREFIX}-{n}", "value", allow_duplicate=True) for n in DEFAULTS],
    Input(f"{PREFIX}-url", "search"),
    *MAIN_STATES,
    prevent_initial_call=True,
)

