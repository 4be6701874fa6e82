"""NHSRplotthedots' own published test cases, ported (nhs-r-community/NHSRplotthedots at
commit 050b07d, tests/testthat/: test-ptd_spc_standard.R and its snapshot
_snaps/ptd_spc_standard.md, _snaps/ptd_spc.md, test-ptd_calculate_point_type.R).

The package's unit tests call its internal vector helpers; each case is reproduced here
through the public functions of the SPC modules (:mod:`metrics.statistics.spc_limits`,
``spc_rules``, ``spc_signals``) with the same inputs and the expected values the package
publishes. Where the package's helper reports the *end* of a run
and then marks its members (``ptd_seven_point_trend`` then ``ptd_part_of_seven_trend``), we
compare the marked members, which is what a chart shows.
"""

from __future__ import annotations

import numpy as np
import pytest

from metrics.statistics.spc_limits import SpcLimits, xmr_limits
from metrics.statistics.spc_rules import special_cause_flags, special_causes
from metrics.statistics.spc_signals import classify_signals

# R: set.seed(123); rnorm(20) — the data of test-ptd_spc_standard.R and test-ptd_spc.R.
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]


def test_snapshot_limits_screened_whole_series() -> None:
    """_snaps/ptd_spc_standard.md r1: mean_col 0.1416238, lpl -3.01138, upl 3.294627."""
    lim = xmr_limits(RNORM_123)
    assert lim.centre == pytest.approx([0.1416238] * 20, abs=5e-8)
    assert lim.lower[0] == pytest.approx(-3.01138, abs=5e-6)
    assert lim.upper[0] == pytest.approx(3.294627, abs=5e-7)
    assert special_causes(RNORM_123, lim) == [()] * 20  # summary: 20 common cause


def test_snapshot_limits_with_an_outlier_screened_and_not() -> None:
    """r2 (y[15] <- 10, screen_outliers = TRUE) and r3 (screen_outliers = FALSE)."""
    y = list(RNORM_123)
    y[14] = 10.0
    screened = xmr_limits(y)
    assert screened.centre[0] == pytest.approx(0.6694159, abs=5e-8)
    assert screened.lower[0] == pytest.approx(-2.383666, abs=5e-7)
    assert screened.upper[0] == pytest.approx(3.722497, abs=5e-7)
    unscreened = xmr_limits(y, screen_outliers=False)
    assert unscreened.lower[0] == pytest.approx(-4.596625, abs=5e-7)
    assert unscreened.upper[0] == pytest.approx(5.935457, abs=5e-7)
    assert (unscreened.upper[0] - unscreened.lower[0]) > (screened.upper[0] - screened.lower[0])


@pytest.mark.parametrize(("part", "mean", "lpl", "upl"), [
    (slice(0, 10), 0.0746, -2.60, 2.75),  # _snaps/ptd_spc.md, facet 0
    (slice(10, 20), 0.209, -3.28, 3.70),  # facet 1
])
def test_snapshot_faceted_summaries(part: slice, mean: float, lpl: float, upl: float) -> None:
    lim = xmr_limits(RNORM_123[part])
    assert round(float(lim.centre[0]), 4 if mean < 0.1 else 3) == mean
    assert round(float(lim.lower[0]), 2) == lpl and round(float(lim.upper[0]), 2) == upl
    assert lim.trial.all()  # 10 points: the package warns of trial limits


def test_rebase_groups_are_separate_segments() -> None:
    """test-ptd_spc_standard.R 'it sets the rebase_group field' (rebase at row 11)."""
    lim = xmr_limits(RNORM_123, rebase_at=[10])
    assert lim.segment.tolist() == [0] * 10 + [1] * 10
    assert lim.centre[0] == pytest.approx(np.mean(RNORM_123[:10]))
    assert lim.centre[10] == pytest.approx(np.mean(RNORM_123[10:]))


def test_fix_after_n_points_changes_the_limits() -> None:
    """'setting fix_after_n_points changes the calculations' (n = 12)."""
    whole, fixed = xmr_limits(RNORM_123), xmr_limits(RNORM_123, fix_after=12)
    assert fixed.lower[0] != whole.lower[0] and fixed.upper[0] != whole.upper[0]
    assert fixed.centre[0] == pytest.approx(np.mean(RNORM_123[:12]))


def test_two_of_three_needs_the_same_side_of_the_mean() -> None:
    """'it only reports special cause for 2of3 points close to limits when they are on the
    same side of the mean': alternating ±1, then 5.5 and −5.5 → both common cause."""
    data = [1.0, -1.0] * 8
    data[14], data[15] = 5.5, -5.5
    lim = xmr_limits(data)
    signal = classify_signals(data, lim, special_causes(data, lim), "higher_is_better")
    assert signal[-2:].tolist() == ["common", "common"]


# --- the rule helpers of test-ptd_calculate_point_type.R, through the public rules ----------

def wide_limits(size: int, centre: float = 0.0, sigma: float = 100.0) -> SpcLimits:
    c = np.full(size, centre)
    s = np.full(size, sigma)
    return SpcLimits(c, c - 3 * s, c + 3 * s, s, c - s, c + s, c - 2 * s, c + 2 * s,
                     np.zeros(size, bool), np.zeros(size, np.int64))


@pytest.mark.parametrize(("side", "expected"), [
    ([], []),
    ([1] * 6, [0] * 6),
    ([1] * 6 + [-1], [0] * 7),
    ([1] * 8 + [-1], [1] * 8 + [0]),  # ends (0,…,0,1,1,0) → members 1..8
    ([-1] * 8 + [1], [1] * 8 + [0]),
])
def test_seven_point_one_side_mean(side: list[int], expected: list[int]) -> None:
    flags = special_cause_flags(np.array(side, float), wide_limits(len(side)))
    assert flags["shift"].astype(int).tolist() == expected


@pytest.mark.parametrize(("y", "expected"), [
    ([], []),
    (list(range(1, 7)), [0] * 6),
    ([1, 2, 3, 3, 4, 5, 6], [0] * 7),  # c(1:3, 3:6): a tie breaks it
    (list(range(1, 8)), [1] * 7),
    ([2, *range(1, 8), 3], [0] + [1] * 7 + [0]),
    (list(range(7, 0, -1)), [1] * 7),
    ([2, *range(7, 0, -1), 3], [0] + [1] * 7 + [0]),
])
def test_seven_point_trend(y: list[int], expected: list[int]) -> None:
    flags = special_cause_flags(np.array(y, float), wide_limits(len(y), centre=-1000))
    assert flags["trend"].astype(int).tolist() == expected


def close_series(close: list[int], side: list[int]) -> np.ndarray:
    """Values with limits at ±300: 'close' points at ±250 (beyond 2σ = 200), others ±50."""
    return np.array([s * (250.0 if c else 50.0) for c, s in zip(close, side, strict=True)])


@pytest.mark.parametrize(("close", "side", "expected"), [
    ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
    ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
    ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
    ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    # 'when points are on opposite sides of the mean': nothing fires
    ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
    ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
    ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
    ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
])
def test_two_in_three(close: list[int], side: list[int], expected: list[int]) -> None:
    y = close_series(close, side)
    flags = special_cause_flags(y, wide_limits(len(y)))
    assert flags["two_of_three"].astype(int).tolist() == expected


def test_special_cause_type_precedence() -> None:
    """ptd_special_cause_type: outside limits, then trend, then 2 in 3, then 7 points one
    side. A trend rising below the mean while a shift below it runs is coloured by the
    trend: an improvement when higher is better (MDC), not a concern."""
    y = np.array([-90.0, -80, -70, -60, -50, -40, -30, 40, 50, 60])
    lim = wide_limits(y.size, centre=0.0, sigma=50.0)  # limits ±150, two sigma ±100
    codes = special_causes(y, lim)
    assert codes[0] == ("shift", "trend")
    signal = classify_signals(y, lim, codes, "higher_is_better")
    assert signal[:7].tolist() == ["improvement"] * 7
    assert classify_signals(y, lim, codes, "lower_is_better")[:7].tolist() == ["concern"] * 7
    low = np.array([-200.0, -60, -60, -60, -60, -60, -60])  # outside beats the shift
    lim = wide_limits(low.size, sigma=50.0)
    codes = special_causes(low, lim)
    assert codes[0] == ("outside", "shift")
    assert classify_signals(low, lim, codes, "lower_is_better").tolist() == [
        "improvement"] * 7
