"""Exact recovery over GF(p) (metrics.statistics.exact_recovery) and the protection it
drives (decision 8): agreement with the SVD null-space test, blocks far larger than dense
linear algebra can take, exact values, and a pattern greedy complements cannot fix."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from metrics.statistics import disclosure as dc
from metrics.statistics import exact_recovery as exact
from metrics.statistics import primary_suppression


def _svd_determined(a: np.ndarray) -> np.ndarray:
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
    null = vt[rank:]
    return np.ones(a.shape[1], bool) if null.shape[0] == 0 else np.abs(null).max(0) < 1e-7


def _determined(a: np.ndarray) -> np.ndarray:
    m = sparse.csr_matrix(a)
    return exact.determined(exact.eliminate(m.indptr, m.indices, m.data, a.shape[1]))


def test_agrees_with_the_svd_null_space_test_on_random_sparse_systems() -> None:
    rng = np.random.default_rng(8)
    for _ in range(60):
        rows, cols = int(rng.integers(1, 14)), int(rng.integers(1, 12))
        a = rng.choice([0, 0, 0, 1, -1], size=(rows, cols)).astype(float)
        assert _determined(a).tolist() == _svd_determined(a).tolist(), a


def test_a_long_chain_is_solved_exactly_at_sizes_dense_algebra_cannot_take() -> None:
    # x0 = 5 (one relation), x_k − x_{k−1} − y_k = 0 with y_k free except the last block
    n = 40_000
    rows = [[0]] + [[k, k - 1] for k in range(1, n)]
    coefs = [[1]] + [[1, -1] for _ in range(1, n)]
    indptr = np.cumsum([0] + [len(r) for r in rows])
    elim = exact.eliminate(indptr, np.concatenate(rows), np.concatenate(coefs).astype(float),
                           n, np.r_[5.0, np.zeros(n - 1)])
    assert exact.determined(elim).all()
    assert exact.solution(elim)[[0, n - 1]].tolist() == [5.0, 5.0]


def test_values_of_determined_cells_are_exact_integers() -> None:
    # a + b = 10, a + b + c = 14, so c = 4; a, b stay unknown
    m = sparse.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]))
    elim = exact.eliminate(m.indptr, m.indices, m.data, 3, [10.0, 14.0])
    assert exact.determined(elim).tolist() == [False, False, True]
    assert exact.solution(elim)[2] == 4.0
    proof = exact.certificate(m.indptr, m.indices, m.data, 3, 2)
    assert proof is not None and [(w + 1) % exact.PRIME for w in proof] == [0, 2]  # −1, +1
    assert exact.certificate(m.indptr, m.indices, m.data, 3, 0) is None


def _table(values: np.ndarray) -> tuple[np.ndarray, dc.Relations]:
    """A two-way table with row totals, column totals and a grand total, cells numbered
    row-major, then the row totals, the column totals and the grand total."""
    r, c = values.shape
    cells = np.r_[values.ravel(), values.sum(1), values.sum(0), values.sum()]
    rel, cell, coef = [], [], []
    for i in range(r):  # row total = its cells
        rel += [i] * (c + 1)
        cell += [r * c + i, *(i * c + np.arange(c))]
        coef += [1] + [-1] * c
    for j in range(c):  # column total = its cells
        rel += [r + j] * (r + 1)
        cell += [r * c + r + j, *(np.arange(r) * c + j)]
        coef += [1] + [-1] * r
    rel += [r + c] * (r + 1)  # grand total = the row totals
    cell += [r * c + r + c, *(r * c + np.arange(r))]
    coef += [1] + [-1] * r
    return cells.astype(float), dc.Relations.build(rel, cell, coef)


def test_protection_leaves_no_small_count_determined_in_a_crowded_table() -> None:
    rng = np.random.default_rng(3)
    table = rng.integers(1, 30, size=(9, 7)).astype(float)
    table[rng.random(table.shape) < 0.2] = 2.0  # many small counts
    table[0, :] = 0.0
    table[0, 3] = 1.0  # a row of zeros bar one small count: its complement can't be a zero
    values, relations = _table(table)
    primary = primary_suppression(values)
    mask = dc.protect(values, primary, relations)
    assert mask[primary].all()
    assert not dc.linear_attack(mask, relations).recovered[primary].any()
    assert not (mask & (values == 0)).any()  # no zero is a complement here


def test_a_relation_the_figures_break_is_not_an_identity() -> None:
    # total 20 = 12 + 3 would be the relation, but a category (5) is not published here
    values = np.array([20.0, 12.0, 3.0])
    relations = dc.Relations.build([0, 0, 0], [0, 1, 2], [1, -1, -1])
    assert dc.holding(relations, values).count == 0
    mask = dc.protect(values, primary_suppression(values), relations)
    assert mask.tolist() == [False, False, True]


def test_a_certificate_combines_the_rows_into_the_unit_vector_mod_p() -> None:
    """The proof the disclosure repair hides a term of (decision 8): for random systems with
    coefficients other than ±1, a certificate is found exactly when the column is
    determined, and its weights combine the rows into the unit vector, mod p."""
    rng = np.random.default_rng(14)
    found = 0
    for _ in range(80):
        rows, cols = int(rng.integers(1, 12)), int(rng.integers(1, 10))
        a = rng.choice([0, 0, 0, 1, -1, 2, -3], size=(rows, cols)).astype(float)
        m = sparse.csr_matrix(a)
        fixed = _svd_determined(a)
        for target in range(cols):
            weights = exact.certificate(m.indptr, m.indices, m.data, cols, target)
            assert (weights is not None) == bool(fixed[target]), (a, target)
            if weights is not None:
                found += 1
                combined = [sum(w * int(a[r, c]) for r, w in enumerate(weights)) % exact.PRIME
                            for c in range(cols)]
                assert combined == [int(c == target) for c in range(cols)]
    assert found > 20


def test_a_repeated_column_is_summed_and_a_zero_left_out() -> None:
    # row 0 names column 0 twice (1 + 1 = 2) and column 1 with 0; row 1: x1 = 3
    elim = exact.eliminate([0, 3, 4], [0, 0, 1, 1], [1.0, 1.0, 0.0, 1.0], 2, [8.0, 3.0])
    assert exact.determined(elim).tolist() == [True, True]
    assert exact.solution(elim).tolist() == [4.0, 3.0]
    # the same columns cancelling (1 − 1 = 0): column 0 is in no relation, so free
    elim = exact.eliminate([0, 2, 3], [0, 0, 1], [1.0, -1.0, 1.0], 2, [0.0, 3.0])
    assert exact.determined(elim).tolist() == [False, True]
