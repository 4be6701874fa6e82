"""Repairing a leak: hide a term of the proof that gives a suppressed count away.

When the exact attack (:func:`metrics.statistics.disclosure.linear_attack`) works out a
primary cell, some combination of the relations yields it: ``yᵀA = e_j`` over the unknown
cells. The visible cells that combination uses with a non-zero net weight are the terms an
analyst differences; hiding one (the smallest non-zero) breaks that proof. The proof is
sought among the unknowns near the cell, widening step by step (decision 8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from metrics.statistics import exact_recovery as exact
from metrics.statistics.sparse_rows import Csr

if TYPE_CHECKING:
    from metrics.statistics.disclosure import Relations

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


LOCAL_CELLS = 600
"""How many unknowns a proof is sought among, at most (around the exposed cell)."""


def leak_complements(vals: FloatArray, mask: BoolArray, missing: BoolArray,
                      relations: Relations, exposed: BoolArray,
                      max_cells: int = LOCAL_CELLS, index: MemberIndex | None = None
                      ) -> tuple[IntArray, BoolArray]:
    """For each exposed cell, one visible non-zero cell whose hiding breaks the proof that
    gives it away: the proof (:func:`exact_recovery.certificate`) is sought among the
    unknowns near the cell, widening until it is found; a visible cell it uses with a net
    non-zero weight is a term of the differencing, and hiding it (the smallest) removes it.
    Returns (cells to hide, exposed cells a proof was found for); a cell proved only
    through more than ``max_cells`` unknowns gets none here. ``index``: the relations'
    :class:`MemberIndex`, when the caller holds one (it does not change as cells are
    hidden)."""
    unknown = mask | missing
    index = index or MemberIndex(relations, unknown.size)
    by_cell, by_relation = index.by_cell, index.by_relation
    chosen: list[int] = []
    proved = np.zeros_like(exposed)
    near = np.zeros(unknown.size, dtype=bool)
    for j in np.flatnonzero(exposed):
        near[:] = False
        near[j] = True
        frontier = np.array([j])
        rows = np.empty(0, dtype=np.int64)
        while frontier.size and int(near.sum()) <= max_cells:
            rows = np.union1d(rows, relations.relation[by_cell.members(frontier)])
            members = by_relation.members(rows)
            cells = relations.cell[members]
            fresh = np.unique(cells[unknown[cells] & ~near[cells]])
            near[fresh] = True
            outside = np.unique(relations.relation[members[unknown[cells] & ~near[cells]]])
            inside = members[~np.isin(relations.relation[members], outside)]
            weights, rows_used = _local_proof(relations, inside, near, unknown, j)
            if weights is not None:
                proved[j] = True
                chosen.extend(_proof_terms(vals, unknown, relations, inside, rows_used,
                                           weights))
                break
            frontier = fresh
    return np.unique(np.asarray(chosen, dtype=np.int64)), proved


class MemberIndex:
    """The members of each cell and of each relation, for a protection's whole run."""

    def __init__(self, relations: Relations, cells: int) -> None:
        self.by_cell = _Index(relations.cell, cells)
        self.by_relation = _Index(relations.relation, relations.count)


class _Index:
    """Members grouped by a key (cell or relation): the member positions of some keys."""

    def __init__(self, keys: IntArray, size: int) -> None:
        self.order = np.argsort(keys, kind="stable")
        self.bounds = np.searchsorted(keys[self.order], np.arange(size + 1))

    def members(self, ids: IntArray) -> IntArray:
        if ids.size == 0:
            return np.empty(0, dtype=np.int64)
        starts = self.bounds[ids]
        lengths = self.bounds[ids + 1] - starts
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        return self.order[offsets + np.arange(int(lengths.sum()))]


def _local_proof(relations: Relations, inside: IntArray, near: BoolArray, unknown: BoolArray,
                 target: int) -> tuple[list[int] | None, IntArray]:
    """A certificate for ``target`` from the relations of the members ``inside`` (all of
    whose unknowns are near), and those relations. The certificate's elimination is the
    test itself (None: no combination of these rows yields the target), exact and
    deterministic; testing first with the folded elimination
    (:func:`exact_recovery.determined_columns`) found the same proofs more slowly."""
    keep = inside[unknown[relations.cell[inside]]]
    rows, row_of = np.unique(relations.relation[keep], return_inverse=True)
    cols, col_of = np.unique(relations.cell[keep], return_inverse=True)
    column = int(np.searchsorted(cols, target))
    if column == cols.size or cols[column] != target:
        return None, rows
    matrix = Csr.from_entries(row_of, col_of, relations.coef[keep], (rows.size, cols.size))
    return exact.certificate(matrix.indptr, matrix.indices, matrix.data, cols.size,
                             column), rows


def _proof_terms(vals: FloatArray, unknown: BoolArray, relations: Relations,
                 inside: IntArray, rows: IntArray, weights: list[int]) -> list[int]:
    """The smallest non-zero visible cell the proof uses (net weight not zero mod p)."""
    row_weight = dict(zip(rows.tolist(), weights, strict=True))
    net: dict[int, int] = {}
    for k in inside[~unknown[relations.cell[inside]]].tolist():
        w = row_weight.get(int(relations.relation[k]), 0)
        if w:
            c = int(relations.cell[k])
            net[c] = (net.get(c, 0) + w * int(relations.coef[k])) % exact.PRIME
    terms = [c for c, w in net.items() if w and vals[c] != 0]
    return [min(terms, key=lambda c: (abs(vals[c]), c))] if terms else []
