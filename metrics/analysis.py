"""Analysis frames for the indicator and baseline pages (METHODS.md: SPC, assurance, RAG,
funnel plots, rank intervals, most similar groups).

Everything statistical is done by the pure functions of :mod:`metrics.statistics`; this module
shapes the frames of :mod:`metrics.compute` for them and back, and words the results so a page
only ever states what a test supports:

- :func:`spc_frame` one area's series → SPC lines, special-cause codes and signals per period
  (XmR, or a p-chart for counted proportions with varying denominators);
- :func:`assurance_for` and :func:`rag_for`: the target readings (SPC assurance; RAG by the
  board-pack rule, always labelled as such);
- :func:`compare_areas`: every force (or LCJB) for one period with its value and CI, funnel
  position around England & Wales and a seeded bootstrap rank interval;
- :func:`peer_group` and :func:`msg_comparison`: the area against its most similar group
  (reference file in ``core.area_peers``, else a computed peer group, labelled) and England
  & Wales;
- :func:`baseline`: every indicator for one area, with :func:`summarise_baseline`.

Frames for every force are the expensive part (a whole registry × 44 areas is seconds), so
they are cached per warehouse file and *data version* (the latest ingest run, the targets and
the peer table): loading a file changes the version and the cache is not used again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import polars as pl
from scipy import stats

from cjsdash.core.config import get_settings
from cjsdash.core.gateway import fetch
from metrics import cache, sql, store
from metrics.compute import compute_indicators, empty_result
from metrics.registry import Indicator, Registry
from metrics.statistics import comparisons, funnel, intervals, peers, ranks, spc, targets
from metrics.views import format_value

NATIONAL = "K04000001"
NATIONAL_NAME = "England and Wales"
CITY_OF_LONDON = "E23000034"
COMPARABLE_KINDS = ("force", "lcjb")
KIND_WORDS = {"force": "police force areas", "lcjb": "Local Criminal Justice Board areas"}

XMR, P_CHART = "xmr", "p"
CHART_NAMES = {XMR: "XmR chart (individuals)", P_CHART: "p-chart"}
CHART_NOTES = {
    XMR: ("XmR (individuals) chart: centre line the mean of the baseline points; process "
          "limits the mean ± 2.66 × the mean moving range."),
    P_CHART: ("p-chart: a proportion of counted cases whose denominator varies from period to "
              "period, so the limits p̄ ± 3·√(p̄(1 − p̄)/n) widen where n is small."),
}
RULE_TEXT: dict[str, str] = {
    spc.OUTSIDE: "a point outside the process limits",
    spc.SHIFT: f"{spc.RUN_LENGTH} or more points in a row on one side of the mean",
    spc.TREND: f"{spc.TREND_LENGTH} or more points in a row, each higher (or each lower) "
               "than the one before",
    spc.TWO_OF_THREE: "2 of 3 points in a row beyond two-thirds of the way to a process limit, "
                      "on the same side",
}
RULE_SHORT = {spc.OUTSIDE: "outside the limits", spc.SHIFT: "shift", spc.TREND: "trend",
              spc.TWO_OF_THREE: "2 of 3 near a limit"}
SIGNAL_WORDS = {
    spc.IMPROVEMENT: "special cause: improvement",
    spc.CONCERN: "special cause: concern",
    spc.NEUTRAL_SIGNAL: "special cause (neither better nor worse)",
    spc.COMMON: "common cause variation",
}
ASSURANCE_WORDS = {
    spc.CONSISTENTLY_PASSES: "The target lies beyond the process limits on the good side: "
                             "the process will consistently meet it unless something changes.",
    spc.CONSISTENTLY_FAILS: "The target lies beyond the process limits on the wrong side: "
                            "the process will not meet it unless something changes.",
    spc.INCONSISTENT: "The target lies within the process limits: the process will meet it "
                      "in some periods and miss it in others, by common-cause variation alone.",
    spc.NO_TARGET: "There is no target for this indicator and area.",
    spc.NOT_ASSESSED: "Not assessed: a neutral indicator, or too few points for limits.",
}
RAG_LABEL = "RAG (board-pack rule)"
REFERENCE_PEERS = "reference file"
COMPUTED_PEERS = "computed"
NO_PEERS = "none"
COMPUTED_PEER_LABEL = ("computed peer group (nearest neighbours on Census 2011 demographics)")
SIMPLE_LABEL = "MSG average (simple mean of rates, including the area)"
WEIGHTED_LABEL = "MSG average (weighted by denominator, including the area)"

SPC_COLUMNS: tuple[str, ...] = (
    "area_code", "period_start", "period_end", "period_label", "numerator", "denominator",
    "value", "suppressed", "target", "chart", "centre", "lower_limit", "upper_limit",
    "lower_two_sigma", "upper_two_sigma", "lower_one_sigma", "upper_one_sigma", "trial",
    "segment", "baseline", "rules", "signal",
)
SPC_SCHEMA: dict[str, Any] = {
    "area_code": pl.String, "period_start": pl.Date, "period_end": pl.Date,
    "period_label": pl.String, "numerator": pl.Float64, "denominator": pl.Float64,
    "value": pl.Float64, "suppressed": pl.Boolean, "target": pl.Float64, "chart": pl.String,
    **{c: pl.Float64 for c in SPC_COLUMNS[10:17]}, "trial": pl.Boolean, "segment": pl.Int64,
    "baseline": pl.Boolean, "rules": pl.String, "signal": pl.String,
}
COMPARE_EXTRA: tuple[str, ...] = (
    "area_name", "national_value", "funnel_kind", "funnel_position", "rank", "rank_lower",
    "rank_upper", "ranked", "quartile",
)


# --- small helpers ---------------------------------------------------------------------------

def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _floats(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 numpy, nulls as NaN (cheap: no polars expression)."""
    if frame.height == 0:
        return np.zeros(0)
    values = frame.get_column(column).to_numpy()
    if values.dtype == object:
        values = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def _bools(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A boolean column as numpy, nulls as False (cheap: no polars expression)."""
    values = frame.get_column(column).to_numpy()
    if values.dtype == object:
        return np.array([bool(v) for v in values], dtype=bool)
    return values.astype(bool)


def headline_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows for 'all people' (breakdown ''), in period order."""
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("breakdown").fill_null("") == "").sort("period_start")


def p_chart_applies(ind: Indicator) -> bool:
    """A p-chart needs counted cases out of counted cases (Wilson proportions), not money."""
    return ind.type == "proportion" and ind.ci_method == "wilson" and ind.denominator is not None


def chart_type(frame: pl.DataFrame, ind: Indicator, chart: str = "auto") -> str:
    """``'p'`` for a counted proportion whose denominators vary; else ``'xmr'``."""
    if chart == XMR:
        return XMR
    if chart == P_CHART:
        if not p_chart_applies(ind):
            raise ValueError(f"a p-chart needs a counted proportion; {ind.id} is a {ind.type}")
        return P_CHART
    if chart != "auto":
        raise ValueError(f"chart must be 'auto', 'xmr' or 'p', got {chart!r}")
    if not p_chart_applies(ind) or frame.height == 0:
        return XMR
    n = _floats(frame, "denominator")
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

def _baseline_flags(finite: np.ndarray, segment: np.ndarray, baseline: int) -> np.ndarray:
    flags = np.zeros(finite.size, dtype=bool)
    for seg in np.unique(segment):
        idx = np.flatnonzero((segment == seg) & finite)[:baseline]
        flags[idx] = True
    return flags


def spc_frame(series_frame: pl.DataFrame, ind: Indicator, *,
              rebase_at: Sequence[date | str | int] = (), chart: str = "auto",
              baseline: int = spc.DEFAULT_BASELINE) -> pl.DataFrame:
    """SPC lines for one area's series (the frame of :func:`metrics.views.series`).

    One row per period (``breakdown`` '' only), columns :data:`SPC_COLUMNS`: the value, the
    centre line, process limits, one- and two-sigma lines in the value's own scale (a
    p-chart's are ×``ind.multiplier``, e.g. percent), ``trial`` (fewer than ``baseline``
    points in the segment), ``baseline`` (the point is one of its segment's baseline points),
    ``rules`` (the special-cause codes, comma-separated) and ``signal`` (improvement /
    concern / neutral / common, by the indicator's polarity). Suppressed or missing periods
    take no part and never signal. ``rebase_at``: dates (or indices) where the user marked
    a known change; limits are never rebased automatically.
    """
    rows = headline_rows(series_frame)
    if rows.height == 0:
        return pl.DataFrame(schema=SPC_SCHEMA)
    kind, limits, scale, y, codes, signal, suppressed, value = _spc_parts(
        rows, ind, rebase_at=rebase_at, chart=chart, baseline=baseline)
    finite = np.isfinite(y)
    target = _floats(rows, "target") if "target" in rows.columns else np.full(rows.height,
                                                                             np.nan)
    columns: dict[str, Any] = {c: rows.get_column(c) for c in SPC_COLUMNS[:4]}
    columns |= {
        "numerator": _floats(rows, "numerator"), "denominator": _floats(rows, "denominator"),
        "value": value, "suppressed": suppressed, "target": target,
        "chart": [kind] * rows.height,
        "centre": limits.centre * scale, "lower_limit": limits.lower * scale,
        "upper_limit": limits.upper * scale,
        "lower_two_sigma": limits.lower_two_sigma * scale,
        "upper_two_sigma": limits.upper_two_sigma * scale,
        "lower_one_sigma": limits.lower_one_sigma * scale,
        "upper_one_sigma": limits.upper_one_sigma * scale,
        "trial": limits.trial, "segment": limits.segment,
        "baseline": _baseline_flags(finite, limits.segment, baseline),
        "rules": [",".join(c) for c in codes],
        "signal": np.where(finite, signal, "").astype(str).tolist(),
    }
    out = pl.DataFrame(columns, schema=SPC_SCHEMA, nan_to_null=True)
    return out


def _spc_parts(rows: pl.DataFrame, ind: Indicator, *, rebase_at: Sequence[date | str | int] = (),
               chart: str = "auto", baseline: int = spc.DEFAULT_BASELINE) -> tuple[Any, ...]:
    """(chart, limits, scale, y, codes, signal, suppressed, value) for headline rows in period
    order: the statistics of :func:`spc_frame` without building its frame."""
    kind = chart_type(rows, ind, chart)
    suppressed = _bools(rows, "suppressed")
    value = np.where(suppressed, np.nan, _floats(rows, "value"))
    cuts = rebase_indices(rows["period_start"].to_list(), rebase_at) if rebase_at else []
    if kind == P_CHART:
        x = np.where(suppressed, np.nan, _floats(rows, "numerator"))
        n = np.where(suppressed, np.nan, _floats(rows, "denominator"))
        limits = spc.p_chart_limits(x, n, baseline=baseline, rebase_at=cuts)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(n > 0, x / np.where(n > 0, n, 1.0), np.nan)
        scale = ind.multiplier
    else:
        limits = spc.xmr_limits(value, baseline=baseline, rebase_at=cuts)
        y, scale = value, 1.0
    codes = spc.special_causes(y, limits)
    signal = spc.classify_signals(y, limits, codes, ind.polarity)
    return kind, limits, scale, y, codes, signal, suppressed, value


def latest_spc_reading(rows: pl.DataFrame, ind: Indicator) -> tuple[str, str, str]:
    """(signal, rules, assurance) at the latest point with a figure, for headline rows in
    period order (as :func:`spc_frame` and :func:`assurance_for` would give)."""
    if rows.height == 0:
        return "", "", ""
    kind, limits, scale, y, codes, signal, _, _ = _spc_parts(rows, ind)
    known = np.flatnonzero(np.isfinite(y))
    if known.size == 0:
        return "", "", ""
    last = int(known[-1])
    rules = ", ".join(RULE_SHORT[c] for c in codes[last])
    target = latest_target(rows)
    reading = spc.assurance(None if target is None else target / scale, limits, ind.polarity)
    return str(signal[last]), rules, reading


def _limits_from_frame(frame: pl.DataFrame) -> spc.SpcLimits:
    def col(name: str) -> np.ndarray:
        return _floats(frame, name)

    size = frame.height
    sigma = (col("upper_one_sigma") - col("centre")) if size else np.zeros(0)
    return spc.SpcLimits(
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
    values = _floats(frame, column)
    known = values[np.isfinite(values)]
    return None if known.size == 0 else float(known[-1])


def assurance_for(spc_rows: pl.DataFrame, ind: Indicator, target: float | None = None
                  ) -> Reading:
    """SPC assurance of meeting ``target`` (default: the latest target in the frame) from the
    current segment's process limits (METHODS.md; Making Data Count)."""
    target = latest_target(spc_rows) if target is None else target
    if spc_rows.height == 0:
        return Reading(spc.NOT_ASSESSED, "not assessed", "No figures to assess.")
    code = spc.assurance(target, _limits_from_frame(spc_rows), ind.polarity)
    text = ASSURANCE_WORDS[code]
    last = spc_rows.row(-1, named=True)
    if code in (spc.CONSISTENTLY_PASSES, spc.CONSISTENTLY_FAILS, spc.INCONSISTENT):
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
    v = np.nan if _missing(value) else float(value)  # type: ignore[arg-type]
    t = np.nan if _missing(target) else float(target)  # type: ignore[arg-type]
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


def trajectory_targets(con: duckdb.DuckDBPyConnection, ind: Indicator, area: str,
                       frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``trajectory`` and ``stretch`` columns: the trajectory (or stretch)
    target that applies to each period (a local one before the national), else null."""
    found = fetch(con, sql.targets_sql(), [[ind.id], [area]]) if frame.height else None
    out = frame
    for kind in ("trajectory", "stretch"):
        values: list[float | None] = [None] * frame.height
        if found is not None and found.height:
            mine = found.filter(pl.col("kind") == kind).sort(
                pl.col("area_code") == NATIONAL)  # local first
            for i, (start, end) in enumerate(frame.select("period_start", "period_end").rows()):
                for t in mine.iter_rows(named=True):
                    if ((t["period_start"] is None or t["period_start"] <= start)
                            and (t["period_end"] is None or t["period_end"] >= end)):
                        values[i] = t["value"]
                        break
        out = out.with_columns(pl.Series(kind, values, dtype=pl.Float64))
    return out


# --- the cache --------------------------------------------------------------------------------

_CACHE = cache._CACHE  # one cache for every result kept per data version (metrics.cache)
_CACHE_LOCK = cache._CACHE_LOCK
data_version = cache.data_version
_cached = cache.cached
clear_cache = cache.clear_cache


# --- areas -----------------------------------------------------------------------------------

def _area_table(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, bool]]:
    """(code, name, kind, in England and Wales) of every area in the usual order, read once
    per data version (a page asks many times)."""
    return cache.kept(con, ("area-table",), lambda: con.execute(
        "SELECT code, name, kind, in_england_wales FROM core.areas ORDER BY sort_key, code"
    ).fetchall())


def area_codes(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """Every England & Wales area of a kind (``force`` or ``lcjb``), in the usual order."""
    return [c for c, _, k, in_ew in _area_table(con) if k == kind and in_ew]


def area_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {c: name for c, name, _, _ in _area_table(con)}


def area_kind(con: duckdb.DuckDBPyConnection, code: str) -> str | None:
    return next((k for c, _, k, _ in _area_table(con) if c == code), None)


def comparison_kind(con: duckdb.DuckDBPyConnection, code: str) -> str:
    """Which areas an area is compared with: LCJBs for an LCJB, forces otherwise."""
    return "lcjb" if area_kind(con, code) == "lcjb" else "force"


def kind_frame(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_ids: Sequence[str],
               kind: str, grain: str) -> pl.DataFrame:
    """Headline figures (breakdown '') of ``indicator_ids`` for every area of ``kind`` and
    England & Wales, every period; cached per data version. A frame for the whole registry,
    if cached, serves any subset."""
    ids = tuple(indicator_ids)
    every = tuple(i.id for i in registry.indicators)
    key_all = ("kind_frame", id(registry), every, kind, grain)
    if ids != every:
        whole = cache.peek(con, key_all)
        if whole is not None:
            return whole.filter(pl.col("indicator").is_in(list(ids)))

    def build() -> pl.DataFrame:
        codes = [*area_codes(con, kind), NATIONAL]
        whole = store.lookup(con, registry, grain)
        if whole is not None:
            frame = whole.filter(pl.col("indicator").is_in(list(ids))
                                 & pl.col("area_code").is_in(codes))
        else:
            frame = compute_indicators(con, registry, list(ids), codes, grain=grain)
        return headline_rows(frame) if frame.height else frame

    if ids == every:  # the whole registry: shared by every area's views, kept
        return cache.kept(con, key_all, build)
    return _cached(con, ("kind_frame", id(registry), ids, kind, grain), build)


def area_series(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                area_code: str, grain: str) -> pl.DataFrame:
    """One area's headline series (RESULT_COLUMNS): from the cached frame of its kind when it
    is a force, an LCJB or England & Wales, else computed."""
    kind = area_kind(con, area_code)
    if kind in COMPARABLE_KINDS or area_code == NATIONAL:
        frame = kind_frame(con, registry, [indicator_id], kind if kind in COMPARABLE_KINDS
                           else "force", grain)
        return frame.filter(pl.col("area_code") == area_code) if frame.height else frame
    return _own_rows(con, registry, [indicator_id], area_code, grain)


def _own_rows(con: duckdb.DuckDBPyConnection, registry: Registry, ids: Sequence[str],
              area_code: str, grain: str) -> pl.DataFrame:
    """An area's headline rows of ``ids``: from the figure store when it is ready (every
    area, computed once per data version), else computed for this area alone."""
    whole = store.lookup(con, registry, grain)
    if whole is not None:
        frame = whole.filter(pl.col("indicator").is_in(list(ids))
                             & (pl.col("area_code") == area_code))
    else:
        frame = compute_indicators(con, registry, list(ids), [area_code], grain=grain)
    return headline_rows(frame) if frame.height else frame


# --- comparing areas ---------------------------------------------------------------------------

def funnel_kind(ind: Indicator) -> str | None:
    """``'proportion'`` (counted cases), ``'rate'`` (events per population) or None when a
    funnel (and a bootstrap rank) has no sampling model: counts without a denominator,
    means, money, ratios."""
    if p_chart_applies(ind):
        return funnel.PROPORTION
    if ind.type == "rate" and ind.ci_method in ("byar_exact", "poisson"):
        return funnel.RATE
    return None


NOT_COMPARED = {
    "count": "a count without a denominator: areas differ in size, so no funnel or rank",
    "mean": "a mean from totals: no spread is recorded, so no funnel or rank",
    "amount": "an amount of money: no sampling model, so no funnel or rank",
    "ratio": "a ratio of two rates: compare the ratios' confidence intervals instead",
    "proportion": "a proportion of money, not of counted cases: no funnel or rank",
}


def _latest_end(frame: pl.DataFrame, period_end: date | None) -> date | None:
    if frame.height == 0:
        return None
    ends = frame.filter(pl.col("value").is_not_null() | pl.col("suppressed"))
    if period_end is not None:
        ends = ends.filter(pl.col("period_end") <= period_end)
    national = ends.filter(pl.col("area_code") == NATIONAL)
    pick = national if national.height else ends
    return pick["period_end"].max() if pick.height else None  # type: ignore[return-value]


def quartiles(value: np.ndarray, ind: Indicator) -> np.ndarray:
    """Quartile of each value among those with a figure: 1 = the best quarter by polarity
    (the highest quarter when neutral), 0 = no figure. Ties share their average rank ``r``
    (1 = best) and the quartile is ``floor((r − 1) · 4 / n) + 1``."""
    ok = np.isfinite(value)
    out = np.zeros(value.size, dtype=np.int64)
    if not ok.any():
        return out
    oriented = value[ok] if ind.polarity == targets.LOWER_IS_BETTER else -value[ok]
    rank = stats.rankdata(oriented, method="average")
    out[ok] = np.minimum(4, np.floor((rank - 1) * 4 / ok.sum()).astype(np.int64) + 1)
    return out


def _compare_stats(rows: pl.DataFrame, national: dict[str, Any] | None, ind: Indicator, *,
                   seed: int, draws: int | None) -> pl.DataFrame:
    how = funnel_kind(ind)
    x, n = _floats(rows, "numerator"), _floats(rows, "denominator")
    value = _floats(rows, "value")
    position = np.full(rows.height, "not applicable", dtype=object)
    median = lower = upper = np.full(rows.height, np.nan)
    nat_value = np.nan if national is None or _missing(national["value"]) else national["value"]
    if how is not None:
        nx = np.nan if national is None or _missing(national["numerator"]) else national[
            "numerator"]
        nn = np.nan if national is None or _missing(national["denominator"]) else national[
            "denominator"]
        p0 = nx / nn if np.isfinite(nx) and np.isfinite(nn) and nn > 0 else (
            np.nansum(x) / np.nansum(n) if np.nansum(n) > 0 else np.nan)
        position = funnel.funnel_position(x, n, p0, kind=how).astype(object)
    if how is not None and draws:
        median, lower, upper = ranks.bootstrap_rank_intervals(
            x, n, draws=draws, seed=seed, kind=how,
            higher_is_better=ind.polarity != targets.LOWER_IS_BETTER)
    suppressed = _bools(rows, "suppressed")
    position = np.where(suppressed, "suppressed", position)
    return rows.with_columns(
        pl.lit(nat_value, dtype=pl.Float64).alias("national_value"),
        pl.lit(how or "", dtype=pl.String).alias("funnel_kind"),
        pl.Series("funnel_position", position.astype(str), dtype=pl.String),
        pl.Series("rank", median, dtype=pl.Float64).fill_nan(None),
        pl.Series("rank_lower", lower, dtype=pl.Float64).fill_nan(None),
        pl.Series("rank_upper", upper, dtype=pl.Float64).fill_nan(None),
        pl.lit(int(np.isfinite(median).sum()), dtype=pl.Int64).alias("ranked"),
        pl.Series("quartile", quartiles(value, ind), dtype=pl.Int64),
    )


def compare_areas(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                  period_end: date | None, grain: str, *, kind: str = "force", seed: int = 0,
                  draws: int | None = ranks.DEFAULT_DRAWS) -> pl.DataFrame:
    """Every area of ``kind`` for one period: value, CI, funnel position, rank interval.

    ``period_end`` None (or not present) means the latest period ending on or before it for
    which England & Wales has a figure. Columns: :data:`metrics.compute.RESULT_COLUMNS` plus
    :data:`COMPARE_EXTRA`. ``funnel_position`` is :func:`metrics.statistics.funnel.
    funnel_position` around the England & Wales value (exact binomial / Poisson limits);
    ``rank``/``rank_lower``/``rank_upper`` the median rank and 95% interval from a parametric
    bootstrap with ``seed`` (rank 1 is best by polarity; the highest for a neutral
    indicator); ``quartile`` 1 is the best quarter of the areas with a figure. Indicators
    without a sampling model (:func:`funnel_kind` None) get 'not applicable' and no ranks;
    ``draws=None`` skips the bootstrap (no ranks). Cached per data version (it is seeded, so
    the same every time).
    """
    if kind not in COMPARABLE_KINDS:
        raise ValueError(f"kind must be one of {COMPARABLE_KINDS}, got {kind!r}")
    return _cached(con, ("compare", id(registry), indicator_id, period_end, grain, kind, seed,
                         draws),
                   lambda: _compare_areas(con, registry, indicator_id, period_end, grain,
                                          kind=kind, seed=seed, draws=draws))


def _compare_areas(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                   period_end: date | None, grain: str, *, kind: str, seed: int,
                   draws: int | None) -> pl.DataFrame:
    ind = registry.get(indicator_id)
    frame = kind_frame(con, registry, [ind.id], kind, grain)
    end = _latest_end(frame, period_end)
    if end is None:
        base = empty_result()
        return base.with_columns(*[pl.lit(None).alias(c) for c in COMPARE_EXTRA]).clear()
    at = frame.filter(pl.col("period_end") == end)
    national_rows = at.filter(pl.col("area_code") == NATIONAL)
    national = national_rows.row(0, named=True) if national_rows.height else None
    codes = area_codes(con, kind)
    names = area_names(con)
    rows = pl.DataFrame({"area_code": codes}).join(
        at.filter(pl.col("area_code") != NATIONAL), on="area_code", how="left",
        maintain_order="left")
    rows = rows.with_columns(
        pl.col("indicator").fill_null(ind.id), pl.col("period_end").fill_null(end),
        pl.col("period_start").fill_null(at["period_start"].min()),
        pl.col("period_label").fill_null(at["period_label"][0]),
        pl.col("breakdown").fill_null(""), pl.col("suppressed").fill_null(False),
        pl.col("area_code").replace_strict(names, default=pl.col("area_code"))
        .alias("area_name"),
    )
    return _compare_stats(rows, national, ind, seed=seed, draws=draws)


def overdispersed(compare: pl.DataFrame, share: float = 0.2) -> bool:
    """Whether more than ``share`` of the areas lie outside the 99.8% limits (expected:
    0.2%): the areas then differ by more than chance alone and the funnel's limits, which
    assume only sampling variation, are too narrow to single out any one area."""
    known = compare.filter(pl.col("funnel_position").str.starts_with("above")
                           | pl.col("funnel_position").str.starts_with("below")
                           | (pl.col("funnel_position") == funnel.WITHIN)) if compare.height \
        else compare
    if known.height < 5:
        return False
    outside = known.filter(pl.col("funnel_position").str.contains("99.8")).height
    return outside / known.height > share


def funnel_curve(compare: pl.DataFrame, ind: Indicator, *, points: int = 120) -> pl.DataFrame:
    """The funnel's 95% and 99.8% limits over a grid of denominators spanning the areas',
    in the value's scale: columns ``denominator``, ``lower_95``, ``upper_95``, ``lower_998``,
    ``upper_998``, ``national``. Empty when the indicator has no funnel."""
    how = funnel_kind(ind)
    empty = pl.DataFrame(schema={c: pl.Float64 for c in (
        "denominator", "lower_95", "upper_95", "lower_998", "upper_998", "national")})
    if how is None or compare.height == 0:
        return empty
    n = _floats(compare, "denominator")
    n = n[np.isfinite(n) & (n > 0)]
    p0 = compare["national_value"][0]
    if n.size == 0 or _missing(p0):
        return empty
    grid = np.unique(np.round(np.geomspace(max(n.min() * 0.8, 1.0), n.max() * 1.25, points)))
    scale = ind.multiplier
    lim = funnel.funnel_limits(p0 / scale, grid, kind=how)
    return pl.DataFrame({
        "denominator": grid,
        "lower_95": lim[0.95][0] * scale, "upper_95": lim[0.95][1] * scale,
        "lower_998": lim[0.998][0] * scale, "upper_998": lim[0.998][1] * scale,
        "national": np.full(grid.size, p0),
    })


# --- most similar groups ---------------------------------------------------------------------

_peer_count = cache._peer_count


@dataclass(frozen=True)
class PeerGroup:
    """The most similar group of one area: its members (without the area), where it came
    from (``'reference file'``, ``'computed'`` or ``'none'``), and the label to show."""

    area_code: str
    members: tuple[str, ...]
    source: str
    label: str
    vintage: str = ""


def _reference_peers(con: duckdb.DuckDBPyConnection, code: str, kind: str
                     ) -> PeerGroup | None:
    if _peer_count(con) == 0:
        return None
    if kind == "force":
        rows = con.execute(
            "SELECT peer_code, vintage FROM core.area_peers WHERE area_code = ? "
            "ORDER BY rowid", [code]).fetchall()
        note = ""
    else:  # an LCJB: its force twin's group, each peer force read as its LCJB
        rows = con.execute(
            """SELECT pf.lcjb_code, p.vintage, min(p.rowid) AS o
               FROM core.area_twins AS t
               JOIN core.areas AS f ON f.code = t.candidate_code AND f.kind = 'force'
               JOIN core.area_peers AS p ON p.area_code = f.code
               JOIN core.areas AS pf ON pf.code = p.peer_code
               WHERE t.area_code = ? AND pf.lcjb_code IS NOT NULL AND pf.lcjb_code <> ?
               GROUP BY pf.lcjb_code, p.vintage ORDER BY o""", [code, code]).fetchall()
        rows = [(r[0], r[1]) for r in rows]
        note = " (its police force's group, each force read as its LCJB area)"
    if not rows:
        return None
    vintage = rows[0][1]
    members = tuple(dict.fromkeys(r[0] for r in rows if r[0] != code))
    return PeerGroup(code, members, REFERENCE_PEERS,
                     f"most similar group from the reference file ({vintage}){note}", vintage)


def demographic_features(con: duckdb.DuckDBPyConnection, kind: str
                         ) -> tuple[list[str], np.ndarray, str]:
    """(codes, features, vintage): log Census 2011 population and the share of each ethnic
    group, for every area of ``kind`` with a population (City of London excluded: it has no
    most similar group and is in no other area's)."""
    def build() -> tuple[list[str], np.ndarray, str]:
        codes = [c for c in area_codes(con, kind) if c != CITY_OF_LONDON]
        total = fetch(con, sql.populations_sql(None), [codes]).filter(
            pl.col("source") == "Census 2011")
        groups = fetch(con, sql.populations_sql("ethnicity"), [codes]).filter(
            pl.col("source") == "Census 2011")
        vintage = fetch(con, "SELECT DISTINCT vintage FROM core.populations WHERE "
                        "source = 'Census 2011' AND is_current LIMIT 1")
        if total.height == 0:
            return [], np.zeros((0, 0)), ""
        wide = groups.pivot(on="breakdown", index="area_code", values="population")
        names = sorted(c for c in wide.columns if c != "area_code")
        table = total.select("area_code", pl.col("population").alias("_total")).join(
            wide, on="area_code", how="left")
        table = pl.DataFrame({"area_code": codes}).join(table, on="area_code", how="inner",
                                                        maintain_order="left")
        tot = _floats(table, "_total")
        feats = [np.log(tot)] + [_floats(table, g) / tot for g in names]
        return (table["area_code"].to_list(), np.column_stack(feats),
                vintage.item() if vintage.height else "Census 2011")

    return cache.kept(con, ("features", kind), build)


def peer_group(con: duckdb.DuckDBPyConnection, code: str, *, k: int = peers.DEFAULT_K
               ) -> PeerGroup:
    """The area's most similar group: ``core.area_peers`` rows when it has any (a loaded
    reference file), else a computed peer group (``k`` nearest neighbours on Census 2011
    demographics among areas of its kind), labelled :data:`COMPUTED_PEER_LABEL`. City of
    London, and areas that are not forces or LCJBs, have none."""
    kind = area_kind(con, code)
    if code == CITY_OF_LONDON:
        return PeerGroup(code, (), NO_PEERS, "City of London has no most similar group")
    if kind not in COMPARABLE_KINDS:
        return PeerGroup(code, (), NO_PEERS, "most similar groups are defined for police "
                                             "force areas and LCJB areas only")
    reference = _reference_peers(con, code, kind)
    if reference is not None:
        return reference
    codes, feats, vintage = demographic_features(con, kind)
    if code not in codes or len(codes) <= 1:
        return PeerGroup(code, (), NO_PEERS, "no Census 2011 demographics to compute a peer "
                                             "group from")
    nearest = _cached(con, ("nearest", kind, k),
                      lambda: peers.nearest_neighbours(feats, k=k))
    row = nearest[codes.index(code)]
    members = tuple(codes[i] for i in row if i >= 0)
    return PeerGroup(code, members, COMPUTED_PEERS, COMPUTED_PEER_LABEL, vintage)


@dataclass(frozen=True)
class Position:
    """Where a value sits against a comparator: ``above``/``below``/``similar`` (95% CIs do
    not overlap / overlap) or ``higher``/``lower`` when there is no CI to test with."""

    code: str
    text: str
    significant: bool
    better: bool | None  # by polarity; None when neutral or not significant


def _interval(row: dict[str, Any] | None) -> tuple[float, float, float]:
    if row is None:
        return (np.nan, np.nan, np.nan)
    return tuple(np.nan if _missing(row.get(c)) else float(row[c])  # type: ignore[return-value]
                 for c in ("value", "lower", "upper"))


def position(area: tuple[float, float, float], other: tuple[float, float, float],
             ind: Indicator, other_name: str) -> Position:
    """``area`` and ``other`` are (value, lower, upper). Significant only when both have a CI
    and the intervals do not overlap (a conservative test at the 5% level)."""
    v, lo, hi = area
    ov, olo, ohi = other
    if not (np.isfinite(v) and np.isfinite(ov)):
        return Position("no data", f"no comparison with {other_name}", False, None)
    if not all(np.isfinite(x) for x in (lo, hi, olo, ohi)):
        word = "higher" if v > ov else ("lower" if v < ov else "the same")
        return Position(word, f"{word} than {other_name} (no confidence interval, "
                              "so not tested)", False, None)
    if lo > ohi or hi < olo:
        code = "above" if lo > ohi else "below"
        better = None
        if ind.polarity != targets.NEUTRAL:
            better = (code == "above") == (ind.polarity == targets.HIGHER_IS_BETTER)
        quality = "" if better is None else (", better" if better else ", worse")
        return Position(code, f"{code} {other_name}{quality} (95% confidence intervals do "
                              "not overlap)", True, better)
    return Position("similar", f"similar to {other_name} (95% confidence intervals overlap)",
                    False, None)


def _pooled_interval(x: float, n: float, ind: Indicator) -> tuple[float, float]:
    how = funnel_kind(ind)
    if how == funnel.PROPORTION and n > 0:
        lo, hi = intervals.wilson_interval(x, n)
        return float(lo) * ind.multiplier, float(hi) * ind.multiplier
    if how == funnel.RATE and n > 0:
        _, lo, hi, _ = intervals.rate_interval(x, n, multiplier=ind.multiplier)
        return float(lo), float(hi)
    return np.nan, np.nan


@dataclass
class MsgComparison:
    """The area against its most similar group and England & Wales, for one period."""

    indicator: str
    area_code: str
    area_name: str
    period_label: str
    group: PeerGroup
    area: dict[str, Any] | None
    members: pl.DataFrame
    simple: float
    weighted: float
    weighted_interval: tuple[float, float]
    national: dict[str, Any] | None
    vs_msg: Position
    vs_national: Position
    notes: list[str] = field(default_factory=list)

    def table(self, ind: Indicator) -> pl.DataFrame:
        """Rows to show and export: the area, each member, both averages, England & Wales."""
        out = [_table_row("area", self.area_name, self.area, ind)]
        out += [_table_row("member", m["area_name"], m, ind)
                for m in self.members.iter_rows(named=True)]
        if self.group.members:
            out.append(_table_row("average", SIMPLE_LABEL, {"value": self.simple}, ind))
            lo, hi = self.weighted_interval
            out.append(_table_row("average", WEIGHTED_LABEL,
                                  {"value": self.weighted, "lower": lo, "upper": hi}, ind))
        out.append(_table_row("national", NATIONAL_NAME, self.national, ind))
        return pl.DataFrame(out, schema=MSG_TABLE_SCHEMA)


MSG_TABLE_SCHEMA: dict[str, Any] = {
    "role": pl.String, "area_code": pl.String, "area_name": pl.String,
    "numerator": pl.Float64, "denominator": pl.Float64, "value": pl.Float64,
    "display_value": pl.String, "display_ci": pl.String,
}


def _table_row(role: str, name: str, r: dict[str, Any] | None, ind: Indicator
               ) -> dict[str, Any]:
    r = r or {}
    v, low, up = r.get("value"), r.get("lower"), r.get("upper")
    suppressed = bool(r.get("suppressed"))
    ci = ("" if _missing(low) or _missing(up) or suppressed
          else f"{format_value(low, ind)} to {format_value(up, ind)}")
    return {"role": role, "area_code": r.get("area_code", ""), "area_name": name,
            "numerator": r.get("numerator"), "denominator": r.get("denominator"),
            "value": None if _missing(v) else v,
            "display_value": format_value(v, ind, suppressed=suppressed), "display_ci": ci}


def size_comparable(ind: Indicator) -> bool:
    """Whether figures of areas of different sizes can be compared: not totals (counts and
    amounts of money), which grow with the area."""
    return ind.type not in ("count", "amount")


NOT_SIZE_COMPARABLE = ("not compared: a total, which grows with the size of the area")


def _msg_core(ind: Indicator, area_code: str, group: PeerGroup, area: dict[str, Any] | None,
              members: list[dict[str, Any]], national: dict[str, Any] | None
              ) -> tuple[float, float, tuple[float, float], Position, Position, list[str]]:
    """The averages, positions and notes, from rows already read (pure)."""
    simple, weighted, interval = _msg_averages(area, members, group, ind)
    notes: list[str] = []
    if not size_comparable(ind):
        notes.append("A total: areas differ in size, so the averages compare sizes as much "
                     "as performance; no position is given.")
        off = Position("not comparable", NOT_SIZE_COMPARABLE, False, None)
        return simple, weighted, interval, off, off, notes
    missing = sum(1 for m in members if _missing(m.get("value")))
    if group.members and missing:
        notes.append(f"{missing} member(s) have no figure for the period (missing or "
                     "suppressed) and are left out of the averages.")
    vs_msg = (position(_interval(area), (weighted, *interval), ind, "the MSG average")
              if group.members else Position("no msg", group.label, False, None))
    vs_national = (position(_interval(area), _interval(national), ind, NATIONAL_NAME)
                   if area_code != NATIONAL else
                   Position("self", "this is England and Wales", False, None))
    return simple, weighted, interval, vs_msg, vs_national, notes


def _member_rows(at: dict[str, dict[str, Any]], group: PeerGroup, names: dict[str, str]
                 ) -> list[dict[str, Any]]:
    """Each member's row at the period (an empty row when it has none), in group order."""
    return [{**at.get(code, {}), "area_code": code, "area_name": names.get(code, code)}
            for code in group.members]


def msg_comparison(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                   area_code: str, period_end: date | None = None, grain: str = "quarter", *,
                   compare: pl.DataFrame | None = None) -> MsgComparison:
    """The area against its most similar group (simple and weighted averages, each labelled;
    both include the area, as HMIC's and HMICFRS's conventions do) and England & Wales.

    ``compare`` is the :func:`compare_areas` frame for the area's kind and period, if the
    caller has it. Positions test by 95% CI overlap against England & Wales and against the
    weighted (pooled) MSG average, whose CI is that of the pooled counts. Totals (counts,
    money) are not positioned: they grow with the area.
    """
    ind = registry.get(indicator_id)
    group = peer_group(con, area_code)
    kind = comparison_kind(con, area_code)
    if compare is None:
        compare = compare_areas(con, registry, ind.id, period_end, grain, kind=kind, draws=None)
    names = area_names(con)
    area = next((r for r in compare.iter_rows(named=True) if r["area_code"] == area_code), None)
    national = None
    if compare.height:
        at = kind_frame(con, registry, [ind.id], kind, grain).filter(
            pl.col("period_end") == compare["period_end"][0])
        if area is None:  # a region or the nation: its own figure
            own = at if area_code == NATIONAL else _own_rows(
                con, registry, [ind.id], area_code, grain
            ).filter(pl.col("period_end") == compare["period_end"][0])
            own = own.filter(pl.col("area_code") == area_code)
            area = own.row(0, named=True) if own.height else None
        nat = at.filter(pl.col("area_code") == NATIONAL)
        national = nat.row(0, named=True) if nat.height else None
    by_code = {r["area_code"]: r for r in compare.iter_rows(named=True)}
    members = _member_rows(by_code, group, names)
    simple, weighted, interval, vs_msg, vs_national, notes = _msg_core(
        ind, area_code, group, area, members, national)
    frame = pl.DataFrame(members, schema=compare.schema) if members else compare.clear()
    return MsgComparison(
        ind.id, area_code, names.get(area_code, area_code),
        compare["period_label"][0] if compare.height else "", group, area, frame, simple,
        weighted, interval, national, vs_msg, vs_national, notes)


def _msg_averages(area: dict[str, Any] | None, members: list[dict[str, Any]],
                  group: PeerGroup, ind: Indicator) -> tuple[float, float, tuple[float, float]]:
    if not group.members or area is None:
        return np.nan, np.nan, (np.nan, np.nan)

    def vals(col: str) -> np.ndarray:
        return np.array([np.nan if _missing(r.get(col)) else r[col] for r in [area, *members]],
                        dtype=np.float64)

    v, d, x = vals("value"), vals("denominator"), vals("numerator")
    mask = np.ones(v.size, dtype=bool)
    simple, _ = peers.msg_average(v, d, mask, weighted=False)
    weighted, _ = peers.msg_average(v, d, mask, weighted=True)
    use = np.isfinite(x) & np.isfinite(d) & (d > 0)
    interval = (_pooled_interval(float(x[use].sum()), float(d[use].sum()), ind) if use.any()
                else (np.nan, np.nan))
    return float(simple), float(weighted), interval


# --- the force baseline ------------------------------------------------------------------------

BASELINE_COLUMNS: tuple[str, ...] = (
    "theme", "indicator", "title", "npcc_objective", "period_label", "value", "display_value",
    "display_ci", "suppressed", "national_value", "display_national", "msg_value",
    "display_msg", "msg_source", "vs_national", "vs_national_code", "vs_national_better",
    "vs_msg", "vs_msg_code", "vs_msg_better", "quartile", "quartile_of", "direction",
    "direction_code", "direction_significant", "spc_signal", "spc_rules", "assurance",
    "synthetic", "source", "vintage", "vs_national_short", "vs_msg_short", "direction_short",
)
BASELINE_SCHEMA: dict[str, Any] = {c: pl.String for c in BASELINE_COLUMNS} | {
    "value": pl.Float64, "national_value": pl.Float64, "msg_value": pl.Float64,
    "suppressed": pl.Boolean, "synthetic": pl.Boolean, "quartile": pl.Int64,
    "quartile_of": pl.Int64, "vs_national_better": pl.Boolean, "vs_msg_better": pl.Boolean,
    "direction_significant": pl.Boolean,
}


def short_position(pos: Position) -> str:
    """A table cell's words for a :class:`Position`: 'above, better', 'similar',
    'higher (not tested)', 'not compared (a total)'…"""
    if pos.code in ("above", "below"):
        return pos.code + ("" if pos.better is None else
                           (", better" if pos.better else ", worse"))
    if pos.code in ("higher", "lower", "the same"):
        return f"{pos.code} (not tested)"
    return {"similar": "similar", "not comparable": "not compared (a total)",
            "no msg": "no MSG", "self": "–"}.get(pos.code, "–")


def direction_of_travel(series_rows: pl.DataFrame, ind: Indicator, periods: int = 4
                        ) -> tuple[str, str, bool | None]:
    """(code, text, significant) over the last ``periods`` periods with a figure: the change
    from the first to the last, tested where a test exists (two-proportion z-test for
    counted proportions; the Poisson test for counts and rates of equal exposure); None
    when there is no test."""
    ordered = series_rows.sort("period_start")
    ok = np.isfinite(_floats(ordered, "value")) & ~_bools(ordered, "suppressed")
    picked = np.flatnonzero(ok)[-periods:]
    if picked.size < 2:
        return "no data", "too few periods to say", None
    first, last = ordered.row(int(picked[0]), named=True), ordered.row(int(picked[-1]),
                                                                        named=True)
    change = last["value"] - first["value"]
    code = "up" if change > 0 else ("down" if change < 0 else "flat")
    amount = (f"{abs(change):,.{ind.decimals}f} pts" if ind.unit == "percent"
              else format_value(abs(change), ind))
    how = funnel_kind(ind) or ("count" if ind.type == "count" and ind.ci_method != "none"
                               else None)
    significant: bool | None = None
    if how == funnel.PROPORTION:
        _, sig = comparisons.two_proportion_test(last["numerator"], last["denominator"],
                                                 first["numerator"], first["denominator"])
        significant = bool(sig)
    elif how in (funnel.RATE, "count"):
        _, sig = comparisons.poisson_change_test(last["numerator"], first["numerator"])
        significant = bool(sig)
    test = {None: "not tested", True: "significant", False: "not significant"}[significant]
    span = f"{first['period_label']} to {last['period_label']}"
    if code == "flat":
        return code, f"no change, {span}", significant
    return code, f"{code} {amount} ({test}), {span}", significant


@dataclass(frozen=True)
class _Setting:
    """What every indicator's baseline row shares: read once per page."""

    area_code: str
    kind_codes: tuple[str, ...]
    names: dict[str, str]
    group: PeerGroup
    grain: str


def _area_quartile(at: dict[str, dict[str, Any]], setting: _Setting, ind: Indicator
                   ) -> tuple[int, int]:
    if not size_comparable(ind) or setting.area_code not in setting.kind_codes:
        return 0, 0
    codes = list(setting.kind_codes)
    value = np.array([np.nan if _missing(at.get(c, {}).get("value")) else at[c]["value"]
                      for c in codes], dtype=np.float64)
    found = quartiles(value, ind)
    return int(found[codes.index(setting.area_code)]), int(np.isfinite(value).sum())


def _baseline_row(ind: Indicator, theme_title: str, mine: pl.DataFrame,
                  at: dict[str, dict[str, Any]], setting: _Setting) -> dict[str, Any]:
    """One indicator's row of the baseline (pure): ``mine`` the area's series, ``at`` every
    area's row at the area's latest period."""
    out: dict[str, Any] = dict.fromkeys(BASELINE_COLUMNS)
    out.update(theme=theme_title, indicator=ind.id, title=ind.title,
               npcc_objective=ind.npcc_objective, msg_source=setting.group.source,
               display_value="no data", vs_national="", vs_msg="", direction="",
               quartile=0, quartile_of=0, spc_signal="", assurance="", suppressed=False)
    latest = at.get(setting.area_code)
    if latest is None:
        return out
    national = at.get(NATIONAL)
    members = _member_rows(at, setting.group, setting.names)
    _, weighted, _, vs_msg, vs_national, _ = _msg_core(
        ind, setting.area_code, setting.group, latest, members, national)
    signal, rules, assurance = (latest_spc_reading(mine, ind) if setting.grain != "r12"
                                else ("", "", ""))
    d_code, d_text, d_sig = direction_of_travel(mine, ind)
    quartile, of = _area_quartile(at, setting, ind)
    ci = ("" if _missing(latest["lower"]) or latest["suppressed"]
          else f"{format_value(latest['lower'], ind)} to {format_value(latest['upper'], ind)}")
    nat_value = national["value"] if national else None
    out.update(
        period_label=latest["period_label"], value=latest["value"],
        display_value=format_value(latest["value"], ind, suppressed=bool(latest["suppressed"])),
        display_ci=ci, suppressed=bool(latest["suppressed"]), national_value=nat_value,
        display_national=format_value(nat_value, ind),
        msg_value=None if _missing(weighted) else weighted,
        display_msg=format_value(weighted, ind) if setting.group.members else "–",
        vs_national=vs_national.text, vs_national_code=vs_national.code,
        vs_national_better=vs_national.better, vs_msg=vs_msg.text, vs_msg_code=vs_msg.code,
        vs_msg_better=vs_msg.better, quartile=quartile, quartile_of=of, direction=d_text,
        direction_code=d_code, direction_significant=d_sig, spc_signal=signal,
        spc_rules=rules, assurance=assurance,
        synthetic=latest["synthetic"], source=latest["source"], vintage=latest["vintage"],
        vs_national_short=short_position(vs_national), vs_msg_short=short_position(vs_msg),
        direction_short=d_text.rsplit(", ", 1)[0] if d_code in ("up", "down") else d_text,
    )
    return out


def baseline(con: duckdb.DuckDBPyConnection, registry: Registry, area_code: str,
             grain: str = "quarter") -> tuple[pl.DataFrame, PeerGroup]:
    """Every indicator for one area at its latest period, against its MSG and England &
    Wales: one row per indicator (:data:`BASELINE_COLUMNS`), in theme order, and the peer
    group used. Compared with areas of its own kind (LCJBs for an LCJB, forces otherwise);
    the weighted MSG average is the one tested against. Cached per data version."""
    return _cached(con, ("baseline", id(registry), area_code, grain),
                   lambda: _baseline(con, registry, area_code, grain))


def _baseline(con: duckdb.DuckDBPyConnection, registry: Registry, area_code: str,
              grain: str) -> tuple[pl.DataFrame, PeerGroup]:
    kind = comparison_kind(con, area_code)
    ids = [i.id for i in registry.indicators]
    frame = kind_frame(con, registry, ids, kind, grain)
    codes = tuple(area_codes(con, kind))
    if area_code not in codes and area_code != NATIONAL:
        frame = pl.concat([frame, _own_rows(con, registry, ids, area_code, grain)],
                          how="diagonal_relaxed")
    setting = _Setting(area_code, codes, area_names(con), peer_group(con, area_code), grain)
    mine_all = frame.filter(pl.col("area_code") == area_code)
    ends = mine_all.filter(pl.col("value").is_not_null() | pl.col("suppressed")).group_by(
        "indicator").agg(pl.col("period_end").max())
    at_all: dict[str, dict[str, dict[str, Any]]] = {}
    needed = ("indicator", "area_code", "period_label", "numerator", "denominator", "value",
              "lower", "upper", "suppressed", "synthetic", "source", "vintage")
    for r in frame.join(ends, on=["indicator", "period_end"], how="semi").select(
            needed).iter_rows(named=True):
        at_all.setdefault(r["indicator"], {})[r["area_code"]] = r
    mine = mine_all.partition_by("indicator", as_dict=True) if mine_all.height else {}
    rows = [
        _baseline_row(ind, theme.title, mine.get((ind.id,), mine_all.clear()),
                      at_all.get(ind.id, {}), setting)
        for theme, members in registry.by_theme() for ind in members
    ]
    return pl.DataFrame(rows, schema=BASELINE_SCHEMA), setting.group


def _listed(titles: list[str], limit: int = 6) -> str:
    if len(titles) <= limit:
        return "; ".join(titles)
    return "; ".join(titles[:limit]) + f"; and {len(titles) - limit} more"


_SUMMARY_CHECKS: tuple[tuple[str, Any, str, str], ...] = (
    ("vs_national_better", True, "Significantly better than England and Wales",
     " (95% confidence intervals do not overlap)"),
    ("vs_national_better", False, "Significantly worse than England and Wales",
     " (95% confidence intervals do not overlap)"),
    ("vs_msg_better", True, "Significantly better than its most similar group average",
     " (weighted average; 95% confidence intervals do not overlap)"),
    ("vs_msg_better", False, "Significantly worse than its most similar group average",
     " (weighted average; 95% confidence intervals do not overlap)"),
    ("spc_signal", spc.IMPROVEMENT, "An SPC special cause signalling improvement in the "
     "latest period", ""),
    ("spc_signal", spc.CONCERN, "An SPC special cause signalling concern in the latest "
     "period", ""),
    ("assurance", spc.CONSISTENTLY_FAILS, "Will consistently fail the target unless the "
     "process changes (SPC assurance)", ""),
    ("assurance", spc.CONSISTENTLY_PASSES, "Consistently passes the target (SPC assurance)",
     ""),
)


def summarise_baseline(frame: pl.DataFrame, area_name: str) -> list[str]:
    """Short sentences of strengths and concerns that the tests support, and nothing else.

    "Significantly" means the 95% confidence intervals do not overlap (a conservative test);
    indicators without a CI, and totals, are never called better or worse. Signals are the
    latest period's SPC special causes; assurance is SPC's.
    """
    out: list[str] = []
    for column, wanted, lead, how in _SUMMARY_CHECKS:
        found = (frame.filter(pl.col(column) == wanted)["title"].to_list()
                 if frame.height else [])
        if found:
            word = "indicator" if len(found) == 1 else "indicators"
            out.append(f"{lead} on {len(found)} {word}{how}: {_listed(found)}.")
    if not out:
        out.append("No indicator differs significantly from England and Wales or the most "
                   "similar group, and none shows an SPC special cause in its latest period.")
    with_data = frame.filter(pl.col("display_value") != "no data").height if frame.height else 0
    tested = (frame.filter(pl.col("vs_national_code").is_in(["above", "below", "similar"]))
              .height if frame.height else 0)
    out.append(f"{area_name} has figures for {with_data} of {frame.height} indicators; "
               f"{tested} have confidence intervals that could be tested against England and "
               "Wales. Totals, means from totals and money are not called better or worse.")
    return out
