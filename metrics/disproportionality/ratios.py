"""The figures of one chain of stages for many areas and periods: relative rate index,
rates per 1,000, disparity ratios, excess and parity reduction (pure functions of the counts)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from metrics import statistics as st
from metrics.disproportionality import small
from metrics.disproportionality.schema import GROUPS
from metrics.stages import Stage
from metrics.statistics import disproportionality as dp


def _cell_lookup(counts: pl.DataFrame) -> tuple[dict[tuple, dict[str, dict[str, float]]],
                                                 dict[tuple, tuple[str | None, str | None, bool]]]:
    """(area, period_start, period_end) → stage → group → count; and (area, stage,
    period_start, period_end) → the source of its counts by ethnic group (the first row's),
    their latest vintage and whether any is synthetic."""
    out: dict[tuple, dict[str, dict[str, float]]] = {}
    provenance: dict[tuple, tuple[str | None, str | None, bool]] = {}
    groups = set(GROUPS)
    for area, stage, start, end, group, value, source, vintage, synthetic in small.tuples(
            counts, "area_code", "stage", "period_start", "period_end", "group", "value",
            "source", "vintage", "synthetic"):
        cell = out.setdefault((area, start, end), {}).setdefault(stage, {})
        cell[group] = math.nan if value is None else float(value)
        if group in groups:
            key = (area, stage, start, end)
            held = provenance.get(key)
            if held is None:
                provenance[key] = (source, vintage, synthetic is True)
            else:
                latest = held[1] if vintage is None or (held[1] is not None
                                                        and held[1] >= vintage) else vintage
                provenance[key] = (held[0], latest, held[2] or synthetic is True)
    return out, provenance


def _chain(stage_list: list[Stage], by_stage: dict[str, dict[str, float]]) -> list[Stage]:
    """The stages with ethnic groups in this cell, in order (the population first)."""
    return [s for s in stage_list
            if s.is_population or any(g in by_stage.get(s.id, {}) for g in GROUPS)]


def _cell_figures(counts: np.ndarray, pops: np.ndarray, ref: int, min_count: float,
                  level: float) -> dict[str, np.ndarray]:
    """Every figure of many areas and periods with the same chain of stages, in one pass:
    ``counts`` is (cells, stages, groups) with the populations first; arrays out are
    (cells, stages − 1, groups)."""
    table = dp.relative_rate_index_batch(counts, ref, min_count=min_count, level=level)
    x = table["numerator"]
    pop_b = np.broadcast_to(pops[:, None, :], x.shape)
    rate, rate_lo, rate_hi, rate_method = st.rate_interval(x, pop_b, multiplier=1000.0,
                                                           level=level)
    ratio, r_lo, r_hi, r_sig, r_est = st.rate_ratio(
        x, pop_b, x[..., [ref]], pop_b[..., [ref]], z=st.z_for(level),
        population_denominators=True)
    if not r_est.all():  # the exact conditional test only where a zero leaves no Katz CI
        p_pop = st.exact_poisson_ratio_test(x, pop_b, x[..., [ref]], pop_b[..., [ref]])
        r_sig = np.where(r_est, r_sig, p_pop < 1.0 - level)
    status = table["status"]
    excluded = status == dp.STATUS_EXCLUDED
    untested = excluded | (status == dp.STATUS_INSUFFICIENT)
    ratio = np.where(excluded, np.nan, ratio)
    ratio[..., ref] = np.where(np.isfinite(x[..., ref]) & (x[..., ref] > 0), 1.0, np.nan)
    r_lo = np.where(excluded, np.nan, r_lo)
    r_hi = np.where(excluded, np.nan, r_hi)
    r_lo[..., ref], r_hi[..., ref] = np.nan, np.nan
    r_sig = r_sig & ~untested
    r_sig[..., ref] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_rate = x[..., [ref]] / pop_b[..., [ref]]
    excess = np.where(excluded, np.nan, dp.excess_count(x, pop_b, ref_rate))
    figures = {
        "count": x, "previous_count": table["denominator"], "stage_rate": table["rate"],
        "rri": table["rri"], "rri_lower": table["lower"], "rri_upper": table["upper"],
        "p_exact": table["p_exact"], "significant": table["significant"],
        "significance_method": table["significance_method"], "status": status,
        "rate_per_1000": np.where(excluded, np.nan, rate),
        "rate_lower": np.where(excluded, np.nan, rate_lo),
        "rate_upper": np.where(excluded, np.nan, rate_hi),
        "rate_method": np.broadcast_to(rate_method, x.shape),
        "disparity_ratio": ratio, "ratio_lower": r_lo, "ratio_upper": r_hi,
        "ratio_significant": r_sig, "excess": excess,
        "parity_reduction": dp.parity_reduction(ratio),
    }
    return _exclude_small_reference(figures, pops, ref)


_NUMBERS = ("stage_rate", "rri", "rri_lower", "rri_upper", "p_exact", "rate_per_1000",
            "rate_lower", "rate_upper", "disparity_ratio", "ratio_lower", "ratio_upper",
            "excess", "parity_reduction")


def _exclude_small_reference(figures: dict[str, np.ndarray], pops: np.ndarray, ref: int
                             ) -> dict[str, np.ndarray]:
    """A reference group under 1% of the population is no base for a comparison either
    (METHODS.md's 1% rule): in those cells every other group's comparison is excluded too."""
    total = np.nansum(np.where(pops > 0, pops, 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = ~((total > 0) & (pops[:, ref] / total >= dp.DEFAULT_MIN_SHARE))
    if not small.any():
        return figures
    others = np.broadcast_to(small[:, None, None], figures["status"].shape).copy()
    others[..., ref] = False
    out = dict(figures)
    for key in _NUMBERS:
        out[key] = np.where(others, np.nan, out[key])
    out["status"] = np.where(others, dp.STATUS_EXCLUDED, out["status"]).astype(np.str_)
    out["significance_method"] = np.where(others, dp.METHOD_NONE,
                                          out["significance_method"]).astype(np.str_)
    out["significant"] = out["significant"] & ~others
    out["ratio_significant"] = out["ratio_significant"] & ~others
    return out
