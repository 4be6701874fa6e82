"""metrics.statistics.distributions equals scipy.stats bit for bit, edges included
(decision 0039): the app evaluates the routines scipy.stats evaluates without importing it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from metrics.statistics import distributions as d
from metrics.statistics.ranks import average_ranks


def _same(ours: np.ndarray, theirs: np.ndarray) -> None:
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs, dtype=np.float64))


QS = np.array([1e-12, 0.001, 0.005, 0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975, 0.995, 0.999,
               1 - 1e-12])


def test_chi2_ppf_equals_scipy() -> None:
    df = np.r_[np.arange(1, 60), 2.0 * np.arange(0, 500) + 2, 1e4, 0.5, 3.7, np.nan]
    q, dfs = np.meshgrid(QS, df)
    _same(d.chi2_ppf(q, dfs), stats.chi2.ppf(q, dfs))


def test_t_ppf_equals_scipy() -> None:
    df = np.r_[np.arange(1, 200), 1e3, 1e6, 2.5, np.nan]
    q, dfs = np.meshgrid(QS, df)
    _same(d.t_ppf(q, dfs), stats.t.ppf(q, dfs))


@pytest.mark.parametrize("p", [1e-6, 0.01, 0.137, 0.5, 0.731, 0.99, 1 - 1e-6])
def test_binomial_functions_equal_scipy_on_and_off_the_support(p: float) -> None:
    n = np.array([1, 2, 5, 17, 100, 1001, 25_000], dtype=float)
    k = np.r_[-3, -1, np.arange(0, 30), 98, 99, 100, 101, 500, 999, 1000, 1001, 1002, 24_999,
              25_000, 25_001, 2.5, np.nan]
    kk, nn = np.meshgrid(k, n)
    _same(d.binom_pmf(kk, nn, p), stats.binom.pmf(kk, nn, p))
    _same(d.binom_cdf(kk, nn, p), stats.binom.cdf(kk, nn, p))
    _same(d.binom_sf(kk, nn, p), stats.binom.sf(kk, nn, p))


def test_poisson_sf_equals_scipy() -> None:
    k = np.r_[-2, -1, np.arange(0, 60), 99.5, 1000, 10_000, np.nan]
    mu = np.array([1e-3, 0.4, 1, 3.2, 10, 57.5, 999, 1e4])
    kk, mm = np.meshgrid(k, mu)
    _same(d.poisson_sf(kk, mm), stats.poisson.sf(kk, mm))


@pytest.mark.parametrize("seed", range(5))
def test_average_ranks_equal_scipy_with_and_without_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for values in (rng.normal(size=43), rng.integers(0, 6, size=43).astype(float),
                   np.array([3.0]), np.array([2.0, 2.0, 2.0]), np.array([-np.inf, 1, np.inf])):
        _same(average_ranks(values), stats.rankdata(values, method="average"))
