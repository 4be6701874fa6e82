"""What a special cause means: ``improvement``, ``concern`` or ``neutral`` by the indicator's
polarity, or ``common`` cause variation (NHS England's "Making Data Count", as
``NHSRplotthedots``' ``ptd_special_cause_type``), from the rules :mod:`.spc_rules` found.
Pure and vectorised; bad settings raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from metrics.statistics.spc_limits import BoolArray, SpcLimits, StrArray
from metrics.statistics.spc_rules import (
    PRECEDENCE,
    TREND,
    TREND_LENGTH,
    as_points,
    side_of_centre,
    trend_parts,
)
from metrics.statistics.targets import LOWER_IS_BETTER, NEUTRAL, POLARITIES

IMPROVEMENT, CONCERN, NEUTRAL_SIGNAL, COMMON = "improvement", "concern", "neutral", "common"


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
    first of its rules in :data:`.spc_rules.PRECEDENCE` (``ptd_special_cause_type``): its
    side of the centre line for ``'outside'``, ``'two_of_three'`` and ``'shift'``, the trend's
    direction for ``'trend'`` — so a rising trend below the mean is an improvement when higher is
    better, even while a shift below the mean is running. Upward is an improvement when
    ``polarity`` is ``'higher_is_better'``, a concern when ``'lower_is_better'``; ``'neutral'``
    polarity gives ``'neutral'``.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}; expected one of {sorted(POLARITIES)!r}")
    y = as_points(values, limits)
    if len(codes) != y.size:
        raise ValueError(f"{len(codes)} code entries for {y.size} points")
    side = side_of_centre(y, limits)
    _, trend_dir = trend_parts(y, limits, trend_length)
    direction = np.zeros(y.size)
    for i, c in enumerate(codes):
        first = next((r for r in PRECEDENCE if r in c), None)
        if first is not None:
            direction[i] = trend_dir[i] if first == TREND else side[i]
    has = np.array([bool(c) for c in codes], dtype=np.bool_)
    return _worded(direction, has, polarity)


def classify_flags(
    values: npt.ArrayLike,
    limits: SpcLimits,
    flags: dict[str, BoolArray],
    polarity: str,
    *,
    trend_length: int = TREND_LENGTH,
) -> StrArray:
    """:func:`classify_signals` from the rules' masks (:func:`.spc_rules.special_cause_flags`)
    rather than each point's codes, along the last axis: a 2-D array reads many series (one
    per row) at once, as the figure mart reads every area's latest SPC reading."""
    if polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}; expected one of {sorted(POLARITIES)!r}")
    y = as_points(values, limits)
    side = side_of_centre(y, limits)
    _, trend_dir = trend_parts(y, limits, trend_length)
    direction = np.zeros(y.shape)
    has = np.zeros(y.shape, dtype=np.bool_)
    for rule in PRECEDENCE:  # the first rule that fires gives the direction
        first = flags[rule] & ~has
        direction = np.where(first, trend_dir if rule == TREND else side, direction)
        has |= flags[rule]
    return _worded(direction, has, polarity)


def _worded(direction: np.ndarray, has: BoolArray, polarity: str) -> StrArray:
    """Each point's signal from its direction (up positive) and whether any rule fired."""
    if polarity == LOWER_IS_BETTER:
        direction = -direction
    out = np.select(
        [~has, (polarity == NEUTRAL) | (direction == 0), direction > 0],
        [COMMON, NEUTRAL_SIGNAL, IMPROVEMENT],
        default=CONCERN,
    )
    return np.asarray(out, dtype=np.str_)
