"""The disproportionality page's sections: the stage matrix, rates and parity, sensitivity
and data quality, each assembled from the frames already read (charts from
:mod:`layouts.disproportionality_charts`, tables from :mod:`layouts.disproportionality_tables`).
No database here."""

from __future__ import annotations

from typing import Any

import polars as pl
from dash import dcc, html

from layouts import disproportionality_charts as dc
from layouts import disproportionality_tables as tables
from layouts import disproportionality_text as dt
from layouts import figure_draft
from metrics import disproportionality as dq

PREFIX = "dispro"


def details(summary: str, child: Any) -> html.Details:
    return html.Details([html.Summary(summary), child], className="cjs-details")


def download_button(name: str, label: str) -> html.Div:
    """The button in its own block, spaced from the heading that follows it."""
    return html.Div(html.Button(label, id=f"{PREFIX}-download-{name}", n_clicks=0,
                                className="cjs-button", type="button"),
                    className="cjs-download")


def _headlines(matrix: pl.DataFrame) -> html.Ul:
    """'X times as likely' sentences for the first stage loaded (Ethnicity facts and figures)."""
    items = []
    for r in matrix.iter_rows(named=True):
        if not (r["stage_order"] == 1 and r["status"] == "ok"
                and r["disparity_ratio"] is not None):
            continue
        more = "more" if r["excess"] >= 0 else "fewer"
        change = "reduction" if r["parity_reduction"] >= 0 else "increase"
        items.append(html.Li(
            f"At {r['stage_title'].lower()}, {r['group']} people were "
            f"{dt.ratio_text(r['disparity_ratio'])} as likely as {r['reference']} people per "
            f"head of population (95% CI {dt.ci_text(r['ratio_lower'], r['ratio_upper'])}): "
            f"{abs(r['excess']):,.0f} {more} than at the {r['reference']} rate; a {change} "
            f"of {dt.share_text(abs(r['parity_reduction']))} in the {r['group']} count would "
            "reach parity."))
    return html.Ul(items, id=f"{PREFIX}-headlines", className="cjs-headlines")


def graph(graph_id: str, figure: figure_draft.Spec, description: str, *,
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


def matrix_section(f: dict[str, Any], name: str) -> html.Section:
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
        graph(f"{PREFIX}-matrix-chart", dc.make_stage_matrix_figure(matrix, area_name=name),
               dt.describe_matrix(matrix, area_name=name), wide=True),
        details("Show the stage matrix figures (table)", tables.table(
            f"{PREFIX}-matrix-table", caption, tables.MATRIX_HEADERS, tables.matrix_rows(matrix),
            empty="No stage has counts by ethnicity for this area and period.")),
        download_button("matrix", "Download the stage matrix (CSV)"),
        html.H3("Second reading: per previous stage", id=f"{PREFIX}-rri-heading"),
        graph(f"{PREFIX}-rri-chart", dc.make_rri_lines_figure(matrix, area_name=name),
               "Relative rate index per previous stage, by stage for each group, with 95% "
               "CIs.", wide=True),
    ], **{"aria-labelledby": f"{PREFIX}-matrix-heading"})


def rates_section(f: dict[str, Any], name: str) -> html.Section:
    return html.Section([
        html.H2("Rates per 1,000 population, disparity ratio, excess and parity",
                id=f"{PREFIX}-rates-heading"),
        _headlines(f["matrix"]),
        graph(f"{PREFIX}-rates-chart", dc.make_rates_figure(f["matrix"], area_name=name),
               "Rates per 1,000 population by group for each stage, with 95% CIs.", wide=True),
        html.P("The figures are in the stage matrix table above (rate per 1,000, disparity "
               "ratio with its Katz 95% CI, excess over the reference rate, reduction for "
               "parity = 1 − 1/ratio).", className="cjs-hint"),
    ], **{"aria-labelledby": f"{PREFIX}-rates-heading"})


def _sensitivity_tables(frame: pl.DataFrame, name: str, sources: list[str]) -> list[Any]:
    groups, rows = tables.pivot(frame, dq.ANALYSIS_MISSING, "stage_title", tables.bounds_cell)
    out: list[Any] = [
        html.H3("Missing or not-stated ethnicity"),
        tables.table(f"{PREFIX}-sensitivity-table", f"Disparity ratio per population with the "
               f"assumption range for records without ethnicity, {name} "
               f"({dq.ASSUMPTIONS_LABEL})", ["Stage", *groups], rows,
               empty="No figures to test for this area and period."),
        html.H3("Population denominator"),
    ]
    if len(sources) > 1:
        groups, rows = tables.pivot(frame, dq.ANALYSIS_DENOMINATOR, "assumption",
                              lambda r: dt.ratio_text(r["disparity_ratio"]))
        out.append(tables.table(f"{PREFIX}-denominator-table", f"Disparity ratio by population "
                          f"source, {name}", ["Stage", "Population", *groups], rows,
                          empty="No figures."))
    else:
        out.append(html.P(
            f"Population denominators loaded for {name}: {', '.join(sources) or 'none'}. "
            "Load Census 2021 (or mid-year estimates) to compare the ratios under another "
            "denominator.", id=f"{PREFIX}-sources", className="cjs-hint"))
    groups, rows = tables.pivot(frame, dq.ANALYSIS_DEFINITION, "assumption",
                          lambda r: dt.ratio_text(r["disparity_ratio"]))
    missing = frame.filter((pl.col("analysis") == dq.ANALYSIS_DEFINITION)
                           & pl.col("group").is_null())["note"].to_list()
    out += [html.H3("Officer-defined or self-defined ethnicity (stop and search)"),
            tables.table(f"{PREFIX}-definition-table", f"Stop and search disparity ratio by "
                   f"ethnicity definition, {name}", ["Stage", "Definition", *groups], rows,
                   empty="No stop and search counts by ethnicity for this area and period."),
            *[html.P(note.capitalize() + ".", className="cjs-hint") for note in missing]]
    return out


def sensitivity_section(f: dict[str, Any], name: str) -> html.Section:
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
        graph(f"{PREFIX}-bounds-chart", dc.make_bounds_figure(frame, area_name=name),
               "Disparity ratios with assumption ranges for records without ethnicity.",
               wide=True),
        *_sensitivity_tables(frame, name, f["sources"]),
        download_button("sensitivity", "Download the sensitivity figures (CSV)"),
    ], **{"aria-labelledby": f"{PREFIX}-sensitivity-heading"})


def quality_section(f: dict[str, Any], name: str) -> html.Section:
    return html.Section([
        html.H2("Ethnicity data quality", id=f"{PREFIX}-quality-heading"),
        html.P("The share of records with an ethnicity recorded at each stage (PSA 24 "
               "indicator 4: consistent collection of good quality ethnicity data), with its "
               "Wilson 95% CI.", className="cjs-hint"),
        tables.table(f"{PREFIX}-quality-table", f"Ethnicity recorded per stage, {name}",
               ["Stage", "Records", "Ethnicity recorded", "Not stated", "Share recorded",
                "95% CI", "Note"], tables.quality_rows(f["quality"]),
               empty="No stage has counts for this area and period."),
        download_button("quality", "Download the data quality figures (CSV)"),
    ], **{"aria-labelledby": f"{PREFIX}-quality-heading"})
