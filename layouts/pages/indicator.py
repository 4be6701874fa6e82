"""One generic page for every indicator: definition, trend chart, SPC, comparison, figures.

``/indicator/<id>?area=CJA03&grain=fy&by=ethnicity&rebase=2020-04-01``: the registry drives
everything shown; an unknown id gets a "page not found" message listing the indicators. The
URL is kept in step with the controls as on the overview (see :mod:`layouts.pages.overview`).

The page leads with one sentence answering all three questions for the latest period
(:mod:`layouts.indicator_summary`), then the charts, and puts the long figures table last.

Two questions on top of the trend (METHODS.md): "Is it really changing, and will we hit the
target?" — an SPC chart (XmR, or a p-chart for counted proportions with varying denominators)
with its assurance reading and, labelled as the board-pack rule, RAG; the user may mark a
rebase point (``rebase=YYYY-MM-DD``, the first period of the new process). "How do we
compare?" — a funnel plot, a ranking with bootstrap rank intervals and the area against its
most similar group and England & Wales. The trend, the SPC section and the comparison are
three callbacks, so that each stays fast and none waits for another. Every chart has its numbers one click away (a table and a CSV) and a
caption stating source, vintage, denominator, CI method and suppression.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import duckdb
import polars as pl
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from cjsdash.core.config import get_settings
from layouts import analysis_charts as ac
from layouts import analysis_components as ax
from layouts import charts
from layouts import components as cx
from layouts.context import get_context
from layouts.indicator_summary import summary_sentence
from layouts.inputs import BadCallbackInput, checked
from metrics import analysis, views
from metrics.registry import Indicator
from metrics.wording import CI_WORDS, POLARITY_WORDS

PREFIX = "indicator"
NO_REBASE = "none"
SPC_TABLE: tuple[ax.Column, ...] = (
    ("period_label", "Period", None), ("numerator", "Numerator", ax.count_text),
    ("denominator", "Denominator", ax.count_text),
)
SPC_CSV = ("indicator", "area_code", "period_label", "period_start", "period_end", "numerator",
           "denominator", "value", "suppressed", "chart", "centre", "lower_limit",
           "upper_limit", "lower_two_sigma", "upper_two_sigma", "trial", "segment", "baseline",
           "rules", "signal", "sigma_z", "target", "trajectory", "stretch")
COMPARE_CSV = ("indicator", "area_code", "area_name", "period_label", "period_start",
               "period_end", "numerator", "denominator", "value", "lower", "upper", "method",
               "suppressed", "national_value", "funnel_kind", "funnel_position",
               "funnel_position_unadjusted", "funnel_adjustment", "rank", "rank_lower",
               "rank_upper", "ranked", "rank_draws", "source", "vintage", "synthetic", "note")
MSG_CSV = ("role", "area_code", "area_name", "numerator", "denominator", "value",
           "display_value", "display_ci")
RANK_DRAWS = 2000
WHOLE_SERIES = "whole"
FIX_CHOICES = [{"label": "Whole series (Making Data Count's default)", "value": WHOLE_SERIES},
               *({"label": f"Fix at period {n}", "value": str(n)} for n in (12, 16, 20, 24))]
RANK_SEED = 0


def _title(indicator_id: str | None = None, **_: Any) -> str:
    try:
        return f"{get_context().registry.get(indicator_id or '').title} – cjsdash"
    except (KeyError, RuntimeError):
        return "Indicator not found – cjsdash"


dash.register_page(__name__, path_template="/indicator/<indicator_id>", title=_title,
                   name="Indicator", order=90)


def _not_found(indicator_id: str | None) -> html.Div:
    registry = get_context().registry
    groups = [html.Section([
        html.H2(theme_.title),
        html.Ul([html.Li(dcc.Link(f"{ind.title} ({ind.id})", href=f"/indicator/{ind.id}"))
                 for ind in members]),
    ]) for theme_, members in registry.by_theme()]
    return html.Div([
        html.H1("Page not found"),
        html.P([f"There is no indicator called ‘{indicator_id or ''}’. ",
                "These are the indicators:"], id=f"{PREFIX}-not-found"),
        *groups,
    ], className="cjs-page cjs-not-found")


def _definition(ind: Indicator) -> html.Section:
    theme_ = get_context().registry.theme(ind.theme)
    items: list[tuple[str, Any]] = [
        ("What it measures", ind.description),
        ("Numerator", ind.numerator.title),
        ("Denominator", ind.denominator.title if ind.denominator else (
            "population (per 1,000)" if ind.population_denominator else "none: a count")),
        ("Polarity", POLARITY_WORDS[ind.polarity]),
        ("Confidence interval", CI_WORDS[ind.ci_method] + (f" ({ind.ci_note})"
                                                          if ind.ci_note else "")),
        ("Theme", f"{theme_.title} ({ind.psa or theme_.psa})"),
        ("NPCC 2030 objective", ind.npcc_objective),
        ("National reference", ind.national_reference or "–"),
        ("Targets", "; ".join(f"{t.kind} {views.format_value(t.value, ind)} ({t.source})"
                              for t in ind.targets) or "no default target"),
        ("Source notes", ind.source_notes or "–"),
    ]
    return html.Section([
        html.H2("Definition", id=f"{PREFIX}-definition-heading"),
        html.Dl([part for term, text in items for part in (html.Dt(term), html.Dd(text))],
                className="cjs-definition"),
    ], **{"aria-labelledby": f"{PREFIX}-definition-heading"})


def _rebase_options(area_rows: pl.DataFrame) -> list[dict[str, str]]:
    """'No rebase', then every period but the first (a rebase starts a new segment)."""
    rows = analysis.headline_rows(area_rows)
    options = [{"label": "No rebase", "value": NO_REBASE}]
    if rows.height > 1:
        options += [{"label": f"From {label}", "value": start.isoformat()}
                    for start, label in rows.select("period_start", "period_label")
                    .rows()[1:]]
    return options


def pick_rebase(rebase: str | None, area_rows: pl.DataFrame) -> str:
    """The rebase option for ``rebase`` (a date): itself if a period starts on it, else the
    first period starting after it (another grain), else no rebase."""
    if not rebase or rebase == NO_REBASE:
        return NO_REBASE
    try:
        when = date.fromisoformat(rebase)
    except ValueError:
        return NO_REBASE
    rows = analysis.headline_rows(area_rows)
    starts = rows["period_start"].to_list()[1:] if rows.height else []
    return next((s.isoformat() for s in starts if s >= when), NO_REBASE)


def _controls(ind: Indicator, areas: list[views.AreaChoice], area: str, grain: str,
              by: str | None, rebase_options: list[dict[str, str]], rebase: str,
              fix: int | None = None) -> html.Div:
    controls: list[Any] = [cx.area_dropdown(PREFIX, areas, area), cx.grain_radio(PREFIX, grain)]
    if "ethnicity" in ind.breakdowns:
        controls.append(html.Fieldset([
            html.Legend("Breakdown", className="cjs-label"),
            dcc.RadioItems(id=f"{PREFIX}-by", value=by or "", inline=True,
                           options=[{"label": "All people", "value": ""},
                                    {"label": "By ethnicity", "value": "ethnicity"}],
                           className="cjs-radios"),
        ], className="cjs-field cjs-field-by"))
    else:
        controls.append(dcc.Input(id=f"{PREFIX}-by", type="hidden", value=""))
    controls.append(ax.rebase_dropdown(PREFIX, rebase_options, rebase))
    controls.append(ax.fix_dropdown(PREFIX, FIX_CHOICES, WHOLE_SERIES if fix is None
                                    else str(fix)))
    return html.Div(controls, className="cjs-controls", role="group",
                    **{"aria-label": "Choose what to show"})


def figures(ind: Indicator, area: str, grain: str, by: str | None) -> pl.DataFrame:
    """The rows the table and the CSV show: this area only (and its groups when ``by``)."""
    ctx = get_context()
    frame = views.series(ctx.reader(), ctx.registry, ind.id, [area], grain=grain, by=by or None)
    return frame.filter(pl.col("area_code") == area) if frame.height else frame


# --- SPC ------------------------------------------------------------------------------------------

def spc_rows(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str, area_rows: pl.DataFrame,
             rebase: str, fix_after: int | None = None) -> pl.DataFrame:
    """The SPC frame for the area's headline series, with trajectory and stretch targets;
    limits from the whole series (MDC's default) unless fixed at ``fix_after`` periods."""
    marks = [] if rebase == NO_REBASE else [rebase]
    frame = analysis.spc_frame(area_rows, ind, rebase_at=marks, fix_after=fix_after)
    return analysis.trajectory_targets(con, ind, area, frame).with_columns(
        pl.lit(ind.id).alias("indicator"))


def _rag(frame: pl.DataFrame, ind: Indicator) -> analysis.Reading:
    shown = frame.filter(pl.col("value").is_not_null())
    if shown.height == 0:
        return analysis.rag_for(None, None, ind)
    last = shown.row(-1, named=True)
    target = last.get("trajectory") if last.get("trajectory") is not None else last["target"]
    reading = analysis.rag_for(last["value"], target, ind)
    return analysis.Reading(reading.code, reading.label,
                            f"{last['period_label']}. {reading.text}")


def _spc_section(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str, name: str,
                 area_rows: pl.DataFrame, grain: str, rebase: str, by: str | None,
                 fix_after: int | None = None) -> list[Any]:
    heading = html.H2("Is it really changing? Statistical process control",
                      id=f"{PREFIX}-spc-heading")
    if grain == "r12":
        return [heading, html.P(
            "SPC is not drawn for rolling 12-month totals: each point shares 11 months with "
            "the one before, so runs and trends would appear by construction. Choose month, "
            "quarter or financial year.", id=f"{PREFIX}-spc-note")]
    frame = spc_rows(con, ind, area, area_rows, rebase, fix_after)
    target = analysis.latest_target(frame)
    assurance = analysis.assurance_for(
        frame, ind, target if target is not None else analysis.latest_target(frame,
                                                                             "trajectory"))
    rag = _rag(frame, ind)
    note = (analysis.chart_note(frame)
            + (" Every point sets the limits (shaded; Making Data Count's default)"
               if fix_after is None else
               f" The limits are fixed on the first {fix_after} periods (shaded)")
            + "; with fewer than 12 points, they are trial limits. "
            + ("Rebased from the period you marked. " if rebase != NO_REBASE else "")
            + ("SPC is for all people, not by group. " if by else ""))
    settings = get_settings()
    caption = ax.caption_parts(
        ind, [analysis.headline_rows(area_rows)],
        suppression_threshold=settings.suppression_threshold,
        extra="Process limits are not confidence intervals: they show the range the process "
              "produces by common-cause variation.")
    signals = frame.filter(pl.col("signal").is_in(["improvement", "concern", "neutral"]))
    description = (f"SPC chart of {ind.title} for {name}: {frame.height} periods; "
                   f"{signals.height} points show special cause variation. "
                   f"Assurance: {assurance.label}.")
    table = ax.table_block(f"{PREFIX}-spc-figures", frame, [
        *SPC_TABLE,
        ("value", "Value", ax.value_text(ind)),
        ("centre", "Centre line", ax.value_text(ind)),
        ("lower_limit", "Lower process limit", ax.value_text(ind)),
        ("upper_limit", "Upper process limit", ax.value_text(ind)),
        ("trial", "Trial limits", None), ("baseline", "Baseline point", None),
        ("rules", "Special-cause rules", lambda v, _r: ", ".join(
            analysis.RULE_SHORT[c] for c in (v or "").split(",") if c)),
        ("signal", "Signal", lambda v, _r: analysis.SIGNAL_WORDS.get(v, "") if v else ""),
        ("target", "Target", lambda v, _r: "" if v is None else views.format_value(v, ind)),
    ], caption=f"{ind.title}: SPC figures for {name}")
    return [
        heading,
        html.P(note, id=f"{PREFIX}-spc-note"),
        ax.reading("SPC assurance", assurance.text, element_id=f"{PREFIX}-assurance",
                   code=assurance.code),
        ax.reading(analysis.RAG_LABEL, rag.text, element_id=f"{PREFIX}-rag", code=rag.code),
        ax.chart_block(f"{PREFIX}-spc-chart",
                       ac.make_spc_figure(frame, ind, area_name=name, trajectory=frame),
                       caption, description=description, wide=True),
        html.H3("The special-cause rules"),
        ax.rules_list(analysis.RULE_TEXT, analysis.RULE_SHORT),
        ax.figures_details(f"{PREFIX}-spc", "Show the SPC figures (table and CSV)", table),
    ]


# --- How do we compare? -------------------------------------------------------------------------

def _compare_frame(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str, grain: str
                   ) -> tuple[pl.DataFrame, str]:
    kind = analysis.comparison_kind(con, area)
    frame = analysis.compare_areas(con, get_context().registry, ind.id, None, grain, kind=kind,
                                   seed=RANK_SEED, draws=RANK_DRAWS)
    return frame, kind


def _compare_caption(ind: Indicator, frame: pl.DataFrame, what: str) -> list[Any]:
    return ax.caption_parts(ind, [frame],
                            suppression_threshold=get_settings().suppression_threshold,
                            extra=what)


def _position_words(position: str) -> str:
    if position == "within":
        return "within the 95% limits around England and Wales (no evidence of a difference)"
    if position.startswith(("above", "below")):
        side, level = position.split(" ", 1)
        return f"{side} the {level} funnel limit around England and Wales"
    return position


def _funnel_block(ind: Indicator, frame: pl.DataFrame, area: str, name: str,
                  kind_words: str) -> list[Any]:
    mine = frame.filter(pl.col("area_code") == area)
    where = (f"{name}: {_position_words(mine['funnel_position'][0])}."
             if mine.height and analysis.funnel_kind(ind) else "")
    if analysis.overdispersed(frame):
        where += (" The areas differ by more than chance alone (overdispersion), so the "
                  "funnel shows " + frame["funnel_adjustment"][0] + "; positions are read "
                  "against those limits. Against the unadjusted limits, "
                  f"{frame['funnel_position_unadjusted'].str.contains('99.8').sum()} of "
                  f"{frame.filter(pl.col('value').is_not_null()).height} areas would lie "
                  "outside 99.8%.")
    table = ax.table_block(f"{PREFIX}-funnel-figures", frame, [
        ("area_name", "Area", None), ("numerator", "Numerator", ax.count_text),
        ("denominator", "Denominator", ax.count_text), ("value", "Value", ax.value_text(ind)),
        ("lower", "95% CI lower", ax.value_text(ind)),
        ("upper", "95% CI upper", ax.value_text(ind)),
        ("funnel_position", "Funnel position", None),
    ], caption=f"{ind.title}: every area's figure and funnel position")
    return [
        html.H3("Funnel plot"),
        html.P(where, id=f"{PREFIX}-funnel-position"),
        ax.chart_block(
            f"{PREFIX}-funnel-chart", ac.make_funnel_figure(frame, ind, area,
                                                            kind_words=kind_words),
            _compare_caption(ind, frame, "Funnel limits: 95% and 99.8% limits around the "
                             "England and Wales value where an area's own confidence interval "
                             "(Wilson for proportions, exact Poisson for rates) just excludes "
                             "it, as PHE's indicator methods draw them; widened for "
                             "overdispersion where the areas differ by more than chance "
                             "(Spiegelhalter 2005). An area outside 99.8% is special-cause "
                             "variation."),
            description=f"Funnel plot of {ind.title} for all {kind_words}. {where}"),
        ax.figures_details(f"{PREFIX}-funnel", "Show the funnel plot figures (table and CSV)",
                           table),
    ]


def _draws_used(frame: pl.DataFrame) -> int:
    used = frame["rank_draws"].drop_nulls() if frame.height else frame
    return int(used.max()) if len(used) and used.max() else RANK_DRAWS


def _rank_block(ind: Indicator, frame: pl.DataFrame, area: str, name: str,
                kind_words: str) -> list[Any]:
    ordered = ac.rank_order(frame)
    mine = ordered.filter(pl.col("area_code") == area)
    where = (f"{name}: median rank {mine['rank'][0]:g} of {mine['ranked'][0]}, 95% rank "
             f"interval {mine['rank_lower'][0]:g} to {mine['rank_upper'][0]:g}."
             if mine.height else "")
    table = ax.table_block(f"{PREFIX}-rank-figures", ordered, [
        ("area_name", "Area", None), ("value", "Value", ax.value_text(ind)),
        ("rank", "Median rank", ax.rank_text),
        ("rank_lower", "95% rank interval from", ax.rank_text),
        ("rank_upper", "to", ax.rank_text),
    ], caption=f"{ind.title}: ranks with 95% rank intervals", empty="Not ranked.")
    return [
        html.H3("Ranking, with rank intervals"),
        html.P(where, id=f"{PREFIX}-rank-position"),
        ax.chart_block(
            f"{PREFIX}-rank-chart", ac.make_rank_figure(frame, ind, area,
                                                        kind_words=kind_words),
            _compare_caption(ind, frame, f"Rank intervals: parametric bootstrap of the counts "
                             f"({_draws_used(frame):,} draws, seed {RANK_SEED}: enough that "
                             "each rank end's Monte Carlo error is under half a rank); "
                             "median rank and 2.5th "
                             "to 97.5th percentiles. Overlapping intervals mean the order is "
                             "uncertain."),
            description=f"Ranking of {ind.title} for {kind_words} with 95% rank intervals. "
                        f"{where}"),
        ax.figures_details(f"{PREFIX}-rank", "Show the ranking figures (table and CSV)", table),
    ]


def _msg_block(ind: Indicator, msg: analysis.MsgComparison) -> list[Any]:
    group = msg.group
    members = ", ".join(msg.members["area_name"].to_list()) if msg.members.height else ""
    table = ax.table_block(f"{PREFIX}-msg-figures", msg.table(ind), [
        ("area_name", "Area or average", None), ("numerator", "Numerator", ax.count_text),
        ("denominator", "Denominator", ax.count_text), ("display_value", "Value", None),
        ("display_ci", "95% CI", None),
    ], caption=f"{ind.title}: {msg.area_name} against its most similar group and England "
               "and Wales")
    text = [html.P([html.Strong("Most similar group: "), group.label
                    + (f": {members}." if members else ".")], id=f"{PREFIX}-msg-group")]
    text += [html.P(f"{msg.area_name} is {msg.vs_msg.text}.", id=f"{PREFIX}-msg-position")
             if group.members else None,
             html.P(f"{msg.area_name} is {msg.vs_national.text}.",
                    id=f"{PREFIX}-national-position")]
    text += [html.P(n, className="cjs-hint") for n in msg.notes]
    return [
        html.H3("Against its most similar group and England and Wales"),
        *[t for t in text if t is not None],
        html.P(f"Two averages, labelled: the {analysis.SIMPLE_LABEL} (HMIC comparator "
               f"convention) and the {analysis.WEIGHTED_LABEL} (HMICFRS value-for-money "
               "convention). Positions are tested by whether 95% confidence intervals "
               "overlap; the weighted average's interval is that of the pooled counts.",
               className="cjs-hint"),
        table,
        cx.download_button(f"{PREFIX}-msg", "Download the comparison (CSV)"),
    ]


def compare_section(ind: Indicator, area: str, grain: str) -> list[Any]:
    """'How do we compare?': funnel, ranking and MSG, for the latest period."""
    ctx = get_context()
    con = ctx.reader()
    frame, kind = _compare_frame(con, ind, area, grain)
    choice = cx.pick_area(views.list_areas(con), area)
    name = cx.area_label(choice)
    kind_words = analysis.KIND_WORDS[kind]
    heading = html.H2("How do we compare?", id=f"{PREFIX}-compare-heading")
    if frame.height == 0:
        return [heading, html.P("No figures to compare at this grain.")]
    national = frame["national_value"][0]
    shown = frame.filter(pl.col("value").is_not_null()).height
    lead = (f"{frame['period_label'][0]}: {shown} of the {frame.height} {kind_words} have a "
            f"figure; England and Wales {views.format_value(national, ind)}.")
    if choice.kind not in analysis.COMPARABLE_KINDS:
        lead += f" {name} is not one of them, so none is highlighted."
    msg = analysis.msg_comparison(con, ctx.registry, ind.id, choice.code, None, grain,
                                  compare=frame)
    return [
        heading,
        html.P(lead, id=f"{PREFIX}-compare-lead"),
        *_funnel_block(ind, frame, choice.code, name, kind_words),
        *_rank_block(ind, frame, choice.code, name, kind_words),
        *_msg_block(ind, msg),
    ]


# --- the page -----------------------------------------------------------------------------------

def render(ind: Indicator, area: str, grain: str, by: str | None
           ) -> tuple[list[Any], list[Any], list[Any]]:
    """(content: the lead sentence and the trend, its figures table (shown last, after the
    SPC and comparison sections), tail: definition and footer)."""
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    name = cx.area_label(choice)
    codes = [choice.code] if choice.code == views.NATIONAL else [choice.code, views.NATIONAL]
    both = views.series(con, ctx.registry, ind.id, codes, grain=grain)
    area_rows = both.filter(pl.col("area_code") == choice.code) if both.height else both
    national = (both.filter(pl.col("area_code") == views.NATIONAL)
                if both.height and choice.code != views.NATIONAL else None)
    if by:
        table = figures(ind, choice.code, grain, by)
        figure = charts.make_breakdown_figure(table, ind, area_name=name, by=by)
    else:
        table = area_rows
        figure = charts.make_trend_figure(area_rows, national, ind, area_name=name)
    caption = f"{ind.title}: figures for {name}" + (f" by {by}" if by else "")
    content = [
        html.P(summary_sentence(ind, name, area_rows, national,
                                is_national=choice.code == views.NATIONAL),
               id=f"{PREFIX}-summary", className="cjs-lead cjs-verdict"),
        cx.synthetic_banner(cx.any_synthetic(table, national)),
        html.Figure([
            dcc.Graph(id=f"{PREFIX}-chart", figure=figure, responsive=True,
                      config={"displaylogo": False, "responsive": True}),
            html.Figcaption(charts.describe_series(area_rows, ind)
                            if not by else f"{ind.title} for {name}, one line per group.",
                            className="cjs-visually-hidden"),
        ], className="cjs-chart"),
    ]
    figures_part = [
        html.H2("Figures", id=f"{PREFIX}-figures-heading"),
        cx.download_button(PREFIX),
        cx.figures_table(PREFIX, table, ind, caption=caption),
    ]
    tail = [_definition(ind), cx.footer(cx.vintages(table, national))]
    return content, figures_part, tail


def pick_fix(fix: str | int | None) -> int | None:
    """The 'fix the limits at period N' choice: a whole number of periods >= 2, else None
    (the whole series)."""
    try:
        n = int(fix) if fix not in (None, "", WHOLE_SERIES) else None
    except (TypeError, ValueError):
        return None
    return n if n is not None and n >= 2 else None


def render_spc(ind: Indicator, area: str, grain: str, by: str | None, rebase: str | None,
               fix: str | int | None = None) -> tuple[list[Any], list[dict[str, str]], str]:
    """(the SPC section, rebase options, rebase value) — a callback of its own."""
    ctx = get_context()
    con = ctx.reader()
    choice = cx.pick_area(views.list_areas(con), area)
    area_rows = analysis.area_series(con, ctx.registry, ind.id, choice.code, grain)
    rebase_value = pick_rebase(rebase, area_rows)
    section = _spc_section(con, ind, choice.code, cx.area_label(choice), area_rows, grain,
                           rebase_value, by, pick_fix(fix))
    return section, _rebase_options(area_rows), rebase_value


def layout(indicator_id: str | None = None, area: str | None = None,
           grain: str | None = None, by: str | None = None, rebase: str | None = None,
           fix: str | None = None, **_other: Any) -> html.Div:
    ctx = get_context()
    try:
        ind = ctx.registry.get(indicator_id or "")
    except KeyError:
        return _not_found(indicator_id)
    areas = views.list_areas(ctx.reader())
    area_code = cx.pick_area(areas, area).code
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    content, figures_part, tail = render(ind, area_code, grain, by)
    spc_section, options, rebase_value = render_spc(ind, area_code, grain, by, rebase, fix)
    return html.Div([
        dcc.Location(id=f"{PREFIX}-url", refresh=False),
        dcc.Store(id=f"{PREFIX}-id", data=ind.id),
        html.P([
            dcc.Link("← Overview", href="/" + cx.query_string(
                area=None if area_code == views.NATIONAL else area_code,
                grain=None if grain == "quarter" else grain)),
            html.Span([" · ", dcc.Link("Baseline for this area", href=f"/baseline/{area_code}",
                                        id=f"{PREFIX}-baseline-link")],
                      id=f"{PREFIX}-baseline", hidden=area_code == views.NATIONAL),
        ], className="cjs-back"),
        html.H1(ind.title),
        html.P(ind.description, className="cjs-lead"),
        _controls(ind, areas, area_code, grain, by, options, rebase_value, pick_fix(fix)),
        dcc.Loading(html.Div(content, id=f"{PREFIX}-content"), delay_show=400, type="dot"),
        dcc.Loading(html.Section(spc_section, id=f"{PREFIX}-spc",
                                 **{"aria-labelledby": f"{PREFIX}-spc-heading"}),
                    delay_show=400, type="dot"),
        dcc.Loading(html.Section([
            html.H2("How do we compare?", id=f"{PREFIX}-compare-heading"),
            html.P("Comparing every area…", className="cjs-hint"),
        ], id=f"{PREFIX}-compare", **{"aria-labelledby": f"{PREFIX}-compare-heading"}),
            delay_show=400, type="dot"),
        html.Section(figures_part, id=f"{PREFIX}-figures-section",
                     **{"aria-labelledby": f"{PREFIX}-figures-heading"}),
        html.Div(tail, id=f"{PREFIX}-tail"),
    ], className="cjs-page cjs-indicator")


def _search(area: str, grain: str, by: str | None, rebase: str, fix: int | None = None
            ) -> str:
    return cx.query_string(area=None if area == views.NATIONAL else area,
                           grain=None if grain == "quarter" else grain, by=by,
                           rebase=None if rebase == NO_REBASE else rebase,
                           fix=None if fix is None else str(fix))


def _indicator(indicator_id: str | None) -> Indicator:
    """The page's indicator; :class:`BadCallbackInput` for an id the registry does not hold."""
    try:
        return get_context().registry.get(indicator_id or "")
    except KeyError:
        raise BadCallbackInput(f"there is no indicator '{str(indicator_id)[:60]}'") from None


@callback(
    Output(f"{PREFIX}-content", "children"),
    Output(f"{PREFIX}-figures-section", "children"),
    Output(f"{PREFIX}-tail", "children"),
    Output(f"{PREFIX}-baseline-link", "href"),
    Output(f"{PREFIX}-baseline", "hidden"),  # England and Wales has no baseline of its own
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def update(area: str, grain: str, by: str | None, indicator_id: str) -> tuple[Any, ...]:
    """Controls → the lead sentence, the trend and its figures."""
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    content, figures_part, tail = render(ind, area, grain, by)
    return content, figures_part, tail, f"/baseline/{area}", area == views.NATIONAL


@callback(
    Output(f"{PREFIX}-spc", "children"),
    Output(f"{PREFIX}-url", "search"),
    Output(f"{PREFIX}-rebase", "options"),
    Output(f"{PREFIX}-rebase", "value"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    Input(f"{PREFIX}-by", "value"),
    Input(f"{PREFIX}-rebase", "value"),
    Input(f"{PREFIX}-fix", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def update_spc(area: str, grain: str, by: str | None, rebase: str | None, fix: str | None,
               indicator_id: str) -> tuple[Any, ...]:
    """Controls → SPC and the URL. ``rebase`` is input and output (no loop in Dash)."""
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    section, options, rebase_value = render_spc(ind, area, grain, by, rebase, fix)
    return (section, _search(area, grain, by, rebase_value, pick_fix(fix)), options,
            rebase_value)


@callback(
    Output(f"{PREFIX}-compare", "children"),
    Input(f"{PREFIX}-area", "value"),
    Input(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-id", "data"),
)
@checked
def update_compare(area: str, grain: str, indicator_id: str) -> list[Any]:
    """Controls → 'How do we compare?'. Its own callback, run on load too, so the page
    appears without waiting for every area to be compared."""
    ind = _indicator(indicator_id)
    return compare_section(ind, area, cx.pick_grain(grain))


@callback(
    Output(f"{PREFIX}-download", "data"),
    Input(f"{PREFIX}-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def download(n_clicks: int, area: str, grain: str, by: str | None, indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    by = by if by in ind.breakdowns else None
    frame = figures(ind, area, grain, by)
    name = f"{ind.id}_{area}_{grain}" + (f"_by_{by}" if by else "") + ".csv"
    return {"content": cx.figures_csv(frame), "filename": name, "type": "text/csv"}


@callback(
    Output(f"{PREFIX}-spc-download", "data"),
    Input(f"{PREFIX}-spc-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-rebase", "value"),
    State(f"{PREFIX}-fix", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def download_spc(n_clicks: int, area: str, grain: str, rebase: str | None, fix: str | None,
                 indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    area_rows = analysis.area_series(ctx.reader(), ctx.registry, ind.id, area, grain)
    frame = spc_rows(ctx.reader(), ind, area, area_rows, pick_rebase(rebase, area_rows),
                     pick_fix(fix))
    return {"content": ax.frame_csv(frame, SPC_CSV), "type": "text/csv",
            "filename": f"{ind.id}_{area}_{grain}_spc.csv"}


def _compare_download(n_clicks: int, area: str, grain: str, indicator_id: str, what: str
                      ) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    frame, _ = _compare_frame(ctx.reader(), ind, area, grain)
    if what == "rank":
        frame = ac.rank_order(frame)
    return {"content": ax.frame_csv(frame, COMPARE_CSV), "type": "text/csv",
            "filename": f"{ind.id}_{grain}_{what}.csv"}


def _register_compare_download(what: str) -> None:
    """The funnel's and the ranking's CSV buttons: the same callback, one per chart."""

    @callback(
        Output(f"{PREFIX}-{what}-download", "data"),
        Input(f"{PREFIX}-{what}-download-button", "n_clicks"),
        State(f"{PREFIX}-area", "value"),
        State(f"{PREFIX}-grain", "value"),
        State(f"{PREFIX}-id", "data"),
        prevent_initial_call=True,
    )
    @checked
    def download(n_clicks: int, area: str, grain: str, indicator_id: str) -> dict:
        return _compare_download(n_clicks, area, grain, indicator_id, what)


for _chart in ("funnel", "rank"):
    _register_compare_download(_chart)


@callback(
    Output(f"{PREFIX}-msg-download", "data"),
    Input(f"{PREFIX}-msg-download-button", "n_clicks"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-id", "data"),
    prevent_initial_call=True,
)
@checked
def download_msg(n_clicks: int, area: str, grain: str, indicator_id: str) -> dict:
    if not n_clicks:
        raise PreventUpdate
    ctx = get_context()
    ind = _indicator(indicator_id)
    grain = cx.pick_grain(grain)
    frame, _ = _compare_frame(ctx.reader(), ind, area, grain)
    msg = analysis.msg_comparison(ctx.reader(), ctx.registry, ind.id, area, None, grain,
                                  compare=frame)
    table = msg.table(ind).with_columns(pl.lit(msg.group.label).alias("group"))
    return {"content": ax.frame_csv(table, (*MSG_CSV, "group")), "type": "text/csv",
            "filename": f"{ind.id}_{area}_{grain}_msg.csv"}


clientside_callback(
    cx.url_to_controls_js({"area": views.NATIONAL, "grain": "quarter", "by": "",
                           "rebase": NO_REBASE, "fix": WHOLE_SERIES}),
    Output(f"{PREFIX}-area", "value", allow_duplicate=True),
    Output(f"{PREFIX}-grain", "value", allow_duplicate=True),
    Output(f"{PREFIX}-by", "value", allow_duplicate=True),
    Output(f"{PREFIX}-rebase", "value", allow_duplicate=True),
    Output(f"{PREFIX}-fix", "value", allow_duplicate=True),
    Input(f"{PREFIX}-url", "search"),
    State(f"{PREFIX}-area", "value"),
    State(f"{PREFIX}-grain", "value"),
    State(f"{PREFIX}-by", "value"),
    State(f"{PREFIX}-rebase", "value"),
    State(f"{PREFIX}-fix", "value"),
    prevent_initial_call=True,
)

