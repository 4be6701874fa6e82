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

This page reads the figures and wires the controls; the sections are assembled in
:mod:`layouts.disproportionality_sections`, their tables and CSV in
:mod:`layouts.disproportionality_tables`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from cjsdash.core.periods import GRAIN_LABELS, GRAINS
from layouts import components as cx
from layouts import disproportionality_charts as dc
from layouts import disproportionality_sections as sections
from layouts import disproportionality_tables as tables
from layouts import disproportionality_text as dt
from layouts.context import get_context
from layouts.inputs import check_value, checked, period_end
from metrics import disproportionality as dq
from metrics import views
from metrics.stages import default_stages

dash.register_page(__name__, path="/disproportionality",
                   title="Race disproportionality – cjsdash", name="Disproportionality",
                   order=40)

PREFIX = sections.PREFIX
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
    counts, other_counts = dq.stage_counts_and_other(con, [choice.code], s["grain"],
                                                     ethnicity_source=s["eth"], stages=stages)
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
                                      population_source=population, matrix=matrix,
                                      other_counts=other_counts, sources=sources, **args)
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


# --- sections ---------------------------------------------------------------------------------

def _summary(f: dict[str, Any], s: dict[str, Any], name: str) -> list[Any]:
    matrix = f["matrix"]
    if matrix.height == 0:
        return [html.P(f"No stage of the justice process has counts by ethnicity for {name} at "
                       f"this grain ({GRAIN_LABELS[s['grain']].lower()}).",
                       id=f"{PREFIX}-summary", className="cjs-summary")]
    stages = dt.stage_order(matrix)
    population = matrix["population_source"].drop_nulls()
    text = (f"{name}, {matrix['period_label'][0]}: {len(stages)} stage(s) with counts by "
            f"ethnicity ({', '.join(stages)}). Reference group {s['reference']}; "
            f"{dq.ETHNICITY_WORDS[s['eth']]}; population denominator "
            f"{population[0] if population.len() else 'none'}.")
    reach = dq.data_reach_note(matrix, name, _stages(s["chain"]))
    return [html.P(text, id=f"{PREFIX}-summary", className="cjs-summary"),
            html.P(reach, id=f"{PREFIX}-reach", className="cjs-hint") if reach else None]


def render(s: dict[str, Any]) -> tuple[list[Any], list[Any], list[dict], str, list[dict]]:
    """(content above the all-areas section, content below it, period options, period
    value, population options) for these settings, drawn from the figure mart's stage counts
    (:mod:`metrics.mart_stages`): nothing is kept between requests."""
    f = _figures(s)
    name = cx.area_label(f["choice"])
    top = [
        cx.synthetic_banner(cx.any_synthetic(f["matrix"])),
        *_summary(f, s, name),
        sections.matrix_section(f, name),
        sections.rates_section(f, name),
        sections.sensitivity_section(f, name),
    ]
    bottom = [sections.quality_section(f, name), cx.footer(cx.vintages(f["matrix"]))]
    pops = [{"label": "Closest census year before the period", "value": CLOSEST}] + [
        {"label": src, "value": src} for src in f["sources"]]
    return top, bottom, cx.period_options(f["periods"]), f["period_value"], pops


def render_forest(s: dict[str, Any], stage: str, group: str, basis: str, kind: str
                  ) -> list[Any]:
    """The all-areas section for these settings (every area's stage counts read from the
    figure mart; nothing kept between requests)."""
    title = default_stages().get(stage).title
    if group == s["reference"]:
        return [html.P(f"{group} is the reference group: choose another group to compare "
                       f"with {group}.", id=f"{PREFIX}-forest-note", className="cjs-summary")]
    end = period_end(s["period"], cx.LATEST)
    frame = _forest(s, stage, group, basis, kind, end)
    figure = dc.make_forest_figure(frame, stage_title=title, group=group,
                                   reference=s["reference"], basis=basis)
    return [
        sections.graph(f"{PREFIX}-forest-chart", figure,
               f"{group}/{s['reference']} ratios at {title.lower()} for every area, sorted."),
        sections.details("Show the figures for every area", tables.table(
            f"{PREFIX}-forest-table", f"{BASES[basis]}: {group} vs {s['reference']}, "
            f"{title.lower()}", ["Area", "Ratio (95% CI)", "Significant", "Status", "Count",
                                 "Denominator", "Note"], tables.forest_rows(frame),
            empty="No area has counts by ethnicity for this stage and period.")),
        sections.download_button("forest", "Download every area's figures (CSV)"),
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
    return {"content": tables.frame_csv(frame), "filename": name, "type": "text/csv"}


clientside_callback(
    cx.url_to_controls_js(DEFAULTS),
    *[Output(f"{PREFIX}-{n}", "value", allow_duplicate=True) for n in DEFAULTS],
    Input(f"{PREFIX}-url", "search"),
    *MAIN_STATES,
    prevent_initial_call=True,
)
