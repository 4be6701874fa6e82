"""Tests for metrics.statistics.suppression (METHODS.md, "Disclosure control")."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.statistics import (
    PRIMARY_RULE_TEMPLATE,
    SECONDARY_RULE,
    primary_suppression,
    round_to_base,
    secondary_suppression,
)


def test_primary_suppresses_one_to_four_by_default() -> None:
    counts = np.array([0, 1, 2, 4, 5, 6, 100, np.nan])
    assert primary_suppression(counts).tolist() == [
        False,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_primary_zero_and_threshold_options() -> None:
    counts = np.array([0, 1, 9, 10, np.nan])
    assert primary_suppression(counts, suppress_zero=True).tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert primary_suppression(counts, threshold=10).tolist() == [False, True, True, False, False]
    assert not primary_suppression(counts, threshold=0, suppress_zero=True).any()
    assert bool(primary_suppression(3)) is True


def test_rule_strings() -> None:
    assert PRIMARY_RULE_TEMPLATE.format(threshold=5) == "count below 5"
    assert "secondary" in SECONDARY_RULE


def test_round_to_base() -> None:
    values = np.array([0, 2, 2.5, 3, 7, 7.5, 12, 13, np.nan])
    assert np.array_equal(
        round_to_base(values, 5), [0, 0, 5, 5, 5, 10, 10, 15, np.nan], equal_nan=True
    )
    assert round_to_base([14, 15, 16], 10).tolist() == [10, 20, 20]
    assert np.array_equal(round_to_base(values, 0), values, equal_nan=True)
    with pytest.raises(ValueError):
        round_to_base(values, -5)


def test_one_hidden_cell_forces_a_second() -> None:
    values = np.array([3, 12, 20, 9])
    groups = np.array(["a", "a", "a", "a"])
    mask = secondary_suppression(values, primary_suppression(values), groups)
    assert mask.tolist() == [True, False, False, True]


def test_two_hidden_cells_leave_group_alone() -> None:
    values = np.array([3, 2, 20, 9])
    primary = primary_suppression(values)
    mask = secondary_suppression(values, primary, np.zeros(4, dtype=int))
    assert mask.tolist() == primary.tolist() == [True, True, False, False]


def test_groups_are_independent() -> None:
    values = np.array([3, 10, 20, 2, 4, 30, 7, 8, 50, 60])
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    primary = primary_suppression(values)
    mask = secondary_suppression(values, primary, groups)
    # Group 0: lone 3 forces 10; group 1: two hidden, untouched; group 2: nothing hidden.
    assert mask.tolist() == [True, True, False, True, True, False, False, False, False, False]
    assert primary.tolist() == [True, False, False, True, True] + [False] * 5  # input untouched


def test_ties_take_the_first_and_missing_cells_are_skipped() -> None:
    values = np.array([np.nan, 1, 9, 9, 15])
    mask = secondary_suppression(values, primary_suppression(values), np.zeros(5))
    assert mask.tolist() == [False, True, True, False, False]


def test_lone_cell_without_partner_is_left() -> None:
    values = np.array([2, 40, 3])
    mask = secondary_suppression(values, primary_suppression(values), np.array([0, 1, 2]))
    assert mask.tolist() == [True, False, True]


def test_rows_and_columns_reach_a_fixed_point() -> None:
    # 2 x 3 table, row-major. Hiding the 2 forces its row partner (10); the 2 and the 10
    # are then each alone in their columns, forcing 40 and 11 in the other row.
    values = np.array([2, 10, 30, 40, 11, 50])
    rows = np.array([0, 0, 0, 1, 1, 1])
    cols = np.array([0, 1, 2, 0, 1, 2])
    mask = secondary_suppression(values, primary_suppression(values), np.vstack([rows, cols]))
    assert mask.tolist() == [True, True, False, True, True, False]
    for labels in (rows, cols):
        for g in np.unique(labels):
            assert mask[labels == g].sum() != 1


def test_repeats_until_no_lone_hidden_cell_remains() -> None:
    # 3 x 3 table where the column pass leaves rows 1 and 2 with a lone hidden cell, so a
    # second sweep over the rows is needed.
    values = np.array([2, 10, 60, 40, 99, 80, 95, 70, 90])
    rows = np.repeat([0, 1, 2], 3)
    cols = np.tile([0, 1, 2], 3)
    mask = secondary_suppression(values, primary_suppression(values), np.vstack([rows, cols]))
    assert mask.reshape(3, 3).tolist() == [
        [True, True, False],
        [True, False, True],
        [False, True, True],
    ]


def test_empty_and_mismatched_inputs() -> None:
    empty = np.array([])
    assert secondary_suppression(empty, empty.astype(bool), empty).tolist() == []
    with pytest.raises(ValueError):
        secondary_suppression(np.array([1, 2]), np.array([True, False]), np.array([0]))
