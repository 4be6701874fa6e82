"""Funnel plot control limits across areas (METHODS.md, "Comparing areas: Funnel plot").

As Public Health England's (now OHID/UKHSA's) ``PHEindicatormethods`` computes them
(``calculate_funnel_limits`` and ``assign_funnel_significance``; their published test values
are ported in ``tests/unit/test_funnel_phe.py``): an area lies outside a funnel limit exactly
when its own confidence interval excludes the national value, so an in-control area lands
beyond a limit no more often than the nominal rate.

- proportions: the Wilson score interval inverted (PHE's ``sigma_adjustment``);
- rates (events per unit of exposure) and indirectly standardised ratios (observed / expected):
  the exact Poisson interval of the events inverted (PHE's ``poisson_funnel``), so a rate
  funnel at exposure ``n`` is the ratio funnel at expected count ``p0·n``.

Overdispersion (Spiegelhalter 2005, "Handling over-dispersion of performance indicators",
Qual Saf Health Care 14:347–351; and Stat Med 24:1185–1202): z-scores winsorised at 10% in each
tail estimate the overdispersion factor φ; where the areas are overdispersed the limits are
widened by a multiplicative factor √φ or an additive between-area variance τ² (random effects).

Pure and vectorised; invalid data give NaN (or ``'no data'``), bad settings ``ValueError``.
Differences from PHE are recorded in docs/decisions/0007-spc-funnels-and-changes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from metrics.statistics.distributions import binom_sf, poisson_sf
from metrics.statistics.intervals import z_for

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]

PROPORTION, RATE, RATIO = "proportion", "rate", "ratio"
KINDS = (PROPORTION, RATE, RATIO)
EXACT, NORMAL = "exact", "normal"
DEFAULT_LEVELS = (0.95, 0.998)
NO_DATA = "no data"
WITHIN = "within"
MULTIPLICATIVE, ADDITIVE = "multiplicative", "additive"
WINSOR = 0.1


def _check(levels: Sequence[float], method: str, kind: str) -> tuple[float, ...]:
    if method not in (EXACT, NORMAL):
        raise ValueError(f"method must be 'exact' or 'normal', got {method!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    out = tuple(float(v) for v in levels)
    if not out:
        raise ValueError("at least one level is needed")
    for level in out:
        z_for(level)  # validates 0 < level < 1
    return out


def wilson_funnel(p0: float, n: npt.ArrayLike, level: float) -> tuple[FloatArray, FloatArray]:
    """PHE's ``sigma_adjustment``: the proportions at denominator ``n`` whose Wilson score
    interval at ``level`` has ``p0`` as its upper (lower) bound — the funnel's lower (upper)
    limit. Closed form, as PHEindicatormethods R/utils.R."""
    z2 = z_for(level) ** 2
    na = np.asarray(n, dtype=np.float64)
    first = p0 * (na / z2 + 1.0)
    with np.errstate(invalid="ignore"):
        adj = np.sqrt((-8.0 * p0 * (na / z2 + 1.0)) ** 2 - 64.0 * (1.0 / z2 + 1.0 / na) * p0
                      * (na * (p0 * (na / z2 + 2.0) - 1.0) + z2 * (p0 - 1.0)))
    last = 1.0 / z2 + 1.0 / na
    low = (first - adj / 8.0) / last / na
    high = (first + adj / 8.0) / last / na
    return np.asarray(low), np.asarray(high)


def _solve_events(mu: FloatArray, target: float, shift: float) -> FloatArray:
    """The (continuous) event count ``o`` with ``gammainc(o + shift, mu) == target``, by
    bisection (``gammainc`` falls as ``o`` grows). NaN where ``mu`` is not positive."""
    lo = np.zeros_like(mu)
    hi = mu + 20.0 * np.sqrt(mu) + 50.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = special.gammainc(mid + shift, mu) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
        if np.all(hi - lo <= 1e-11 * np.maximum(1.0, hi)):
            break
    return 0.5 * (lo + hi)


def poisson_funnel(mu: npt.ArrayLike, level: float) -> tuple[FloatArray, FloatArray]:
    """Event counts bounding the funnel at expected count ``mu`` (PHE's ``poisson_funnel``,
    solved for the events rather than the expected count): the upper limit ``o_hi`` is the
    count whose exact lower confidence bound (``gamma.ppf(α/2, o)``) equals ``mu``; the
    lower limit ``o_lo`` the count whose exact upper bound (``gamma.ppf(1 − α/2, o + 1)``)
    equals ``mu`` (0 where even no events has its upper bound above ``mu``)."""
    tail = (1.0 - level) / 2.0
    m = np.asarray(mu, dtype=np.float64)
    ms = np.where(np.isfinite(m) & (m > 0), m, 1.0)
    o_hi = _solve_events(ms, tail, 0.0)
    o_lo = np.where(ms <= -np.log(tail), 0.0, _solve_events(ms, 1.0 - tail, 1.0))
    return o_lo, o_hi


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
    ``method='exact'`` is PHE's Wilson inversion (:func:`wilson_funnel`); ``'normal'``
    ``p0 ± z·sqrt(p0(1 − p0)/n)``. Clipped to [0, 1].

    ``kind='rate'`` (``p0`` the national rate per unit of ``n``) and ``kind='ratio'``
    (``p0`` the target ratio, normally 1, ``n`` the expected count): ``'exact'`` inverts the
    exact Poisson interval (:func:`poisson_funnel` at ``p0·n``, divided by ``n``);
    ``'normal'`` ``p0 ± z·sqrt(p0/n)``. Clipped at 0.

    Returns ``{level: (lower, upper)}`` with arrays shaped like ``n``; NaN where ``n <= 0``
    or ``p0`` is NaN or out of range.
    """
    lv = _check(levels, method, kind)
    na = np.asarray(n, dtype=np.float64)
    p = float(p0)
    ok_p = np.isfinite(p) and (0.0 <= p <= 1.0 if kind == PROPORTION else p >= 0.0)
    valid = np.isfinite(na) & (na > 0) & ok_p
    ns = np.where(valid, na, 1.0)
    ps = p if ok_p else 0.5
    top = 1.0 if kind == PROPORTION else np.inf
    out: dict[float, tuple[FloatArray, FloatArray]] = {}
    for level in lv:
        if method == NORMAL:
            var = ps * (1.0 - ps) / ns if kind == PROPORTION else ps / ns
            half = z_for(level) * np.sqrt(var)
            lo, hi = ps - half, ps + half
        elif kind == PROPORTION:
            lo, hi = wilson_funnel(ps, ns, level)
            if ps in (0.0, 1.0):
                lo, hi = np.full_like(ns, ps), np.full_like(ns, ps)
        elif ps == 0.0:
            lo, hi = np.zeros_like(ns), np.zeros_like(ns)
        else:
            o_lo, o_hi = poisson_funnel(ps * ns, level)
            lo, hi = o_lo / ns, o_hi / ns
        lo = np.where(valid, np.clip(lo, 0.0, top), np.nan)
        hi = np.where(valid, np.clip(hi, 0.0, top), np.nan)
        out[level] = (np.asarray(lo), np.asarray(hi))
    return out


def _pct(level: float) -> str:
    return f"{level * 100:g}%"


def _valid_points(xa: FloatArray, na: FloatArray, kind: str) -> npt.NDArray[np.bool_]:
    valid = np.isfinite(xa) & np.isfinite(na) & (na > 0) & (xa >= 0)
    return valid & (xa <= na) if kind == PROPORTION else valid


def funnel_position(
    x: npt.ArrayLike,
    n: npt.ArrayLike,
    p0: float,
    *,
    levels: tuple[float, float] = DEFAULT_LEVELS,
    method: str = EXACT,
    kind: str = PROPORTION,
    adjustment: Overdispersion | None = None,
) -> StrArray:
    """Where each area's ``x / n`` falls on the funnel of :func:`funnel_limits` (or, given an
    ``adjustment`` that applies, of :func:`adjusted_limits`).

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
    if adjustment is not None and adjustment.applies:
        lim = adjusted_limits(adjustment, na, levels=(inner, outer))
    else:
        lim = funnel_limits(p0, na, levels=(inner, outer), method=method, kind=kind)
    (lo_i, hi_i), (lo_o, hi_o) = lim[inner], lim[outer]
    valid = _valid_points(xa, na, kind) & np.isfinite(hi_o)
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


# --- overdispersion -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's (2005) overdispersion estimate for one set of areas.

    ``phi`` the overdispersion factor (mean squared winsorised z-score; 1 when the areas vary
    only by chance), ``areas`` how many were used, ``overdispersed`` whether ``areas·phi``
    exceeds ``(areas − 1) + 2·sqrt(2(areas − 1))`` (two standard deviations of its chi-square
    distribution above its mean), ``tau2`` the additive between-area variance (0 when not
    overdispersed), ``method`` the adjustment that applies (``'additive'`` by default), and
    ``p0``/``kind`` the funnel it adjusts."""

    p0: float
    kind: str
    phi: float
    tau2: float
    areas: int
    overdispersed: bool
    method: str = ADDITIVE

    @property
    def applies(self) -> bool:
        return self.overdispersed and np.isfinite(self.phi)

    def label(self, multiplier: float = 1.0, unit: str = "") -> str:
        """Words for the chart: what was adjusted and by how much."""
        if not self.applies:
            return ""
        if self.method == MULTIPLICATIVE:
            return (f"limits widened for overdispersion (multiplicative, φ = {self.phi:.1f}; "
                    f"Spiegelhalter 2005)")
        tau = np.sqrt(self.tau2) * multiplier
        return (f"limits widened for overdispersion (additive random effects, τ = {tau:.2g}"
                f"{unit}, φ = {self.phi:.1f}; Spiegelhalter 2005)")


def _sd(p0: float, n: FloatArray, kind: str) -> FloatArray:
    var = p0 * (1.0 - p0) / n if kind == PROPORTION else p0 / n
    return np.sqrt(var)


def winsorised(z: npt.ArrayLike, share: float = WINSOR) -> FloatArray:
    """``z`` with the lowest and highest ``share`` pulled in to the ``share`` and
    ``1 − share`` quantiles (Spiegelhalter 2005: 10% at each end)."""
    za = np.asarray(z, dtype=np.float64)
    if za.size == 0:
        return za
    low, high = np.quantile(za, [share, 1.0 - share])
    return np.clip(za, low, high)


def overdispersion(x: npt.ArrayLike, n: npt.ArrayLike, p0: float, *, kind: str = PROPORTION,
                   method: str = ADDITIVE, share: float = WINSOR) -> Overdispersion:
    """Estimate overdispersion among areas (Spiegelhalter 2005).

    ``z_i = (y_i − p0)/s_i`` with ``s_i = sqrt(p0(1 − p0)/n_i)`` (proportions) or
    ``sqrt(p0/n_i)`` (rates, ratios), winsorised at ``share`` in each tail; ``φ = Σ z_w² / I``.
    Overdispersed when ``I·φ > (I − 1) + 2·sqrt(2(I − 1))``. Additive random effects:
    ``τ² = (I·φ − (I − 1)) / (Σw − Σw²/Σw)`` with ``w_i = 1/s_i²`` (0 when negative).
    """
    if method not in (ADDITIVE, MULTIPLICATIVE):
        raise ValueError(f"method must be 'additive' or 'multiplicative', got {method!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    p = float(p0)
    ok = _valid_points(xa, na, kind)
    if not (np.isfinite(p) and p > 0 and (p < 1 or kind != PROPORTION)) or ok.sum() < 3:
        return Overdispersion(p, kind, np.nan, 0.0, int(ok.sum()), False, method)
    y, m = xa[ok] / na[ok], na[ok]
    s = _sd(p, m, kind)
    zw = winsorised((y - p) / s, share)
    size = zw.size
    phi = float(np.mean(zw ** 2))
    over = size * phi > (size - 1) + 2.0 * np.sqrt(2.0 * (size - 1))
    w = 1.0 / s ** 2
    tau2 = max(0.0, (size * phi - (size - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return Overdispersion(p, kind, phi, tau2 if over else 0.0, size, bool(over), method)


def adjusted_limits(adj: Overdispersion, n: npt.ArrayLike, *,
                    levels: Sequence[float] = DEFAULT_LEVELS
                    ) -> dict[float, tuple[FloatArray, FloatArray]]:
    """Funnel limits widened for overdispersion: ``p0 ± z·sqrt(φ)·s`` (multiplicative) or
    ``p0 ± z·sqrt(s² + τ²)`` (additive), clipped as :func:`funnel_limits`; the unadjusted
    limits when ``adj`` does not apply."""
    if not adj.applies:
        return funnel_limits(adj.p0, n, levels=levels, kind=adj.kind)
    na = np.asarray(n, dtype=np.float64)
    valid = np.isfinite(na) & (na > 0)
    s = _sd(adj.p0, np.where(valid, na, 1.0), adj.kind)
    spread = s * np.sqrt(adj.phi) if adj.method == MULTIPLICATIVE else np.sqrt(s ** 2 + adj.tau2)
    top = 1.0 if adj.kind == PROPORTION else np.inf
    out: dict[float, tuple[FloatArray, FloatArray]] = {}
    for level in levels:
        half = z_for(level) * spread
        lo = np.where(valid, np.clip(adj.p0 - half, 0.0, top), np.nan)
        hi = np.where(valid, np.clip(adj.p0 + half, 0.0, top), np.nan)
        out[float(level)] = (np.asarray(lo), np.asarray(hi))
    return out


def nominal_exceedance(p0: float, n: float, level: float, *, kind: str = RATE) -> float:
    """The chance that an in-control area (events ``Poisson(p0·n)``, or ``Binomial(n, p0)``)
    lands strictly above the upper limit at ``level``: at most ``(1 − level)/2`` for exact
    limits (tested), the over-signalling the interpolated limits had."""
    hi = funnel_limits(p0, [n], levels=(level,), kind=kind)[level][1][0]
    above = np.floor(hi * n + 1e-9)
    if kind == PROPORTION:
        return float(binom_sf(above, round(n), p0))
    return float(poisson_sf(above, p0 * n))
