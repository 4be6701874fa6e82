"""Reference tests for metrics.statistics.intervals (METHODS.md, "Proportions and rates")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from metrics.statistics import (
    Z95,
    mean_interval,
    poisson_count_interval,
    rate_interval,
    wilson_interval,
    z_for,
)

WILSON_CASES = [
    (x, n)
    for n in (1, 2, 5, 10, 20, 37, 100, 1000)
    for x in sorted({0, 1, n // 3, n // 2, n - 1, n})
]


def test_z95_matches_normal_quantile() -> None:
    assert stats.norm.ppf(0.975) == pytest.approx(Z95, abs=1e-15)
    assert z_for(0.95) == pytest.approx(Z95, abs=1e-12)
    assert z_for(0.998) == pytest.approx(3.090232306167813, abs=1e-9)
    with pytest.raises(ValueError):
        z_for(1.0)


@pytest.mark.parametrize(("x", "n"), WILSON_CASES)
def test_wilson_matches_scipy(x: int, n: int) -> None:
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    lower, upper = wilson_interval(x, n)
    assert float(lower) == pytest.approx(ci.low, abs=1e-9)
    assert float(upper) == pytest.approx(ci.high, abs=1e-9)


def test_wilson_vectorised_matches_scalar_calls() -> None:
    xs = np.array([x for x, _ in WILSON_CASES])
    ns = np.array([n for _, n in WILSON_CASES])
    lower, upper = wilson_interval(xs, ns)
    assert lower.shape == upper.shape == xs.shape
    for i, (x, n) in enumerate(WILSON_CASES):
        lo, hi = wilson_interval(x, n)
        assert lower[i] == pytest.approx(float(lo)) and upper[i] == pytest.approx(float(hi))


def test_wilson_hand_worked_8_of_20() -> None:
    x, n, z = 8, 20, 1.959963984540054
    z2 = z * z
    centre = (x + z2 / 2) / (n + z2)
    half = z * math.sqrt(x * (n - x) / n + z2 / 4) / (n + z2)
    lower, upper = wilson_interval(x, n)
    assert float(lower) == pytest.approx(centre - half, rel=1e-12)
    assert float(upper) == pytest.approx(centre + half, rel=1e-12)
    # Published-style rounding of the same interval: 21.9% to 61.3%.
    assert round(float(lower) * 100, 1) == 21.9 and round(float(upper) * 100, 1) == 61.3


def test_wilson_edges_and_missing() -> None:
    lower, upper = wilson_interval([0, 20, 5, np.nan, 3, 5, -1], [20, 20, 0, 10, np.nan, 4, 10])
    assert lower[0] == 0.0 and upper[1] == 1.0
    assert np.isnan(lower[2:]).all() and np.isnan(upper[2:]).all()


def _chi2_exact(x: int, level: float = 0.95) -> tuple[float, float]:
    a = 1 - level
    lo = 0.0 if x == 0 else stats.chi2.ppf(a / 2, 2 * x) / 2
    return lo, stats.chi2.ppf(1 - a / 2, 2 * x + 2) / 2


def _byar(x: int, z: float = Z95) -> tuple[float, float]:
    lo = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    hi = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lo, hi


@pytest.mark.parametrize("x", range(10))
def test_exact_poisson_below_ten(x: int) -> None:
    lower, upper, method = poisson_count_interval(x)
    exp_lo, exp_hi = _chi2_exact(x)
    assert str(method) == "exact_poisson"
    assert float(lower) == pytest.approx(exp_lo, abs=1e-12)
    assert float(upper) == pytest.approx(exp_hi, rel=1e-12)


@pytest.mark.parametrize("x", [10, 11, 25, 100, 12345])
def test_byar_from_ten(x: int) -> None:
    lower, upper, method = poisson_count_interval(x)
    exp_lo, exp_hi = _byar(x)
    assert str(method) == "byar"
    assert float(lower) == pytest.approx(exp_lo, rel=1e-12)
    assert float(upper) == pytest.approx(exp_hi, rel=1e-12)


def test_poisson_known_values() -> None:
    # Garwood exact interval for 0 and 5 events (standard table values).
    lower, upper, _ = poisson_count_interval([0, 5])
    assert lower[0] == 0.0 and upper[0] == pytest.approx(3.689, abs=1e-3)
    assert lower[1] == pytest.approx(1.623, abs=1e-3) and upper[1] == pytest.approx(
        11.668, abs=1e-3
    )


def test_method_switches_at_ten() -> None:
    lower, upper, method = poisson_count_interval(np.array([9, 10, np.nan, -3]))
    assert method.tolist() == ["exact_poisson", "byar", "none", "none"]
    assert lower[0] == pytest.approx(_chi2_exact(9)[0]) and lower[1] == pytest.approx(_byar(10)[0])
    assert np.isnan(lower[2:]).all() and np.isnan(upper[2:]).all()


def test_poisson_other_level_uses_matching_quantiles() -> None:
    lower, upper, _ = poisson_count_interval([4, 40], level=0.998)
    assert lower[0] == pytest.approx(_chi2_exact(4, 0.998)[0], rel=1e-12)
    assert upper[1] == pytest.approx(_byar(40, stats.norm.ppf(0.999))[1], rel=1e-12)


def test_rate_interval_per_thousand() -> None:
    value, lower, upper, method = rate_interval([5, 50, 7, 3], [2000, 10000, 0, np.nan])
    assert value[:2].tolist() == pytest.approx([2.5, 5.0])
    assert lower[0] == pytest.approx(_chi2_exact(5)[0] / 2000 * 1000)
    assert upper[0] == pytest.approx(_chi2_exact(5)[1] / 2000 * 1000)
    assert lower[1] == pytest.approx(_byar(50)[0] / 10000 * 1000)
    assert upper[1] == pytest.approx(_byar(50)[1] / 10000 * 1000)
    assert method[:2].tolist() == ["exact_poisson", "byar"]
    assert np.isnan(value[2:]).all() and np.isnan(lower[2:]).all() and np.isnan(upper[2:]).all()


def test_rate_interval_multiplier() -> None:
    value, lower, _, _ = rate_interval(20, 50000, multiplier=100000.0)
    assert float(value) == pytest.approx(40.0)
    assert float(lower) == pytest.approx(_byar(20)[0] * 2)


def test_mean_interval() -> None:
    lower, upper = mean_interval(
        [10.0, 10.0, 10.0, np.nan], [4.0, np.nan, 4.0, 1.0], [16, 16, 1, 9]
    )
    # Student's t with 15 df: t(0.975, 15) = 2.131449545559323 (published tables: 2.131).
    t15 = 2.131449545559323
    assert lower[0] == pytest.approx(10 - t15 * 4 / 4) and upper[0] == pytest.approx(10 + t15)
    assert np.isnan(lower[1:]).all() and np.isnan(upper[1:]).all()


def test_mean_interval_holds_its_level_at_small_n() -> None:
    """Coverage at n = 3 by simulation: t gives 95%; the normal z gave about 81%."""
    rng = np.random.default_rng(7)
    draws = rng.normal(50.0, 10.0, size=(20000, 3))
    lower, upper = mean_interval(draws.mean(axis=1), draws.std(axis=1, ddof=1), 3)
    coverage = float(((lower <= 50.0) & (upper >= 50.0)).mean())
    assert abs(coverage - 0.95) < 0.01
    half_z = Z95 * draws.std(axis=1, ddof=1) / np.sqrt(3)
    z_cover = float((np.abs(draws.mean(axis=1) - 50.0) <= half_z).mean())
    assert 0.78 < z_cover < 0.84


counts = st.integers(min_value=0, max_value=10**6)


@given(data=st.data(), n=st.integers(min_value=1, max_value=10**6))
def test_wilson_brackets_proportion(data: st.DataObject, n: int) -> None:
    x = data.draw(st.integers(min_value=0, max_value=n))
    lower, upper = wilson_interval(x, n)
    assert 0.0 <= lower <= x / n <= upper <= 1.0


@given(x=counts, level=st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998]))
def test_poisson_brackets_count(x: int, level: float) -> None:
    lower, upper, _ = poisson_count_interval(x, level=level)
    assert 0.0 <= lower <= x <= upper


@given(x=counts, den=st.floats(min_value=1.0, max_value=1e8))
def test_rate_brackets_value(x: int, den: float) -> None:
    value, lower, upper, _ = rate_interval(x, den)
    assert lower <= value <= upper


@given(
    mean=st.floats(min_value=-1e6, max_value=1e6),
    sd=st.floats(min_value=0.0, max_value=1e6),
    n=st.integers(min_value=2, max_value=10**6),
)
def test_mean_brackets_value(mean: float, sd: float, n: int) -> None:
    lower, upper = mean_interval(mean, sd, n)
    assert lower <= mean <= upper
