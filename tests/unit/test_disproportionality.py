"""Hand-worked tests for metrics.statistics.disproportionality (METHODS.md, "Comparing groups:
disproportionality")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from metrics.statistics.comparisons import rate_ratio
from metrics.statistics.disproportionality import (
    BOUNDS_LABEL,
    excess_count,
    missing_ethnicity_bounds,
    parity_reduction,
    relative_rate_index,
    tipping_share,
)
from metrics.statistics.intervals import Z95

STAGES = ["population", "stop_search", "arrest", "charge"]
GROUPS = ["White", "Black", "Asian", "Other"]
COUNTS = {
    "population": [100_000, 10_000, 8_000, 500],  # Other: 500 / 118,500 = 0.42% → excluded
    "stop_search": [1_000, 500, 120, 30],
    "arrest": [200, 120, 20, 8],
    "charge": [100, 54, 8, 2],  # Asian charge 8 < 10 → insufficient
}


def katz(a: float, n1: float, c: float, n2: float) -> tuple[float, float, float]:
    rr = (a / n1) / (c / n2)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    return rr, rr * math.exp(-Z95 * se), rr * math.exp(Z95 * se)


def katz_poisson(a: float, n1: float, c: float, n2: float) -> tuple[float, float, float]:
    rr = (a / n1) / (c / n2)
    se = math.sqrt(1 / a + 1 / c)
    return rr, rr * math.exp(-Z95 * se), rr * math.exp(Z95 * se)


def test_katz_hand_worked_first_stage_population_denominators() -> None:
    # a = 30 of n1 = 1000 against c = 10 of n2 = 2000: RR = 0.03 / 0.005 = 6. The first stage
    # is over the population: Poisson variance, as the disparity ratio of the same counts.
    t = relative_rate_index(
        {"population": [1000, 2000], "event": [30, 10]},
        ["population", "event"],
        "B",
        groups=["A", "B"],
    )
    se = math.sqrt(1 / 30 + 1 / 10)  # 0.36515
    assert t.rri[0, 0] == pytest.approx(6.0)
    assert t.lower[0, 0] == pytest.approx(6 * math.exp(-Z95 * se))  # 2.933
    assert t.upper[0, 0] == pytest.approx(6 * math.exp(Z95 * se))  # 12.27
    assert t.significant[0, 0] and t.status[0].tolist() == ["ok", "reference"]
    assert t.significance_method[0, 0].startswith("katz (poisson variance")
    ratio = rate_ratio(30, 1000, 10, 2000, population_denominators=True)  # one ratio,
    assert (t.lower[0, 0], t.upper[0, 0]) == pytest.approx((ratio[1], ratio[2]))  # one CI
    assert t.rri[0, 1] == 1.0 and math.isnan(t.lower[0, 1]) and not t.significant[0, 1]
    assert t.rate[0].tolist() == pytest.approx([0.03, 0.005])


def test_chaining_across_three_stages_by_hand() -> None:
    t = relative_rate_index(COUNTS, STAGES, "White", groups=GROUPS)
    assert t.stages == ("stop_search", "arrest", "charge") and t.groups == tuple(GROUPS)
    # White: 1000/100000 = 0.01, 200/1000 = 0.2, 100/200 = 0.5.
    # Black: 500/10000 = 0.05, 120/500 = 0.24, 54/120 = 0.45.
    # Asian: 120/8000 = 0.015, 20/120 = 0.1667, 8/20 = 0.4.
    assert t.rate[:, 0] == pytest.approx([0.01, 0.2, 0.5])
    assert t.rate[:, 1] == pytest.approx([0.05, 0.24, 0.45])
    assert t.rate[:, 2] == pytest.approx([0.015, 20 / 120, 0.4])
    assert t.rri[:, 1] == pytest.approx([5.0, 1.2, 0.9])
    assert t.rri[:, 2] == pytest.approx([1.5, 20 / 120 / 0.2, 0.8])
    assert t.denominator[:, 1].tolist() == [10_000, 500, 120]
    for row, (a, n1, c, n2) in enumerate(
        [(500, 10_000, 1000, 100_000), (120, 500, 200, 1000), (54, 120, 100, 200)]
    ):
        rr, lo, hi = katz(a, n1, c, n2) if row else katz_poisson(a, n1, c, n2)
        assert (t.rri[row, 1], t.lower[row, 1], t.upper[row, 1]) == pytest.approx((rr, lo, hi))
    assert t.significant[:, 1].tolist() == [True, False, False]  # enters at stop and search
    assert t.status[:, 1].tolist() == ["ok"] * 3
    assert t.status[:, 2].tolist() == ["ok", "ok", "insufficient"]
    assert not t.significant[2, 2] and t.significance_method[2, 2] == "none"
    assert t.rri[2, 2] == pytest.approx(0.8)  # kept for display, flagged insufficient
    assert t.status[:, 3].tolist() == ["excluded: under 1% of population"] * 3
    assert np.isnan(t.rri[:, 3]).all() and np.isnan(t.rate[:, 3]).all()
    assert not t.significant[:, 3].any()
    assert t.status[:, 0].tolist() == ["reference"] * 3


def test_min_count_and_min_share_are_configurable() -> None:
    t = relative_rate_index(COUNTS, STAGES, "White", groups=GROUPS, min_count=5, min_share=0.001)
    assert t.status[2, 2] == "ok" and t.status[0, 3] == "ok"
    assert t.status[2, 3] == "insufficient"  # Other charge 2 < 5


def test_stage_that_is_not_a_subset_uses_poisson_variance() -> None:
    # Group arrests (150) exceed its stop-searches (100): drop the 1/n terms.
    t = relative_rate_index(
        {"pop": [50_000, 5_000], "stop": [1_000, 100], "arrest": [200, 150]},
        ["pop", "stop", "arrest"],
        "W",
        groups=["W", "B"],
    )
    rr = (150 / 100) / (200 / 1000)
    se = math.sqrt(1 / 150 + 1 / 200)
    assert t.rri[1, 1] == pytest.approx(rr)
    assert t.lower[1, 1] == pytest.approx(rr * math.exp(-Z95 * se))
    assert t.significance_method[1, 1].startswith("katz (poisson variance")


def test_exact_conditional_test_matches_scipy_binomtest() -> None:
    t = relative_rate_index(COUNTS, STAGES, "White", groups=GROUPS)
    for row in range(3):
        for g in (1, 2):
            a, n1 = int(t.numerator[row, g]), t.denominator[row, g]
            c, n2 = int(t.numerator[row, 0]), t.denominator[row, 0]
            expected = stats.binomtest(a, a + c, n1 / (n1 + n2)).pvalue
            assert t.p_exact[row, g] == pytest.approx(expected, rel=1e-12)


def test_zero_count_not_estimable_uses_exact_test() -> None:
    # 0 of 1000 against 12 of 1000, min_count 0: conditional on 12 events, p0 = 0.5,
    # P = 2 × 0.5¹² = 0.000488.
    t = relative_rate_index(
        {"pop": [1000, 1000], "event": [12, 0]},
        ["pop", "event"],
        "R",
        groups=["R", "C"],
        min_count=0,
    )
    assert t.status[0, 1] == "not estimable" and math.isnan(t.rri[0, 1])
    assert t.p_exact[0, 1] == pytest.approx(2 * 0.5**12)
    assert t.significant[0, 1] and t.significance_method[0, 1] == "exact conditional test"
    default = relative_rate_index(
        {"pop": [1000, 1000], "event": [12, 0]}, ["pop", "event"], "R", groups=["R", "C"]
    )
    assert default.status[0, 1] == "insufficient" and not default.significant[0, 1]


def test_zero_denominator_is_not_estimable_without_error() -> None:
    t = relative_rate_index(
        {"pop": [1000, 1000], "stop": [50, 0], "arrest": [20, 0]},
        ["pop", "stop", "arrest"],
        "R",
        groups=["R", "C"],
        min_count=0,
    )
    assert t.status[1, 1] == "not estimable" and math.isnan(t.rate[1, 1])
    assert not t.significant[1, 1] and t.significance_method[1, 1] == "none"


@pytest.mark.parametrize(
    ("counts", "stages", "reference"),
    [
        ({"pop": [1, 2], "x": [1, 1]}, ["pop", "x"], "Z"),  # unknown reference
        ({"pop": [1, 2]}, ["pop", "x"], "A"),  # missing stage
        ({"pop": [1, 2], "x": [1]}, ["pop", "x"], "A"),  # wrong length
        ({"pop": [1, 2]}, ["pop"], "A"),  # no stage after the population
    ],
)
def test_bad_settings_raise(
    counts: dict[str, list[int]], stages: list[str], reference: str
) -> None:
    with pytest.raises(ValueError):
        relative_rate_index(counts, stages, reference, groups=["A", "B"])


def test_excess_and_parity_hand_worked() -> None:
    # 500 searches of 10,000 people against a reference rate of 0.01: 500 − 100 = 400 excess.
    assert float(excess_count(500, 10_000, 0.01)) == pytest.approx(400.0)
    assert excess_count([500, 50], [10_000, 10_000], 0.01).tolist() == pytest.approx([400, -50])
    # RR 5 → 1 − 1/5 = 0.8 of the events removed for parity; RR 0.5 → −1 (double).
    assert parity_reduction([5.0, 0.5, 1.0]).tolist() == pytest.approx([0.8, -1.0, 0.0])
    assert np.isnan(parity_reduction([0.0, -2.0, np.nan])).all()


def test_missing_ethnicity_bounds_hand_worked() -> None:
    # Comparison 500 of 10,000; reference 1,000 of 100,000; 200 unknown. Point ratio 5.
    lower, upper = missing_ethnicity_bounds(10_000, 500, 100_000, 1_000, 200)
    assert float(lower) == pytest.approx(0.05 / 0.012)  # all 200 to the reference: 4.1667
    assert float(upper) == pytest.approx(0.07 / 0.01)  # all 200 to the comparison: 7
    assert "not a confidence interval" in BOUNDS_LABEL
    lower, upper = missing_ethnicity_bounds([10_000, 0], [5, 5], [100, 100], [0, 1], [0, 1])
    # No reference records at all, and a zero exposure: NaN, never an error.
    assert np.isnan(lower).all() and np.isnan(upper).all()


@given(
    st.floats(100, 1e6),
    st.integers(0, 5000),
    st.floats(100, 1e6),
    st.integers(1, 5000),
    st.integers(0, 2000),
)
def test_bounds_bracket_the_point_ratio(e_c: float, n_c: int, e_r: float, n_r: int, u: int) -> None:
    lower, upper = missing_ethnicity_bounds(e_c, n_c, e_r, n_r, u)
    point = (n_c / e_c) / (n_r / e_r)
    assert float(lower) <= point * (1 + 1e-12) and point <= float(upper) * (1 + 1e-12)


def test_tipping_share_hand_worked_and_plugged_back() -> None:
    e_c, n_c, e_r, n_r, u = 10_000, 95, 100_000, 1_000, 200
    # t = (10,000 × 1,200 − 100,000 × 95) / (200 × 110,000) = 2,500,000 / 22,000,000.
    t = float(tipping_share(e_c, n_c, e_r, n_r, u))
    assert t == pytest.approx(2_500_000 / 22_000_000)  # 0.1136
    ratio = ((n_c + t * u) / e_c) / ((n_r + (1 - t) * u) / e_r)
    assert ratio == pytest.approx(1.0)
    lower, upper = missing_ethnicity_bounds(e_c, n_c, e_r, n_r, u)
    assert lower < 1 < upper


def test_tipping_share_infeasible_is_nan() -> None:
    # Point ratio 5, bounds 4.17 .. 7: no share of unknowns brings it to parity.
    shares = tipping_share(
        [10_000, 10_000, -1], [500, 95, 95], [100_000] * 3, [1_000] * 3, [200, 0, 200]
    )
    assert np.isnan(shares).all()


@given(
    st.floats(100, 1e6),
    st.integers(0, 5000),
    st.floats(100, 1e6),
    st.integers(0, 5000),
    st.integers(1, 2000),
)
def test_tipping_share_solves_parity_whenever_feasible(
    e_c: float, n_c: int, e_r: float, n_r: int, u: int
) -> None:
    t = float(tipping_share(e_c, n_c, e_r, n_r, u))
    lower, upper = missing_ethnicity_bounds(e_c, n_c, e_r, n_r, u)
    if math.isnan(t):
        assert not (float(lower) < 1 - 1e-9 and float(upper) > 1 + 1e-9)
    else:
        assert 0 <= t <= 1
        reference = n_r + (1 - t) * u
        assert (n_c + t * u) * e_r == pytest.approx(reference * e_c, rel=1e-9)
