"""The four "Making Data Count" special-cause rules, read against SPC limits
(:mod:`.spc_limits`), as ``NHSRplotthedots``' ``ptd_calculate_point_type`` applies them:
a point outside the limits, a shift, a trend and 2 of 3 near a limit, with MDC's precedence
(:data:`PRECEDENCE`) for the rule that gives a signalling point its direction
(:mod:`.spc_signals`). Runs and windows never cross a rebase or a missing period, and a
missing point never signals. Pure and vectorised; bad settings raise ``ValueError``. The
masks work along the last axis, so a 2-D array of many series (one per row, as
:mod:`.spc_rows` makes their limits) is read at once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metrics.statistics.spc_limits import BoolArray, FloatArray, IntArray, SpcLimits

RUN_LENGTH = 7
"""Shift: NHSRplotthedots' ``ptd_seven_point_one_side_mean`` (MDC: 7 points)."""
TREND_LENGTH = 7
"""Trend: NHSRplotthedots' ``ptd_seven_point_trend`` (7 points, 6 rises or falls in a row)."""

OUTSIDE, SHIFT, TREND, TWO_OF_THREE = "outside", "shift", "trend", "two_of_three"
RULES = (OUTSIDE, SHIFT, TREND, TWO_OF_THREE)
PRECEDENCE = (OUTSIDE, TREND, TWO_OF_THREE, SHIFT)
"""The rule whose direction colours a point when several fire (``ptd_special_cause_type``):
outside the limits, then a trend (by its direction), then 2 of 3, then a shift (by side)."""


def _runs(values: IntArray, seg: IntArray, length: int) -> BoolArray:
    """Points that end a window of ``length`` consecutive periods in one segment whose
    ``values`` are all equal and non-zero (0 marks a break: a gap, a tie, the centre line).
    Along the last axis: a 2-D array is many series, one per row."""
    out = np.zeros(values.shape, np.bool_)
    size = values.shape[-1]
    if size < length:
        return out
    last = values[..., length - 1 :]  # the value each window ends on
    found = last != 0
    for back in range(1, length):
        found &= values[..., length - 1 - back : size - back] == last
    found &= seg[..., : size - length + 1] == seg[..., length - 1 :]
    out[..., length - 1 :] = found
    return out


def _part_of(ends: BoolArray, length: int) -> BoolArray:
    """``ptd_part_of_seven_trend``: a point is part of a run if a window of ``length`` that
    contains it ends in a detected run (along the last axis)."""
    out = ends.copy()
    size = ends.shape[-1]
    for ahead in range(1, min(length, size)):
        out[..., : size - ahead] |= ends[..., ahead:]
    return out


def side_of_centre(y: FloatArray, limits: SpcLimits) -> IntArray:
    """Per point: 1 above the centre line, -1 below, 0 on it or missing."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.sign(y - limits.centre)).astype(np.int64)


def _steps(y: FloatArray, seg: IntArray) -> IntArray:
    """Sign of each step ``y_i − y_{i−1}`` at index i (0 at a gap, a tie or a rebase), along
    the last axis."""
    step = np.zeros(y.shape, np.int64)
    if y.shape[-1] > 1:
        with np.errstate(invalid="ignore"):
            d = np.nan_to_num(np.sign(np.diff(y, axis=-1))).astype(np.int64)
        step[..., 1:] = np.where(seg[..., 1:] == seg[..., :-1], d, 0)
    return step


def trend_parts(y: FloatArray, limits: SpcLimits, length: int) -> tuple[BoolArray, IntArray]:
    """(part of a trend, its direction at each point): ``length`` points each higher (lower)
    than the one before, as ``ptd_seven_point_trend``; the direction of a point in a trend
    is its step to the next point when that point is in the trend too, else its step from
    the one before (``ptd_special_cause_type``'s ``sdy``). Along the last axis."""
    step = _steps(y, limits.segment)
    ends = (_runs(step, limits.segment, length - 1) if length > 1
            else np.zeros(y.shape, np.bool_))
    part = _part_of(ends, length)
    if y.shape[-1] == 0:
        return part, step
    nxt_in = np.concatenate([part[..., 1:], np.zeros_like(part[..., :1])], axis=-1) & part
    forward = np.concatenate([step[..., 1:], step[..., -1:]], axis=-1)
    return part, np.where(nxt_in, forward, step)


def _two_of_three(y: FloatArray, limits: SpcLimits) -> BoolArray:
    """``ptd_two_in_three`` / ``ptd_part_of_two_in_three``: in a window of three consecutive
    periods of one segment, all three on the same side of the centre line and at least two
    *close to the limits* (beyond two sigma, not outside the limits): those close points.
    Along the last axis."""
    with np.errstate(invalid="ignore"):
        outside = (y > limits.upper) | (y < limits.lower)
        close = ~outside & ((y > limits.upper_two_sigma) | (y < limits.lower_two_sigma))
    side, seg = side_of_centre(y, limits), limits.segment
    hit = np.zeros(y.shape, np.bool_)
    size = y.shape[-1]
    if size < 3:
        return hit
    near = close.astype(np.int64)
    window = ((seg[..., :-2] == seg[..., 2:])  # the window starting at each point
              & (near[..., :-2] + near[..., 1:-1] + near[..., 2:] >= 2)
              & (np.abs(side[..., :-2] + side[..., 1:-1] + side[..., 2:]) == 3))
    for at in range(3):
        hit[..., at : size - 2 + at] |= window
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
    y = as_points(values, limits)
    with np.errstate(invalid="ignore"):
        outside = (y > limits.upper) | (y < limits.lower)
    shift = _part_of(_runs(side_of_centre(y, limits), limits.segment, run_length), run_length)
    trend, _ = trend_parts(y, limits, trend_length)
    return {OUTSIDE: outside, SHIFT: shift, TREND: trend, TWO_OF_THREE: _two_of_three(y, limits)}


def as_points(values: npt.ArrayLike, limits: SpcLimits) -> FloatArray:
    """The values as one float per point of ``limits`` (else ``ValueError``), an infinite
    value NaN (missing)."""
    y = np.asarray(values, dtype=np.float64)
    y = y if y.ndim == 2 else y.ravel()  # 2-D: many series, one per row
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
    :func:`.spc_signals.classify_signals` colours by :data:`PRECEDENCE`).

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
