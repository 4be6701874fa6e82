"""Folding equality rows before the exact elimination (metrics.statistics.pair_reduction):
the same determined cells as eliminating the whole system and as the SVD null-space test,
sign cycles that pin a cell, repeated rows dropped; and protection built on it leaves no
primary recoverable, whatever else is protected beside it."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from metrics.statistics import disclosure as dc
from metrics.statistics import exact_recovery as exact
from metrics.statistics import primary_suppression
from metrics.statistics.pair_reduction import fold_pairs


def _svd_determined(a: np.ndarray) -> np.ndarray:
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
    null = vt[rank:]
    return np.ones(a.shape[1], bool) if null.shape[0] == 0 else np.abs(null).max(0) < 1e-7


def _with_pairs(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A random ±1 system where about half the rows are equalities ``±x_u ∓ x_v`` (some
    repeated, some closing cycles of either sign)."""
    a = rng.choice([0, 0, 0, 1, -1], size=(rows, cols)).astype(float)
    for r in range(0, rows, 2):
        u, v = rng.choice(cols, size=2, replace=False)
        a[r] = 0.0
        a[r, u], a[r, v] = rng.choice([1.0, -1.0]), rng.choice([1.0, -1.0])
    if rows > 3:
        a[-1] = a[0]  # a repeated row
    return a


def _folded_determined(a: np.ndarray) -> np.ndarray:
    m = sparse.csr_matrix(a)
    return exact.determined_columns(m.indptr, m.indices, m.data, a.shape[1])


def test_folding_agrees_with_plain_elimination_and_svd_on_random_systems() -> None:
    rng = np.random.default_rng(20)
    for _ in range(150):
        rows, cols = int(rng.integers(1, 16)), int(rng.integers(2, 12))
        a = _with_pairs(rng, rows, cols)
        m = sparse.csr_matrix(a)
        plain = exact.determined(exact.eliminate(m.indptr, m.indices, m.data, cols))
        assert _folded_determined(a).tolist() == plain.tolist() == _svd_determined(a).tolist(), a


def test_a_cycle_whose_signs_disagree_pins_its_cells() -> None:
    # x0 = x1, x1 = x2, x2 = −x0: so x0 = −x0, i.e. all three are 0; x3 = x4 stays free
    a = np.array([[1, -1, 0, 0, 0], [0, 1, -1, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 1, -1]],
                 dtype=float)
    assert _folded_determined(a).tolist() == [True, True, True, False, False]
    consistent = a.copy()
    consistent[2] = [1, 0, -1, 0, 0]  # x2 = x0 agrees with the chain: nothing is pinned
    assert not _folded_determined(consistent).any()


def test_twins_fold_into_one_column_and_repeated_rows_go() -> None:
    # force a, its twin a'; force b, its twin b'; region r = a + b; region twin r' = a' + b'
    # columns: a a' b b' r r'
    a = np.array([[1, -1, 0, 0, 0, 0], [0, 0, 1, -1, 0, 0], [0, 0, 0, 0, 1, -1],
                  [-1, 0, -1, 0, 1, 0], [0, -1, 0, -1, 0, 1]], dtype=float)
    folded = fold_pairs(sparse.csr_matrix(a))
    assert folded.matrix.shape == (1, 3)  # r = a + b, once
    assert folded.root[0] == folded.root[1] and folded.root[4] == folded.root[5]
    assert not _folded_determined(a).any()


def _twin_table(values: np.ndarray) -> tuple[np.ndarray, dc.Relations]:
    """Areas × categories with area totals, a region (sum of the areas) and a twin of
    every cell (an equality), as the published set has: cells numbered area-major."""
    areas, cats = values.shape
    grid = np.zeros((areas + 1, cats + 1))
    grid[:areas, :cats] = values
    grid[:areas, cats] = values.sum(1)
    grid[areas] = grid[:areas].sum(0)
    n = grid.size
    cell = np.arange(n).reshape(grid.shape)
    rel, member, coef = [], [], []

    def add(total: int, parts: np.ndarray) -> None:
        rid = len(set(rel))
        rel.extend([rid] * (parts.size + 1))
        member.extend([total, *parts.tolist()])
        coef.extend([1.0] + [-1.0] * parts.size)

    for i in range(areas + 1):
        add(int(cell[i, cats]), cell[i, :cats])
    for j in range(cats + 1):
        add(int(cell[areas, j]), cell[:areas, j])
    for k in range(n):  # the twin of cell k is cell n + k
        add(n + k, np.array([k]))
    return np.r_[grid.ravel(), grid.ravel()], dc.Relations.build(rel, member, coef)


def _unknown_svd_recovers(mask: np.ndarray, values: np.ndarray,
                          relations: dc.Relations) -> np.ndarray:
    """Independent of the code under test: dense SVD on the relations restricted to the
    hidden cells (a cell is recovered iff no null vector moves it)."""
    hidden = np.flatnonzero(mask)
    a = np.zeros((relations.count, values.size))
    np.add.at(a, (relations.relation, relations.cell), relations.coef)
    out = np.zeros(values.size, dtype=bool)
    out[hidden] = _svd_determined(a[:, hidden])
    return out


def test_protection_with_twins_leaves_no_primary_recoverable_and_no_zero_complement() -> None:
    rng = np.random.default_rng(12)
    for _ in range(12):
        table = rng.integers(0, 25, size=(int(rng.integers(2, 6)), int(rng.integers(2, 5))))
        table[rng.random(table.shape) < 0.25] = int(rng.integers(1, 5))
        values, relations = _twin_table(table.astype(float))
        primary = primary_suppression(values)
        mask = dc.protect(values, primary, relations)
        assert mask[primary].all()
        assert not _unknown_svd_recovers(mask, values, relations)[primary].any(), table
        assert _zeros_only_in_relations_hidden_whole(mask, values, relations), table


def _zeros_only_in_relations_hidden_whole(mask: np.ndarray, values: np.ndarray,
                                          relations: dc.Relations) -> bool:
    """A zero is never chosen as a complement: one is hidden only inside a relation that
    was hidden whole (decision 8)."""
    for z in np.flatnonzero(mask & (values == 0)):
        rels = np.unique(relations.relation[relations.cell == z])
        if not any(mask[relations.cell[relations.relation == r]].all() for r in rels):
            return False
    return True


def test_a_measure_gets_the_same_hidden_cells_whatever_is_protected_beside_it() -> None:
    rng = np.random.default_rng(5)
    parts = []
    for _ in range(4):
        table = rng.integers(0, 25, size=(int(rng.integers(2, 6)), int(rng.integers(2, 5))))
        table[rng.random(table.shape) < 0.3] = int(rng.integers(1, 5))
        parts.append(_twin_table(table.astype(float)))
    alone = [dc.protect(v, primary_suppression(v), r) for v, r in parts]
    offset, rel_off = 0, 0
    vals, rels, cells, coefs = [], [], [], []
    for v, r in parts:
        vals.append(v)
        rels.append(r.relation + rel_off)
        cells.append(r.cell + offset)
        coefs.append(r.coef)
        offset += v.size
        rel_off += r.count
    values = np.concatenate(vals)
    together = dc.protect(values, primary_suppression(values), dc.Relations.build(
        np.concatenate(rels), np.concatenate(cells), np.concatenate(coefs)))
    assert together.tolist() == np.concatenate(alone).tolist()
    assert dc.protect(values, primary_suppression(values), dc.Relations.build(
        np.concatenate(rels), np.concatenate(cells), np.concatenate(coefs))).tolist() == \
        together.tolist()
