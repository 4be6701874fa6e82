"""Tests for metrics.statistics.funnel (METHODS.md, "Funnel plot"; Spiegelhalter 2005)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metrics.statistics.funnel import (
    adjusted_limits,
    funnel_limits,
    funnel_position,
    overdispersion,
)
from metrics.statistics.intervals import wilson_interval

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


def test_wilson_funnel_is_the_wilson_interval_inverted() -> None:
    # At each limit the area's own Wilson interval just touches p0 (PHE's sigma_adjustment).
    n = np.array([5.0, 17, 50, 123, 400, 1000, 5000])
    for p0 in (0.03, 0.2, 0.5, 0.85):
        for level, (lo, hi) in funnel_limits(p0, n).items():
            z = stats.norm.ppf(0.5 + level / 2)
            inner = (lo > 0) & (hi < 1)
            w_lo = wilson_interval(hi[inner] * n[inner], n[inner], z=z)[0]
            w_hi = wilson_interval(lo[inner] * n[inner], n[inner], z=z)[1]
            assert w_lo == pytest.approx(p0, rel=1e-9)
            assert w_hi == pytest.approx(p0, rel=1e-9)


def test_exact_poisson_funnel_is_the_exact_interval_inverted() -> None:
    p0, n = 0.004, np.array([250.0, 1_000.0, 12_345.5, 200_000.0])
    lim = funnel_limits(p0, n, kind="rate")
    for level, (lo, hi) in lim.items():
        tail = (1 - level) / 2
        mu = p0 * n
        # The upper limit's events have exact lower bound mu; the lower limit's, upper bound.
        assert stats.chi2.ppf(tail, 2 * hi * n) / 2 == pytest.approx(mu, rel=1e-9)
        inner = lo > 0
        assert stats.chi2.ppf(1 - tail, 2 * lo[inner] * n[inner] + 2) / 2 == pytest.approx(
            mu[inner], rel=1e-9)
    # A ratio funnel at expected E is the rate funnel at p0 = 1, exposure E.
    e = np.array([3.0, 40.0, 900.0])
    ratio, rate = funnel_limits(1.0, e, kind="ratio"), funnel_limits(1.0, e, kind="rate")
    for level in ratio:
        np.testing.assert_allclose(ratio[level], rate[level])


def test_exact_limits_bracket_p0() -> None:
    for kind in ("proportion", "rate"):
        for lo, hi in funnel_limits(0.2, np.geomspace(5, 1e5, 40), kind=kind).values():
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
    [{"method": "wilson"}, {"kind": "odds"}, {"levels": ()}, {"levels": (0.95, 1.0)}],
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


# --- overdispersion (Spiegelhalter 2005) ---------------------------------------------------------

def test_overdispersion_hand_worked() -> None:
    # p0 = 0.5, n = 100: s = 0.05, so z = (y − 0.5)/0.05. Ten areas with z = −4.5, −1..6, 9.
    z = np.array([-4.5, -1, 0, 1, 2, 3, 4, 5, 6, 9], dtype=float)
    x = (0.5 + z * 0.05) * 100
    adj = overdispersion(x, [100] * 10, 0.5)
    # np.quantile (linear) at 10% and 90%: −1 + 0.9·(−1 − (−4.5))… = −4.5 + 0.9·3.5 = −1.35,
    # and 6 + 0.1·3 = 6.3; winsorised z: −1.35, −1, 0, …, 6, 6.3.
    zw = np.clip(z, -1.35, 6.3)
    assert adj.phi == pytest.approx(float(np.mean(zw ** 2)))
    assert adj.areas == 10
    assert adj.overdispersed  # 10·φ = 136.9 > 9 + 2·√18 = 17.5
    w = np.full(10, 1 / 0.05 ** 2)
    tau2 = (10 * adj.phi - 9) / (w.sum() - (w ** 2).sum() / w.sum())
    assert adj.tau2 == pytest.approx(tau2)
    lim = adjusted_limits(adj, [100, 10_000])
    assert lim[0.95][1] == pytest.approx(0.5 + Z95 * np.sqrt(np.array([0.0025, 0.000025]) + tau2))
    mult = overdispersion(x, [100] * 10, 0.5, method="multiplicative")
    assert adjusted_limits(mult, [100, 10_000])[0.998][1] == pytest.approx(
        np.minimum(1.0, 0.5 + Z998 * np.array([0.05, 0.005]) * np.sqrt(mult.phi)))
    assert "additive random effects" in adj.label(100, " pts")
    assert "multiplicative" in mult.label()


Z95 = 1.959963984540054


def test_overdispersed_areas_recovered_and_the_adjusted_funnel_calmer() -> None:
    rng = np.random.default_rng(3)
    n = np.round(rng.uniform(5_000, 120_000, 43))
    truth = rng.normal(0.15, 0.02, 43)  # real between-area differences of about 2 points
    x = rng.binomial(n.astype(int), truth)
    p0 = x.sum() / n.sum()
    plain = funnel_position(x, n, p0)
    adj = overdispersion(x, n, p0)
    assert adj.overdispersed and 0.012 < np.sqrt(adj.tau2) < 0.03
    calm = funnel_position(x, n, p0, adjustment=adj)
    assert (np.char.find(plain, "99.8") >= 0).sum() > 25  # most areas "special" unadjusted
    assert (np.char.find(calm, "99.8") >= 0).sum() <= 2


def test_no_overdispersion_no_adjustment() -> None:
    rng = np.random.default_rng(5)
    n = np.round(rng.uniform(500, 5_000, 40))
    x = rng.binomial(n.astype(int), 0.3)
    adj = overdispersion(x, n, x.sum() / n.sum())
    assert not adj.overdispersed and adj.tau2 == 0.0 and adj.label() == ""
    assert 0.5 < adj.phi < 1.6
    plain = funnel_limits(adj.p0, n)
    for level, pair in adjusted_limits(adj, n).items():
        np.testing.assert_allclose(pair, plain[level])
    assert overdispersion([1, 2], [10, 10], 0.2).areas == 2  # too few areas: not estimated
