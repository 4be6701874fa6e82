"""What an analyst computes for each suppressed cell the exact attack recovers
(:func:`metrics.statistics.disclosure.linear_attack`): the audit's evidence that a recovered
count really is the count (:mod:`metrics.disclosure_audit`). Pure (numpy, scipy)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import lsqr

from metrics.statistics import exact_recovery as exact
from metrics.statistics.disclosure import BoolArray, FloatArray, IntArray, Relations
from metrics.statistics.disclosure_blocks import unknown_blocks


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
    """Set each target's block to a solution (at a determined cell, the value every solution
    gives it): exactly over GF(p) when the figures are integers, else by least squares."""
    blocks = unknown_blocks(unknown, relations)
    in_rows = np.isin(relations.relation, blocks.rows) & ~unknown[relations.cell]
    rhs = -np.bincount(relations.relation[in_rows],
                       weights=relations.coef[in_rows] * vals[relations.cell[in_rows]],
                       minlength=relations.count)[blocks.rows]
    for b in np.unique(blocks.block_of[np.searchsorted(blocks.cols, targets)]):
        sub, used = blocks.matrix(int(b))
        side = rhs[used]
        if np.all(side == np.round(side)):
            solved = exact.solution(exact.eliminate(sub.indptr, sub.indices, sub.data,
                                                    sub.shape[1], side))
        else:
            solved = lsqr(csr_matrix((sub.data, sub.indices, sub.indptr), shape=sub.shape),
                          side, atol=1e-14, btol=1e-14, iter_lim=100_000)[0]
        vals[blocks.cols[blocks.columns(int(b))]] = solved
