"""Sparse matrices by rows, and connected components, in numpy alone.

Whole-set disclosure control (:mod:`metrics.statistics.disclosure`) turns the identities among
hidden cells into sparse systems and eliminates them exactly over GF(p)
(:mod:`metrics.statistics.exact_recovery`); the elimination itself is pure Python over
dicts, so all it needs of a matrix is its compressed rows. Protection builds hundreds of
small systems per measure (a proof is sought among the unknowns near each exposed cell,
widening step by step), where building a ``scipy.sparse`` matrix cost more than eliminating
it, and importing ``scipy.sparse`` cost a load's refresh about 0.06 s. :class:`Csr` keeps
the layout ``scipy.sparse.csr_matrix`` gives the same entries — rows in order, each row's
columns sorted, duplicate entries summed (a zero sum kept as an entry) — so everything built
on it sees exactly the rows it saw before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Csr:
    """A sparse matrix in compressed rows: row ``r``'s entries are ``indices`` and ``data``
    from ``indptr[r]`` to ``indptr[r + 1]``, their columns ascending and distinct."""

    indptr: IntArray
    indices: IntArray
    data: FloatArray
    shape: tuple[int, int]

    @staticmethod
    def from_entries(rows: npt.ArrayLike, cols: npt.ArrayLike, data: npt.ArrayLike,
                     shape: tuple[int, int]) -> Csr:
        """The matrix with ``data[k]`` at (``rows[k]``, ``cols[k]``), repeated positions
        summed (as ``scipy.sparse.csr_matrix((data, (rows, cols)))``)."""
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        d = np.asarray(data, dtype=np.float64).ravel()
        order = np.argsort(r * max(shape[1], 1) + c, kind="stable")
        r, c, d = r[order], c[order], d[order]
        if r.size > 1:
            first = np.ones(r.size, dtype=bool)
            first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
            if not first.all():
                starts = np.flatnonzero(first)
                d = np.add.reduceat(d, starts)
                r, c = r[starts], c[starts]
        return Csr(_indptr(r, shape[0]), c, d, (int(shape[0]), int(shape[1])))

    @staticmethod
    def of(matrix: object) -> Csr:
        """Any compressed-row matrix (``indptr``, ``indices``, ``data``, ``shape``: this
        class or a ``scipy.sparse.csr_matrix``), in canonical form."""
        indptr = np.asarray(matrix.indptr, dtype=np.int64)  # type: ignore[attr-defined]
        shape = tuple(int(s) for s in matrix.shape)  # type: ignore[attr-defined]
        return Csr.from_entries(np.repeat(np.arange(indptr.size - 1), np.diff(indptr)),
                                matrix.indices, matrix.data,  # type: ignore[attr-defined]
                                (shape[0], shape[1]))

    def entry_rows(self) -> IntArray:
        """The row of each entry."""
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def without_zeros(self) -> Csr:
        keep = self.data != 0
        if keep.all():
            return self
        return Csr(_indptr(self.entry_rows()[keep], self.shape[0]), self.indices[keep],
                   self.data[keep], self.shape)

    def take_rows(self, rows: IntArray) -> Csr:
        """The rows numbered ``rows`` (ascending), in that order."""
        keep = np.repeat(np.isin(np.arange(self.shape[0]), rows), np.diff(self.indptr))
        return Csr(_indptr(np.searchsorted(rows, self.entry_rows()[keep]), rows.size),
                   self.indices[keep], self.data[keep], (int(rows.size), self.shape[1]))

    def transpose(self) -> Csr:
        return Csr.from_entries(self.indices, self.entry_rows(), self.data,
                                (self.shape[1], self.shape[0]))


def _indptr(sorted_rows: IntArray, count: int) -> IntArray:
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(sorted_rows, minlength=count), out=indptr[1:])
    return indptr


def components(size: int, u: IntArray, v: IntArray) -> tuple[int, IntArray]:
    """Connected components of the graph on ``size`` nodes with edges (``u[k]``, ``v[k]``):
    (how many, each node's component, numbered in the order of their smallest node — as
    ``scipy.sparse.csgraph.connected_components`` numbers them). Each pass hooks the larger
    of two roots an edge joins onto the smaller and then points every node at its root; an
    edge inside one tree is dropped for good."""
    parent = np.arange(size, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    while u.size:
        pu, pv = parent[u], parent[v]
        apart = pu != pv
        if not apart.any():
            break
        u, v, pu, pv = u[apart], v[apart], pu[apart], pv[apart]
        parent[np.maximum(pu, pv)] = np.minimum(pu, pv)  # a smaller root: never a cycle
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    roots, labels = np.unique(parent, return_inverse=True)
    return int(roots.size), labels.astype(np.int64)
