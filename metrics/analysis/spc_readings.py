"""SPC readings for one area's series (METHODS.md: SPC, assurance, RAG): the chart chosen
(XmR, p or Laney p′), its lines, the Making Data Count special causes and signals per period,
the assurance against a target and the board-pack RAG, always labelled as such."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.config import get_settings
from metrics import cache
from metrics.analysis.areas import NATIONAL, bool_column, float_column, headline_rows, is_missing
from metrics.registry import Indicator
from metrics.statistics import spc_assurance, spc_limits, spc_rules, spc_signals, targets
from metrics.views import format_value

XMR, P_CHART, LANEY = "xmr", "p", "p_prime"
PROPORTION_CHARTS = (P_CHART, LANEY)
CHART_NAMES = {XMR: "XmR chart (individuals)", P_CHART: "p-chart",
               LANEY: "Laney p′ chart (p-chart adjusted for overdispersion)"}
CHART_NOTES = {
    XMR: ("XmR (individuals) chart: centre line the mean of the points that set the limits "
          "(every point of the segment unless the limits are fixed); process limits the mean "
          "± 2.66 × the mean moving range (moving ranges of 3.267 × the mean or more left "
          "out, none taken across a missing or suppressed period)."),
    P_CHART: ("p-chart: a proportion of counted cases whose denominator varies from period to "
              "period, so the limits p̄ ± 3·√(p̄(1 − p̄)/n) widen where n is small. Chosen "
              "because the periods vary no more than sampling alone would make them (σz ≤ 1)."),
    LANEY: ("Laney p′ chart: the denominators are so large that sampling alone would make the "
            "periods almost identical, yet they vary more than that (σz > 1), so the p-chart's "
            "limits p̄ ± 3·√(p̄(1 − p̄)/n) are widened by σz, the periods' own variation "
            "measured as an XmR chart measures it. A p-chart would flag ordinary variation."),
}
RULE_TEXT: dict[str, str] = {
    spc_rules.OUTSIDE: "a point outside the process limits",
    spc_rules.SHIFT: f"{spc_rules.RUN_LENGTH} or more points in a row on one side of the mean",
    spc_rules.TREND: f"{spc_rules.TREND_LENGTH} or more points in a row, each higher "
                     "(or each lower) than the one before",
    spc_rules.TWO_OF_THREE: "2 of 3 points in a row beyond two-thirds of the way to a process "
                            "limit, on the same side",
}
RULE_SHORT = {spc_rules.OUTSIDE: "outside the limits", spc_rules.SHIFT: "shift",
              spc_rules.TREND: "trend", spc_rules.TWO_OF_THREE: "2 of 3 near a limit"}
SIGNAL_WORDS = {
    spc_signals.IMPROVEMENT: "special cause: improvement",
    spc_signals.CONCERN: "special cause: concern",
    spc_signals.NEUTRAL_SIGNAL: "special cause (neither better nor worse)",
    spc_signals.COMMON: "common cause variation",
}
ASSURANCE_WORDS = {
    spc_assurance.CONSISTENTLY_PASSES:
        "The target lies beyond the process limits on the good side: "
        "the process will consistently meet it unless something changes.",
    spc_assurance.CONSISTENTLY_FAILS:
        "The target lies beyond the process limits on the wrong side: "
        "the process will not meet it unless something changes.",
    spc_assurance.INCONSISTENT:
        "The target lies within the process limits: the process will meet it "
        "in some periods and miss it in others, by common-cause variation alone.",
    spc_assurance.NO_TARGET: "There is no target for this indicator and area.",
    spc_assurance.NOT_ASSESSED: "Not assessed: a neutral indicator, or too few points for limits.",
}
RAG_LABEL = "RAG (board-pack rule)"


SPC_COLUMNS: tuple[str, ...] = (
    "area_code", "period_start", "period_end", "period_label", "numerator", "denominator",
    "value", "suppressed", "target", "chart", "centre", "lower_limit", "upper_limit",
    "lower_two_sigma", "upper_two_sigma", "lower_one_sigma", "upper_one_sigma", "trial",
    "segment", "baseline", "rules", "signal", "sigma_z",
)
SPC_SCHEMA: dict[str, Any] = {
    "area_code": pl.String, "period_start": pl.Date, "period_end": pl.Date,
    "period_label": pl.String, "numerator": pl.Float64, "denominator": pl.Float64,
    "value": pl.Float64, "suppressed": pl.Boolean, "target": pl.Float64, "chart": pl.String,
    **{c: pl.Float64 for c in SPC_COLUMNS[10:17]}, "trial": pl.Boolean, "segment": pl.Int64,
    "baseline": pl.Boolean, "rules": pl.String, "signal": pl.String, "sigma_z": pl.Float64,
}


def p_chart_applies(ind: Indicator) -> bool:
    """A p-chart needs counted cases out of counted cases (Wilson proportions), not money."""
    return ind.type == "proportion" and ind.ci_method == "wilson" and ind.denominator is not None


def chart_type(frame: pl.DataFrame, ind: Indicator, chart: str = "auto") -> str:
    """``'p'`` (to be read as p or Laney p′ by :func:`_spc_parts`) for a counted proportion
    whose denominators vary; else ``'xmr'``. ``chart`` forces ``'xmr'``, ``'p'`` or
    ``'p_prime'``."""
    if chart == XMR:
        return XMR
    if chart in PROPORTION_CHARTS:
        if not p_chart_applies(ind):
            raise ValueError(f"a p-chart needs a counted proportion; {ind.id} is a {ind.type}")
        return chart
    if chart != "auto":
        raise ValueError(f"chart must be 'auto', 'xmr', 'p' or 'p_prime', got {chart!r}")
    if not p_chart_applies(ind) or frame.height == 0:
        return XMR
    n = float_column(frame, "denominator")
    n = n[np.isfinite(n) & (n > 0)]
    return P_CHART if n.size >= 2 and np.unique(n).size > 1 else XMR


def rebase_indices(starts: Sequence[date], rebase_at: Sequence[date | str | int]) -> list[int]:
    """Indices where a new segment starts: a date (or ``YYYY-MM-DD``) marks the first period
    starting on or after it; an int is an index. Points outside ``1..len-1`` are ignored."""
    out: set[int] = set()
    for mark in rebase_at:
        if isinstance(mark, bool):
            continue
        if isinstance(mark, int):
            index = mark
        else:
            when = date.fromisoformat(mark) if isinstance(mark, str) else mark
            index = next((i for i, s in enumerate(starts) if s >= when), len(starts))
        if 0 < index < len(starts):
            out.add(index)
    return sorted(out)


# --- SPC -----------------------------------------------------------------------------------------

def _limit_setting_flags(finite: np.ndarray, segment: np.ndarray, fix_after: int | None
                         ) -> np.ndarray:
    """The points that set their segment's limits: all with a figure, or those among the
    segment's first ``fix_after`` periods."""
    flags = np.zeros(finite.size, dtype=bool)
    for seg in np.unique(segment):
        idx = np.flatnonzero(segment == seg)
        idx = idx if fix_after is None else idx[:fix_after]
        flags[idx] = finite[idx]
    return flags


def spc_frame(series_frame: pl.DataFrame, ind: Indicator, *,
              rebase_at: Sequence[date | str | int] = (), chart: str = "auto",
              fix_after: int | None = None) -> pl.DataFrame:
    """SPC lines for one area's series (the frame of :func:`metrics.views.series`).

    One row per period (``breakdown`` '' only), columns :data:`SPC_COLUMNS`: the value, the
    centre line, process limits, one- and two-sigma lines in the value's own scale (a
    proportion chart's are ×``ind.multiplier``, e.g. percent), ``chart`` (``'xmr'``, ``'p'``
    or ``'p_prime'``, see :data:`CHART_NOTES` for why), ``sigma_z`` (Laney's factor; 1 for a
    p-chart), ``trial`` (fewer than 12 points with a figure in the segment), ``baseline``
    (the point sets its segment's limits: every point by default, as Making Data Count
    does, or the first ``fix_after`` periods of each segment), ``rules`` (the special-cause
    codes, comma-separated) and ``signal`` (improvement / concern / neutral / common, by the
    indicator's polarity and MDC's precedence). Suppressed or missing periods take no part,
    break runs and moving ranges, and never signal. ``rebase_at``: dates (or indices) where
    the user marked a known change; limits are never rebased automatically.
    """
    rows = headline_rows(series_frame)
    if rows.height == 0:
        return pl.DataFrame(schema=SPC_SCHEMA)
    kind, limits, scale, y, codes, signal, suppressed, value = _spc_parts(
        rows, ind, rebase_at=rebase_at, chart=chart, fix_after=fix_after)
    finite = np.isfinite(y)
    target = float_column(rows, "target") if "target" in rows.columns else np.full(rows.height,
                                                                             np.nan)
    columns: dict[str, Any] = {c: rows.get_column(c) for c in SPC_COLUMNS[:4]}
    columns |= {
        "numerator": float_column(rows, "numerator"), "denominator": float_column(rows, "denominator"),
        "value": value, "suppressed": suppressed, "target": target,
        "chart": [kind] * rows.height,
        "centre": limits.centre * scale, "lower_limit": limits.lower * scale,
        "upper_limit": limits.upper * scale,
        "lower_two_sigma": limits.lower_two_sigma * scale,
        "upper_two_sigma": limits.upper_two_sigma * scale,
        "lower_one_sigma": limits.lower_one_sigma * scale,
        "upper_one_sigma": limits.upper_one_sigma * scale,
        "trial": limits.trial, "segment": limits.segment,
        "baseline": _limit_setting_flags(finite, limits.segment, fix_after),
        "rules": [",".join(c) for c in codes],
        "signal": np.where(finite, signal, "").astype(str).tolist(),
        "sigma_z": (limits.sigma_z if limits.sigma_z is not None
                    else np.full(rows.height, np.nan)),
    }
    return pl.DataFrame(columns, schema=SPC_SCHEMA, nan_to_null=True)


def _proportion_limits(x: np.ndarray, n: np.ndarray, chart: str, fix_after: int | None,
                       cuts: list[int]) -> tuple[str, spc_limits.SpcLimits]:
    """Laney p′ where the periods are overdispersed (σz > 1 in the latest segment), else the
    p-chart; a forced ``chart`` ('p' or 'p_prime') is kept."""
    laney = spc_limits.laney_limits(x, n, fix_after=fix_after, rebase_at=cuts)
    if chart == "auto":
        latest = laney.sigma_z[-1] if laney.sigma_z is not None and laney.sigma_z.size else 0
        chart = LANEY if np.isfinite(latest) and latest > 1.0 else P_CHART
    if chart == LANEY:
        return LANEY, laney
    return P_CHART, spc_limits.p_chart_limits(x, n, fix_after=fix_after, rebase_at=cuts)


def _spc_parts(rows: pl.DataFrame, ind: Indicator, *, rebase_at: Sequence[date | str | int] = (),
               chart: str = "auto", fix_after: int | None = None) -> tuple[Any, ...]:
    """(chart, limits, scale, y, codes, signal, suppressed, value) for headline rows in period
    order: the statistics of :func:`spc_frame` without building its frame."""
    kind = chart_type(rows, ind, chart)
    suppressed = bool_column(rows, "suppressed")
    value = np.where(suppressed, np.nan, float_column(rows, "value"))
    cuts = rebase_indices(rows["period_start"].to_list(), rebase_at) if rebase_at else []
    if kind in PROPORTION_CHARTS:
        x = np.where(suppressed, np.nan, float_column(rows, "numerator"))
        n = np.where(suppressed, np.nan, float_column(rows, "denominator"))
        kind, limits = _proportion_limits(x, n, chart if chart != XMR else "auto", fix_after,
                                          cuts)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(n > 0, x / np.where(n > 0, n, 1.0), np.nan)
        scale = ind.multiplier
    else:
        limits = spc_limits.xmr_limits(value, fix_after=fix_after, rebase_at=cuts)
        y, scale = value, 1.0
    codes = spc_rules.special_causes(y, limits)
    signal = spc_signals.classify_signals(y, limits, codes, ind.polarity)
    return kind, limits, scale, y, codes, signal, suppressed, value


def chart_note(spc_rows: pl.DataFrame) -> str:
    """Which chart and why, for the page and the chart: :data:`CHART_NOTES`, with σz for a
    Laney p′ chart."""
    if spc_rows.height == 0:
        return ""
    kind = spc_rows["chart"][0]
    note = CHART_NOTES[kind]
    sz = spc_rows["sigma_z"].drop_nulls()
    if kind in PROPORTION_CHARTS and sz.len():
        note += f" Here σz = {float(sz[-1]):.2f}."
    return note


def latest_spc_reading(rows: pl.DataFrame, ind: Indicator, *, fix_after: int | None = None
                       ) -> tuple[str, str, str]:
    """(signal, rules, assurance) at the latest point with a figure, for headline rows in
    period order (as :func:`spc_frame` and :func:`assurance_for` would give)."""
    if rows.height == 0:
        return "", "", ""
    kind, limits, scale, y, codes, signal, _, _ = _spc_parts(rows, ind, fix_after=fix_after)
    known = np.flatnonzero(np.isfinite(y))
    if known.size == 0:
        return "", "", ""
    last = int(known[-1])
    rules = ", ".join(RULE_SHORT[c] for c in codes[last])
    target = latest_target(rows)
    reading = spc_assurance.assurance(None if target is None else target / scale, limits,
                                      ind.polarity)
    return str(signal[last]), rules, reading


def _limits_from_frame(frame: pl.DataFrame) -> spc_limits.SpcLimits:
    def col(name: str) -> np.ndarray:
        return float_column(frame, name)

    size = frame.height
    sigma = (col("upper_one_sigma") - col("centre")) if size else np.zeros(0)
    return spc_limits.SpcLimits(
        col("centre"), col("lower_limit"), col("upper_limit"), sigma, col("lower_one_sigma"),
        col("upper_one_sigma"), col("lower_two_sigma"), col("upper_two_sigma"),
        frame["trial"].to_numpy().astype(bool) if size else np.zeros(0, dtype=bool),
        frame["segment"].to_numpy().astype(np.int64) if size else np.zeros(0, dtype=np.int64),
    )


@dataclass(frozen=True)
class Reading:
    """A labelled reading for the page: the code, a short label and a sentence."""

    code: str
    label: str
    text: str


def latest_target(frame: pl.DataFrame, column: str = "target") -> float | None:
    if frame.height == 0 or column not in frame.columns:
        return None
    values = float_column(frame, column)
    known = values[np.isfinite(values)]
    return None if known.size == 0 else float(known[-1])


def assurance_for(spc_rows: pl.DataFrame, ind: Indicator, target: float | None = None
                  ) -> Reading:
    """SPC assurance of meeting ``target`` (default: the latest target in the frame) from the
    current segment's process limits (METHODS.md; Making Data Count)."""
    target = latest_target(spc_rows) if target is None else target
    if spc_rows.height == 0:
        return Reading(spc_assurance.NOT_ASSESSED, "not assessed", "No figures to assess.")
    code = spc_assurance.assurance(target, _limits_from_frame(spc_rows), ind.polarity)
    text = ASSURANCE_WORDS[code]
    last = spc_rows.row(-1, named=True)
    if code in (spc_assurance.CONSISTENTLY_PASSES, spc_assurance.CONSISTENTLY_FAILS,
                spc_assurance.INCONSISTENT):
        text = (f"Target {format_value(target, ind)}; current process limits "
                f"{format_value(last['lower_limit'], ind)} to "
                f"{format_value(last['upper_limit'], ind)}. " + text)
        if bool(last["trial"]):
            text += " The limits are trial limits (fewer than 12 points since the last rebase)."
    return Reading(code, code, text)


def rag_for(value: float | None, target: float | None, ind: Indicator, *,
            tolerance: float | None = None) -> Reading:
    """RAG by the board-pack rule (green met, amber within ``tolerance`` of the target, red
    otherwise); show it labelled :data:`RAG_LABEL`. A trajectory target is the one for the
    period."""
    tolerance = get_settings().rag_tolerance if tolerance is None else tolerance
    v = np.nan if is_missing(value) else float(value)  # type: ignore[arg-type]
    t = np.nan if is_missing(target) else float(target)  # type: ignore[arg-type]
    code = str(targets.rag_status(v, t, ind.polarity, tolerance=tolerance))
    if code == targets.RAG_NONE:
        why = ("a neutral indicator" if ind.polarity == targets.NEUTRAL
               else "no target" if np.isnan(t) else "no figure")
        return Reading(code, "no RAG", f"Not given ({why}).")
    words = {targets.RAG_GREEN: "target met",
             targets.RAG_AMBER: f"missed by no more than {tolerance:.0%} of the target",
             targets.RAG_RED: f"missed by more than {tolerance:.0%} of the target"}[code]
    return Reading(code, code.capitalize(),
                   f"{code.capitalize()}: {format_value(v, ind)} against "
                   f"{format_value(t, ind)} ({words}). RAG ignores chance variation; read it "
                   "with the SPC assurance.")


_TARGETS_AND_TWINS_SQL = """
SELECT t.indicator, t.area_code, t.period_start, t.period_end, t.value, t.kind, t.source,
       list(tw.area_code ORDER BY tw.area_code) FILTER (WHERE tw.area_code IS NOT NULL)
FROM core.targets AS t
LEFT JOIN core.area_twins AS tw ON tw.candidate_code = t.area_code
GROUP BY t.rowid, t.indicator, t.area_code, t.period_start, t.period_end, t.value, t.kind,
         t.source
ORDER BY t.rowid
"""


@dataclass(frozen=True)
class AreaTarget:
    """A target as :func:`metrics.sql.targets_sql` returns it for one indicator and area."""

    indicator: str
    area_code: str
    period_start: date | None
    period_end: date | None
    value: float | None
    kind: str
    source: str | None


def every_target(con: duckdb.DuckDBPyConnection) -> tuple[tuple[Any, ...], ...]:
    """Every target with the areas it holds for (its area's twins), read once per data
    version: what :func:`targets_at` picks from."""
    return cache.cached(con, ("targets-and-twins",),
                        lambda: tuple(con.execute(_TARGETS_AND_TWINS_SQL).fetchall()))


def targets_at(con: duckdb.DuckDBPyConnection, indicator: str, area: str
               ) -> list[AreaTarget]:
    """:func:`metrics.sql.targets_sql`'s rows for one indicator at one area, from every
    target and the areas it holds for, read once per data version (a handful of rows; the
    query cost the indicator page 3–5 ms a view): an area's own target (or its twin's) under
    the area asked for, else a national one."""
    out: list[AreaTarget] = []
    for ind, set_for, start, end, value, kind, source, twins in every_target(con):
        if ind != indicator:
            continue
        held_for = [twin for twin in (twins or ()) if twin == area]
        if held_for:
            out += [AreaTarget(ind, twin, start, end, value, kind, source) for twin in held_for]
        elif set_for == NATIONAL:
            out.append(AreaTarget(ind, NATIONAL, start, end, value, kind, source))
    return out


def trajectory_targets(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str,
                       frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``trajectory`` and ``stretch`` columns: the trajectory (or stretch)
    target that applies to each period (a local one before the national), else null."""
    found = targets_at(con, ind.id, area) if frame.height else []
    periods = frame.select("period_start", "period_end").rows() if found else []
    out = frame
    for kind in ("trajectory", "stretch"):
        values: list[float | None] = [None] * frame.height
        mine = sorted((t for t in found if t.kind == kind),
                      key=lambda t: t.area_code == NATIONAL)  # local first
        for i, (start, end) in enumerate(periods if mine else ()):
            for t in mine:
                if ((t.period_start is None or t.period_start <= start)
                        and (t.period_end is None or t.period_end >= end)):
                    values[i] = t.value
                    break
        out = out.with_columns(pl.Series(kind, values, dtype=pl.Float64))
    return out
