"""Statistical process control (METHODS.md, "Trends against targets: SPC"), after NHS England's
"Making Data Count" (MDC) as the NHS-R ``NHSRplotthedots`` package implements it
(``ptd_spc_standard`` and ``ptd_calculate_point_type``; its published test cases are ported in
``tests/unit/test_spc_nhsr.py``), with Laney's p′ chart for overdispersed proportions.

XmR, p and p′ limits, the four MDC special-cause rules with MDC's precedence, improvement /
concern classification by polarity, and assurance against a target. Pure and vectorised:
arrays in, arrays out. A NaN (or infinite) point is a missing or suppressed period: it takes
no part in means, no moving range is taken across it and no run or window is continued over
it, and it never signals. Bad settings raise ``ValueError``; data never does. Differences from
the package are recorded in docs/decisions/0007-spc-funnels-and-changes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metrics.statistics.targets import HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL, POLARITIES

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
RUN_LENGTH = 7
"""Shift: NHSRplotthedots' ``ptd_seven_point_one_side_mean`` (MDC: 7 points)."""
TREND_LENGTH = 7
"""Trend: NHSRplotthedots' ``ptd_seven_point_trend`` (7 points, 6 rises or falls in a row)."""

OUTSIDE, SHIFT, TREND, TWO_OF_THREE = "outside", "shift", "trend", "two_of_three"
RULES = (OUTSIDE, SHIFT, TREND, TWO_OF_THREE)
PRECEDENCE = (OUTSIDE, TREND, TWO_OF_THREE, SHIFT)
"""The rule whose direction colours a point when several fire (``ptd_special_cause_type``):
outside the limits, then a trend (by its direction), then 2 of 3, then a shift (by side)."""

IMPROVEMENT, CONCERN, NEUTRAL_SIGNAL, COMMON = "improvement", "concern", "neutral", "common"

CONSISTENTLY_PASSES = "consistently passes"
CONSISTENTLY_FAILS = "consistently fails"
INCONSISTENT = "inconsistent"
NO_TARGET = "no target"
NOT_ASSESSED = "not assessed"


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


def _build(centre: FloatArray, sigma: FloatArray, trial: BoolArray, segment: IntArray,
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
    return _build(centre, sigma, trial, segment, clip=False)


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
    Pass ``x / n`` as the values to :func:`special_causes`.
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
    return _build(centre, sigma, trial, segment, clip=True, sigma_z=np.ones(xa.size))


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
    return _build(base.centre, base.sigma * sigma_z, base.trial, base.segment, clip=True,
                  sigma_z=sigma_z)


def _runs(values: IntArray, seg: IntArray, length: int) -> BoolArray:
    """Points that end a window of ``length`` consecutive periods in one segment whose
    ``values`` are all equal and non-zero (0 marks a break: a gap, a tie, the centre line)."""
    out = np.zeros(values.size, np.bool_)
    for i in range(length - 1, values.size):
        w = values[i - length + 1 : i + 1]
        out[i] = w[-1] != 0 and bool((w == w[-1]).all()) and seg[i - length + 1] == seg[i]
    return out


def _part_of(ends: BoolArray, length: int) -> BoolArray:
    """``ptd_part_of_seven_trend``: a point is part of a run if a window of ``length`` that
    contains it ends in a detected run."""
    out = np.zeros(ends.size, np.bool_)
    for i in np.flatnonzero(ends):
        out[i - length + 1 : i + 1] = True
    return out


def _side(y: FloatArray, limits: SpcLimits) -> IntArray:
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.sign(y - limits.centre)).astype(np.int64)


def _steps(y: FloatArray, seg: IntArray) -> IntArray:
    """Sign of each step ``y_i − y_{i−1}`` at index i (0 at a gap, a tie or a rebase)."""
    step = np.zeros(y.size, np.int64)
    if y.size > 1:
        with np.errstate(invalid="ignore"):
            d = np.nan_to_num(np.sign(np.diff(y))).astype(np.int64)
        step[1:] = np.where(seg[1:] == seg[:-1], d, 0)
    return step


def _trend_parts(y: FloatArray, limits: SpcLimits, length: int) -> tuple[BoolArray, IntArray]:
    """(part of a trend, its direction at each point): ``length`` points each higher (lower)
    than the one before, as ``ptd_seven_point_trend``; the direction of a point in a trend
    is its step to the next point when that point is in the trend too, else its step from
    the one before (``ptd_special_cause_type``'s ``sdy``)."""
    step = _steps(y, limits.segment)
    ends = _runs(step, limits.segment, length - 1) if length > 1 else np.zeros(y.size, np.bool_)
    part = _part_of(ends, length)
    nxt_in = np.r_[part[1:], False] & part
    forward = np.r_[step[1:], step[-1:]] if y.size else step
    return part, np.where(nxt_in, forward, step)


def _two_of_three(y: FloatArray, limits: SpcLimits) -> BoolArray:
    """``ptd_two_in_three`` / ``ptd_part_of_two_in_three``: in a window of three consecutive
    periods of one segment, all three on the same side of the centre line and at least two
    *close to the limits* (beyond two sigma, not outside the limits): those close points."""
    with np.errstate(invalid="ignore"):
        outside = (y > limits.upper) | (y < limits.lower)
        close = ~outside & ((y > limits.upper_two_sigma) | (y < limits.lower_two_sigma))
    side, seg = _side(y, limits), limits.segment
    hit = np.zeros(y.size, np.bool_)
    for i in range(y.size - 2):
        if seg[i] != seg[i + 2]:
            continue
        if close[i : i + 3].sum() >= 2 and abs(int(side[i : i + 3].sum())) == 3:
            hit[i : i + 3] = True
    return hit & close


def special_cause_flags(
    values: npt.ArrayLike,
    limits: SpcLimits,
    *,
    run_length: int = RUN_LENGTH,
    trend_length: int = TREND_LENGTH,
) -> dict[str, BoolArray]:
    """One boolean mask per MDC rule (see :func:`special_causes`)."""
    if run_length < 2 or trend_length < 2:
        raise ValueError("run_length and trend_length must be at least 2")
    y = _check(values, limits)
    with np.errstate(invalid="ignore"):
        outside = (y > limits.upper) | (y < limits.lower)
    shift = _part_of(_runs(_side(y, limits), limits.segment, run_length), run_length)
    trend, _ = _trend_parts(y, limits, trend_length)
    return {OUTSIDE: outside, SHIFT: shift, TREND: trend, TWO_OF_THREE: _two_of_three(y, limits)}


def _check(values: npt.ArrayLike, limits: SpcLimits) -> FloatArray:
    y = np.asarray(values, dtype=np.float64).ravel()
    if y.shape != limits.centre.shape:
        raise ValueError(f"{y.size} values but limits for {limits.centre.size} points")
    return np.where(np.isfinite(y), y, np.nan)


def special_causes(
    values: npt.ArrayLike,
    limits: SpcLimits,
    *,
    run_length: int = RUN_LENGTH,
    trend_length: int = TREND_LENGTH,
) -> list[tuple[str, ...]]:
    """MDC special-cause rule codes per point, in :data:`RULES` order (every rule that fires;
    :func:`classify_signals` colours by :data:`PRECEDENCE`).

    - ``'outside'``: strictly above the upper or below the lower limit;
    - ``'shift'``: every point of a run of ``run_length`` (7)+ consecutive periods on one side
      of the centre line (a point on the line, or a gap, breaks the run);
    - ``'trend'``: every point of a run of ``trend_length`` (7)+ consecutive periods each
      strictly higher (or each strictly lower) than the one before (a tie or gap breaks it);
    - ``'two_of_three'``: the points between the two-sigma line and the limit where 2 of 3
      consecutive periods are there and all three are on that side of the centre line.

    Runs and windows never cross a rebase or a missing period. No signal: ``()``.
    """
    flags = special_cause_flags(values, limits, run_length=run_length, trend_length=trend_length)
    size = limits.centre.size
    return [tuple(rule for rule in RULES if flags[rule][i]) for i in range(size)]


def classify_signals(
    values: npt.ArrayLike,
    limits: SpcLimits,
    codes: Sequence[Sequence[str]],
    polarity: str,
    *,
    trend_length: int = TREND_LENGTH,
) -> StrArray:
    """``'improvement'`` / ``'concern'`` / ``'neutral'`` / ``'common'`` per point (MDC).

    Points without codes are ``'common'``. A signalling point takes its direction from the
    first of its rules in :data:`PRECEDENCE` (``ptd_special_cause_type``): its side of the
    centre line for ``'outside'``, ``'two_of_three'`` and ``'shift'``, the trend's direction
    for ``'trend'`` — so a rising trend below the mean is an improvement when higher is
    better, even while a shift below the mean is running. Upward is an improvement when
    ``polarity`` is ``'higher_is_better'``, a concern when ``'lower_is_better'``; ``'neutral'``
    polarity gives ``'neutral'``.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}; expected one of {sorted(POLARITIES)!r}")
    y = _check(values, limits)
    if len(codes) != y.size:
        raise ValueError(f"{len(codes)} code entries for {y.size} points")
    side = _side(y, limits)
    _, trend_dir = _trend_parts(y, limits, trend_length)
    direction = np.zeros(y.size)
    for i, c in enumerate(codes):
        first = next((r for r in PRECEDENCE if r in c), None)
        if first is not None:
            direction[i] = trend_dir[i] if first == TREND else side[i]
    has = np.array([bool(c) for c in codes], dtype=np.bool_)
    if polarity == LOWER_IS_BETTER:
        direction = -direction
    out = np.select(
        [~has, (polarity == NEUTRAL) | (direction == 0), direction > 0],
        [COMMON, NEUTRAL_SIGNAL, IMPROVEMENT],
        default=CONCERN,
    )
    return np.asarray(out, dtype=np.str_)


def assurance(target: float | None, limits: SpcLimits, polarity: str) -> str:
    """Assurance of meeting a ``target`` from the latest limits (METHODS.md; MDC).

    Uses the limits at the last point (the current segment). ``'higher_is_better'``: target
    above the upper limit → ``'consistently fails'``; below the lower limit →
    ``'consistently passes'``; otherwise (limits inclusive) ``'inconsistent'``. Mirrored for
    ``'lower_is_better'``. ``'not assessed'`` for neutral polarity or when there are no
    limits yet; ``'no target'`` when the target is missing.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}; expected one of {sorted(POLARITIES)!r}")
    if polarity == NEUTRAL:
        return NOT_ASSESSED
    if target is None or not np.isfinite(target):
        return NO_TARGET
    if limits.centre.size == 0:
        return NOT_ASSESSED
    lower, upper = float(limits.lower[-1]), float(limits.upper[-1])
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return NOT_ASSESSED
    higher = polarity == HIGHER_IS_BETTER
    if target > upper:
        return CONSISTENTLY_FAILS if higher else CONSISTENTLY_PASSES
    if target < lower:
        return CONSISTENTLY_PASSES if higher else CONSISTENTLY_FAILS
    return INCONSISTENT
