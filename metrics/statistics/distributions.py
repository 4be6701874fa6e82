"""The few distribution functions the indicators need, from ``scipy.special`` alone.

``scipy.stats`` costs a serving process about 35 MB of resident memory and 0.4–0.6 CPU s
to import; ``scipy.special`` is imported already (z values, funnel limits). Each function
here is the one ``scipy.stats`` itself evaluates (the same ``scipy.special`` routine, the
same handling of the support's edges), so the results are identical to the last bit;
``tests/unit/test_statistics_distributions.py`` checks each against ``scipy.stats`` over
grids that include the edges, and :func:`metrics.statistics.ranks.average_ranks` against
``rankdata`` (decision 0039). Inputs are arrays; the callers pass valid
parameters (``0 < p < 1``, ``n`` whole and ``>= 0``, ``df > 0``); a NaN gives NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy.special import _ufuncs  # the Boost binomial routines scipy.stats.binom calls

FloatArray = npt.NDArray[np.float64]


def _floats(*values: npt.ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def chi2_ppf(q: npt.ArrayLike, df: npt.ArrayLike) -> FloatArray:
    """``scipy.stats.chi2.ppf(q, df)`` for ``0 < q < 1``: ``2·gammaincinv(df/2, q)``."""
    qa, dfa = _floats(q, df)
    return np.asarray(2.0 * special.gammaincinv(dfa / 2.0, qa))


def t_ppf(q: npt.ArrayLike, df: npt.ArrayLike) -> FloatArray:
    """``scipy.stats.t.ppf(q, df)`` for ``0 < q < 1``: ``stdtrit(df, q)``."""
    qa, dfa = _floats(q, df)
    return np.asarray(special.stdtrit(dfa, qa))


def binom_pmf(k: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike) -> FloatArray:
    """``scipy.stats.binom.pmf(k, n, p)``: 0 off the support ``0..n`` and at a fractional
    ``k``; NaN where any input is."""
    ka, na, pa = _floats(k, n, p)
    inside = (ka >= 0) & (ka <= na) & (np.floor(ka) == ka)
    out = np.zeros(ka.shape)
    if inside.any():
        out[inside] = np.clip(_ufuncs._binom_pmf(ka[inside], na[inside], pa[inside]), 0, 1)
    return _nan_where_any_nan(out, ka, na, pa)


def binom_cdf(k: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike) -> FloatArray:
    """``scipy.stats.binom.cdf(k, n, p)``: 0 below the support, 1 from ``n`` on."""
    ka, na, pa = _floats(k, n, p)
    inside = (ka >= 0) & (ka < na)
    out = np.where(ka >= na, 1.0, 0.0)
    if inside.any():
        out[inside] = np.clip(
            _ufuncs._binom_cdf(np.floor(ka[inside]), na[inside], pa[inside]), 0, 1)
    return _nan_where_any_nan(out, ka, na, pa)


def binom_sf(k: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike) -> FloatArray:
    """``scipy.stats.binom.sf(k, n, p)`` = P(X > k): 1 below the support, 0 from ``n`` on."""
    ka, na, pa = _floats(k, n, p)
    inside = (ka >= 0) & (ka < na)
    out = np.where(ka < 0, 1.0, 0.0)
    if inside.any():
        out[inside] = np.clip(
            _ufuncs._binom_sf(np.floor(ka[inside]), na[inside], pa[inside]), 0, 1)
    return _nan_where_any_nan(out, ka, na, pa)


def poisson_sf(k: npt.ArrayLike, mu: npt.ArrayLike) -> FloatArray:
    """``scipy.stats.poisson.sf(k, mu)`` = P(X > k) for ``mu > 0``: ``pdtrc(floor(k), mu)``,
    1 below the support."""
    ka, mua = _floats(k, mu)
    inside = ka >= 0
    out = np.ones(ka.shape)
    if inside.any():
        out[inside] = np.clip(special.pdtrc(np.floor(ka[inside]), mua[inside]), 0, 1)
    return _nan_where_any_nan(out, ka, mua)


def _nan_where_any_nan(out: FloatArray, *inputs: FloatArray) -> FloatArray:
    bad = np.zeros(out.shape, dtype=bool)
    for x in inputs:
        bad |= np.isnan(x)
    return np.where(bad, np.nan, out)
