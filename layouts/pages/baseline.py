"""Baseline: every indicator for one area, against its most similar group and England & Wales.

``/baseline/<area>?grain=fy``: the area is a code or any known spelling ("Cumbria",
"devon-and-cornwall", "E23000002"); a force is compared with forces, an LCJB with LCJBs. The
indicators are grouped by the four themes and tagged with the NPCC 2030 objective; each row
gives the latest figure with its CI, England & Wales, the MSG average, the position against
both (tested by 95% CI overlap), the quartile among areas of its kind, the change on the same
period last year (tested where the registry declares a sampling model), the SPC signal against
the whole series and assurance, and the two readings worded together. A short
generated summary states only what those tests support (:func:`metrics.analysis.
summarise_baseline`).

Changing the area or grain writes ``/baseline/<code>?grain=…`` to this page's own
``dcc.Location`` (``refresh=False``) as the overview does: history only, no second render.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dash
import polars as pl
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from cjsdash.core.periods import GRAIN_LABELS
from layouts import analysis_components as ax
from layouts import components as cx
from layouts import theme
from layouts.context import get_context
from layouts.inputs import checked
from metrics import analysis, views
from metrics.registry import Registry

PREFIX = "baseline"
GRAINS = ("month", "quarter", "fy", "r12")
BASELINE_CSV = analysis.BASELINE_COLUMNS
SIGNAL_SHORT = {"improvement": "improvement", "concern": "concern",
                "neutral": "special cause (neither better nor worse)", "common": "common cause"}


def _title(area: str | None = None, **_: Any) -> str:
    try:
        choice = views.resolve_area(get_context().reader(), unquote(area or ""))
    except RuntimeError:
        choice = None
    return f"Baseline: {choice.name} – cjsdash" if choice else "Baseline – cjsdash"


dash.register_page(__name__, path_template="/baseline/<area>", title=_title,
                   name="Baseline", order=85)


def _quartile(value: Any, row: dict[str, Any]) -> str:
    if not value:
        return "– (a total)" if row.get("vs_national_code") == "not comparable" else "–"
    return ax.quartile_words(int(value), int(row["quartile_of"]))


def _value(value: Any, row: dict[str, Any]) -> str:
    ci = f" ({row['display_ci']})" if row.get("display_ci") else ""
    mark = f" {theme.SYNTHETIC_MARK}" if row.get("synthetic") else ""
    return f"{row['display_value']}{mark}{ci}"


def _signal(value: Any, row: dict[str, Any]) -> str:
    if not value:
        return "–"
    rules = f" ({row['spc_rules']})" if row.get("spc_rules") else ""
    return SIGNAL_SHORT.get(value, value) + rules


def _agree(_value: Any, row: dict[str, Any]) -> str:
    """Only where an SPC signal and the change on last year point different ways: why."""
    if row.get("spc_signal") not in ("improvement", "concern"):
        return "–"
    if row.get("readings_agree"):
        return "yes"
    return ("no: SPC compares the latest run with the mean of the whole series, not with the "
            "same period last year")


COLUMNS: tuple[ax.Column, ...] = (
    ("title", "Indicator", None),
    ("npcc_objective", "NPCC 2030 objective", None),
    ("period_label", "Latest period", lambda v, _r: v or "–"),
    ("display_value", "Value (95% CI)", _value),
    ("display_national", "England and Wales", lambda v, r: v if r.get("period_label") else ""),
    ("display_msg", "MSG average (weighted)", lambda v, r: v if r.get("period_label") else ""),
    ("vs_national_short", "Against England and Wales", lambda v, _r: v or "–"),
    ("vs_msg_short", "Against the MSG", lambda v, _r: v or "–"),
    ("quartile", "Quartile", _quartile),
    ("direction_short", "Change on the same period last year", lambda v, _r: v or "–"),
    ("spc_signal", "SPC signal against the whole series, latest period", _signal),
    ("readings", "Do the two readings agree?", _agree),
    ("assurance", "SPC assurance", lambda v, _r: v or "–"),
    ("against_target", "Against target", lambda v, _r: v or "–"),
)


def _not_found(area: str | None) -> html.Div:
    con = get_context().reader()
    forces = [a for a in views.list_areas(con) if a.kind in analysis.COMPARABLE_KINDS]
    return html.Div([
        html.H1("Page not found"),
        html.P(f"There is no area called ‘{area or ''}’. Choose a police force area or an "
               "LCJB area:", id=f"{PREFIX}-not-found"),
        html.Ul([html.Li(dcc.Link(cx.area_label(a), href=f"/baseline/{a.code}"))
                 for a in forces], className="cjs-columns"),
    ], className="cjs-page cjs-not-found")


def _with_targets(con: Any, registry: Registry, frame: pl.DataFrame, area: str, grain: str
                  ) -> pl.DataFrame:
    """The baseline with each indicator's target (local or national) and status."""
    found = views.against_target(con, registry, area, grain=grain)
    return frame.join(found, on="indicator", how="left", maintain_order="left")


def _theme_sections(registry: Registry, frame: pl.DataFrame, area: str, grain: str
                    ) -> list[Any]:
    sections: list[Any] = []
    links = frame.with_columns(
        (pl.lit("/indicator/") + pl.col("indicator") + pl.lit("?" + cx.query_string(
            area=area, grain=None if grain == "quarter" else grain)[1:])).alias("href"))
    for theme_, indicators in registry.by_theme():
        rows = links.filter(pl.col("indicator").is_in([i.id for i in indicators]))
        heading_id = f"{PREFIX}-theme-{theme_.id}"
        sections.append(html.Section([
            html.H2(theme_.title, id=heading_id, className="cjs-theme-heading"),
            html.P(theme_.psa, className="cjs-psa"),
            ax.table_block(f"{PREFIX}-table-{theme_.id}", rows, COLUMNS,
                           caption=f"{theme_.title}: {rows.height} indicators", links="href"),
        ], className="cjs-theme", **{"aria-labelledby": heading_id}))
    return sections


def _methods(kind_words: str) -> html.Details:
    return html.Details([
        html.Summary("How these readings are made"),
        html.Ul([
            html.Li("Against England and Wales and the MSG: ‘above’ or ‘below’ (and better "
                    "or worse, by the indicator's polarity) only when the 95% confidence "
                    "intervals do not overlap, a conservative test of a significant "
                    "difference; else ‘similar’. Figures without a confidence interval are "
                    "called higher or lower and are not tested; totals (counts, money) are not "
                    "compared, as they grow with the size of the area."),
            html.Li(f"Quartile: among the {kind_words} with a figure for the same period, "
                    "by polarity (top quarter is best; highest for a neutral indicator). A "
                    "quartile is a rough position: see each indicator's rank interval."),
            html.Li("Change on the same period last year: tested only where the registry "
                    "declares a sampling model (the two-proportion z-test for counted "
                    "proportions; the exact Poisson test for counts and rates); money, stock "
                    "counts and complete administrative totals say ‘not tested’, here and on "
                    "the overview, in packs and in the CLI alike."),
            html.Li("SPC: the latest period's signal on an XmR, p or Laney p′ chart with the "
                    "four Making Data Count rules, against limits from the whole series, and "
                    "the assurance against the target. It answers a different question from "
                    "the change on last year: a shift can be an improvement on the series' "
                    "mean while the figure is lower than a year ago. The summary counts an "
                    "indicator as improving (or of concern) only when both readings support "
                    "it. Rolling 12-month figures are not charted (their points overlap)."),
            html.Li(f"MSG average: {analysis.WEIGHTED_LABEL}; the simple mean is on each "
                    "indicator's page."),
        ]),
    ], className="cjs-details", id=f"{PREFIX}-methods")


def render(area: str, grain: str) -> list[Any]:
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    name = cx.area_label(choice)
    frame, group = analysis.baseline(con, ctx.registry, choice.code, grain)
    frame = _with_targets(con, ctx.registry, frame, choice.code, grain)
    kind_words = analysis.KIND_WORDS[analysis.comparison_kind(con, choice.code)]
    summary = analysis.summarise_baseline(frame, name)
    names = analysis.area_names(con)
    members = ", ".join(names.get(c, c) for c in group.members)
    peers = group.label + (f": {members}." if members else ".")
    return [
        cx.synthetic_banner(bool(frame["synthetic"].fill_null(False).any())),
        html.Section([
            html.H2("Summary", id=f"{PREFIX}-summary-heading"),
            html.Ul([html.Li(s) for s in summary], id=f"{PREFIX}-summary"),
            html.P([html.Strong("Most similar group: "), peers], id=f"{PREFIX}-group"),
            html.P(f"Compared with {kind_words}; grain: {GRAIN_LABELS[grain].lower()}.",
                   className="cjs-hint"),
            _methods(kind_words),
        ], **{"aria-labelledby": f"{PREFIX}-summary-heading"}),
        cx.download_button(PREFIX, "Download the baseline (CSV)"),
        *_theme_sections(ctx.registry, frame, choice.code, grain),
        cx.footer(cx.vintages(frame)),
    ]


def layout(area: str | None = None, grain: str | None = None, **_other: Any) -> html.Div:
    ctx = get_context()
    con = ctx.reader()
    area = unquote(area or "")  # Dash passes a path variable still percent-encoded
    choice = views.resolve_area(con, area)
    if choice is None:
        return _not_found(area)
    areas = views.list_areas(con)
    grain = grain if grain in GRAINS else "quarter"
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        html.P(dcc.Link("← Overview", href="/" + cx.query_string(
            area=None if choice.code == views.NATIONAL else choice.code)),
            className="cjs-back"),
        html.H1(["Baseline: ", html.Span(cx.area_label(choice), id=f"{PREFIX}-area-name")]),
        html.P("Every indicator for one area at its latest period, against its most similar "
               "group and England and Wales: where it stands, where it is heading, and "
               "whether the change is more than chance.", className="cjs-lead"),
        html.Div([
            cx.area_dropdown(PREFIX, areas, choice.code),
            cx.grain_radio(PREFIX, grain, GRAINS),
        ], className="cjs-controls", role="group", **{"aria-label": "Choose what to show"}),
        dcc.Loading(html.Div(render(choice.code, grain), id=f"{PREFIX}-content"),
                    delay_show=400, type="dot"),
    ], className="cjs-page cjs-baseline")


@callback(
    Output(f"{PREFIX}-content", "children"),
    Output(f"{PREFIX}-url", "pathname"),
    Output(f"{PREFIX}-url", "search"),
    Output(f"{PREFIX}-area-name", "children"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    prevent_initial_call=True,
)
@checked
def update(area: str, grain: str) -> tuple[Any, ...]:
    grain = grain if grain in GRAINS else "quarter"
    choice = cx.pick_area(views.list_areas(get_context().reader()), area)
    return (render(choice.code, grain), f"/baseline/{choice.code}",
            cx.query_string(grain=None if grain == "quarter" else grain),
            cx.area_label(choice))


@callback(
    Output(f"{PREFIX}-download", "data"),
    Input(f"{PREFIX}-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    prevent_initial_call=True,
)
@checked
def download(n_clicks: int, area: str, grain: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    grain = grain if grain in GRAINS else "quarter"
    frame, group = analysis.baseline(ctx.reader(), ctx.registry, area, grain)
    frame = _with_targets(ctx.reader(), ctx.registry, frame, area, grain)
    frame = frame.with_columns(pl.lit(area).alias("area_code"),
                               pl.lit(group.label).alias("msg_group"))
    return {"content": ax.frame_csv(frame, ("area_code", *BASELINE_CSV, "against_target",
                                            "msg_group")),
            "filename": f"baseline_{area}_{grain}.csv", "type": "text/csv"}

