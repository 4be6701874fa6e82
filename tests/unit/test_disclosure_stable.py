"""A whole-set plan started from an earlier one (decision 32): it keeps the earlier
complements, protects what changed, and the exact attack over every cell recovers nothing."""

from __future__ import annotations

import numpy as np
import polars as pl

from metrics.disclosure_relations import relations_for, window_pieces
from metrics.statistics import disclosure as dc
from metrics.statistics import primary_suppression
from metrics.statistics.disclosure_stable import Earlier, touched
from tests.unit.test_disclosure_windows import FORCES, REGION, REGION_OF_FORCES, _cells

FIRST = 2023 * 12 + 3  # April 2023


def _monthly(rng: np.random.Generator, months: int = 24) -> dict[str, list[float]]:
    out = {f: [float(v) for v in rng.integers(0, 14, months)] for f in FORCES}
    out[REGION] = [sum(out[f][i] for f in FORCES) for i in range(months)]
    return out


def _revise(monthly: dict[str, list[float]], force: str, at: list[int], to: list[float]
            ) -> dict[str, list[float]]:
    out = {a: list(v) for a, v in monthly.items()}
    for i, v in zip(at, to, strict=True):
        out[force][i] = v
    out[REGION] = [sum(out[f][i] for f in FORCES) for i in range(len(out[REGION]))]
    return out


def _protect(cells: pl.DataFrame, earlier: Earlier | None = None
             ) -> tuple[np.ndarray, np.ndarray, dc.Relations]:
    values = cells["value"].to_numpy()
    primary = primary_suppression(values)
    relations = dc.holding(relations_for(cells, REGION_OF_FORCES), values)
    mask = dc.protect(values, primary, relations, windows=window_pieces(cells), earlier=earlier)
    return mask, primary, relations


def _earlier(cells: pl.DataFrame, mask: np.ndarray, primary: np.ndarray,
             changed: set[str]) -> Earlier:
    same = ~cells["area_code"].is_in(sorted(changed)).to_numpy()
    return Earlier.build(mask, mask & ~primary, same)


def test_a_revision_keeps_the_earlier_complements_and_leaks_nothing() -> None:
    rng = np.random.default_rng(7)
    monthly = _monthly(rng)
    before = _cells(monthly, FIRST)
    old, old_primary, _ = _protect(before)
    assert (old & ~old_primary).any()
    # the second force revises its last quarter: one month becomes a 2
    revised = _revise(monthly, FORCES[1], [21, 22, 23], [2.0, 30.0, 31.0])
    after = _cells(revised, FIRST)
    assert after.select("area_code", "s_idx", "months").equals(
        before.select("area_code", "s_idx", "months"))  # the same cells, in the same order
    changed = {FORCES[1], REGION}
    earlier = _earlier(after, old, old_primary, changed)
    new, primary, relations = _protect(after, earlier)
    assert primary[~old_primary].any()  # a new primary …
    assert not dc.linear_attack(new, relations).recovered[primary].any()  # … protected
    unchanged = earlier.same
    # every earlier complement in the untouched forces is still withheld
    assert new[unchanged & old & ~old_primary].all()
    fresh, _, _ = _protect(after)
    assert not dc.linear_attack(fresh, relations).recovered[primary].any()
    moved = int((new != old)[unchanged].sum())
    assert moved <= int((fresh != old)[unchanged].sum())


def test_random_revisions_never_leave_a_primary_recoverable() -> None:
    """The attack after a revision checks only the blocks the revision reaches
    (:func:`touched`); over every cell it still recovers nothing."""
    for trial in range(12):
        rng = np.random.default_rng(100 + trial)
        monthly = _monthly(rng, months=18)
        before = _cells(monthly, FIRST)
        old, old_primary, _ = _protect(before)
        force = FORCES[trial % 3]
        at = sorted(rng.choice(18, size=3, replace=False).tolist())
        revised = _revise(monthly, force, at, [float(v) for v in rng.integers(0, 6, 3)])
        after = _cells(revised, FIRST)
        earlier = _earlier(after, old, old_primary, {force, REGION})
        new, primary, relations = _protect(after, earlier)
        assert not dc.linear_attack(new, relations).recovered[primary].any(), trial
        assert new[earlier.same & old & ~old_primary].all(), trial


def test_nothing_changed_gives_the_earlier_plan_back() -> None:
    monthly = _monthly(np.random.default_rng(3))
    cells = _cells(monthly, FIRST)
    old, old_primary, _ = _protect(cells)
    again, _, _ = _protect(cells, Earlier.build(old, old & ~old_primary,
                                                np.ones(cells.height, dtype=bool)))
    assert np.array_equal(again, old)


def test_the_seed_drops_zeros_only_where_values_may_have_changed() -> None:
    values = np.array([0.0, 0.0, 5.0, np.nan, 7.0])
    hidden = np.array([True, True, True, True, False])
    earlier = Earlier.build(hidden, hidden, [True, False, False, False, False])
    assert earlier.seed(values).tolist() == [True, False, True, False, False]


def test_touched_reaches_every_member_of_a_relation_holding_a_change() -> None:
    relations = dc.Relations.build([0, 0, 0, 1, 1], [0, 1, 2, 3, 4], [1, -1, -1, 1, -1])
    same = np.array([True, False, True, True, True])
    hidden = np.zeros(5, dtype=bool)
    reached = touched(Earlier.build(hidden, hidden, same), hidden, relations)
    assert reached.tolist() == [True, True, True, False, False]
    mask = hidden.copy()
    mask[4] = True  # withheld now, not before: its relation is reached too
    reached = touched(Earlier.build(hidden, hidden, np.ones(5, dtype=bool)), mask, relations)
    assert reached.tolist() == [False, False, False, True, True]
