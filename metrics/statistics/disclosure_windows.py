"""Overlapping windows in whole-set disclosure control: which to withhold, which may stay.

A calendar year or a rolling 12 months that is not a financial year overlaps the nested
periods (months in quarters in financial years): differences of overlapping windows chain
every year's same quarter together (``r12(t) − r12(t−3) = q(t) − q(t−12)``), so decision 8
withheld every window holding a hidden month or quarter. That hid twelve rolling years and a
calendar year per hidden month, and each hidden window then wanted complements across areas
and twins.

A window that is a **sum of visible cells** adds nothing an analyst could difference with:
its value is already known from what is shown. So a window stays published when each of its
pieces is visible — every full calendar quarter inside it (the quarter, or else its three
months) and every month of the partial quarters at its ends. A hidden month whose quarter is
shown hides only the two rolling years that cut its quarter, not twelve plus a calendar year
(decision 26). A stock (aggregation ``last``) window is its last month, so only that month
(or its quarter) matters.

A relation among windows alone (a region's window and its forces', a window's total and its
categories, twins) is implied by the same relation at each month together with each window's
sum of months (:func:`window_only`), so it cannot reveal what those do not: protection gives
such a relation no complement of its own. The exact attack that closes protection
(:func:`metrics.statistics.disclosure.linear_attack`) uses every relation, windows' included,
so whatever this saves is checked, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from metrics.statistics.disclosure import Relations

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _ints(values: npt.ArrayLike) -> IntArray:
    return np.asarray(values, dtype=np.int64).ravel()


@dataclass(frozen=True)
class WindowPieces:
    """What each overlapping window is made of.

    ``is_window``: per cell, an overlapping window. *Month pieces* (parallel arrays): a
    window, a month inside it, and the calendar quarter holding that month if the quarter
    lies wholly inside the window (else −1). *Quarter pieces*: a window, a quarter wholly
    inside it, and one of that quarter's months (−1 where the month is not a cell)."""

    is_window: BoolArray
    month_window: IntArray
    month: IntArray
    month_quarter: IntArray
    quarter_window: IntArray
    quarter: IntArray
    quarter_month: IntArray

    @staticmethod
    def build(size: int, windows: npt.ArrayLike, months: tuple[npt.ArrayLike, ...],
              quarters: tuple[npt.ArrayLike, ...]) -> WindowPieces:
        is_window = np.zeros(size, dtype=bool)
        is_window[_ints(windows)] = True
        mw, m, mq = (_ints(a) for a in months)
        qw, q, qm = (_ints(a) for a in quarters)
        if not (mw.size == m.size == mq.size and qw.size == q.size == qm.size):
            raise ValueError("each piece needs its window, its cell and its cover")
        return WindowPieces(is_window, mw, m, mq, qw, q, qm)

    @staticmethod
    def containing(size: int, window: npt.ArrayLike, inner: npt.ArrayLike) -> WindowPieces:
        """Decision 8's rule: a window is withheld whenever any cell inside it is (every
        piece has no cover), and relations among windows are treated like any other."""
        w, i = _ints(window), _ints(inner)
        none = np.full(w.size, -1, dtype=np.int64)
        empty = np.empty(0, dtype=np.int64)
        return WindowPieces.build(size, empty, (w, i, none), (empty, empty, empty))

    def to_hide(self, hidden: BoolArray, missing: BoolArray) -> IntArray:
        """Visible windows that are not sums of visible cells: a hidden month not covered by
        a shown quarter wholly inside the window, or a hidden quarter one of whose months is
        not shown."""
        unknown = hidden | missing
        bad_month = hidden[self.month] & _uncovered(self.month_quarter, unknown)
        bad_quarter = hidden[self.quarter] & _uncovered(self.quarter_month, unknown)
        need = np.unique(np.concatenate([self.month_window[bad_month],
                                         self.quarter_window[bad_quarter]]))
        return need[~hidden[need] & ~missing[need]]

    def with_window(self, relations: Relations) -> BoolArray:
        """Per relation: a window is a member. Such a relation needs no complement of its
        own: one among windows alone is implied by the same relation at each month and each
        window's sum of months; one making a window the sum of its months or quarters is
        kept safe by :meth:`to_hide` (a window shown is a sum of shown cells)."""
        held = np.bincount(relations.relation, weights=self.is_window[relations.cell],
                           minlength=relations.count)
        return held > 0


def _uncovered(cover: IntArray, unknown: BoolArray) -> BoolArray:
    return (cover < 0) | unknown[np.maximum(cover, 0)]
