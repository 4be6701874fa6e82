"""Many series' SPC at once (metrics.statistics.spc_rows, and the rules and signals read along
the last axis) against each series on its own: the limits bit for bit, the masks and signals
equal, over random series with gaps, ties, plateaus, trends, shifts and outliers."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.statistics import spc_limits, spc_rows, spc_rules, spc_signals
from metrics.statistics.targets import HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL

FIELDS = ("centre", "lower", "upper", "sigma", "lower_one_sigma", "upper_one_sigma",
          "lower_two_sigma", "upper_two_sigma", "trial", "segment", "sigma_z")


def random_series(rng: np.random.Generator, length: int) -> np.ndarray:
    """One series of a kind that makes the rules fire (or not)."""
    kind = rng.integers(0, 6)
    if kind == 0:
        y = rng.normal(10, 2, length)
    elif kind == 1:  # whole numbers: ties and points on the centre line
        y = np.round(rng.normal(10, 1.5, length))
    elif kind == 2:  # a random walk: shifts and trends
        y = np.cumsum(rng.choice([-1.0, 0.0, 1.0, 1.0], length)) + 0.1
    elif kind == 3:  # a plateau with outliers
        y = np.full(length, 0.1)
        y[rng.random(length) < 0.2] += rng.normal(0, 5)
    elif kind == 4:  # a trend
        y = np.arange(length) * rng.choice([-1.0, 1.0]) + rng.normal(0, 0.3, length)
    else:  # a step part way
        y = rng.normal(5, 1, length) + np.where(np.arange(length) > length // 2, 4.0, 0.0)
    y[rng.random(length) < rng.choice([0.0, 0.05, 0.3])] = np.nan
    if length and rng.random() < 0.05:
        y[:] = np.nan
    return y


def random_proportions(rng: np.random.Generator, k: int, length: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    n = rng.choice([rng.integers(5, 60, (k, length)), rng.integers(10**4, 10**6, (k, length))]
                   ).astype(float)
    p = np.clip(rng.uniform(0.1, 0.9, (k, 1)) + rng.normal(0, 0.05, (k, length))
                + np.where(rng.random((k, 1)) < 0.3, np.linspace(0, 0.3, length), 0), 0, 1)
    x = np.round(n * p)
    x[rng.random((k, length)) < 0.05] = np.nan
    n[rng.random((k, length)) < 0.05] = rng.choice([np.nan, 0.0])
    x[rng.random((k, length)) < 0.02] = n.max() + 1  # invalid: more cases than trials
    return x, n


def assert_rows_are_each(many: spc_limits.SpcLimits, each: list[spc_limits.SpcLimits]) -> None:
    for r, one in enumerate(each):
        for f in FIELDS:
            a, b = getattr(many, f), getattr(one, f)
            if b is None:
                assert a is None
                continue
            # equal to the last bit (NaN where NaN): a comparison on the limits reads the same
            assert a[r].tobytes() == np.asarray(b, dtype=a.dtype).tobytes(), (f, r)


@pytest.mark.parametrize("length", [1, 2, 3, 7, 8, 9, 12, 13, 17, 44, 131, 300])
def test_xmr_rows_are_each_series_xmr_limits(length: int) -> None:
    rng = np.random.default_rng(length)
    y = np.array([random_series(rng, length) for _ in range(40)])
    assert_rows_are_each(spc_rows.xmr_rows(y), [spc_limits.xmr_limits(row) for row in y])


@pytest.mark.parametrize("length", [1, 2, 5, 12, 16, 44, 131])
def test_p_and_laney_rows_are_each_series_limits(length: int) -> None:
    rng = np.random.default_rng(100 + length)
    x, n = random_proportions(rng, 40, length)
    assert_rows_are_each(spc_rows.p_rows(x, n),
                         [spc_limits.p_chart_limits(x[r], n[r]) for r in range(40)])
    assert_rows_are_each(spc_rows.laney_rows(x, n),
                         [spc_limits.laney_limits(x[r], n[r]) for r in range(40)])


def test_masked_row_sums_are_numpys_sums_of_the_kept_values() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(0, 1e6, (60, 150)) + rng.uniform(-3, 3, (60, 1))
    keep = rng.random((60, 150)) < rng.uniform(0, 1, (60, 1))
    sums, counts = spc_rows.masked_row_sums(values, keep)
    for r in range(60):
        assert counts[r] == keep[r].sum()
        assert sums[r].tobytes() == np.float64(values[r][keep[r]].sum()).tobytes()


@pytest.mark.parametrize("polarity", [HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL])
def test_the_rules_and_signals_of_many_series_are_each_series(polarity: str) -> None:
    rng = np.random.default_rng(len(polarity))
    seen: set[str] = set()
    for length in (1, 3, 8, 12, 20, 44):
        y = np.array([random_series(rng, length) for _ in range(60)])
        limits = spc_rows.xmr_rows(y)
        flags = spc_rules.special_cause_flags(y, limits)
        signals = spc_signals.classify_flags(y, limits, flags, polarity)
        for r in range(y.shape[0]):
            one = spc_limits.xmr_limits(y[r])
            alone = spc_rules.special_cause_flags(y[r], one)
            for rule in spc_rules.RULES:
                assert np.array_equal(flags[rule][r], alone[rule]), (rule, y[r])
            codes = spc_rules.special_causes(y[r], one)
            expected = spc_signals.classify_signals(y[r], one, codes, polarity)
            assert signals[r].tolist() == expected.tolist()
            seen |= set(expected.tolist())
    wanted = {spc_signals.COMMON, spc_signals.NEUTRAL_SIGNAL} if polarity == NEUTRAL else {
        spc_signals.COMMON, spc_signals.IMPROVEMENT, spc_signals.CONCERN}
    assert wanted <= seen  # the random series made each kind of signal


def test_the_rules_read_along_rebased_segments_as_before() -> None:
    # the masks along the last axis, for one series with rebases and fixed limits (the page's)
    y = np.array([10, 12, 11, 13, 12, 14, 13, 12, 11, 13, 12, 11, 16, 17, 18, 19, 20, 21, 22,
                  23, 9, 8, 7, 6, 5, 4, 3, np.nan, 2, 2, 2], dtype=float)
    limits = spc_limits.xmr_limits(y, rebase_at=[12, 20], fix_after=6)
    codes = spc_rules.special_causes(y, limits)
    assert {i for i, c in enumerate(codes) if spc_rules.TREND in c} == set(range(12, 20)) | set(
        range(20, 27))
    assert spc_rules.SHIFT not in codes[27] and codes[27] == ()  # a gap never signals
