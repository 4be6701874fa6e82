"""Disclosure control: primary suppression, rounding and secondary suppression
(METHODS.md, "Disclosure control").

Pure and vectorised: array-likes in, numpy arrays out. The rule strings travel with each
suppressed figure (``suppressed`` flag plus the rule in the ``note`` column).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_THRESHOLD = 5
PRIMARY_RULE_TEMPLATE = "count below {threshold}"
SECONDARY_RULE = (
    "secondary suppression: the smallest other cell in a group adding to a published total "
    "is hidden so that a suppressed cell cannot be recovered by subtraction"
)
WHOLE_SET_RULE = (
    "secondary suppression: withheld so that no suppressed count can be recovered by "
    "differencing the totals published beside it (breakdowns, areas and periods)"
)


def primary_suppression(
    counts: npt.ArrayLike, *, threshold: float = DEFAULT_THRESHOLD, suppress_zero: bool = False
) -> BoolArray:
    """Mask of counts to suppress: ``0 < count < threshold`` (METHODS.md: "fewer than 5").

    Follows common UK practice of suppressing 1 … ``threshold − 1``: a zero is not
    disclosive by itself and stays published unless ``suppress_zero=True``. NaN (missing)
    and negative values are never flagged; ``threshold <= 0`` suppresses nothing.
    """
    c = np.asarray(counts, dtype=np.float64)
    low = c > 0
    if suppress_zero:
        low |= c == 0
    return np.asarray(low & (c < threshold))


def round_to_base(values: npt.ArrayLike, base: float) -> FloatArray:
    """Round to the nearest multiple of ``base``, halves upwards (``floor(v/base + ½)·base``).

    ``base == 0`` means no rounding (values returned unchanged as floats). NaN stays NaN.
    Raises ``ValueError`` for a negative base (a configuration error, not a data one).
    """
    v = np.asarray(values, dtype=np.float64)
    if base < 0:
        raise ValueError(f"rounding base must be >= 0, got {base!r}")
    if base == 0:
        return v.copy()
    return np.asarray(np.floor(v / base + 0.5) * base)


def _secondary_pass(values: FloatArray, mask: BoolArray, groups: npt.NDArray[np.generic]) -> None:
    """One grouping: where a group has exactly one hidden cell, hide its smallest other cell."""
    _, inverse = np.unique(groups, return_inverse=True)
    inverse = inverse.ravel()
    hidden_per_group = np.bincount(inverse, weights=mask.astype(np.float64))
    lone = hidden_per_group[inverse] == 1
    candidates = np.flatnonzero(lone & ~mask & ~np.isnan(values))
    if candidates.size == 0:
        return
    # Sort by group, then value, then position: the first row per group is the smallest
    # unsuppressed cell (ties broken by first position).
    order = np.lexsort((candidates, values[candidates], inverse[candidates]))
    ordered = candidates[order]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = inverse[ordered][1:] != inverse[ordered][:-1]
    mask[ordered[first]] = True


def secondary_suppression(
    values: np.ndarray, suppressed: np.ndarray, groups: np.ndarray
) -> BoolArray:
    """Complementary suppression so a hidden cell cannot be recovered from a published total.

    ``groups`` labels the cells that add up to one published total (a row or a column).
    Within each group, if **exactly one** cell is suppressed, the smallest unsuppressed,
    non-missing cell of that group is suppressed too (ties: the first). Groups with no or
    two-plus hidden cells are left alone; cells in different groups are independent.

    ``groups`` may also be 2-D, shape ``(k, len(values))``: one labelling per total (e.g.
    rows and columns of a table); the rule is then applied to each labelling repeatedly
    until no group has a lone hidden cell. Returns the new mask (inputs are not modified).
    """
    vals = np.asarray(values, dtype=np.float64).ravel()
    mask = np.asarray(suppressed, dtype=bool).ravel().copy()
    labellings = np.asarray(groups)
    if labellings.ndim <= 1:
        labellings = labellings.reshape(1, -1)
    if labellings.shape[1] != vals.size or mask.size != vals.size:
        raise ValueError("values, suppressed and groups must have the same length")
    if vals.size == 0:
        return mask
    while True:
        before = int(mask.sum())
        for labels in labellings:
            _secondary_pass(vals, mask, labels)
        if labellings.shape[0] == 1 or int(mask.sum()) == before:
            return mask
