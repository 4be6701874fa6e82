"""The relations among unknown cells, split into blocks that share no relation.

The exact attack (:func:`metrics.statistics.disclosure.linear_attack`) restricts every
relation to the unknown cells (the visible ones are constants) and tests each connected
block of unknowns on its own: a cell is determined by its block's rows alone. Numpy only
(:mod:`metrics.statistics.sparse_rows`): the blocks are found and cut out once per attack,
each block's rows handed to the elimination as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from metrics.statistics.sparse_rows import Csr, components

if TYPE_CHECKING:
    from metrics.statistics.disclosure import Relations

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Blocks:
    """The relations restricted to the unknown cells: one column per unknown cell that some
    relation holds (``cols``: its cell, ascending), one row per relation holding one
    (``rows``: its relation, ascending), and the blocks of connected
    columns (``block_of``, numbered by their first column)."""

    cols: IntArray
    rows: IntArray
    block_of: IntArray
    count: int
    _col_order: IntArray
    _col_bounds: IntArray
    _position: IntArray
    _entry_row: IntArray
    _entry_col: IntArray
    _entry_data: FloatArray
    _entry_bounds: IntArray

    def columns(self, b: int) -> IntArray:
        """Block ``b``'s columns, ascending."""
        return self._col_order[self._col_bounds[b]:self._col_bounds[b + 1]]

    def sizes(self) -> IntArray:
        return np.diff(self._col_bounds)

    def matrix(self, b: int) -> tuple[Csr, IntArray]:
        """Block ``b``'s rows over its columns (numbered as in :meth:`columns`), and the
        numbers of those rows among all (ascending)."""
        lo, hi = self._entry_bounds[b], self._entry_bounds[b + 1]
        rows = self._entry_row[lo:hi]
        used, local = np.unique(rows, return_inverse=True)
        indptr = np.zeros(used.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(local, minlength=used.size), out=indptr[1:])
        cols = self._position[self._entry_col[lo:hi]]
        return Csr(indptr, cols, self._entry_data[lo:hi],
                   (int(used.size), int(self.columns(b).size))), used


def unknown_blocks(unknown: BoolArray, relations: Relations) -> Blocks:
    """The relations restricted to the ``unknown`` cells, split into :class:`Blocks`."""
    members = np.flatnonzero(unknown[relations.cell])
    cols, col_of = np.unique(relations.cell[members], return_inverse=True)
    rel_ids, row_of = np.unique(relations.relation[members], return_inverse=True)
    matrix = Csr.from_entries(row_of, col_of, relations.coef[members],
                              (rel_ids.size, cols.size)).without_zeros()
    entry_row = matrix.entry_rows()
    # each row joins its columns: an edge from its first column to each of the others
    first = matrix.indices[matrix.indptr[entry_row]]
    count, block_of = components(cols.size, first, matrix.indices)
    col_order = np.argsort(block_of, kind="stable")
    col_bounds = np.searchsorted(block_of[col_order], np.arange(count + 1))
    position = np.empty(cols.size, dtype=np.int64)
    position[col_order] = np.arange(cols.size) - col_bounds[block_of[col_order]]
    entry_block = block_of[matrix.indices]
    entry_order = np.argsort(entry_block, kind="stable")  # each block's rows stay in order
    entry_bounds = np.searchsorted(entry_block[entry_order], np.arange(count + 1))
    return Blocks(cols, rel_ids, block_of, count, col_order, col_bounds, position,
                  entry_row[entry_order], matrix.indices[entry_order],
                  matrix.data[entry_order], entry_bounds)
