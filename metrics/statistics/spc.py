"""Statistical process control (METHODS.md, "Trends against targets: SPC"), after NHS England's
"Making Data Count" (MDC) and the NHS-R ``NHSRplotthedots`` package.

XmR and p-chart limits, the four MDC special-cause rules, improvement / concern
classification by polarity, and assurance against a target. Pure and vectorised: arrays in,
arrays out. NaN (or infinite) points are skipped: they take no part in means, moving ranges
or runs, and never signal. Bad settings raise ``ValueError``; data never does.
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
DEFAULT_BASELINE = 12
RUN_LENGTH = 7
TREND_LENGTH = 7

OUTSIDE, SHIFT, TREND, TWO_OF_THREE = "outside", "shift", "trend", "two_of_three"
RULES = (OUTSIDE, SHIFT, TREND, TWO_OF_THREE)
_SIDE_RULES = frozenset({OUTSIDE, SHIFT, TWO_OF_THREE})

IMPROVEMENT, CONCERN, NEUTRAL_SIGNAL, COMMON = "improvement", "concern", "neutral", "common"

CONSISTENTLY_PASSES = "consistently passes"
CONSISTENTLY_FAILS = "consistently fails"
INCONSISTENT = "inconsistent"
NO_TARGET = "no target"
NOT_ASSESSED = "not assessed"


@dataclass(frozen=True)
class SpcLimits:
    """Per-point SPC lines. ``sigma`` is one process sigma (``2.66/3 × mean moving range`` for
    XmR, ``sqrt(p̄(1−p̄)/n_i)`` for a p-chart); the one- and two-sigma bands are
    ``centre ± sigma`` and ``centre ± 2·sigma`` (two-sigma is "two-thirds of the way to a
    limit"). ``trial`` marks points whose segment had fewer than ``baseline`` points (trial
    limits); ``segment`` numbers the rebased segments from 0."""

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


def _segments(length: int, baseline: int, rebase_at: Sequence[int]) -> list[tuple[int, int]]:
    if isinstance(baseline, bool) or not isinstance(baseline, (int, np.integer)) or baseline < 2:
        raise ValueError(f"baseline must be a whole number >= 2, got {baseline!r}")
    cuts = sorted({int(i) for i in rebase_at})
    if any(i <= 0 or i >= length for i in cuts):
        raise ValueError(f"rebase_at indices must lie in 1..{length - 1}, got {list(rebase_at)!r}")
    bounds = [0, *cuts, length]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _build(
    centre: FloatArray, sigma: FloatArray, trial: BoolArray, segment: IntArray, clip: bool
) -> SpcLimits:
    lo, hi = (0.0, 1.0) if clip else (-np.inf, np.inf)

    def band(k: float) -> tuple[FloatArray, FloatArray]:
        return np.clip(centre - k * sigma, lo, hi), np.clip(centre + k * sigma, lo, hi)

    (l3, u3), (l1, u1), (l2, u2) = band(3.0), band(1.0), band(2.0)
    return SpcLimits(centre, l3, u3, sigma, l1, u1, l2, u2, trial, segment)


def xmr_limits(
    values: npt.ArrayLike, *, baseline: int = DEFAULT_BASELINE, rebase_at: Sequence[int] = ()
) -> SpcLimits:
    """XmR (individuals) chart limits (METHODS.md; MDC).

    Each segment (split only at the user-marked ``rebase_at`` indices, never automatically)
    takes its centre from the mean of its first ``baseline`` non-NaN points and its spread
    from the mean moving range ``|y_i − y_{i−1}|`` of consecutive non-NaN baseline points
    (never across a rebase); limits are ``mean ± 2.66 × mean moving range`` and hold for the
    whole segment. A segment with fewer than ``baseline`` non-NaN points gets trial limits
    from all of them (``trial=True``). Fewer than two points: NaN limits.
    """
    y = np.asarray(values, dtype=np.float64).ravel()
    segs = _segments(y.size, baseline, rebase_at)
    centre, sigma = np.full(y.size, np.nan), np.full(y.size, np.nan)
    trial, segment = np.zeros(y.size, dtype=np.bool_), np.zeros(y.size, dtype=np.int64)
    for k, (s, e) in enumerate(segs):
        v = y[s:e][np.isfinite(y[s:e])]
        trial[s:e] = v.size < baseline
        base = v[:baseline]
        segment[s:e] = k
        if base.size:
            centre[s:e] = base.mean()
        if base.size >= 2:
            sigma[s:e] = XMR_SCALE / 3.0 * np.abs(np.diff(base)).mean()
    return _build(centre, sigma, trial, segment, clip=False)


def p_chart_limits(
    x: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    baseline: int = DEFAULT_BASELINE,
    rebase_at: Sequence[int] = (),
) -> SpcLimits:
    """p-chart limits for proportions ``x_i / n_i`` with varying denominators (METHODS.md).

    Per segment ``p̄ = Σx / Σn`` over its first ``baseline`` valid points (``n > 0``,
    ``0 <= x <= n``; fewer: all valid points, ``trial=True``); limits
    ``p̄ ± 3·sqrt(p̄(1−p̄)/n_i)`` clipped to [0, 1], NaN where ``n_i`` is invalid. Segments
    and rebasing as :func:`xmr_limits`. Pass ``x / n`` as the values to :func:`special_causes`.
    """
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    xa, na = xa.ravel(), na.ravel()
    segs = _segments(xa.size, baseline, rebase_at)
    valid = np.isfinite(xa) & np.isfinite(na) & (na > 0) & (xa >= 0) & (xa <= na)
    centre = np.full(xa.size, np.nan)
    trial, segment = np.zeros(xa.size, dtype=np.bool_), np.zeros(xa.size, dtype=np.int64)
    for k, (s, e) in enumerate(segs):
        idx = np.flatnonzero(valid[s:e]) + s
        trial[s:e] = idx.size < baseline
        segment[s:e] = k
        if idx.size:
            base = idx[:baseline]
            centre[s:e] = xa[base].sum() / na[base].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(na > 0, np.sqrt(centre * (1.0 - centre) / np.where(na > 0, na, 1)), np.nan)
    return _build(centre, sigma, trial, segment, clip=True)


def _mark_runs(key: IntArray, seg: IntArray, min_len: int) -> BoolArray:
    """Elements in runs (same non-zero ``key``, same ``seg``) at least ``min_len`` long."""
    if key.size == 0:
        return np.zeros(0, dtype=np.bool_)
    starts = np.r_[True, (key[1:] != key[:-1]) | (seg[1:] != seg[:-1])]
    run_id = np.cumsum(starts) - 1
    return (key != 0) & (np.bincount(run_id)[run_id] >= min_len)


def _check(values: npt.ArrayLike, limits: SpcLimits) -> FloatArray:
    y = np.asarray(values, dtype=np.float64).ravel()
    if y.shape != limits.centre.shape:
        raise ValueError(f"{y.size} values but limits for {limits.centre.size} points")
    return y


def _trends(y: FloatArray, limits: SpcLimits, length: int) -> tuple[BoolArray, BoolArray]:
    """Points in runs of ``length``+ strictly rising / falling valid points in one segment."""
    ok = np.flatnonzero(np.isfinite(y))
    v, s = y[ok], limits.segment[ok]
    step = np.where(s[1:] == s[:-1], np.sign(np.diff(v)), 0).astype(np.int64)
    gap = _mark_runs(step, s[1:], length - 1)
    rising, falling = np.zeros(y.size, np.bool_), np.zeros(y.size, np.bool_)
    for out, sign in ((rising, 1), (falling, -1)):
        g = gap & (step == sign)
        out[ok] = np.r_[g, False] | np.r_[False, g]
    return rising, falling


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
    ok = np.flatnonzero(np.isfinite(y))
    v, s = y[ok], limits.segment[ok]
    side = np.nan_to_num(np.sign(v - limits.centre[ok])).astype(np.int64)
    shift = np.zeros(y.size, np.bool_)
    shift[ok] = _mark_runs(side, s, run_length)
    rising, falling = _trends(y, limits, trend_length)
    with np.errstate(invalid="ignore"):
        outside = (y > limits.upper) | (y < limits.lower)
    two = np.zeros(y.size, np.bool_)
    if v.size >= 3:
        same = s[2:] == s[:-2]
        for beyond in (v > limits.upper_two_sigma[ok], v < limits.lower_two_sigma[ok]):
            b = beyond.astype(np.int64)
            window = same & (b[:-2] + b[1:-1] + b[2:] >= 2)
            hit = np.zeros(v.size, np.bool_)
            for o in range(3):
                hit[o : o + window.size] |= window & beyond[o : o + window.size]
            two[ok] |= hit
    return {OUTSIDE: outside, SHIFT: shift, TREND: rising | falling, TWO_OF_THREE: two}


def special_causes(
    values: npt.ArrayLike,
    limits: SpcLimits,
    *,
    run_length: int = RUN_LENGTH,
    trend_length: int = TREND_LENGTH,
) -> list[tuple[str, ...]]:
    """MDC special-cause rule codes per point (METHODS.md), in :data:`RULES` order.

    - ``'outside'``: strictly above the upper or below the lower limit;
    - ``'shift'``: every point of a run of ``run_length`` (7)+ consecutive points on one side
      of the centre line (a point on the line breaks the run);
    - ``'trend'``: every point of a run of ``trend_length`` (7)+ consecutive points each
      strictly higher (or each strictly lower) than the one before (a tie breaks it);
    - ``'two_of_three'``: the points strictly beyond the two-sigma line on one side, where 2
      of 3 consecutive points are beyond it on that side (the third may lie anywhere).

    Runs and windows skip NaN points and never cross a rebase. No signal: ``()``.
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

    Points without codes are ``'common'`` (common-cause variation). A signalling point's
    direction is its side of the centre line when any of ``'outside'``, ``'shift'`` or
    ``'two_of_three'`` fired (the MDC / NHSRplotthedots convention), else the direction of its
    trend (side of the centre if it sits at the peak of a rising and a falling trend).
    Upward is an improvement when ``polarity`` is ``'higher_is_better'``, a concern when
    ``'lower_is_better'``; ``'neutral'`` polarity, or no direction, gives ``'neutral'``.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}; expected one of {sorted(POLARITIES)!r}")
    y = _check(values, limits)
    if len(codes) != y.size:
        raise ValueError(f"{len(codes)} code entries for {y.size} points")
    has = np.array([bool(c) for c in codes], dtype=np.bool_)
    by_side = np.array([bool(_SIDE_RULES.intersection(c)) for c in codes], dtype=np.bool_)
    side = np.nan_to_num(np.sign(y - limits.centre))
    rising, falling = _trends(y, limits, trend_length)
    trend_dir = np.where(rising & ~falling, 1.0, np.where(falling & ~rising, -1.0, side))
    direction = np.where(by_side, side, trend_dir)
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
