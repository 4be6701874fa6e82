"""Disclosure control over a whole published set: linear relations, protection, attack.

Pure and vectorised (numpy, scipy.sparse). Cells are numbered 0…n−1; what ties them together
is a set of *relations*, each a linear identity ``Σ coef·cell = 0`` that anyone holding the
published figures can use: a total and its breakdown, a region and its forces, a year and
its quarters or months, a force and its twin LCJB. A relation is given as its *members*:
parallel arrays of relation id, cell index and coefficient (+1 for the total, −1 for each
part; an equality has one of each).

- :func:`protect` — complementary (secondary) suppression: no relation may be left with
  exactly one unknown cell; the complement is the smallest **non-zero** visible part (a
  published zero protects nothing: ``total − 0`` is still the total), the total only if no
  part will do. Repeated until no relation has a lone unknown, then checked against
  :func:`linear_attack` and strengthened until the attack recovers nothing.
- :func:`peeling_attack` — the differencing an analyst does by hand: any relation with one
  unknown gives it away; a recovered cell becomes known and may give away the next.
- :func:`linear_attack` — every linear combination of the relations at once: an unknown is
  recovered exactly when its unit vector lies in the row space of the relations restricted
  to the unknowns (null-space test on each connected block of unknowns).

NaN cells are missing (not published, not protected): they are unknowns an attacker cannot
use, never candidates for suppression and never reported as recovered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import connected_components

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

LINEAR_BLOCK_LIMIT = 1500
"""Largest block of connected unknowns the exact (SVD) test is run on; larger blocks are
attacked by peeling only, and :class:`Attack` counts them."""

PROTECT_BLOCK_LIMIT = 400
"""While protecting, the exact test runs on blocks of up to this many unknowns (the audit
goes further); larger blocks rely on no relation being left with a lone unknown."""

_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Relations:
    """Linear identities among cells: member ``k`` puts ``coef[k]`` × cell ``cell[k]`` into
    relation ``relation[k]``; every relation sums to zero."""

    relation: IntArray
    cell: IntArray
    coef: FloatArray

    @staticmethod
    def build(relation: npt.ArrayLike, cell: npt.ArrayLike, coef: npt.ArrayLike) -> Relations:
        r = np.asarray(relation, dtype=np.int64).ravel()
        c = np.asarray(cell, dtype=np.int64).ravel()
        k = np.asarray(coef, dtype=np.float64).ravel()
        if not (r.size == c.size == k.size):
            raise ValueError("relation, cell and coef must have the same length")
        if r.size:  # relation ids 0…m−1 without gaps
            _, r = np.unique(r, return_inverse=True)
        return Relations(r.astype(np.int64), c, k)

    @property
    def count(self) -> int:
        return int(self.relation.max()) + 1 if self.relation.size else 0

    def unknowns_per_relation(self, unknown: BoolArray) -> IntArray:
        return np.bincount(self.relation, weights=unknown[self.cell].astype(np.float64),
                           minlength=self.count).astype(np.int64)


@dataclass(frozen=True)
class Attack:
    """Which suppressed cells an attack recovers, and how far it could look."""

    recovered: BoolArray
    blocks_too_large: int = 0
    largest_block: int = 0


def _check(values: FloatArray, mask: BoolArray, relations: Relations) -> None:
    if mask.size != values.size:
        raise ValueError("values and the suppression mask must have the same length")
    if relations.cell.size and (relations.cell.min() < 0 or relations.cell.max() >= values.size):
        raise ValueError("a relation names a cell outside the values")


def _complements(values: FloatArray, hidden: BoolArray, relations: Relations,
                 lone: BoolArray) -> IntArray:
    """For each relation flagged ``lone``, the cell to hide beside its one unknown: the
    smallest non-zero visible part, else the total (coef > 0) if non-zero; ties: lowest index."""
    members = np.flatnonzero(lone[relations.relation])
    cells = relations.cell[members]
    usable = ~hidden[cells] & ~np.isnan(values[cells]) & (values[cells] != 0)
    members, cells = members[usable], cells[usable]
    if members.size == 0:
        return np.empty(0, dtype=np.int64)
    is_total = relations.coef[members] > 0
    rel = relations.relation[members]
    order = np.lexsort((cells, np.abs(values[cells]), is_total, rel))
    ordered_rel = rel[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = ordered_rel[1:] != ordered_rel[:-1]
    return np.unique(cells[order][first])


def protect(values: npt.ArrayLike, primary: npt.ArrayLike, relations: Relations, *,
            contains: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            max_rounds: int = 50, block_limit: int = PROTECT_BLOCK_LIMIT) -> BoolArray:
    """The suppression mask: ``primary`` plus complements so that :func:`linear_attack`
    recovers no primary cell (inputs are not modified). A complement may itself be worked
    out (a large count hidden beside a small one discloses nothing); the small one may not.

    ``contains`` (outer cells, inner cells), if given: an outer cell is withheld whenever an
    inner one is (used for overlapping windows, such as rolling 12 months beside quarters,
    whose differences would otherwise chain every year's same quarter together).

    Zeros are never chosen as complements (they give no protection). A relation whose one
    unknown has no non-zero visible partner (every other member zero) cannot be protected
    by suppression within it; such a cell is left to the attack check, which widens the
    search through the other relations the cell belongs to.
    """
    vals = np.asarray(values, dtype=np.float64).ravel()
    mask = np.asarray(primary, dtype=bool).ravel().copy()
    _check(vals, mask, relations)
    missing = np.isnan(vals)
    mask &= ~missing
    primary_mask = mask.copy()
    if relations.count == 0 or not mask.any():
        return mask
    outer, inner = (np.empty(0, np.int64),) * 2 if contains is None else (
        np.asarray(contains[0], dtype=np.int64), np.asarray(contains[1], dtype=np.int64))
    for _ in range(max_rounds):
        while True:
            _fill_lone_relations(vals, mask, missing, relations)
            spread = outer[mask[inner] & ~mask[outer] & ~missing[outer]]
            if spread.size == 0:
                break
            mask[spread] = True
        attack = linear_attack(mask, relations, missing=missing, block_limit=block_limit)
        exposed = attack.recovered & primary_mask
        if not exposed.any():
            return mask
        before = int(mask.sum())
        # Each exposed cell: hide one more non-zero cell in every relation it belongs to.
        touched = np.zeros(relations.count, dtype=bool)
        touched[relations.relation[exposed[relations.cell]]] = True
        extra = _complements(vals, mask, relations, touched)
        mask[extra] = True
        if int(mask.sum()) == before:
            # Nothing left to hide beside them: hide the recovered cells' relations whole.
            members = touched[relations.relation] & ~missing[relations.cell]
            mask[relations.cell[members]] = True
            if int(mask.sum()) == before:
                return mask
    raise RuntimeError(f"secondary suppression did not settle in {max_rounds} rounds")


def _fill_lone_relations(vals: FloatArray, mask: BoolArray, missing: BoolArray,
                         relations: Relations) -> None:
    while True:
        lone = relations.unknowns_per_relation(mask | missing) == 1
        # Only relations whose lone unknown is a suppressed cell (a missing one hides nothing).
        lone &= relations.unknowns_per_relation(mask) == 1
        extra = _complements(vals, mask, relations, lone)
        extra = extra[~mask[extra]]
        if extra.size == 0:
            return
        mask[extra] = True


def peeling_attack(hidden: npt.ArrayLike, relations: Relations, *,
                   missing: npt.ArrayLike | None = None) -> Attack:
    """Suppressed cells recovered by repeated differencing: a relation with exactly one
    unknown gives it away, and each cell recovered is known from then on."""
    hid = np.asarray(hidden, dtype=bool).ravel()
    miss = np.zeros_like(hid) if missing is None else np.asarray(missing, dtype=bool).ravel()
    unknown = hid | miss
    recovered = np.zeros_like(hid)
    while relations.count:
        counts = relations.unknowns_per_relation(unknown)
        lone = counts[relations.relation] == 1
        cells = np.unique(relations.cell[lone & unknown[relations.cell]])
        cells = cells[hid[cells]]
        if cells.size == 0:
            break
        recovered[cells] = True
        unknown[cells] = False
    return Attack(recovered)


def linear_attack(hidden: npt.ArrayLike, relations: Relations, *,
                  missing: npt.ArrayLike | None = None,
                  block_limit: int = LINEAR_BLOCK_LIMIT) -> Attack:
    """Suppressed cells determined by some linear combination of the relations.

    Every relation becomes an equation in the unknown cells (the visible ones are
    constants). The unknowns split into blocks that share no relation; within a block of up
    to ``block_limit`` unknowns, cell j is determined iff every null vector of the block's
    matrix is zero at j. Larger blocks get :func:`peeling_attack` only (counted in
    ``blocks_too_large``).
    """
    hid = np.asarray(hidden, dtype=bool).ravel()
    miss = np.zeros_like(hid) if missing is None else np.asarray(missing, dtype=bool).ravel()
    unknown = hid | miss
    recovered = peeling_attack(hid, relations, missing=miss).recovered
    members = np.flatnonzero(unknown[relations.cell])
    if members.size == 0:
        return Attack(recovered)
    cols, col_of = np.unique(relations.cell[members], return_inverse=True)
    rows, row_of = np.unique(relations.relation[members], return_inverse=True)
    matrix = sparse.csr_matrix((relations.coef[members], (row_of, col_of)),
                               shape=(rows.size, cols.size))
    incidence = (abs(matrix) > 0).astype(np.int8)
    graph = (incidence.T @ incidence).tocsr()
    n_blocks, block_of = connected_components(graph, directed=False)
    too_large, largest = 0, 0
    order = np.argsort(block_of, kind="stable")
    bounds = np.searchsorted(block_of[order], np.arange(n_blocks + 1))
    csc = matrix.tocsc()
    for b in range(n_blocks):
        block_cols = order[bounds[b]:bounds[b + 1]]
        largest = max(largest, block_cols.size)
        if not hid[cols[block_cols]].any() or recovered[cols[block_cols]].all():
            continue
        if block_cols.size > block_limit:
            too_large += 1
            continue
        sub = csc[:, block_cols]
        sub = sub[np.unique(sub.nonzero()[0])].toarray()
        determined = _determined_columns(sub)
        cells = cols[block_cols[determined]]
        recovered[cells[hid[cells]]] = True
    return Attack(recovered, too_large, largest)


def _determined_columns(a: FloatArray) -> BoolArray:
    """Columns j whose unit vector is in the row space of ``a`` (every null vector is 0 at j)."""
    if a.shape[0] == 0:
        return np.zeros(a.shape[1], dtype=bool)
    # vt must span all n columns; U is never needed, so keep it small (m×n, not m×m).
    _, s, vt = np.linalg.svd(a, full_matrices=a.shape[0] < a.shape[1])
    rank = int((s > _TOLERANCE * max(1.0, s.max(initial=0.0))).sum())
    null = vt[rank:]
    if null.shape[0] == 0:
        return np.ones(a.shape[1], dtype=bool)
    return np.asarray(np.abs(null).max(axis=0) < 1e-7)


def solve_recovered(values_shown: npt.ArrayLike, hidden: npt.ArrayLike, relations: Relations,
                    recovered: npt.ArrayLike) -> FloatArray:
    """What an analyst computes for each recovered cell from the shown values alone (NaN
    for cells not recovered): peeling first, then least squares on each block of the
    unknowns left (exact at the determined cells)."""
    vals = np.asarray(values_shown, dtype=np.float64).ravel().copy()
    hid = np.asarray(hidden, dtype=bool).ravel()
    want = np.asarray(recovered, dtype=bool).ravel()
    vals[hid] = np.nan
    unknown = hid.copy()
    while relations.count:
        counts = relations.unknowns_per_relation(unknown)
        lone = counts[relations.relation] == 1
        known_sum = np.bincount(relations.relation[lone & ~unknown[relations.cell]],
                                weights=(relations.coef * np.nan_to_num(vals[relations.cell]))[
                                    lone & ~unknown[relations.cell]], minlength=relations.count)
        targets = np.flatnonzero(lone & unknown[relations.cell])
        if targets.size == 0:
            break
        cells, first = np.unique(relations.cell[targets], return_index=True)
        chosen = targets[first]
        vals[cells] = -known_sum[relations.relation[chosen]] / relations.coef[chosen]
        unknown[cells] = False
    rest = np.flatnonzero(want & unknown)
    if rest.size:
        _solve_blocks(vals, unknown, relations, rest)
    return np.where(want, vals, np.nan)


def _solve_blocks(vals: FloatArray, unknown: BoolArray, relations: Relations,
                  targets: IntArray) -> None:
    members = np.flatnonzero(unknown[relations.cell])
    cols, col_of = np.unique(relations.cell[members], return_inverse=True)
    rows, row_of = np.unique(relations.relation[members], return_inverse=True)
    matrix = sparse.csr_matrix((relations.coef[members], (row_of, col_of)),
                               shape=(rows.size, cols.size))
    in_rows = np.isin(relations.relation, rows) & ~unknown[relations.cell]
    rhs_all = -np.bincount(relations.relation[in_rows],
                           weights=relations.coef[in_rows] * vals[relations.cell[in_rows]],
                           minlength=relations.count)
    rhs = rhs_all[rows]
    incidence = (abs(matrix) > 0).astype(np.int8)
    _, block_of = connected_components((incidence.T @ incidence).tocsr(), directed=False)
    csc = matrix.tocsc()
    for b in np.unique(block_of[np.searchsorted(cols, targets)]):
        block_cols = np.flatnonzero(block_of == b)
        if block_cols.size > LINEAR_BLOCK_LIMIT:
            continue
        sub = csc[:, block_cols]
        used = np.unique(sub.nonzero()[0])
        solution = np.linalg.lstsq(sub[used].toarray(), rhs[used], rcond=None)[0]
        vals[cols[block_cols]] = solution
