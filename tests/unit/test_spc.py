"""Hand-worked tests for the SPC modules metrics.statistics.spc_limits, spc_rules, spc_signals
and spc_assurance (METHODS.md, "Trends against targets: SPC")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.statistics.spc_assurance import assurance
from metrics.statistics.spc_limits import laney_limits, p_chart_limits, xmr_limits
from metrics.statistics.spc_rules import special_cause_flags, special_causes
from metrics.statistics.spc_signals import classify_signals

# Baseline: sum 144 → mean 12. Moving ranges 2,1,2,1,2,1,1,1,2,1,1 → sum 15 → mean 15/11.
BASE = [10, 12, 11, 13, 12, 14, 13, 12, 11, 13, 12, 11]
MEAN = 12.0
MR_BAR = 15 / 11  # 1.363636...
HALF = 2.66 * 15 / 11  # 3.627272...
LCL, UCL = 8.372727272727273, 15.627272727272727
SIGMA = 2.66 / 3 * 15 / 11  # 1.209090...
L2, U2 = 9.581818181818182, 14.418181818181818  # centre ± 2 sigma


def codes_for(extra: list[float]) -> list[tuple[str, ...]]:
    y = BASE + extra
    return special_causes(y, xmr_limits(y, fix_after=12))


def signalling(codes: list[tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    return {i: c for i, c in enumerate(codes) if c}


def test_xmr_hand_worked_baseline() -> None:
    assert sum(BASE) == 144 and np.abs(np.diff(BASE)).sum() == 15
    lim = xmr_limits(BASE)
    assert lim.centre == pytest.approx([MEAN] * 12)
    assert lim.lower == pytest.approx([LCL] * 12) and lim.upper == pytest.approx([UCL] * 12)
    assert UCL - MEAN == pytest.approx(HALF) == 2.66 * MR_BAR
    assert lim.sigma == pytest.approx([SIGMA] * 12)
    assert lim.lower_two_sigma == pytest.approx([L2] * 12)
    assert lim.upper_two_sigma == pytest.approx([U2] * 12)
    assert lim.lower_one_sigma == pytest.approx([MEAN - SIGMA] * 12)
    assert lim.upper_one_sigma == pytest.approx([MEAN + SIGMA] * 12)
    assert not lim.trial.any() and (lim.segment == 0).all()
    assert special_causes(BASE, lim) == [()] * 12


def test_xmr_limits_from_the_whole_series_unless_fixed() -> None:
    whole = xmr_limits([*BASE, 30, 40, 50])  # MDC's default: every point sets the limits
    assert whole.centre == pytest.approx([(144 + 120) / 15] * 15)
    lim = xmr_limits([*BASE, 30, 40, 50], fix_after=12)  # "fix the limits at period 12"
    assert lim.centre == pytest.approx([MEAN] * 15)
    assert lim.upper == pytest.approx([UCL] * 15)
    assert xmr_limits(BASE, fix_after=6).centre[0] == pytest.approx(72 / 6)  # 10..14 sum 72


def test_xmr_trial_limits_below_baseline() -> None:
    # 8 points: sum 97 → mean 12.125; moving ranges 2,1,2,1,2,1,1 → mean 10/7;
    # 2.66 × 10/7 = 3.8 → limits 8.325 and 15.925.
    lim = xmr_limits(BASE[:8])
    assert lim.trial.all()
    assert lim.centre == pytest.approx([12.125] * 8)
    assert lim.lower == pytest.approx([8.325] * 8) and lim.upper == pytest.approx([15.925] * 8)


def test_xmr_rebase_only_where_marked() -> None:
    y = BASE + [b + 10 for b in BASE]
    unrebased = xmr_limits(y, fix_after=12)
    assert unrebased.centre == pytest.approx([MEAN] * 24)  # never rebased automatically
    assert signalling(special_causes(y, unrebased)).keys() >= set(range(12, 24))
    lim = xmr_limits(y, rebase_at=[12])
    assert lim.centre[:12] == pytest.approx([12] * 12)
    assert lim.centre[12:] == pytest.approx([22] * 12)
    # The jump 11 → 20 across the rebase is not a moving range of either segment.
    assert lim.upper[12:] == pytest.approx([UCL + 10] * 12)
    assert lim.segment.tolist() == [0] * 12 + [1] * 12 and not lim.trial.any()
    assert special_causes(y, lim) == [()] * 24


def test_xmr_rebase_with_short_segment_is_trial() -> None:
    lim = xmr_limits([*BASE, *BASE[:8]], rebase_at=[12])
    assert lim.trial.tolist() == [False] * 12 + [True] * 8
    assert lim.upper[12:] == pytest.approx([15.925] * 8)


def test_xmr_moving_ranges_not_bridged_across_a_gap() -> None:
    with_gap = [*BASE[:3], np.nan, *BASE[3:]]
    lim = xmr_limits(with_gap)
    # The ranges 11→13 (2) across the gap is not taken: 13 ranges less that one.
    assert lim.centre == pytest.approx([MEAN] * 13)
    assert lim.upper == pytest.approx([MEAN + 2.66 * 13 / 10] * 13)
    assert special_causes(with_gap, lim) == [()] * 13
    assert np.isnan(xmr_limits([np.nan, 5.0]).upper).all()  # one point: no moving range
    empty = xmr_limits([])
    assert empty.centre.size == 0 and special_causes([], empty) == []


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"fix_after": 1}, 5),
        ({"rebase_at": [0]}, 5),
        ({"rebase_at": [5]}, 5),
        ({"fix_after": 2.5}, 5),
    ],
)
def test_xmr_bad_settings(kwargs: dict[str, object], size: int) -> None:
    with pytest.raises(ValueError):
        xmr_limits(np.arange(size, dtype=float), **kwargs)  # type: ignore[arg-type]


def test_rule_outside_only_at_the_point() -> None:
    assert signalling(codes_for([16.0])) == {12: ("outside",)}
    assert signalling(codes_for([8.0])) == {12: ("outside",)}
    assert signalling(codes_for([15.6])) == {}  # beyond two sigma alone is not a signal


def test_rule_two_of_three_marks_the_points_beyond_two_sigma() -> None:
    # All three on one side of the mean (NHSRplotthedots): 12.0 on the line stops it.
    assert signalling(codes_for([14.5, 12.0, 15.0])) == {}
    assert signalling(codes_for([14.5, 12.5, 15.0])) == {
        12: ("two_of_three",),
        14: ("two_of_three",),
    }
    assert signalling(codes_for([9.5, 9.4])) == {12: ("two_of_three",), 13: ("two_of_three",)}
    # Opposite sides, or the two points four apart, do not fire.
    assert signalling(codes_for([14.5, 9.5, 12.0])) == {}
    assert signalling(codes_for([14.5, 12.0, 12.0, 14.5])) == {}


def test_rule_shift_marks_the_whole_run() -> None:
    run = [12.5, 13, 12.5, 13, 12.5, 13, 12.5]
    assert signalling(codes_for(run)) == {i: ("shift",) for i in range(12, 19)}
    assert signalling(codes_for(run[:6])) == {}
    below = [11.5, 11, 11.5, 11, 11.5, 11, 11.5, 11]
    assert signalling(codes_for(below)).keys() == set(range(11, 20))  # index 11 (11) joins


def test_rule_shift_broken_by_point_on_centre_line_and_by_a_gap() -> None:
    assert signalling(codes_for([13, 13, 13, 12, 13, 13, 13, 13])) == {}
    assert signalling(codes_for([13, 13, 13, 12.5, 13, 13, 13, 13])).keys() == set(range(12, 20))
    gap = signalling(codes_for([13, 13, 13, np.nan, 13, 13, 13, 13]))
    assert gap == {}  # no run is continued over a missing or suppressed period
    after = signalling(codes_for([13, np.nan, 13, 13, 13, 13, 13, 13, 13]))
    assert after.keys() == set(range(14, 21))


def test_rule_trend_marks_the_whole_run() -> None:
    rising = [9.8, 10.4, 11.0, 11.6, 12.2, 12.8, 13.4]
    assert signalling(codes_for(rising)) == {i: ("trend",) for i in range(12, 19)}
    assert signalling(codes_for(rising[:6])) == {}
    falling = [14.0, 13.4, 12.8, 12.2, 11.6, 11.0, 10.4]  # 11 → 14 rises: run starts at 12
    assert signalling(codes_for(falling)) == {i: ("trend",) for i in range(12, 19)}
    tie = [9.8, 10.4, 11.0, 11.0, 11.6, 12.2, 12.8]
    assert signalling(codes_for(tie)) == {}


def test_rules_can_combine_and_do_not_cross_a_rebase() -> None:
    y = [*BASE, 14.5, 15, 15.5, 16, 16.5, 17, 17.5]
    codes = special_causes(y, xmr_limits(y, fix_after=12))
    assert codes[11] == ("trend",)  # 11 → 14.5 starts the rising run
    assert codes[12] == ("shift", "trend", "two_of_three")
    # Outside the limits is not "close to" them: 17.5 counts for no 2 of 3 (NHSRplotthedots).
    assert codes[18] == ("outside", "shift", "trend")
    # Seven points above their own centre lines, straddling a rebase, are not one run.
    y2 = [*BASE[:9], 13, 13, 13, 13, 13, 13, 13, 5, 5, 5, 5, 5, 5, 5, 5]
    lim = xmr_limits(y2, rebase_at=[12])
    assert lim.centre[12] == pytest.approx(92 / 12) and lim.centre[0] == pytest.approx(147 / 12)
    assert np.flatnonzero(special_cause_flags(y2, lim)["shift"]).tolist() == list(range(16, 24))


def test_special_causes_length_mismatch() -> None:
    with pytest.raises(ValueError):
        special_causes([1.0, 2.0], xmr_limits([1.0, 2.0, 3.0]))


def test_classify_signals_by_polarity() -> None:
    y = BASE + [12.5, 13, 12.5, 13, 12.5, 13, 12.5]
    lim = xmr_limits(y)
    codes = special_causes(y, lim)
    up = classify_signals(y, lim, codes, "higher_is_better")
    assert up.tolist() == ["common"] * 12 + ["improvement"] * 7
    down = classify_signals(y, lim, codes, "lower_is_better")
    assert down.tolist() == ["common"] * 12 + ["concern"] * 7
    neutral = classify_signals(y, lim, codes, "neutral")
    assert neutral.tolist() == ["common"] * 12 + ["neutral"] * 7


def test_classify_outside_low_and_trend_direction() -> None:
    low = BASE + [8.0]
    lim = xmr_limits(low, fix_after=12)
    codes = special_causes(low, lim)
    assert classify_signals(low, lim, codes, "higher_is_better")[12] == "concern"
    assert classify_signals(low, lim, codes, "lower_is_better")[12] == "improvement"
    # A rising trend that starts below the centre is an improvement throughout.
    y = BASE + [9.8, 10.4, 11.0, 11.6, 12.2, 12.8, 13.4]
    lim = xmr_limits(y, fix_after=12)
    out = classify_signals(y, lim, special_causes(y, lim), "higher_is_better")
    assert out[12:].tolist() == ["improvement"] * 7


def test_classify_bad_polarity() -> None:
    lim = xmr_limits(BASE)
    with pytest.raises(ValueError):
        classify_signals(BASE, lim, special_causes(BASE, lim), "up")


def test_p_chart_against_direct_formula() -> None:
    n = np.array([50, 80, 120, 100, 60, 90, 110, 70, 100, 130, 40, 150, 20, 100])
    x = np.array([10, 18, 25, 20, 11, 20, 21, 15, 19, 30, 8, 27, 12, 22])
    lim = p_chart_limits(x, n, fix_after=12)
    p_bar = x[:12].sum() / n[:12].sum()
    for i in range(14):
        half = 3 * math.sqrt(p_bar * (1 - p_bar) / n[i])
        assert lim.centre[i] == pytest.approx(p_bar)
        assert lim.lower[i] == pytest.approx(max(0.0, p_bar - half))
        assert lim.upper[i] == pytest.approx(min(1.0, p_bar + half))
        assert lim.upper_two_sigma[i] == pytest.approx(p_bar + 2 * half / 3)
    assert not lim.trial.any()
    codes = special_causes(x / n, lim)
    assert codes[12] == ("outside",) and signalling(codes) == {12: ("outside",)}  # 12/20 = 0.6


def test_p_chart_clipping_trial_rebase_and_invalid() -> None:
    lim = p_chart_limits([1, 0, 2, 1], [10, 10, 10, 10])  # p̄ = 0.1, 3σ = 0.2846 at n = 10
    assert lim.trial.all() and (lim.lower == 0).all()
    assert lim.upper == pytest.approx([0.1 + 3 * math.sqrt(0.09 / 10)] * 4)
    clipped = p_chart_limits([9, 10], [10, 10])
    assert (clipped.upper == 1.0).all()
    reb = p_chart_limits([1, 1, 5, 5], [10, 10, 10, 10], fix_after=2, rebase_at=[2])
    assert reb.centre.tolist() == pytest.approx([0.1, 0.1, 0.5, 0.5])
    bad = p_chart_limits([1, 12, 1, np.nan], [10, 10, 0, 10])
    assert bad.centre == pytest.approx([0.1] * 4)  # only the first point is valid
    assert np.isnan(bad.upper[2]) and not np.isnan(bad.upper[1])


@pytest.mark.parametrize(
    ("target", "higher", "lower"),
    [
        (16.0, "consistently fails", "consistently passes"),
        (8.0, "consistently passes", "consistently fails"),
        (12.0, "inconsistent", "inconsistent"),
        (float("nan"), "no target", "no target"),
        (None, "no target", "no target"),
    ],
)
def test_assurance_all_branches(target: float | None, higher: str, lower: str) -> None:
    lim = xmr_limits(BASE)
    assert assurance(target, lim, "higher_is_better") == higher
    assert assurance(target, lim, "lower_is_better") == lower


def test_assurance_limits_are_inclusive() -> None:
    lim = xmr_limits(BASE)
    for target in (float(lim.upper[-1]), float(lim.lower[-1])):
        assert assurance(target, lim, "higher_is_better") == "inconsistent"
        assert assurance(target, lim, "lower_is_better") == "inconsistent"


def test_assurance_uses_last_segment_and_edge_cases() -> None:
    y = BASE + [b + 10 for b in BASE]  # second segment: limits 18.37 .. 25.63
    lim = xmr_limits(y, rebase_at=[12])
    assert assurance(16.0, lim, "higher_is_better") == "consistently passes"
    assert assurance(16.0, xmr_limits(y, fix_after=12), "higher_is_better") == (
        "consistently fails")
    assert assurance(16.0, xmr_limits(BASE), "neutral") == "not assessed"
    assert assurance(16.0, xmr_limits([5.0]), "higher_is_better") == "not assessed"
    with pytest.raises(ValueError):
        assurance(16.0, xmr_limits(BASE), "sideways")


def test_laney_p_prime_against_the_direct_formula() -> None:
    # Large denominators, proportions that wander by about a point: far more than sampling.
    n = np.array([40000, 52000, 45000, 61000, 38000, 50000, 47000, 58000, 43000, 55000,
                  49000, 60000, 41000, 53000])
    p = np.array([0.30, 0.31, 0.295, 0.305, 0.32, 0.30, 0.29, 0.31, 0.30, 0.315, 0.30, 0.305,
                  0.31, 0.33])
    x = np.round(p * n)
    lim = laney_limits(x, n)
    p_bar = x.sum() / n.sum()
    sigma_p = np.sqrt(p_bar * (1 - p_bar) / n)
    z = (x / n - p_bar) / sigma_p
    mr = np.abs(np.diff(z))
    mr = mr[mr < 3.267 * mr.mean()]  # none screened here, but the rule is the XmR one
    sigma_z = mr.mean() / 1.128
    assert sigma_z > 5  # overdispersed: a p-chart would flag most quarters
    assert lim.sigma_z == pytest.approx([sigma_z] * 14)
    assert lim.upper == pytest.approx(p_bar + 3 * sigma_p * sigma_z)
    assert lim.lower == pytest.approx(p_bar - 3 * sigma_p * sigma_z)
    p_only = p_chart_limits(x, n)
    assert sum(bool(c) and "outside" in c for c in special_causes(x / n, p_only)) == 7
    assert [c for c in special_causes(x / n, lim) if "outside" in c] == []
