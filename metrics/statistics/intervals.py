"""Confidence intervals for proportions, counts, rates and means (METHODS.md, "Proportions
and rates").

All functions are pure and vectorised: array-likes (or scalars) in, numpy arrays out
(0-d arrays for scalar inputs), broadcast against each other. Invalid or missing inputs
(NaN, negative counts, zero denominators) give NaN rather than raising, and every interval
satisfies ``lower <= value <= upper``.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import special

from metrics.statistics.distributions import chi2_ppf, t_ppf

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

Z95 = 1.959963984540054
"""Two-sided 95% standard normal quantile, ``norm.ppf(0.975)``."""

BYAR_MIN_COUNT = 10
"""Counts at or above this use Byar's approximation; below it the exact Poisson interval."""

METHOD_BYAR = "byar"
METHOD_EXACT_POISSON = "exact_poisson"
METHOD_NONE = "none"


@functools.lru_cache(maxsize=32)
def z_for(level: float) -> float:
    """Two-sided standard normal critical value for a confidence ``level`` in (0, 1).

    ``z = norm.ppf(1 - (1 - level) / 2)``; ``z_for(0.95) == Z95``. Kept per level (SciPy's
    ``ppf`` costs ~0.2 ms a call and the pages ask for the same level many times).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level!r}")
    return float(special.ndtri(1.0 - (1.0 - level) / 2.0))  # = scipy.stats.norm.ppf


def _float(a: npt.ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64)


def _bracket(
    value: FloatArray, lower: FloatArray, upper: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Absorb floating-point noise so that ``lower <= value <= upper`` (NaN propagates)."""
    return np.asarray(np.minimum(lower, value)), np.asarray(np.maximum(upper, value))


def wilson_interval(
    x: npt.ArrayLike, n: npt.ArrayLike, *, z: float = Z95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion ``x / n`` (METHODS.md; as PHEindicatormethods).

    ``centre = (x + z²/2) / (n + z²)``, ``half = z·sqrt(x(n−x)/n + z²/4) / (n + z²)``;
    returns ``(centre − half, centre + half)`` clipped to [0, 1]. ``n <= 0``, ``x < 0``,
    ``x > n`` or NaN give NaN.
    """
    xa, na = np.broadcast_arrays(_float(x), _float(n))
    valid = (na > 0) & (xa >= 0) & (xa <= na)
    xs = np.where(valid, xa, np.nan)
    ns = np.where(valid, na, np.nan)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (xs + z2 / 2.0) / (ns + z2)
        half = z * np.sqrt(np.maximum(xs * (ns - xs) / ns, 0.0) + z2 / 4.0) / (ns + z2)
        p = xs / ns
    lower = np.clip(centre - half, 0.0, 1.0)
    upper = np.clip(centre + half, 0.0, 1.0)
    return _bracket(p, lower, upper)


def _byar(x: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Byar's approximation (METHODS.md; as PHEindicatormethods for counts >= 10).

    lower ``x(1 − 1/(9x) − z/(3√x))³``, upper ``(x+1)(1 − 1/(9(x+1)) + z/(3√(x+1)))³``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3
        x1 = x + 1.0
        upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    return lower, upper


def _exact_poisson(x: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood) interval: ``χ²(α/2; 2x)/2`` (0 when x = 0), ``χ²(1−α/2; 2x+2)/2``."""
    # the quantiles of the counts that have them only (the others' were computed, then
    # dropped: a Byar count's, or a blank's, cost as much as an exact one's)
    with np.errstate(invalid="ignore"):
        positive = x > 0
        lower = np.zeros(x.shape)
        lower[positive] = chi2_ppf(alpha / 2.0, 2.0 * x[positive])
        lower = lower / 2.0
        counted = ~np.isnan(x)
        upper = np.full(x.shape, np.nan)
        upper[counted] = chi2_ppf(1.0 - alpha / 2.0, 2.0 * x[counted] + 2.0) / 2.0
    return np.where(np.isnan(x), np.nan, lower), upper


def poisson_count_interval(
    x: npt.ArrayLike, *, level: float = 0.95
) -> tuple[FloatArray, FloatArray, StrArray]:
    """Confidence interval for a Poisson count (METHODS.md, "Rate per 1,000 population").

    Byar's approximation when ``x >= 10``, exact Poisson (chi-square quantiles) when
    ``x < 10``. Returns ``(lower, upper, method)`` where ``method`` is ``'byar'``,
    ``'exact_poisson'`` or ``'none'`` (NaN or negative count → NaN bounds).
    """
    z = z_for(level)
    xa = _float(x)
    valid = xa >= 0
    xs = np.where(valid, xa, np.nan)
    use_byar = xs >= BYAR_MIN_COUNT
    b_lo, b_hi = _byar(np.where(use_byar, xs, np.nan), z)
    e_lo, e_hi = _exact_poisson(np.where(use_byar, np.nan, xs), 1.0 - level)
    lower = np.where(use_byar, b_lo, e_lo)
    upper = np.where(use_byar, b_hi, e_hi)
    method = np.where(
        valid, np.where(use_byar, METHOD_BYAR, METHOD_EXACT_POISSON), METHOD_NONE
    ).astype(np.str_)
    lower, upper = _bracket(xs, np.maximum(lower, 0.0), upper)
    return lower, upper, method


def rate_interval(
    x: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    multiplier: float = 1000.0,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray, StrArray]:
    """Rate ``x / denominator × multiplier`` with the Poisson count interval scaled alike.

    METHODS.md: "CI for the count [Byar / exact Poisson] … divide by the denominator".
    Returns ``(value, lower, upper, method)``; a non-positive or NaN denominator gives NaN
    value and bounds (``method`` still names the count method).
    """
    xa, da = np.broadcast_arrays(_float(x), _float(denominator))
    lo, hi, method = poisson_count_interval(xa, level=level)
    scale = np.where(da > 0, multiplier / np.where(da > 0, da, 1.0), np.nan)
    value = np.where(xa >= 0, xa, np.nan) * scale
    lower, upper = _bracket(value, lo * scale, hi * scale)
    return np.asarray(value), lower, upper, method


def mean_interval(
    mean: npt.ArrayLike, sd: npt.ArrayLike, n: npt.ArrayLike, *, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Student's t confidence interval for a mean: ``mean ± t(n−1)·sd/√n`` (METHODS.md,
    "Mean days"). The normal ``z`` would cover 81% rather than 95% at n = 3; ``t`` holds the
    level for normal data at every n and tends to ``z`` as n grows.

    Returns ``(lower, upper)``; NaN where the mean or sd is NaN, ``sd < 0`` or ``n < 2``
    (no record-level spread: no CI).
    """
    z_for(level)  # validates the level
    m, s, k = np.broadcast_arrays(_float(mean), _float(sd), _float(n))
    valid = (k >= 2) & (s >= 0) & np.isfinite(m)
    df = np.where(valid, k - 1.0, 1.0)
    t = t_ppf(1.0 - (1.0 - level) / 2.0, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(valid, t * s / np.sqrt(np.where(valid, k, 1.0)), np.nan)
    return np.asarray(m - half), np.asarray(m + half)
