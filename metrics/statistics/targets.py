"""Performance against a target: met / not met and RAG (METHODS.md, "Trends against
targets" — RAG is the board-pack convention, offered alongside SPC and labelled).

Pure and vectorised: array-likes (or scalars) in, numpy arrays of ``str`` out (0-d for
scalar inputs). ``polarity`` may be one string or an array of strings, broadcast against
``value`` and ``target``. A trajectory target is passed as the target for the period.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

StrArray = npt.NDArray[np.str_]

HIGHER_IS_BETTER = "higher_is_better"
LOWER_IS_BETTER = "lower_is_better"
NEUTRAL = "neutral"
POLARITIES = frozenset({HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL})

STATUS_MET = "met"
STATUS_NOT_MET = "not met"
STATUS_NO_TARGET = "no target"
STATUS_NO_DATA = "no data"
STATUS_NOT_ASSESSED = "not assessed"

RAG_GREEN = "green"
RAG_AMBER = "amber"
RAG_RED = "red"
RAG_NONE = "none"

DEFAULT_RAG_TOLERANCE = 0.10
_EPS = 1e-9
"""Relative slack so that floating-point noise does not flip a boundary case."""


def _prepare(
    value: npt.ArrayLike, target: npt.ArrayLike, polarity: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], StrArray]:
    v, t, p = np.broadcast_arrays(
        np.asarray(value, dtype=np.float64),
        np.asarray(target, dtype=np.float64),
        np.asarray(polarity, dtype=np.str_),
    )
    unknown = set(np.unique(p).tolist()) - POLARITIES
    if unknown:
        raise ValueError(
            f"unknown polarity {sorted(unknown)!r}; expected one of {sorted(POLARITIES)!r}"
        )
    return v, t, p


def _shortfall(
    v: npt.NDArray[np.float64], t: npt.NDArray[np.float64], p: StrArray
) -> npt.NDArray[np.float64]:
    """How far the value falls short of the target on the wrong side (<= 0 means met)."""
    with np.errstate(invalid="ignore"):
        gap = np.where(p == LOWER_IS_BETTER, v - t, t - v)
        return gap - _EPS * np.maximum(1.0, np.abs(t))


def target_status(value: npt.ArrayLike, target: npt.ArrayLike, polarity: npt.ArrayLike) -> StrArray:
    """Whether a value meets its target, by the indicator's polarity.

    ``higher_is_better``: met when ``value >= target``; ``lower_is_better``: met when
    ``value <= target``. Precedence: ``'not assessed'`` (neutral polarity), then
    ``'no data'`` (value NaN), then ``'no target'`` (target NaN), then ``'met'`` /
    ``'not met'``. Raises ``ValueError`` for an unknown polarity string.
    """
    v, t, p = _prepare(value, target, polarity)
    met = _shortfall(v, t, p) <= 0
    out = np.select(
        [p == NEUTRAL, np.isnan(v), np.isnan(t), met],
        [STATUS_NOT_ASSESSED, STATUS_NO_DATA, STATUS_NO_TARGET, STATUS_MET],
        default=STATUS_NOT_MET,
    )
    return np.asarray(out, dtype=np.str_)


def rag_status(
    value: npt.ArrayLike,
    target: npt.ArrayLike,
    polarity: npt.ArrayLike,
    *,
    tolerance: float = DEFAULT_RAG_TOLERANCE,
) -> StrArray:
    """Red/amber/green against a target (METHODS.md: "amber within … 10% of the target").

    ``'green'`` when the target is met; ``'amber'`` when on the wrong side by at most
    ``tolerance × |target|`` (inclusive); ``'red'`` otherwise. ``'none'`` when the value or
    target is NaN or the polarity is neutral. Raises ``ValueError`` for an unknown polarity.
    """
    v, t, p = _prepare(value, target, polarity)
    short = _shortfall(v, t, p)
    out = np.select(
        [p == NEUTRAL, np.isnan(v) | np.isnan(t), short <= 0, short <= tolerance * np.abs(t)],
        [RAG_NONE, RAG_NONE, RAG_GREEN, RAG_AMBER],
        default=RAG_RED,
    )
    return np.asarray(out, dtype=np.str_)
