"""'How do we compare?': the indicator page's funnel, ranking and most-similar-group blocks,
assembled from the comparison frames already read."""

from __future__ import annotations

from typing import Any

import polars as pl
from dash import html

from cjsdash.core.config import get_settings
from layouts import analysis_components as ax
from layouts import comparison_charts as cc
from layouts import components as cx
from layouts.indicator_controls import PREFIX
from metrics import analysis, views
from metrics.registry import Indicator

COMPARE_CSV = ("indicator", "area_code", "area_name", "period_label", "period_start",
               "period_end", "numerator", "denominator", "value", "lower", "upper", "method",
               "suppressed", "national_value", "funnel_kind", "funnel_position",
               "funnel_position_unadjusted", "funnel_adjustment", "rank", "rank_lower",
               "rank_upper", "ranked", "rank_draws", "source", "vintage", "synthetic", "note")
MSG_CSV = ("role", "area_code", "area_name", "numerator", "denominator", "value",
           "display_value", "display_ci")
RANK_DRAWS = 2000
RANK_SEED = 0


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


def funnel_block(ind: Indicator, frame: pl.DataFrame, area: str, name: str,
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
            f"{PREFIX}-funnel-chart", cc.make_funnel_figure(frame, ind, area,
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


def rank_block(ind: Indicator, frame: pl.DataFrame, area: str, name: str,
                kind_words: str) -> list[Any]:
    ordered = cc.rank_order(frame)
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
            f"{PREFIX}-rank-chart", cc.make_rank_figure(frame, ind, area,
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


def msg_block(ind: Indicator, msg: analysis.MsgComparison) -> list[Any]:
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


def compare_blocks(ind: Indicator, frame: pl.DataFrame, kind: str, choice: views.AreaChoice,
                   msg: analysis.MsgComparison | None) -> list[Any]:
    """'How do we compare?' for the comparison already read: the lead, then the funnel,
    ranking and MSG blocks (``msg`` is None when no area has a figure at this grain)."""
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
    return [
        heading,
        html.P(lead, id=f"{PREFIX}-compare-lead"),
        *funnel_block(ind, frame, choice.code, name, kind_words),
        *rank_block(ind, frame, choice.code, name, kind_words),
        *(msg_block(ind, msg) if msg is not None else []),
    ]
