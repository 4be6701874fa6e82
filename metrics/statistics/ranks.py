"""Rank intervals for league tables (METHODS.md, "Comparing areas: Rank intervals").

"Bootstrap the counts to give each area a median rank and a 95% rank interval; never show
a league table without them." A parametric bootstrap (Goldstein & Spiegelhalter 1996,
"League tables and their limitations", JRSS A 159:385–443; Marshall & Spiegelhalter 1998,
BMJ 316:1701): each draw resamples every area's count — binomial with ``p̂ = x / n`` for
proportions, Poisson with mean ``x`` for counts and rates — re-ranks all areas, and the
median and percentiles of each area's ranks are reported. Vectorised over a
``draws × areas`` matrix and deterministic for a given ``seed``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]

PROPORTION, RATE = "proportion", "rate"
DEFAULT_DRAWS = 2000


def _valid(x: FloatArray, n: FloatArray, kind: str) -> npt.NDArray[np.bool_]:
    ok = np.isfinite(x) & np.isfinite(n) & (x >= 0) & (n > 0)
    if kind == PROPORTION:
        ok &= (x <= n) & (n == np.round(n))
    return ok


def bootstrap_rank_intervals(
    x: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    higher_is_better: bool = True,
    kind: str = PROPORTION,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Median rank and rank interval per area by parametric bootstrap; rank 1 is best.

    ``kind='proportion'``: ``x`` events out of whole-number ``n``, resampled as
    ``Binomial(n, x/n)``. ``kind='rate'``: ``x`` counts over exposure ``n``, resampled as
    ``Poisson(x)``; the value ranked is ``x* / n``. Ties within a draw take the average rank.
    Returns ``(median, lower, upper)``: the median rank and the ``(1 − level)/2`` and
    ``1 − (1 − level)/2`` percentiles (2.5% and 97.5% by default, taken from the drawn ranks
    with the inverted-CDF rule so they are ranks that occurred). Areas with invalid data
    (NaN, ``n <= 0``, ``x < 0``, or for proportions ``x > n`` or fractional ``n``) are left
    out of the ranking and get NaN. Raises ``ValueError`` for bad settings.
    """
    if kind not in (PROPORTION, RATE):
        raise ValueError(f"kind must be 'proportion' or 'rate', got {kind!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be a positive whole number, got {draws!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    xa, na = xa.ravel(), na.ravel()
    ok = _valid(xa, na, kind)
    median, lower, upper = (np.full(xa.size, np.nan) for _ in range(3))
    if not ok.any():
        return median, lower, upper
    xs, ns = xa[ok], na[ok]
    rng = np.random.default_rng(seed)
    if kind == PROPORTION:
        counts = rng.binomial(ns.astype(np.int64), xs / ns, size=(draws, xs.size))
    else:
        counts = rng.poisson(xs, size=(draws, xs.size))
    values = counts / ns
    ranks = stats.rankdata(-values if higher_is_better else values, method="average", axis=1)
    tail = (1.0 - level) / 2.0
    median[ok] = np.median(ranks, axis=0)
    lower[ok] = np.quantile(ranks, tail, axis=0, method="inverted_cdf")
    upper[ok] = np.quantile(ranks, 1.0 - tail, axis=0, method="inverted_cdf")
    return median, lower, upper
