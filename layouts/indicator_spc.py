"""'Is it really changing?': the indicator page's SPC section — the SPC frame with its
targets, the assurance and RAG readings, the chart, the rules and the figures table."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
from dash import html

from cjsdash.core.config import get_settings
from layouts import analysis_components as ax
from layouts import spc_chart
from layouts.indicator_controls import NO_REBASE, PREFIX
from metrics import analysis, views
from metrics.registry import Indicator

SPC_TABLE: tuple[ax.Column, ...] = (
    ("period_label", "Period", None), ("numerator", "Numerator", ax.count_text),
    ("denominator", "Denominator", ax.count_text),
)
SPC_CSV = ("indicator", "area_code", "period_label", "period_start", "period_end", "numerator",
           "denominator", "value", "suppressed", "chart", "centre", "lower_limit",
           "upper_limit", "lower_two_sigma", "upper_two_sigma", "trial", "segment", "baseline",
           "rules", "signal", "sigma_z", "target", "trajectory", "stretch")


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


def spc_section(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str, name: str,
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
                       spc_chart.make_spc_figure(frame, ind, area_name=name,
                                                 trajectory=frame),
                       caption, description=description, wide=True),
        html.H3("The special-cause rules"),
        ax.rules_list(analysis.RULE_TEXT, analysis.RULE_SHORT),
        ax.figures_details(f"{PREFIX}-spc", "Show the SPC figures (table and CSV)", table),
    ]
