"""Statistical process control limits (METHODS.md, "Trends against targets: SPC"): XmR, p and
Laney's p′, after NHS England's "Making Data Count" (MDC) as the NHS-R ``NHSRplotthedots``
package implements it (``ptd_spc_standard``; its published test cases are ported in
``tests/unit/test_spc_nhsr.py``), with Laney's p′ chart for overdispersed proportions.

The SPC method is four modules, each pure and vectorised (arrays in, arrays out): these
limits; the four MDC special-cause rules read against them (:mod:`.spc_rules`); improvement /
concern classification of the signals by polarity (:mod:`.spc_signals`); and assurance
against a target (:mod:`.spc_assurance`). In all of them a NaN (or infinite) point is a
missing or suppressed period: it takes no part in means, no moving range is taken across it
and no run or window is continued over it, and it never signals. Bad settings raise
``ValueError``; data never does. Differences from the package are recorded in
docs/decisions/0007-spc-funnels-and-changes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

XMR_SCALE = 2.66
"""MDC process-limit constant: limits are ``mean ± 2.66 × mean moving range`` (3 / 1.128)."""
SCREEN_SCALE = 3.267
"""Moving ranges of ``3.267 × mean moving range`` or more are screened out (NHSRplotthedots'
``screen_outliers``, on by default) and the mean moving range taken again without them."""
D2 = 1.128
"""Unbiasing constant for a moving range of two points (``σ̂ = mean moving range / 1.128``)."""
MIN_POINTS = 12
"""Segments with fewer points with a figure have trial limits (MDC; NHSRplotthedots warns)."""


@dataclass(frozen=True)
class SpcLimits:
    """Per-point SPC lines. ``sigma`` is one process sigma (``2.66/3 × mean moving range`` for
    XmR, ``sqrt(p̄(1−p̄)/n_i)`` for a p-chart, that times ``σ_z`` for Laney's p′); the one- and
    two-sigma bands are ``centre ± sigma`` and ``centre ± 2·sigma`` (two-sigma is "two-thirds
    of the way to a limit"). ``trial`` marks points whose segment has fewer than
    :data:`MIN_POINTS` points with a figure (trial limits); ``segment`` numbers the rebased
    segments from 0. ``sigma_z`` is Laney's between-period factor per point (1 for XmR and p)."""

    centre: FloatArray
    lower: FloatArray
    upper: FloatArray
    sigma: FloatArray
    lower_one_sigma: FloatArray
    upper_one_sigma: FloatArray
    lower_two_sigma: FloatArray
    upper_two_sigma: FloatArray
    trial: BoolArray
    segment: IntArray
    sigma_z: FloatArray | None = None


def _segments(length: int, fix_after: int | None, rebase_at: Sequence[int]
              ) -> list[tuple[int, int]]:
    if fix_after is not None and (isinstance(fix_after, bool)
                                  or not isinstance(fix_after, (int, np.integer))
                                  or fix_after < 2):
        raise ValueError(f"fix_after must be None or a whole number >= 2, got {fix_after!r}")
    cuts = sorted({int(i) for i in rebase_at})
    if any(i <= 0 or i >= length for i in cuts):
        raise ValueError(f"rebase_at indices must lie in 1..{length - 1}, got {list(rebase_at)!r}")
    bounds = [0, *cuts, length]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _fixed(values: FloatArray, fix_after: int | None) -> FloatArray:
    """The segment's values that set its limits: its first ``fix_after`` periods (rows, gaps
    included, as ``fix_after_n_points``), or all of them."""
    return values if fix_after is None else values[:fix_after]


def mean_moving_range(values: npt.ArrayLike, *, screen: bool = True) -> float:
    """Mean of ``|y_i − y_{i−1}|`` over consecutive periods that both have a figure (a range is
    never taken across a missing or suppressed period). With ``screen`` (NHSRplotthedots'
    default) ranges of ``3.267 ×`` the mean or more are dropped and the mean taken again.
    NaN when there is no moving range."""
    y = np.asarray(values, dtype=np.float64).ravel()
    mr = np.abs(np.diff(y))
    mr = mr[np.isfinite(mr)]
    if mr.size == 0:
        return float("nan")
    amr = float(mr.mean())
    if screen:
        kept = mr[mr < SCREEN_SCALE * amr]
        amr = float(kept.mean()) if kept.size else float("nan")
    return amr


def build_limits(centre: FloatArray, sigma: FloatArray, trial: BoolArray, segment: IntArray,
           clip: bool, sigma_z: FloatArray | None = None) -> SpcLimits:
    lo, hi = (0.0, 1.0) if clip else (-np.inf, np.inf)

    def band(k: float) -> tuple[FloatArray, FloatArray]:
        return np.clip(centre - k * sigma, lo, hi), np.clip(centre + k * sigma, lo, hi)

    (l3, u3), (l1, u1), (l2, u2) = band(3.0), band(1.0), band(2.0)
    return SpcLimits(centre, l3, u3, sigma, l1, u1, l2, u2, trial, segment, sigma_z)


def xmr_limits(
    values: npt.ArrayLike, *, fix_after: int | None = None, rebase_at: Sequence[int] = (),
    screen_outliers: bool = True,
) -> SpcLimits:
    """XmR (individuals) chart limits, as ``ptd_spc_standard`` computes them.

    Each segment (split only at the user-marked ``rebase_at`` indices, never automatically)
    takes its centre from the mean of its points with a figure and its spread from the
    :func:`mean_moving_range` (screened, never across a gap or a rebase); limits are
    ``mean ± 2.66 × mean moving range``. By default (MDC's) every point of the segment sets
    its limits; ``fix_after=N`` fixes them on the segment's first N periods. A segment with
    fewer than :data:`MIN_POINTS` points with a figure has trial limits (``trial=True``).
    Fewer than two consecutive points: NaN limits.
    """
    y = np.asarray(values, dtype=np.float64).ravel()
    y = np.where(np.isfinite(y), y, np.nan)
    segs = _segments(y.size, fix_after, rebase_at)
    centre, sigma = np.full(y.size, np.nan), np.full(y.size, np.nan)
    trial, segment = np.zeros(y.size, dtype=np.bool_), np.zeros(y.size, dtype=np.int64)
    for k, (s, e) in enumerate(segs):
        seg = y[s:e]
        trial[s:e] = np.isfinite(seg).sum() < MIN_POINTS
        segment[s:e] = k
        base = _fixed(seg, fix_after)
        if np.isfinite(base).any():
            centre[s:e] = np.nanmean(base)
        sigma[s:e] = XMR_SCALE / 3.0 * mean_moving_range(base, screen=screen_outliers)
    return build_limits(centre, sigma, trial, segment, clip=False)


def _proportions(x: npt.ArrayLike, n: npt.ArrayLike
                 ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    xa, na = xa.ravel(), na.ravel()
    valid = np.isfinite(xa) & np.isfinite(na) & (na > 0) & (xa >= 0) & (xa <= na)
    return xa, na, valid


def _p_bar(xa: FloatArray, na: FloatArray, valid: npt.NDArray[np.bool_], s: int, e: int,
           fix_after: int | None) -> float:
    stop = e if fix_after is None else min(e, s + fix_after)
    use = valid[s:stop]
    return float(xa[s:stop][use].sum() / na[s:stop][use].sum()) if use.any() else np.nan


def p_chart_limits(
    x: npt.ArrayLike, n: npt.ArrayLike, *, fix_after: int | None = None,
    rebase_at: Sequence[int] = (),
) -> SpcLimits:
    """p-chart limits for proportions ``x_i / n_i`` with varying denominators (METHODS.md).

    Per segment ``p̄ = Σx / Σn`` over its valid points (``n > 0``, ``0 <= x <= n``; the first
    ``fix_after`` periods when given); limits ``p̄ ± 3·sqrt(p̄(1−p̄)/n_i)`` clipped to [0, 1],
    NaN where ``n_i`` is invalid. Segments, rebasing and trial limits as :func:`xmr_limits`.
    Pass ``x / n`` as the values to :func:`.spc_rules.special_causes`.
    """
    xa, na, valid = _proportions(x, n)
    segs = _segments(xa.size, fix_after, rebase_at)
    centre = np.full(xa.size, np.nan)
    trial, segment = np.zeros(xa.size, dtype=np.bool_), np.zeros(xa.size, dtype=np.int64)
    for k, (s, e) in enumerate(segs):
        trial[s:e] = valid[s:e].sum() < MIN_POINTS
        segment[s:e] = k
        centre[s:e] = _p_bar(xa, na, valid, s, e, fix_after)
    has_n = np.isfinite(na) & (na > 0)  # the limits need only n (drawn where x is invalid)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(has_n, np.sqrt(centre * (1.0 - centre) / np.where(has_n, na, 1)), np.nan)
    return build_limits(centre, sigma, trial, segment, clip=True, sigma_z=np.ones(xa.size))


def laney_limits(
    x: npt.ArrayLike, n: npt.ArrayLike, *, fix_after: int | None = None,
    rebase_at: Sequence[int] = (), screen_outliers: bool = True,
) -> SpcLimits:
    """Laney's p′ chart (Laney 2002, "Improved control charts for attributes", Quality
    Engineering 14:531–537): a p-chart whose binomial sigma is scaled by ``σ_z``, the
    between-period variation of the z-scores ``z_i = (p_i − p̄)/σ_pi``, estimated as an XmR
    chart does (``σ_z = mean moving range of z / 1.128``, screened as :func:`xmr_limits`, never
    across a gap or rebase). Limits ``p̄ ± 3·σ_pi·σ_z`` clipped to [0, 1]. With very large
    denominators the binomial sigma is tiny and ordinary period-to-period variation lies far
    outside a p-chart's limits; ``σ_z`` puts it back. Per segment, like :func:`p_chart_limits`.
    """
    xa, na, valid = _proportions(x, n)
    base = p_chart_limits(xa, na, fix_after=fix_after, rebase_at=rebase_at)
    segs = _segments(xa.size, fix_after, rebase_at)
    sigma_z = np.full(xa.size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(valid & (base.sigma > 0), (xa / np.where(valid, na, 1.0) - base.centre)
                     / np.where(base.sigma > 0, base.sigma, 1.0), np.nan)
    for s, e in segs:
        sigma_z[s:e] = mean_moving_range(_fixed(z[s:e], fix_after),
                                         screen=screen_outliers) / D2
    return build_limits(base.centre, base.sigma * sigma_z, base.trial, base.segment, clip=True,
                  sigma_z=sigma_z)
