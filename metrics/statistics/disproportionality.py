"""Race disproportionality across the stages of the justice process (METHODS.md, "Comparing
groups: disproportionality").

Relative rate index (RRI; OJJDP method, as used by the Ministry of Justice for the Lammy
Review): each stage's rate uses the previous stage as its denominator, and the RRI is a
group's stage rate over the reference group's, with a Katz log-scale CI. Also the excess
count, the reduction needed for parity, and assumption bounds for missing ethnicity. Pure and
vectorised; bad data give NaN (never an error), bad settings ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metrics.statistics.comparisons import exact_poisson_ratio_test, rate_ratio
from metrics.statistics.intervals import z_for

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

DEFAULT_MIN_COUNT = 10
DEFAULT_MIN_SHARE = 0.01

STATUS_OK = "ok"
STATUS_REFERENCE = "reference"
STATUS_INSUFFICIENT = "insufficient"
STATUS_EXCLUDED = "excluded: under 1% of population"
STATUS_NOT_ESTIMABLE = "not estimable"

METHOD_KATZ_BINOMIAL = "katz (binomial denominators)"
METHOD_KATZ_POISSON = ("katz (poisson variance: a population denominator, or a count "
                       "exceeding its denominator)")
METHOD_EXACT = "exact conditional test"
METHOD_NONE = "none"

BOUNDS_LABEL = "assumption bounds for missing ethnicity (not a confidence interval)"


@dataclass(frozen=True)
class RriTable:
    """The stage × group matrix. Rows are ``stages[1:]`` (the first stage is the population
    base); every array is ``(len(stages) − 1, len(groups))``."""

    stages: tuple[str, ...]
    groups: tuple[str, ...]
    reference: str
    numerator: FloatArray
    denominator: FloatArray
    rate: FloatArray
    rri: FloatArray
    lower: FloatArray
    upper: FloatArray
    p_exact: FloatArray
    significant: BoolArray
    significance_method: StrArray
    status: StrArray


def _matrix(
    stage_counts: Mapping[str, npt.ArrayLike], stages: Sequence[str], n_groups: int
) -> FloatArray:
    if len(stages) < 2:
        raise ValueError("need the population stage and at least one further stage")
    missing = [s for s in stages if s not in stage_counts]
    if missing:
        raise ValueError(f"stage_counts has no entry for {missing!r}")
    rows = [np.asarray(stage_counts[s], dtype=np.float64).ravel() for s in stages]
    if any(r.size != n_groups for r in rows):
        raise ValueError(f"every stage needs one count per group ({n_groups})")
    return np.vstack(rows)


def relative_rate_index(
    stage_counts: Mapping[str, npt.ArrayLike],
    stages: Sequence[str],
    reference: str,
    *,
    groups: Sequence[str],
    min_count: float = DEFAULT_MIN_COUNT,
    min_share: float = DEFAULT_MIN_SHARE,
    level: float = 0.95,
) -> RriTable:
    """Relative rate index for every later stage and group (METHODS.md; OJJDP / Lammy).

    ``stage_counts[stage]`` holds one count per group (in ``groups`` order); ``stages[0]``
    is the population. Stage rate = stage count / previous stage count (the first stage over
    the population); ``RRI = rate_group / rate_reference``. 95% CI by Katz on the log scale:
    the first stage, over the population, with Poisson variance ``Var(ln RR) = 1/a + 1/c``
    (the disparity ratio's, so the same ratio has the same interval everywhere); later stages
    with binomial denominators, ``1/a − 1/n1 + 1/c − 1/n2`` (a, c the group and reference
    stage counts, n1, n2 their previous-stage counts), the ``1/n`` terms dropped where a count
    exceeds its denominator (a stage that is not a subset of the one before). Significant when the CI excludes 1. ``p_exact`` is the exact conditional test
    (binomial on ``a/(a + c)``, ``p0 = n1/(n1 + n2)``) for every cell; it decides
    significance only where a zero count makes the ratio not estimable.

    ``status`` per cell, in precedence: ``'excluded: under 1% of population'`` (group under
    ``min_share`` of the total population; all values NaN), ``'reference'`` (RRI 1),
    ``'insufficient'`` (group or reference stage count below ``min_count``; values kept,
    never significant), ``'not estimable'`` (zero count or denominator; RRI NaN), ``'ok'``.
    """
    groups = tuple(groups)
    if reference not in groups:
        raise ValueError(f"reference group {reference!r} is not one of {groups!r}")
    counts = _matrix(stage_counts, stages, len(groups))
    table = relative_rate_index_batch(counts[None], groups.index(reference),
                                      min_count=min_count, min_share=min_share, level=level)
    return RriTable(stages=tuple(stages[1:]), groups=groups, reference=reference,
                    **{k: v[0] for k, v in table.items()})


def relative_rate_index_batch(
    counts: npt.ArrayLike,
    reference: int,
    *,
    min_count: float = DEFAULT_MIN_COUNT,
    min_share: float = DEFAULT_MIN_SHARE,
    level: float = 0.95,
) -> dict[str, np.ndarray]:
    """:func:`relative_rate_index` for many areas and periods at once.

    ``counts`` is ``(cells, stages, groups)``: per cell (an area and period) the population
    (``stages`` index 0) and each later stage's count per group; ``reference`` the reference
    group's index. Returns the :class:`RriTable` arrays (``numerator`` … ``status``), each
    ``(cells, stages − 1, groups)``: one vectorised pass, whatever the number of cells.
    """
    if min_count < 0 or not 0 <= min_share < 1:
        raise ValueError("min_count must be >= 0 and min_share in [0, 1)")
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 3 or counts.shape[1] < 2:
        raise ValueError("need the population stage and at least one further stage")
    z = z_for(level)
    ref = reference
    num, den = counts[:, 1:, :], counts[:, :-1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where((den > 0) & (num >= 0), num / den, np.nan)
        pop = counts[:, 0, :]
        share = pop / np.nansum(np.where(pop > 0, pop, 0.0), axis=-1, keepdims=True)
    a, n1 = num, den
    c, n2 = num[..., [ref]], den[..., [ref]]
    # The first stage's denominator is the population: Poisson variance (1/a + 1/c), the same
    # interval as the disparity ratio of the same counts (one ratio, one interval).
    first = np.zeros(a.shape, dtype=np.bool_)
    first[:, 0, :] = True
    binomial = (a <= n1) & (c <= n2) & ~first
    rr_b, lo_b, hi_b, _, est_b = rate_ratio(a, n1, c, n2, z=z, population_denominators=False)
    rr_p, lo_p, hi_p, _, est_p = rate_ratio(a, n1, c, n2, z=z, population_denominators=True)
    rri, lower, upper = (
        np.where(binomial, b, p) for b, p in ((rr_b, rr_p), (lo_b, lo_p), (hi_b, hi_p))
    )
    estimable = np.where(binomial, est_b, est_p)
    p_exact = exact_poisson_ratio_test(a, n1, c, np.broadcast_to(n2, a.shape))
    alpha = 1.0 - level
    significant = np.where(estimable, (lower > 1.0) | (upper < 1.0), p_exact < alpha)
    method = np.where(
        estimable,
        np.where(binomial, METHOD_KATZ_BINOMIAL, METHOD_KATZ_POISSON),
        np.where(np.isfinite(p_exact), METHOD_EXACT, METHOD_NONE),
    )
    excluded = np.broadcast_to(~(share >= min_share)[:, None, :], a.shape).copy()
    excluded[..., ref] = False
    is_ref = np.zeros(a.shape, dtype=np.bool_)
    is_ref[..., ref] = True
    insufficient = ~((a >= min_count) & (c >= min_count))
    status = np.select(
        [excluded, is_ref, insufficient, ~estimable],
        [STATUS_EXCLUDED, STATUS_REFERENCE, STATUS_INSUFFICIENT, STATUS_NOT_ESTIMABLE],
        default=STATUS_OK,
    ).astype(np.str_)
    rri = np.where(is_ref & np.isfinite(rate), 1.0, rri)
    lower, upper = np.where(is_ref, np.nan, lower), np.where(is_ref, np.nan, upper)
    tested = (status == STATUS_OK) | (status == STATUS_NOT_ESTIMABLE)
    significant &= tested
    method = np.where(tested, method, METHOD_NONE).astype(np.str_)
    for arr in (rate, rri, lower, upper, p_exact):
        arr[excluded] = np.nan
    return {
        "numerator": np.asarray(num), "denominator": np.asarray(den),
        "rate": np.asarray(rate), "rri": np.asarray(rri), "lower": np.asarray(lower),
        "upper": np.asarray(upper), "p_exact": np.asarray(p_exact),
        "significant": np.asarray(significant), "significance_method": method,
        "status": status,
    }


def _floats(*args: npt.ArrayLike) -> tuple[FloatArray, ...]:
    return tuple(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in args)))


def excess_count(x_g: npt.ArrayLike, pop_g: npt.ArrayLike, rate_ref: npt.ArrayLike) -> FloatArray:
    """Events beyond parity: ``excess_g = x_g − rate_ref × pop_g`` (METHODS.md).

    ``rate_ref`` is per unit of ``pop_g`` (events per person, not per 1,000). Negative when
    the group is below the reference rate; NaN propagates.
    """
    x, pop, r = _floats(x_g, pop_g, rate_ref)
    return np.asarray(x - r * pop)


def parity_reduction(rr: npt.ArrayLike) -> FloatArray:
    """Share of the group's events to remove to reach parity: ``1 − 1/RR`` (METHODS.md).

    Negative when ``RR < 1`` (an increase would be needed); NaN when ``RR <= 0`` or NaN.
    """
    r = np.asarray(rr, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(np.isfinite(r) & (r > 0), 1.0 - 1.0 / r, np.nan))


def missing_ethnicity_bounds(
    e_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    e_r: npt.ArrayLike,
    n_r: npt.ArrayLike,
    unknown: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Bounds on the disparity ratio ``(n_c/e_c) / (n_r/e_r)`` when ``unknown`` records have
    no ethnicity recorded (METHODS.md, "Missing ethnicity").

    ``e_c``, ``e_r``: exposures (population denominators) of the comparison and reference
    groups; ``n_c``, ``n_r``: their counts (e.g. searches) with ethnicity stated;
    ``unknown`` (U): records with ethnicity not stated. Lower bound: every unknown assigned
    to the reference group, ``(n_c/e_c) / ((n_r + U)/e_r)``; upper bound: every unknown
    assigned to the comparison group, ``((n_c + U)/e_c) / (n_r/e_r)``. So
    ``lower <= (n_c/e_c)/(n_r/e_r) <= upper``. These are assumptions, not confidence
    intervals (:data:`BOUNDS_LABEL`). NaN for a non-positive exposure, a negative count, or a
    zero reference count in the upper bound.
    """
    ec, nc, er, nr, u = _floats(e_c, n_c, e_r, n_r, unknown)
    ok = (ec > 0) & (er > 0) & (nc >= 0) & (nr >= 0) & (u >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(ok & (nr + u > 0), (nc / ec) / ((nr + u) / er), np.nan)
        upper = np.where(ok & (nr > 0), ((nc + u) / ec) / (nr / er), np.nan)
    return np.asarray(lower), np.asarray(upper)


def tipping_share(
    e_c: npt.ArrayLike,
    n_c: npt.ArrayLike,
    e_r: npt.ArrayLike,
    n_r: npt.ArrayLike,
    unknown: npt.ArrayLike,
) -> FloatArray:
    """Share t of the unknown-ethnicity records that must belong to the comparison group
    (the rest, ``1 − t``, to the reference group) for the disparity ratio to equal 1.

    Variables as :func:`missing_ethnicity_bounds` (e exposures = populations, n counts with
    ethnicity stated, U unknowns). Solving ``((n_c + tU)/e_c) / ((n_r + (1 − t)U)/e_r) = 1``
    gives METHODS.md's ``t = (e_c(n_r + U) − e_r·n_c) / (U(e_r + e_c))``. Feasible only in
    [0, 1] — i.e. when parity lies between the two bounds; NaN otherwise, when ``U <= 0``
    or for invalid inputs.
    """
    ec, nc, er, nr, u = _floats(e_c, n_c, e_r, n_r, unknown)
    ok = (ec > 0) & (er > 0) & (nc >= 0) & (nr >= 0) & (u > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (ec * (nr + u) - er * nc) / (u * (er + ec))
    return np.asarray(np.where(ok & (t >= 0) & (t <= 1), t, np.nan))
