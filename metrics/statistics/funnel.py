"""Funnel plot control limits across areas (METHODS.md, "Comparing areas: Funnel plot").

Spiegelhalter DJ (2005) "Funnel plots for comparing institutional performance", Statistics
in Medicine 24:1185–1202 (Appendix A.1.1), as used in Public Health England's funnel plot
tools: the national value ``p0`` with 95% and 99.8% limits as functions of the denominator.
Pure and vectorised; invalid data give NaN (or ``'no data'``), bad settings ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from metrics.statistics.intervals import z_for

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

PROPORTION, RATE = "proportion", "rate"
EXACT, NORMAL = "exact", "normal"
DEFAULT_LEVELS = (0.95, 0.998)
NO_DATA = "no data"
WITHIN = "within"


def _check(levels: Sequence[float], method: str, kind: str) -> tuple[float, ...]:
    if method not in (EXACT, NORMAL):
        raise ValueError(f"method must be 'exact' or 'normal', got {method!r}")
    if kind not in (PROPORTION, RATE):
        raise ValueError(f"kind must be 'proportion' or 'rate', got {kind!r}")
    out = tuple(float(v) for v in levels)
    if not out:
        raise ValueError("at least one level is needed")
    for level in out:
        z_for(level)  # validates 0 < level < 1
    return out


def _interpolated_quantile(q: float, dist: stats.rv_discrete) -> FloatArray:
    """Spiegelhalter (2005) A.1.1: ``r_q`` is the smallest r with ``F(r) >= q``; the
    continuous quantile is ``r_q − α`` with ``α = (F(r_q) − q) / (F(r_q) − F(r_q − 1))``."""
    r = np.asarray(dist.ppf(q), dtype=np.float64)
    f_r = dist.cdf(r)
    mass = f_r - dist.cdf(r - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(mass > 0, (f_r - q) / np.where(mass > 0, mass, 1.0), 0.0)
    return np.asarray(r - alpha)


def funnel_limits(
    p0: float,
    n: npt.ArrayLike,
    *,
    levels: Sequence[float] = DEFAULT_LEVELS,
    method: str = EXACT,
    kind: str = PROPORTION,
) -> dict[float, tuple[FloatArray, FloatArray]]:
    """Lower and upper funnel limits around ``p0`` for each denominator in ``n``.

    ``kind='proportion'`` (``p0`` the national proportion, ``n`` the denominators):

    - ``method='exact'``: binomial(n, p0) quantiles at ``(1 − level)/2`` and
      ``1 − (1 − level)/2`` with Spiegelhalter's interpolation, divided by ``n``
      (``n`` rounded to whole numbers, so a ``geomspace`` grid can be passed);
    - ``method='normal'``: ``p0 ± z·sqrt(p0(1 − p0)/n)``.

    ``kind='rate'`` (``p0`` the national rate per unit of ``n``, e.g. events per person,
    ``n`` the exposure): Poisson(p0·n) quantiles, interpolated alike, divided by ``n``
    (``'normal'``: ``p0 ± z·sqrt(p0/n)``).

    Limits are clipped to [0, 1] (proportions) or at 0 (rates). Returns
    ``{level: (lower, upper)}`` with arrays shaped like ``n``; NaN where ``n <= 0`` or
    ``p0`` is NaN or out of range.
    """
    lv = _check(levels, method, kind)
    na = np.asarray(n, dtype=np.float64)
    if kind == PROPORTION and method == EXACT:
        na = np.round(na)
    p = float(p0)
    ok_p = np.isfinite(p) and (0.0 <= p <= 1.0 if kind == PROPORTION else p >= 0.0)
    valid = np.isfinite(na) & (na > 0) & ok_p
    ns = np.where(valid, na, 1.0)
    ps = p if ok_p else 0.5
    top = 1.0 if kind == PROPORTION else np.inf
    out: dict[float, tuple[FloatArray, FloatArray]] = {}
    for level in lv:
        tail = (1.0 - level) / 2.0
        if method == NORMAL:
            var = ps * (1.0 - ps) / ns if kind == PROPORTION else ps / ns
            half = z_for(level) * np.sqrt(var)
            lo, hi = ps - half, ps + half
        else:
            dist = stats.binom(ns, ps) if kind == PROPORTION else stats.poisson(ps * ns)
            lo = _interpolated_quantile(tail, dist) / ns
            hi = _interpolated_quantile(1.0 - tail, dist) / ns
            if kind == PROPORTION and ps in (0.0, 1.0):
                lo, hi = np.full_like(ns, ps), np.full_like(ns, ps)
        lo = np.where(valid, np.clip(lo, 0.0, top), np.nan)
        hi = np.where(valid, np.clip(hi, 0.0, top), np.nan)
        out[level] = (np.asarray(lo), np.asarray(hi))
    return out


def _pct(level: float) -> str:
    return f"{level * 100:g}%"


def funnel_position(
    x: npt.ArrayLike,
    n: npt.ArrayLike,
    p0: float,
    *,
    levels: tuple[float, float] = (0.95, 0.998),
    method: str = EXACT,
    kind: str = PROPORTION,
) -> StrArray:
    """Where each area's ``x / n`` falls on the funnel of :func:`funnel_limits`.

    ``'above 99.8%'`` (strictly above the outer upper limit), ``'above 95%'``, ``'within'``
    (on a limit counts as within), ``'below 95%'``, ``'below 99.8%'`` — the labels follow
    ``levels`` (inner, outer). ``'no data'`` where ``n <= 0``, ``x < 0`` (or ``x > n`` for
    proportions), any input is NaN, or no limits could be computed.
    """
    checked = sorted(_check(levels, method, kind))
    if len(checked) != 2 or checked[0] == checked[1]:
        raise ValueError(f"levels must be two different levels, got {levels!r}")
    inner, outer = checked
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    lim = funnel_limits(p0, na, levels=(inner, outer), method=method, kind=kind)
    (lo_i, hi_i), (lo_o, hi_o) = lim[inner], lim[outer]
    valid = np.isfinite(xa) & (na > 0) & (xa >= 0) & np.isfinite(hi_o)
    if kind == PROPORTION:
        valid &= xa <= na
    with np.errstate(invalid="ignore", divide="ignore"):
        value = xa / np.where(na > 0, na, 1.0)
    out = np.select(
        [~valid, value > hi_o, value > hi_i, value < lo_o, value < lo_i],
        [
            NO_DATA,
            f"above {_pct(outer)}",
            f"above {_pct(inner)}",
            f"below {_pct(outer)}",
            f"below {_pct(inner)}",
        ],
        default=WITHIN,
    )
    return np.asarray(out, dtype=np.str_)
