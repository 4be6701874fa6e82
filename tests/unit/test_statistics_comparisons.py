"""Reference tests for metrics.statistics.comparisons (METHODS.md, "Comparing groups")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from metrics.statistics import (
    Z95,
    exact_poisson_ratio_test,
    poisson_change_test,
    rate_ratio,
    two_proportion_test,
)


def test_rate_ratio_hand_worked_population_denominators() -> None:
    a, n1, c, n2 = 30, 1000, 10, 2000
    expected = (30 / 1000) / (10 / 2000)
    se = math.sqrt(1 / a + 1 / c)
    ratio, lower, upper, significant, estimable = rate_ratio(a, n1, c, n2)
    assert expected == pytest.approx(6.0)
    assert float(ratio) == pytest.approx(6.0, rel=1e-12)
    assert float(lower) == pytest.approx(math.exp(math.log(6) - Z95 * se), rel=1e-12)
    assert float(upper) == pytest.approx(math.exp(math.log(6) + Z95 * se), rel=1e-12)
    assert bool(significant) and bool(estimable)


def test_rate_ratio_hand_worked_sample_denominators() -> None:
    a, n1, c, n2 = 30, 1000, 10, 2000
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    _, lower, upper, _, _ = rate_ratio(a, n1, c, n2, population_denominators=False)
    assert float(lower) == pytest.approx(math.exp(math.log(6) - Z95 * se), rel=1e-12)
    assert float(upper) == pytest.approx(math.exp(math.log(6) + Z95 * se), rel=1e-12)


def test_rate_ratio_not_significant_when_ci_spans_one() -> None:
    ratio, lower, upper, significant, estimable = rate_ratio(12, 1000, 10, 1000)
    assert float(ratio) == pytest.approx(1.2)
    assert lower < 1 < upper and not bool(significant) and bool(estimable)
    # A ratio below 1 with a CI entirely below 1 is significant too.
    _, _, upper, significant, _ = rate_ratio(10, 2000, 30, 1000)
    assert upper < 1 and bool(significant)


def test_rate_ratio_zero_counts_not_estimable() -> None:
    ratio, lower, upper, significant, estimable = rate_ratio(
        [0, 5, 0, np.nan, 5], [100, 100, 100, 100, 0], [5, 0, 0, 5, 5], [100, 100, 100, 100, 100]
    )
    assert not estimable.any() and not significant.any()
    assert np.isnan(ratio).all() and np.isnan(lower).all() and np.isnan(upper).all()


def test_rate_ratio_custom_z() -> None:
    _, lower, _, _, _ = rate_ratio(30, 1000, 10, 2000, z=3.0)
    assert float(lower) == pytest.approx(math.exp(math.log(6) - 3.0 * math.sqrt(1 / 30 + 1 / 10)))


def test_poisson_change_threshold() -> None:
    # (N1 - N2)^2 / (N1 + N2): 3.6 (not significant), 4.0 (significant).
    stat, significant = poisson_change_test([24, 20, 0, 5, np.nan], [12, 10, 0, -1, 3])
    assert stat[0] == pytest.approx(144 / 36) and bool(significant[0])
    assert stat[1] == pytest.approx(100 / 30) and not bool(significant[1])
    assert np.isnan(stat[2:]).all() and not significant[2:].any()


def test_poisson_change_boundary_is_strict() -> None:
    # 3.84 exactly is not "> 3.84".
    stat, significant = poisson_change_test(3.84, 0.0)
    assert float(stat) == pytest.approx(3.84) and not bool(significant)


def _z_direct(x1: int, n1: int, x2: int, n2: int) -> float:
    p1, p2, p = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    return (p1 - p2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(45, 100, 30, 100), (10, 50, 20, 50), (5, 40, 7, 60), (300, 1000, 280, 1000), (1, 9, 8, 11)],
)
def test_two_proportion_matches_direct(x1: int, n1: int, x2: int, n2: int) -> None:
    z_stat, significant = two_proportion_test(x1, n1, x2, n2)
    expected = _z_direct(x1, n1, x2, n2)
    assert float(z_stat) == pytest.approx(expected, rel=1e-12)
    assert bool(significant) == (abs(expected) > Z95)


def test_two_proportion_agrees_with_chi_square() -> None:
    # The pooled z-test squared equals Pearson's chi-square without continuity correction.
    z_stat, _ = two_proportion_test(45, 100, 30, 100)
    chi2 = stats.chi2_contingency([[45, 55], [30, 70]], correction=False).statistic
    assert float(z_stat) ** 2 == pytest.approx(chi2, rel=1e-12)


def test_two_proportion_degenerate() -> None:
    z_stat, significant = two_proportion_test(
        [0, 10, 5, 3], [10, 10, 0, 2], [0, 10, 5, 1], [10, 10, 5, 5]
    )
    assert np.isnan(z_stat).all() and not significant.any()


@pytest.mark.parametrize(
    ("a", "n1", "c", "n2"),
    [(30, 1000, 10, 2000), (0, 500, 7, 800), (3, 100, 0, 100), (12, 1000, 10, 1000), (1, 1, 9, 3)],
)
def test_exact_test_matches_scipy(a: int, n1: int, c: int, n2: int) -> None:
    expected = stats.binomtest(a, a + c, n1 / (n1 + n2)).pvalue
    assert float(exact_poisson_ratio_test(a, n1, c, n2)) == pytest.approx(expected, rel=1e-12)


def test_exact_test_vectorised_and_missing() -> None:
    p = exact_poisson_ratio_test(
        [30, 0, np.nan, 2.5, 3], [1000, 10, 10, 10, 0], [10, 0, 1, 1, 3], 2000
    )
    assert p.shape == (5,)
    assert p[0] == pytest.approx(stats.binomtest(30, 40, 1000 / 3000).pvalue)
    assert np.isnan(p[1:]).all()


@given(
    a=st.integers(1, 10**5),
    c=st.integers(1, 10**5),
    n1=st.floats(1.0, 1e7),
    n2=st.floats(1.0, 1e7),
)
def test_rate_ratio_ci_brackets_ratio(a: int, c: int, n1: float, n2: float) -> None:
    ratio, lower, upper, significant, estimable = rate_ratio(a, n1, c, n2)
    assert bool(estimable) and 0 < lower <= ratio <= upper
    assert bool(significant) == bool(lower > 1 or upper < 1)


def test_vectorised_binomial_test_equals_scipy() -> None:
    """Every case SciPy's two-sided binomtest handles, including both tails, the mode, k = 0,
    k = n, p near 0 and 1 and large n."""
    from scipy import stats

    from metrics.statistics.comparisons import binomtest_two_sided

    rng = np.random.default_rng(20261123)
    cases = [(0, 1, 0.5), (1, 1, 0.5), (0, 12, 0.5), (12, 12, 0.5), (5, 10, 0.5),
             (3, 15, 0.1), (0, 200_000, 1e-5), (7, 50, 0.999), (49, 50, 0.999)]
    for _ in range(400):
        n = int(rng.choice([2, 5, 30, 400, 5_000, 250_000]))
        p = float(rng.choice([rng.uniform(0.001, 0.999), rng.uniform(0.4, 0.6)]))
        cases.append((int(rng.integers(0, n + 1)), n, p))
    k, n, p = (np.array(column, dtype=float) for column in zip(*cases, strict=True))
    mine = binomtest_two_sided(k, n, p)
    for i, (kk, nn, pp) in enumerate(cases):
        expected = stats.binomtest(kk, nn, pp, alternative="two-sided").pvalue
        assert mine[i] == pytest.approx(expected, rel=1e-12, abs=1e-300), (kk, nn, pp)
