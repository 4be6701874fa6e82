"""Tests for metrics.statistics.targets (METHODS.md, "Trends against targets")."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.statistics import rag_status, target_status

HIGHER = "higher_is_better"
LOWER = "lower_is_better"


def test_target_status_higher_is_better() -> None:
    status = target_status([80, 79.9, 95, 0.3 - 0.2], [80, 80, 80, 0.1], HIGHER)
    assert status.tolist() == ["met", "not met", "met", "met"]


def test_target_status_lower_is_better() -> None:
    status = target_status([80, 80.1, 10, 0.1 + 0.2], [80, 80, 80, 0.3], LOWER)
    assert status.tolist() == ["met", "not met", "met", "met"]


def test_target_status_missing_and_neutral() -> None:
    status = target_status(
        [np.nan, 5, np.nan, 5, 5],
        [10, np.nan, np.nan, 5, np.nan],
        [HIGHER, LOWER, HIGHER, "neutral", "neutral"],
    )
    assert status.tolist() == ["no data", "no target", "no data", "not assessed", "not assessed"]


def test_target_status_mixed_polarities_broadcast() -> None:
    status = target_status(50, [40, 60], np.array([[HIGHER], [LOWER]]))
    assert status.tolist() == [["met", "not met"], ["not met", "met"]]
    assert str(target_status(1.0, 2.0, LOWER)) == "met"


def test_unknown_polarity_raises() -> None:
    with pytest.raises(ValueError, match="polarity"):
        target_status(1, 2, "up")


def test_rag_higher_is_better() -> None:
    rag = rag_status([100, 120, 95, 90, 89.9, 50], 100, HIGHER)
    assert rag.tolist() == ["green", "green", "amber", "amber", "red", "red"]


def test_rag_lower_is_better() -> None:
    rag = rag_status([100, 80, 105, 110, 110.1, 200], 100, LOWER)
    assert rag.tolist() == ["green", "green", "amber", "amber", "red", "red"]


def test_rag_tolerance_and_negative_targets() -> None:
    assert rag_status([85, 79], 100, HIGHER, tolerance=0.2).tolist() == ["amber", "red"]
    assert rag_status([99], 100, HIGHER, tolerance=0.0).tolist() == ["red"]
    # Tolerance is a share of |target|: for a target of -10 the amber band is 1 wide.
    assert rag_status([-10.5, -11.5], -10, HIGHER).tolist() == ["amber", "red"]


def test_rag_missing_and_neutral() -> None:
    rag = rag_status([np.nan, 5, 5], [10, np.nan, 5], [HIGHER, LOWER, "neutral"])
    assert rag.tolist() == ["none", "none", "none"]


def test_rag_agrees_with_target_status_on_green() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(100, 20, 500)
    targets = rng.normal(100, 20, 500)
    polarity = rng.choice([HIGHER, LOWER], 500)
    met = target_status(values, targets, polarity) == "met"
    green = rag_status(values, targets, polarity) == "green"
    assert np.array_equal(met, green)
