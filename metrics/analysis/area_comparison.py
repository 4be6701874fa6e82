"""Comparing the areas of one kind for one period (METHODS.md: funnel plots, rank intervals):
each area's value and CI, its funnel position around England & Wales (with the
overdispersion-adjusted limits where the areas differ by more than chance) and a seeded
bootstrap rank interval. Where is the funnel of a page computed? Here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import numpy as np
import polars as pl

from metrics import cache
from metrics import mart_analysis_reads as reads
from metrics.analysis.areas import (
    COMPARABLE_KINDS,
    NATIONAL,
    area_codes,
    area_names,
    bool_column,
    float_column,
    is_missing,
    kind_frame,
)
from metrics.analysis.spc_readings import p_chart_applies
from metrics.compute import RESULT_COLUMNS, empty_result
from metrics.derive import RESULT_SCHEMA
from metrics.registry import Indicator, Registry
from metrics.statistics import funnel, ranks, targets

COMPARE_EXTRA: tuple[str, ...] = (
    "area_name", "national_value", "funnel_kind", "funnel_position", "rank", "rank_lower",
    "rank_upper", "ranked", "quartile", "funnel_position_unadjusted", "funnel_adjustment",
    "rank_draws", "rank_mc_error",
)
COMPARE_SCHEMA: dict[str, Any] = {**{c: RESULT_SCHEMA[c] for c in RESULT_COLUMNS}, **{
    c: pl.String for c in ("area_name", "funnel_kind", "funnel_position",
                           "funnel_position_unadjusted", "funnel_adjustment")}, **{
    c: pl.Float64 for c in ("national_value", "rank", "rank_lower", "rank_upper",
                            "rank_mc_error")}, **{
    c: pl.Int64 for c in ("ranked", "quartile", "rank_draws")}}
"""What :func:`compare_areas` gives when an area has a figure (the mart's rows read back)."""
UNIT_SUFFIX = {"percent": " pts"}



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
    rank = ranks.average_ranks(oriented)
    out[ok] = np.minimum(4, np.floor((rank - 1) * 4 / ok.sum()).astype(np.int64) + 1)
    return out


def _compare_stats(rows: pl.DataFrame, national: dict[str, Any] | None, ind: Indicator, *,
                   seed: int, draws: int | None) -> pl.DataFrame:
    how = funnel_kind(ind)
    x, n = float_column(rows, "numerator"), float_column(rows, "denominator")
    value = float_column(rows, "value")
    position = np.full(rows.height, "not applicable", dtype=object)
    unadjusted, label = position, ""
    median = lower = upper = np.full(rows.height, np.nan)
    used, mc_error = 0, np.nan
    nat_value = np.nan if national is None or is_missing(national["value"]) else national["value"]
    if how is not None:
        nx = np.nan if national is None or is_missing(national["numerator"]) else national[
            "numerator"]
        nn = np.nan if national is None or is_missing(national["denominator"]) else national[
            "denominator"]
        p0 = nx / nn if np.isfinite(nx) and np.isfinite(nn) and nn > 0 else (
            np.nansum(x) / np.nansum(n) if np.nansum(n) > 0 else np.nan)
        adj = _overdispersion(x, n, p0, how, bool_column(rows, "suppressed"))
        unadjusted = funnel.funnel_position(x, n, p0, kind=how).astype(object)
        position = funnel.funnel_position(x, n, p0, kind=how, adjustment=adj).astype(object)
        label = adj.label(ind.multiplier, UNIT_SUFFIX.get(ind.unit, ""))
    if how is not None and draws:
        found = ranks.rank_intervals(
            x, n, start=draws, seed=seed, kind=how,
            higher_is_better=ind.polarity != targets.LOWER_IS_BETTER)
        median, lower, upper = found.median, found.lower, found.upper
        used, mc_error = found.draws, found.mc_error
    suppressed = bool_column(rows, "suppressed")
    position = np.where(suppressed, "suppressed", position)
    unadjusted = np.where(suppressed, "suppressed", unadjusted)
    return rows.with_columns(
        pl.lit(nat_value, dtype=pl.Float64).alias("national_value"),
        pl.lit(how or "", dtype=pl.String).alias("funnel_kind"),
        pl.Series("funnel_position", position.astype(str), dtype=pl.String),
        pl.Series("rank", median, dtype=pl.Float64).fill_nan(None),
        pl.Series("rank_lower", lower, dtype=pl.Float64).fill_nan(None),
        pl.Series("rank_upper", upper, dtype=pl.Float64).fill_nan(None),
        pl.lit(int(np.isfinite(median).sum()), dtype=pl.Int64).alias("ranked"),
        pl.Series("quartile", quartiles(value, ind), dtype=pl.Int64),
        pl.Series("funnel_position_unadjusted", unadjusted.astype(str), dtype=pl.String),
        pl.lit(label, dtype=pl.String).alias("funnel_adjustment"),
        pl.lit(used, dtype=pl.Int64).alias("rank_draws"),
        pl.lit(mc_error, dtype=pl.Float64).fill_nan(None).alias("rank_mc_error"),
    )


def _overdispersion(x: np.ndarray, n: np.ndarray, p0: float, how: str,
                    suppressed: np.ndarray) -> funnel.Overdispersion:
    """Spiegelhalter's (2005) estimate over the areas with a figure (additive random
    effects: the areas' own differences do not shrink with their size)."""
    keep = ~suppressed
    return funnel.overdispersion(x[keep], n[keep], p0, kind=how)


def compare_areas(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                  period_end: date | None, grain: str, *, kind: str = "force", seed: int = 0,
                  draws: int | None = ranks.DEFAULT_DRAWS) -> pl.DataFrame:
    """Every area of ``kind`` for one period: value, CI, funnel position, rank interval.

    ``period_end`` None (or not present) means the latest period ending on or before it for
    which England & Wales has a figure. Columns: :data:`metrics.compute.RESULT_COLUMNS` plus
    :data:`COMPARE_EXTRA`. ``funnel_position`` is :func:`metrics.statistics.funnel.
    funnel_position` around the England & Wales value (exact binomial / Poisson limits);
    ``rank``/``rank_lower``/``rank_upper`` the median rank and 95% interval from a parametric
    bootstrap with ``seed``, from ``draws`` draws doubled until every rank end has a Monte
    Carlo error under half a rank (``rank_draws``, ``rank_mc_error``; rank 1 is best by
    polarity, the highest for a neutral indicator); ``quartile`` 1 is the best quarter of the areas with a figure. Indicators
    without a sampling model (:func:`funnel_kind` None) get 'not applicable' and no ranks;
    ``draws=None`` skips the bootstrap (no ranks). Cached per data version (it is seeded, so
    the same every time).
    """
    if kind not in COMPARABLE_KINDS:
        raise ValueError(f"kind must be one of {COMPARABLE_KINDS}, got {kind!r}")
    stored = _stored(con, registry, indicator_id, period_end, grain, kind, seed, draws)
    if stored is not None:
        return stored
    return cache.cached(con, ("compare", id(registry), indicator_id, period_end, grain, kind,
                              seed, draws),
                        lambda: _compare_areas(con, registry, indicator_id, period_end, grain,
                                               kind=kind, seed=seed, draws=draws))


def _compare_areas(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                   period_end: date | None, grain: str, *, kind: str, seed: int,
                   draws: int | None) -> pl.DataFrame:
    ind = registry.get(indicator_id)
    frame = kind_frame(con, registry, [ind.id], kind, grain)
    return compare_frame(frame, ind, period_end, area_codes(con, kind), area_names(con),
                         seed=seed, draws=draws)[0]


def _stored(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
            period_end: date | None, grain: str, kind: str, seed: int, draws: int | None
            ) -> pl.DataFrame | None:
    """The comparison as the mart holds it (:mod:`metrics.mart_analysis_reads`), when it
    answers: the latest period, the stored bootstrap or none."""
    if (period_end is not None or seed != reads.COMPARE_SEED
            or draws not in (None, reads.COMPARE_DRAWS) or not reads.ready(con, registry)):
        return None
    registry.get(indicator_id)  # an unknown indicator is refused as when computed
    frame, _ = reads.read_comparison(con, indicator_id, grain, kind)
    if frame.height == 0:
        return empty_compare()
    frame = frame.cast(COMPARE_SCHEMA)  # type: ignore[arg-type]
    return frame if draws else reads.without_ranks(frame)


def empty_compare() -> pl.DataFrame:
    """:func:`compare_areas` when no area has a figure."""
    base = empty_result()
    return base.with_columns(*[pl.lit(None).alias(c) for c in COMPARE_EXTRA]).clear()


def compare_frame(frame: pl.DataFrame, ind: Indicator, period_end: date | None,
                  codes: Sequence[str], names: dict[str, str], *, seed: int, draws: int | None
                  ) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    """(:func:`compare_areas` from ``frame``, the headline rows of the areas ``codes`` and
    England and Wales (pure), England and Wales's row at the period compared)."""
    end = _latest_end(frame, period_end)
    if end is None:
        return empty_compare(), None
    at = frame.filter(pl.col("period_end") == end)
    national_rows = at.filter(pl.col("area_code") == NATIONAL)
    national = national_rows.row(0, named=True) if national_rows.height else None
    rows = pl.DataFrame({"area_code": list(codes)}, schema={"area_code": pl.String}).join(
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
    return _compare_stats(rows, national, ind, seed=seed, draws=draws), national


def overdispersed(compare: pl.DataFrame) -> bool:
    """Whether the areas differ by more than chance alone (Spiegelhalter's test on winsorised
    z-scores), so that the funnel's positions and curves are the overdispersion-adjusted
    ones (:data:`COMPARE_EXTRA` ``funnel_adjustment`` says how)."""
    return bool(compare.height) and bool(compare["funnel_adjustment"][0])


def funnel_curve(compare: pl.DataFrame, ind: Indicator, *, points: int = 120) -> pl.DataFrame:
    """The funnel's 95% and 99.8% limits over a grid of denominators spanning the areas',
    in the value's scale: columns ``denominator``, ``lower_95``, ``upper_95``, ``lower_998``,
    ``upper_998``, ``national``, ``adjustment``. Exact limits (PHE's method); where the areas
    are overdispersed, the adjusted limits, with ``adjustment`` the words for the chart.
    Empty when the indicator has no funnel."""
    how = funnel_kind(ind)
    empty = pl.DataFrame(schema={**{c: pl.Float64 for c in (
        "denominator", "lower_95", "upper_95", "lower_998", "upper_998", "national")},
        "adjustment": pl.String})
    if how is None or compare.height == 0:
        return empty
    n = float_column(compare, "denominator")
    n = n[np.isfinite(n) & (n > 0)]
    p0 = compare["national_value"][0]
    if n.size == 0 or is_missing(p0):
        return empty
    grid = np.unique(np.round(np.geomspace(max(n.min() * 0.8, 1.0), n.max() * 1.25, points)))
    scale = ind.multiplier
    adj = _overdispersion(float_column(compare, "numerator"), float_column(compare, "denominator"),
                          p0 / scale, how, bool_column(compare, "suppressed"))
    lim = (funnel.adjusted_limits(adj, grid) if adj.applies
           else funnel.funnel_limits(p0 / scale, grid, kind=how))
    return pl.DataFrame({
        "denominator": grid,
        "lower_95": lim[0.95][0] * scale, "upper_95": lim[0.95][1] * scale,
        "lower_998": lim[0.998][0] * scale, "upper_998": lim[0.998][1] * scale,
        "national": np.full(grid.size, p0),
        "adjustment": [adj.label(scale, UNIT_SUFFIX.get(ind.unit, ""))] * grid.size,
    })
