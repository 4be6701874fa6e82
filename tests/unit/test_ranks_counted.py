"""The counted rank quantiles (:mod:`metrics.statistics.ranks`) give exactly the numbers of the
implementation they replaced: ``scipy.stats.rankdata`` on every draw, ``np.median`` and
``np.quantile(..., method="inverted_cdf")`` over the draws × areas matrix, and batch means
re-taken from the whole matrix at each doubling (kept here, as it was, to compare with)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from metrics.statistics import ranks
from metrics.statistics.ranks import (
    PROPORTION,
    RATE,
    _valid,
    bootstrap_rank_intervals,
    quantile_mc_error,
    rank_codes,
    rank_intervals,
)

# --- the implementation replaced ------------------------------------------------------------


def _old_draw_ranks(rng, xs, ns, draws, kind, higher_is_better):
    if kind == PROPORTION:
        counts = rng.binomial(ns.astype(np.int64), xs / ns, size=(draws, xs.size))
    else:
        counts = rng.poisson(xs, size=(draws, xs.size))
    values = counts / ns
    return np.asarray(stats.rankdata(-values if higher_is_better else values,
                                     method="average", axis=1), dtype=np.float64)


def _old_bootstrap(x, n, *, draws, seed, higher_is_better, kind, level):
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    xa, na = xa.ravel(), na.ravel()
    ok = _valid(xa, na, kind)
    median, lower, upper = (np.full(xa.size, np.nan) for _ in range(3))
    if not ok.any():
        return median, lower, upper
    found = _old_draw_ranks(np.random.default_rng(seed), xa[ok], na[ok], draws, kind,
                            higher_is_better)
    tail = (1.0 - level) / 2.0
    median[ok] = np.median(found, axis=0)
    lower[ok] = np.quantile(found, tail, axis=0, method="inverted_cdf")
    upper[ok] = np.quantile(found, 1.0 - tail, axis=0, method="inverted_cdf")
    return median, lower, upper


def _old_rank_intervals(x, n, *, seed, higher_is_better, kind, level, start, target, most):
    xa, na = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    xa, na = xa.ravel(), na.ravel()
    ok = _valid(xa, na, kind)
    median, lower, upper = (np.full(xa.size, np.nan) for _ in range(3))
    if not ok.any():
        return ranks.RankIntervals(median, lower, upper, 0, 0.0)
    rng = np.random.default_rng(seed)
    tail = (1.0 - level) / 2.0
    found = _old_draw_ranks(rng, xa[ok], na[ok], int(start), kind, higher_is_better)
    while True:
        error = float(max(quantile_mc_error(found, tail).max(),
                          quantile_mc_error(found, 1.0 - tail).max()))
        if error < target or found.shape[0] >= most:
            break
        more = min(found.shape[0], most - found.shape[0])
        found = np.vstack([found, _old_draw_ranks(rng, xa[ok], na[ok], more, kind,
                                                  higher_is_better)])
    median[ok] = np.median(found, axis=0)
    lower[ok] = np.quantile(found, tail, axis=0, method="inverted_cdf")
    upper[ok] = np.quantile(found, 1.0 - tail, axis=0, method="inverted_cdf")
    return ranks.RankIntervals(median, lower, upper, int(found.shape[0]), error)


# --- inputs ---------------------------------------------------------------------------------

@st.composite
def _inputs(draw):
    """Areas of every shape the comparisons meet and worse: force-sized and tiny
    denominators, counts of nought (ties in most draws), shared denominators, invalid rows."""
    m = draw(st.integers(1, 60))
    kind = draw(st.sampled_from([PROPORTION, RATE]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from(["large", "small", "zeros", "shared", "mixed"]))
    if shape == "large":
        n = np.round(rng.uniform(2_000, 120_000, m))
    elif shape in ("small", "zeros"):
        n = np.round(rng.uniform(1, 60, m))
    elif shape == "shared":
        n = np.full(m, float(rng.integers(1, 40)))
    else:
        n = np.round(np.exp(rng.uniform(0, 11, m)))
    p = rng.uniform(0.0, 0.05 if shape == "zeros" else 1.0, m)
    x = rng.binomial(n.astype(np.int64), p).astype(float)
    if kind == RATE:
        n = n * rng.uniform(0.5, 50.0)
    if draw(st.booleans()):  # some areas without a usable figure
        bad = rng.random(m) < 0.15
        x[bad] = rng.choice([np.nan, -1.0, 1e9], bad.sum())
    return x, n, kind


@settings(max_examples=150, deadline=None)
@given(_inputs(), st.integers(1, 400), st.integers(0, 1000), st.booleans(),
       st.sampled_from([0.95, 0.9, 0.5, 0.99]), st.sampled_from([0.5, 0.2, 0.05]),
       st.integers(1, 5))
def test_rank_intervals_are_the_replaced_implementations(
        areas, start, seed, higher, level, target, doublings) -> None:
    x, n, kind = areas
    settings_ = dict(seed=seed, higher_is_better=higher, kind=kind, level=level, start=start,
                     target=target, most=start * 2 ** doublings + (start // 3))
    new = rank_intervals(x, n, **settings_)
    old = _old_rank_intervals(x, n, **settings_)
    assert new.draws == old.draws
    assert new.mc_error == old.mc_error
    for part in ("median", "lower", "upper"):
        np.testing.assert_array_equal(getattr(new, part), getattr(old, part))


@settings(max_examples=100, deadline=None)
@given(_inputs(), st.integers(1, 3000), st.integers(0, 1000), st.booleans(),
       st.sampled_from([0.95, 0.9, 0.5, 0.99]))
def test_bootstrap_rank_intervals_is_the_replaced_implementation(
        areas, draws, seed, higher, level) -> None:
    x, n, kind = areas
    settings_ = dict(draws=draws, seed=seed, higher_is_better=higher, kind=kind, level=level)
    for new, old in zip(bootstrap_rank_intervals(x, n, **settings_),
                        _old_bootstrap(x, n, **settings_), strict=True):
        np.testing.assert_array_equal(new, old)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), st.integers(1, 200), st.integers(1, 6), st.integers(0, 10**6))
def test_rank_codes_are_rankdata(m: int, rows: int, spread: int, seed: int) -> None:
    """Every row's average ranks, however many ties (``spread`` distinct values at least)."""
    values = np.random.default_rng(seed).integers(0, spread, (rows, m)) / 3.0
    codes = rank_codes(values)
    width = 2 * m + 1
    found = np.empty(values.shape)
    np.put_along_axis(found, codes // width, (codes % width) / 2.0, axis=1)
    np.testing.assert_array_equal(found, stats.rankdata(values, method="average", axis=1))
    assert (np.sort(codes // width, axis=1) == np.arange(m)).all()


def test_many_areas_sort_instead_of_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond :data:`metrics.statistics.ranks._COUNTED` areas the ranks are sorted: the same
    numbers."""
    rng = np.random.default_rng(5)
    n = np.round(rng.uniform(20, 400, 30))
    x = rng.binomial(n.astype(np.int64), 0.3).astype(float)
    counted = rank_intervals(x, n, seed=3, start=200)
    monkeypatch.setattr(ranks, "_COUNTED", 10)
    sorted_ = rank_intervals(x, n, seed=3, start=200)
    old = _old_rank_intervals(x, n, seed=3, higher_is_better=True, kind=PROPORTION, level=0.95,
                              start=200, target=0.5, most=ranks.MAX_DRAWS)
    for found in (counted, sorted_):
        assert (found.draws, found.mc_error) == (old.draws, old.mc_error)
        for part in ("median", "lower", "upper"):
            np.testing.assert_array_equal(getattr(found, part), getattr(old, part))
