"""Hand-worked tests for metrics.statistics.peers (METHODS.md, "MSG average")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.statistics.peers import (
    COMPUTED_PEER_LABEL,
    SIMPLE_LABEL,
    WEIGHTED_LABEL,
    msg_average,
    nearest_neighbours,
)

VALUES = [10.0, 20.0, 30.0, 40.0]
DENOMS = [100.0, 200.0, 300.0, 400.0]


def test_msg_simple_mean_includes_the_area() -> None:
    value, label = msg_average(VALUES, DENOMS, [True, True, False, True], weighted=False)
    assert float(value) == pytest.approx((10 + 20 + 40) / 3)  # 23.33
    assert label == SIMPLE_LABEL and "simple mean" in label and "HMIC" in label


def test_msg_weighted_by_denominator() -> None:
    value, label = msg_average(VALUES, DENOMS, [True, True, False, True], weighted=True)
    # (10×100 + 20×200 + 40×400) / (100 + 200 + 400) = 21000 / 700 = 30.
    assert float(value) == pytest.approx(30.0)
    assert label == WEIGHTED_LABEL and "HMICFRS" in label and "weighted" in label


def test_msg_two_dimensional_asymmetric_membership() -> None:
    mask = np.array(
        [
            [False, True, False, False],  # area 0's MSG: area 1
            [False, False, True, True],  # area 1's MSG: areas 2 and 3 (not 0: asymmetric)
            [True, False, False, False],
            [False, False, False, False],  # no MSG (as City of London)
        ]
    )
    simple, _ = msg_average(VALUES, DENOMS, mask, weighted=False)
    assert simple[:3] == pytest.approx([15.0, 30.0, 20.0]) and math.isnan(simple[3])
    weighted, _ = msg_average(VALUES, DENOMS, mask, weighted=True)
    # Row 0: (1000 + 4000)/300; row 1: (4000 + 9000 + 16000)/900; row 2: (1000 + 9000)/400.
    assert weighted[:3] == pytest.approx([5000 / 300, 29000 / 900, 10000 / 400])
    assert math.isnan(weighted[3])


def test_msg_skips_missing_members() -> None:
    values = [10.0, np.nan, 30.0, 40.0]
    value, _ = msg_average(values, DENOMS, [True, True, True, False], weighted=False)
    assert float(value) == pytest.approx(20.0)
    value, _ = msg_average(VALUES, [100, 0, np.nan, 400], [True] * 4, weighted=True)
    assert float(value) == pytest.approx((1000 + 16000) / 500)
    value, _ = msg_average(VALUES, DENOMS, [False] * 4, weighted=False)
    assert math.isnan(float(value))


def test_msg_bad_mask_shape() -> None:
    with pytest.raises(ValueError):
        msg_average(VALUES, DENOMS, [True, False], weighted=False)
    with pytest.raises(ValueError):
        msg_average(VALUES, DENOMS, np.ones((2, 4), dtype=bool), weighted=False)


def test_nearest_neighbours_on_a_line() -> None:
    # Points 0, 1, 3, 7, 8: distances worked by hand; ties broken by row order.
    features = np.array([[0.0], [1.0], [3.0], [7.0], [8.0]])
    got = nearest_neighbours(features, k=2, standardise=False)
    assert got.tolist() == [[1, 2], [0, 2], [1, 0], [4, 2], [3, 2]]
    # Standardising one column (a positive rescaling) does not change the order.
    assert nearest_neighbours(features, k=2).tolist() == got.tolist()


def test_standardising_changes_the_peer_group() -> None:
    features = np.array([[0.0, 0.0], [1.0, 2000.0], [4.0, 0.0]])
    assert nearest_neighbours(features, k=1, standardise=False)[0].tolist() == [2]
    # z-scores: column 1 mean 5/3, sd sqrt(78/27); column 2 mean 2000/3, sd 2000·sqrt(2)/3.
    sd1, sd2 = math.sqrt(78 / 27), 2000 * math.sqrt(2) / 3
    d01 = (1 / sd1) ** 2 + (2000 / sd2) ** 2  # 0.346 + 4.5
    d02 = (4 / sd1) ** 2  # 5.538
    assert d01 < d02
    assert nearest_neighbours(features, k=1)[0].tolist() == [1]


def test_nearest_neighbours_excludes_self_and_pads() -> None:
    features = np.array([[0.0, 1.0], [0.0, 1.0], [5.0, 5.0]])
    got = nearest_neighbours(features, k=7)
    assert got.shape == (3, 7)
    assert got[0].tolist() == [1, 2] + [-1] * 5 and got[1].tolist() == [0, 2] + [-1] * 5
    assert all(i not in row for i, row in enumerate(got.tolist()))


def test_nearest_neighbours_missing_features_pairwise() -> None:
    # Area 1 lacks column 2: distances use column 1 only, scaled by 2/1.
    features = np.array([[0.0, 0.0], [1.0, np.nan], [3.0, 0.0], [np.nan, np.nan]])
    got = nearest_neighbours(features, k=3, standardise=False)
    # From 0: to 1 → 1² × 2 = 2; to 2 → 9. Area 3 shares nothing: never a neighbour.
    assert got[0].tolist() == [1, 2, -1]
    assert got[3].tolist() == [-1, -1, -1]
    assert nearest_neighbours(np.empty((0, 3)), k=2).shape == (0, 2)


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"k": 1.5}])
def test_nearest_neighbours_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        nearest_neighbours(np.zeros((3, 2)), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        nearest_neighbours(np.zeros(3))


def test_computed_label_says_computed() -> None:
    assert "computed" in COMPUTED_PEER_LABEL and "not an official" in COMPUTED_PEER_LABEL
