"""Fold the equalities out of a sparse system before eliminating it (exact, any field).

Half the identities among hidden cells have two unknowns left: a force and its twin LCJB,
a total and its one hidden part beside a hidden total elsewhere, a stock and its last
month. Such a row, ``a·x_u + b·x_v = c`` with ``|a| = |b|``, says ``x_u = ±x_v + const``.
The rows of this kind form a graph on the columns; each connected piece is one free
quantity, ``x_i = sign_i · y_root`` (a signed union-find over a spanning forest).
Substituting every column by its root turns the forest's rows into ``0 = 0`` (dropped),
merges the columns, and leaves every other row as it was in the new variables. A cycle
whose signs disagree says ``y = −y``, i.e. ``2y = 0``: the substitution leaves that row
as ``±2·y`` and the elimination finds ``y`` determined (p is odd).

Column ``i`` of the original system is determined iff its root is in the reduced one
(``x_i − sign_i·y_root`` is constant on every solution), so
:func:`metrics.statistics.exact_recovery.determined_columns` eliminates the reduced
system — on the demo warehouse's largest block 98,662 columns and 236,727 rows become
40,339 and 120,436 — and reads each column's answer off its root. Repeated while new
two-unknown rows appear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metrics.statistics.sparse_rows import Csr

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Folded:
    """The reduced system (CSR) and, for each original column, its root column in it and
    the sign relating them (``x = sign · y_root`` up to a constant)."""

    matrix: Csr
    root: IntArray
    sign: IntArray


def fold_pairs(matrix: object, max_passes: int = 8) -> Folded:
    """Substitute away every equality row ``±x_u ∓ x_v`` of ``matrix`` (compressed rows:
    ``indptr``, ``indices``, ``data``, ``shape``; see module doc)."""
    m = Csr.of(matrix).without_zeros()
    root = np.arange(m.shape[1], dtype=np.int64)
    sign = np.ones(m.shape[1], dtype=np.int64)
    for _ in range(max_passes):
        pairs = _pair_rows(m)
        if pairs is None:
            break
        step_root, step_sign = _union(m.shape[1], *pairs)
        roots, new_col = np.unique(step_root, return_inverse=True)
        m = Csr.from_entries(m.entry_rows(), new_col[m.indices], m.data * step_sign[m.indices],
                             (m.shape[0], roots.size)).without_zeros()
        m = m.take_rows(np.flatnonzero(np.diff(m.indptr) > 0))
        sign = sign * step_sign[root]
        root = new_col[root].astype(np.int64)
    return Folded(_distinct_rows(m), root, sign)


def _distinct_rows(m: Csr) -> Csr:
    """``m`` without repeated rows (a row equal to another up to sign adds nothing to the
    row space): after folding, a force's and its twin's identities are often the same."""
    seen: dict[bytes, int] = {}
    ptr, idx = m.indptr, m.indices
    data = m.data.copy()
    for r in range(m.shape[0]):
        a, b = ptr[r], ptr[r + 1]
        if b > a and data[a] < 0:
            data[a:b] = -data[a:b]
        seen.setdefault(idx[a:b].tobytes() + data[a:b].tobytes(), r)
    keep = np.fromiter(seen.values(), dtype=np.int64, count=len(seen))
    return m.take_rows(np.sort(keep))


def _pair_rows(m: Csr) -> tuple[list[int], list[int], list[int]] | None:
    """(u, v, s) with ``x_u = s·x_v`` for each row of two entries of equal size."""
    starts = m.indptr[:-1][np.diff(m.indptr) == 2]
    a, b = m.data[starts], m.data[starts + 1]
    equal = np.abs(a) == np.abs(b)
    if not equal.any():
        return None
    starts = starts[equal]
    s = -(np.sign(a[equal]) * np.sign(b[equal])).astype(np.int64)
    return m.indices[starts].tolist(), m.indices[starts + 1].tolist(), s.tolist()


def _union(columns: int, us: list[int], vs: list[int], ss: list[int]
           ) -> tuple[IntArray, IntArray]:
    """Signed union-find: each column's root and the sign with ``x = sign · x_root``."""
    parent = list(range(columns))
    sign = [1] * columns

    def find(x: int) -> tuple[int, int]:
        path = []
        while parent[x] != x:
            path.append(x)
            x = parent[x]
        acc = 1
        for y in reversed(path):  # nearest the root first: its sign is relative to it
            acc *= sign[y]
            parent[y] = x
            sign[y] = acc
        return x, (sign[path[0]] if path else 1)

    for u, v, s in zip(us, vs, ss, strict=True):
        ru, su = find(u)
        rv, sv = find(v)
        if ru != rv:  # x_ru = su·x_u = su·s·x_v = su·s·sv·x_rv
            parent[ru] = rv
            sign[ru] = su * s * sv
    found = [find(x) for x in range(columns)]
    return (np.fromiter((r for r, _ in found), dtype=np.int64, count=columns),
            np.fromiter((g for _, g in found), dtype=np.int64, count=columns))
