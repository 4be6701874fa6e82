"""Which unknowns of a sparse linear system are determined, exactly, at any size.

A suppressed cell can be worked out from the published figures exactly when its unit vector
lies in the row space of the published identities restricted to the unknown cells; then
every solution of the system agrees on it (every null vector is zero there). Floating-point
tests (SVD, QR) cost O(n³) on a dense block and need a tolerance; blocks of the whole
published set reach 80,000 unknowns. Here the system is solved over the prime field
GF(p), p = 2⁶¹ − 1, by sparse Gaussian elimination (rows as dicts; minimum-degree pivot
order, shortest pivot row — the identities are sums of a few cells each, so fill-in stays
small): integer arithmetic, no tolerance.

- *Determined*: each pivot column is a linear function of the free columns; two null
  vectors are drawn (random values of the free columns, back-substitution) and a column is
  determined iff it is zero in both. An undetermined column is a non-zero linear form of the
  free columns and is zero at random with probability 1/p per draw (about 10⁻³⁶ for two).
- *Values*: with the right-hand side carried along, back-substitution with the free columns
  at zero gives a solution; at a determined column it is the one value every solution
  has. Counts are integers, so the residue lifted to (−p/2, p/2) is that value exactly.

Over the rationals, a cell is determined iff it is over GF(p) unless p divides one of the
minors of the (±1) matrix; with p of 61 bits that is not a practical concern, and the
audit that attacks the published set uses the same test (decision 8).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metrics.statistics.sparse_rows import Csr

PRIME = (1 << 61) - 1
_SELF_INVERSE = frozenset({1, PRIME - 1})


@dataclass(frozen=True)
class Elimination:
    """The echelon form of a system: for each pivot (in elimination order) its column, its
    row at the time (column → coefficient mod p; every other column in it is pivoted later
    or free) and the row's right-hand side mod p."""

    columns: int
    pivots: tuple[tuple[int, dict[int, int], int], ...]
    inconsistent: bool
    """Some row reduced to 0 = non-zero: the figures do not satisfy their identities (for
    example rounded counts)."""


def _residue(value: float) -> int:
    whole = round(float(value))
    if whole != value:
        raise ValueError(f"exact recovery needs integer coefficients and values, got {value}")
    return whole % PRIME


def _rows(indptr: npt.ArrayLike, indices: npt.ArrayLike, data: npt.ArrayLike
          ) -> list[dict[int, int] | None]:
    """Each row as a dict (column → coefficient mod p, in the order the columns come, a
    repeated column summed where it first came, zeros left out)."""
    ptr = np.asarray(indptr, dtype=np.int64).tolist()
    idx = np.asarray(indices, dtype=np.int64).tolist()
    coef = _residues(data)
    rows: list[dict[int, int] | None] = []
    for start, end in zip(ptr, ptr[1:], strict=False):
        row = dict(zip(idx[start:end], coef[start:end], strict=True))  # the common case
        if len(row) != end - start:  # a column repeated: summed
            row = {}
            for c, v in zip(idx[start:end], coef[start:end], strict=True):
                row[c] = (row.get(c, 0) + v) % PRIME
        if 0 in row.values():
            row = {c: v for c, v in row.items() if v}
        rows.append(row)
    return rows


def _residues(data: npt.ArrayLike) -> list[int]:
    """:func:`_residue` of each value, vectorised where the values fit in 53 bits."""
    values = np.asarray(data, dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all() or np.abs(values).max() >= 2.0**52:
        return [_residue(v) for v in values]
    whole = np.round(values)
    if not np.array_equal(whole, values):
        bad = values[whole != values][0]
        raise ValueError(f"exact recovery needs integer coefficients and values, got {bad}")
    return np.mod(whole.astype(np.int64), PRIME).tolist()


def _column_rows(rows: list[dict[int, int] | None], columns: int) -> list[set[int]]:
    """The rows each column has a coefficient in."""
    col_rows: list[set[int]] = [set() for _ in range(columns)]
    for r, row in enumerate(rows):
        for c in row:  # type: ignore[union-attr]
            col_rows[c].add(r)
    return col_rows


def eliminate(indptr: npt.ArrayLike, indices: npt.ArrayLike, data: npt.ArrayLike,
              columns: int, rhs: npt.ArrayLike | None = None) -> Elimination:
    """Gaussian elimination mod p of the CSR matrix (``indptr``, ``indices``, ``data``)
    with ``columns`` columns and, optionally, its right-hand side (integers)."""
    rows = _rows(indptr, indices, data)
    with_sides = rhs is not None
    sides = _residues(rhs) if with_sides else [0] * len(rows)
    col_rows = _column_rows(rows, columns)
    heap = [(len(s), c) for c, s in enumerate(col_rows)]
    heapq.heapify(heap)
    done = [False] * columns
    pivots: list[tuple[int, dict[int, int], int]] = []
    while heap:
        count, c = heapq.heappop(heap)
        if done[c] or count != len(col_rows[c]):
            continue  # settled, or a stale entry (its count changed)
        done[c] = True
        if count == 0:
            continue  # free
        holders = col_rows[c]
        r = (next(iter(holders)) if count == 1
             else min(holders, key=lambda i: len(rows[i])))  # type: ignore[arg-type]
        pivot_row = rows[r]
        assert pivot_row is not None
        rows[r] = None
        for cc in pivot_row:
            col_rows[cc].discard(r)
        lead = pivot_row[c]
        inverse = lead if lead in _SELF_INVERSE else pow(lead, -1, PRIME)
        entries = [(cc, v) for cc, v in pivot_row.items() if cc != c]
        for i in list(holders):
            row = rows[i]
            assert row is not None
            factor = row.pop(c) * inverse % PRIME  # column c cancels: gone from the row
            if with_sides:
                sides[i] = (sides[i] - factor * sides[r]) % PRIME
            # row i −= factor × the rest of the pivot row, the column → rows index kept
            # current (column c's is not read again); the hottest loop of the disclosure
            # plan, so written out here, not called per row
            for cc, v in entries:
                old = row.get(cc)
                if old is None:  # non-zero: p is prime, and neither factor nor v is 0
                    row[cc] = -factor * v % PRIME
                    col_rows[cc].add(i)
                elif new := (old - factor * v) % PRIME:
                    row[cc] = new
                else:
                    del row[cc]
                    col_rows[cc].discard(i)
        for cc in pivot_row:
            if not done[cc]:
                heapq.heappush(heap, (len(col_rows[cc]), cc))
        pivots.append((c, pivot_row, sides[r]))
    inconsistent = any(row is not None and not row and sides[i]
                       for i, row in enumerate(rows))
    return Elimination(columns, tuple(pivots), inconsistent)


def _back_substitute(elim: Elimination, x: list[int], with_rhs: bool) -> list[int]:
    for c, row, side in reversed(elim.pivots):
        total = side if with_rhs else 0
        for cc, v in row.items():
            if cc != c:
                total -= v * x[cc]
        x[c] = total * pow(row[c], -1, PRIME) % PRIME
    return x


def determined(elim: Elimination, *, draws: int = 2, seed: int = 0) -> npt.NDArray[np.bool_]:
    """Columns that every solution fixes (zero in ``draws`` random null vectors)."""
    rng = np.random.default_rng(seed)
    fixed = np.ones(elim.columns, dtype=bool)
    for _ in range(draws):
        x = _back_substitute(elim, rng.integers(1, PRIME, size=elim.columns).tolist(),
                             with_rhs=False)
        fixed &= np.asarray(x, dtype=object) == 0
    return fixed


def determined_columns(indptr: npt.ArrayLike, indices: npt.ArrayLike, data: npt.ArrayLike,
                       columns: int) -> npt.NDArray[np.bool_]:
    """:func:`determined` of the CSR matrix, after folding its equality rows
    (:func:`metrics.statistics.pair_reduction.fold_pairs`): the same answer, about half
    the work on the identities of a published set."""
    from metrics.statistics.pair_reduction import fold_pairs

    ptr = np.asarray(indptr, dtype=np.int64)
    folded = fold_pairs(Csr(ptr, np.asarray(indices, dtype=np.int64),
                            np.asarray(data, dtype=np.float64), (ptr.size - 1, columns)))
    m = folded.matrix
    fixed = determined(eliminate(m.indptr, m.indices, m.data, m.shape[1]))
    return fixed[folded.root]


def solution(elim: Elimination) -> npt.NDArray[np.float64]:
    """One solution (free columns zero), each residue lifted to (−p/2, p/2): at determined
    columns, the value of every solution (exact for integer data)."""
    x = _back_substitute(elim, [0] * elim.columns, with_rhs=True)
    half = PRIME // 2
    return np.array([v - PRIME if v > half else v for v in x], dtype=np.float64)


def certificate(indptr: npt.ArrayLike, indices: npt.ArrayLike, data: npt.ArrayLike,
                columns: int, target: int) -> list[int] | None:
    """Weights (mod p) of the rows of the CSR matrix whose combination is the unit vector
    at column ``target`` — the proof that the target is determined — or None if it is
    not. Solves ``Aᵀ y = e_target`` by the same elimination, on the transpose."""
    ptr = np.asarray(indptr, dtype=np.int64)
    transpose = Csr(ptr, np.asarray(indices, dtype=np.int64),
                    np.asarray(data, dtype=np.float64), (ptr.size - 1, columns)).transpose()
    unit = np.zeros(columns)
    unit[target] = 1.0
    elim = eliminate(transpose.indptr, transpose.indices, transpose.data, ptr.size - 1, unit)
    if elim.inconsistent:
        return None
    return _back_substitute(elim, [0] * elim.columns, with_rhs=True)
