"""Tests for metrics.statistics.funnel (METHODS.md, "Funnel plot"; Spiegelhalter 2005)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metrics.statistics.funnel import funnel_limits, funnel_position

Z998 = 3.090232306167813  # norm.ppf(0.999)


def test_normal_approximation_hand_worked_proportion() -> None:
    # p0 = 0.2, n = 100: se = sqrt(0.2 × 0.8 / 100) = 0.04.
    lim = funnel_limits(0.2, [100], method="normal")
    assert lim[0.95][0] == pytest.approx([0.2 - 1.959964 * 0.04], abs=1e-7)  # 0.1216014
    assert lim[0.95][1] == pytest.approx([0.2783986], abs=1e-7)
    assert lim[0.998][0] == pytest.approx([0.2 - Z998 * 0.04])  # 0.0763907
    assert lim[0.998][1] == pytest.approx([0.3236093], abs=1e-7)


def test_normal_approximation_hand_worked_rate_and_clipping() -> None:
    # 0.005 events per person, exposure 10,000: se = sqrt(0.005 / 10000) = 0.000707107.
    lo, hi = funnel_limits(0.005, [10_000], method="normal", kind="rate")[0.95]
    assert lo == pytest.approx([0.0036141], abs=1e-7) and hi == pytest.approx([0.0063859], abs=1e-7)
    lo, hi = funnel_limits(0.2, [2], method="normal")[0.998]  # 0.2 ± 0.874: clipped
    assert lo.tolist() == [0.0] and hi.tolist() == [1.0]


def test_exact_binomial_hand_worked_small_case() -> None:
    # Binomial(4, 0.5): F(0) = 1/16 >= 0.025 → r = 0, α = (1/16 − 0.025)/(1/16) = 0.6 → −0.15 → 0.
    # Upper: F(3) = 15/16 < 0.975 <= F(4) = 1 → r = 4, α = 0.025/(1/16) = 0.4 → 3.6/4 = 0.9.
    lo, hi = funnel_limits(0.5, [4])[0.95]
    assert lo.tolist() == [0.0]
    assert hi == pytest.approx([0.9])


def _spiegelhalter(q: float, dist: stats.rv_discrete) -> float:
    r = float(dist.ppf(q))
    alpha = (dist.cdf(r) - q) / dist.pmf(r)
    return r - alpha


@pytest.mark.parametrize("p0", [0.03, 0.2, 0.5, 0.85])
def test_exact_binomial_matches_scipy_direct(p0: float) -> None:
    n = np.array([5, 17, 50, 123, 400, 1000, 5000])
    lim = funnel_limits(p0, n)
    for level, (lo, hi) in lim.items():
        tail = (1 - level) / 2
        for i, k in enumerate(n):
            dist = stats.binom(int(k), p0)
            assert lo[i] == pytest.approx(max(0.0, _spiegelhalter(tail, dist) / k), abs=1e-12)
            assert hi[i] == pytest.approx(min(1.0, _spiegelhalter(1 - tail, dist) / k), abs=1e-12)


def test_exact_poisson_rate_matches_scipy_direct() -> None:
    p0, n = 0.004, np.array([250.0, 1_000.0, 12_345.5, 200_000.0])
    lim = funnel_limits(p0, n, kind="rate")
    for level, (lo, hi) in lim.items():
        tail = (1 - level) / 2
        for i, k in enumerate(n):
            dist = stats.poisson(p0 * k)
            assert lo[i] == pytest.approx(max(0.0, _spiegelhalter(tail, dist) / k), rel=1e-12)
            assert hi[i] == pytest.approx(_spiegelhalter(1 - tail, dist) / k, rel=1e-12)


def test_exact_rounds_denominators_and_brackets_p0() -> None:
    a = funnel_limits(0.2, [99.6, 100.4])[0.95]
    b = funnel_limits(0.2, [100, 100])[0.95]
    np.testing.assert_allclose(a, b)
    for lo, hi in funnel_limits(0.2, np.geomspace(5, 1e5, 40)).values():
        assert (lo <= 0.2).all() and (hi >= 0.2).all()


@pytest.mark.parametrize("kind", ["proportion", "rate"])
@pytest.mark.parametrize("method", ["exact", "normal"])
def test_limits_narrow_monotonically_with_n(kind: str, method: str) -> None:
    # The exact limits are step-like at small n (discreteness), so use a geometric grid.
    n = np.unique(np.round(np.geomspace(20, 200_000, 30)))
    lim = funnel_limits(0.2, n, kind=kind, method=method)
    for lo, hi in lim.values():
        assert (np.diff(hi) < 0).all() and (np.diff(lo) >= 0).all()
    assert (lim[0.998][0] <= lim[0.95][0]).all() and (lim[0.998][1] >= lim[0.95][1]).all()


def test_exact_close_to_normal_for_large_n() -> None:
    n = [1_000_000]
    exact, normal = funnel_limits(0.2, n), funnel_limits(0.2, n, method="normal")
    for level in (0.95, 0.998):
        np.testing.assert_allclose(exact[level], normal[level], rtol=1e-3)


def test_degenerate_and_invalid_inputs_give_nan_or_flat() -> None:
    lo, hi = funnel_limits(0.0, [10, 100])[0.95]
    assert lo.tolist() == [0.0, 0.0] and hi.tolist() == [0.0, 0.0]
    lo, hi = funnel_limits(1.0, [10])[0.998]
    assert lo.tolist() == [1.0] and hi.tolist() == [1.0]
    lo, hi = funnel_limits(0.2, [0, -5, np.nan, 10])[0.95]
    assert np.isnan(lo[:3]).all() and np.isnan(hi[:3]).all() and np.isfinite(hi[3])
    for bad_p0 in (np.nan, 1.5, -0.1):
        assert np.isnan(funnel_limits(bad_p0, [10, 100])[0.95][0]).all()


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "wilson"}, {"kind": "ratio"}, {"levels": ()}, {"levels": (0.95, 1.0)}],
)
def test_bad_settings_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        funnel_limits(0.2, [10], **kwargs)  # type: ignore[arg-type]


def test_position_hand_worked_normal() -> None:
    # Limits at n = 100 around 0.2: 95% (0.1216, 0.2784), 99.8% (0.0764, 0.3236).
    x = [30, 33, 10, 5, 20, 27, np.nan, 120, 5]
    pos = funnel_position(x, [100] * 8 + [0], 0.2, method="normal")
    assert pos.tolist() == [
        "above 95%",
        "above 99.8%",
        "below 95%",
        "below 99.8%",
        "within",
        "within",
        "no data",
        "no data",
        "no data",
    ]


def test_position_exact_agrees_with_limits() -> None:
    n = np.array([40, 40, 200, 200, 1000, 1000])
    x = np.array([16, 2, 57, 24, 200, 150])
    pos = funnel_position(x, n, 0.2)
    lim = funnel_limits(0.2, n)
    value = x / n
    for i, label in enumerate(pos):
        if label == "above 99.8%":
            assert value[i] > lim[0.998][1][i]
        elif label == "above 95%":
            assert lim[0.95][1][i] < value[i] <= lim[0.998][1][i]
        elif label == "within":
            assert lim[0.95][0][i] <= value[i] <= lim[0.95][1][i]
        elif label == "below 95%":
            assert lim[0.998][0][i] <= value[i] < lim[0.95][0][i]
        else:
            assert label == "below 99.8%" and value[i] < lim[0.998][0][i]
    assert pos[4] == "within" and pos[5] == "below 99.8%"


def test_position_rate_and_custom_levels() -> None:
    # Expected count 60 (sd √60 ≈ 7.75): 85 and 35 are ~3.2 sd away, 70 is ~1.3 sd.
    pos = funnel_position([85, 35, 70], [10_000] * 3, 0.006, kind="rate", levels=(0.9, 0.99))
    assert pos.tolist() == ["above 99%", "below 99%", "within"]
    assert 25 / math.sqrt(60) > 3.2
    with pytest.raises(ValueError):
        funnel_position([1], [10], 0.2, levels=(0.95, 0.95))
