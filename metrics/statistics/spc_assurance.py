"""Assurance against a target from SPC limits (NHS England's "Making Data Count"): whether the
process will consistently pass or fail the target, or meet it in some periods and miss it in
others. Pure; bad settings raise ``ValueError``.
"""

from __future__ import annotations

import numpy as np

from metrics.statistics.spc_limits import SpcLimits
from metrics.statistics.targets import HIGHER_IS_BETTER, NEUTRAL, POLARITIES

CONSISTENTLY_PASSES = "consistently passes"
CONSISTENTLY_FAILS = "consistently fails"
INCONSISTENT = "inconsistent"
NO_TARGET = "no target"
NOT_ASSESSED = "not assessed"


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
