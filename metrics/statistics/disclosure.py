"""Disclosure control over a whole published set: linear relations, protection, attack.

Pure and vectorised (numpy). Cells are numbered 0…n−1; what ties them together
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
from functools import cached_property

import numpy as np
import numpy.typing as npt

from metrics.statistics import exact_recovery as exact
from metrics.statistics.disclosure_blocks import unknown_blocks
from metrics.statistics.disclosure_repair import LOCAL_CELLS, MemberIndex, leak_complements
from metrics.statistics.disclosure_stable import Earlier, touched
from metrics.statistics.disclosure_windows import WindowPieces

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]



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
        if r.size:  # relation ids 0…m−1 without gaps, in the order of the ids given
            r = _dense_ranks(r)
        return Relations(r.astype(np.int64), c, k)

    @cached_property
    def count(self) -> int:
        return int(self.relation.max()) + 1 if self.relation.size else 0

    def unknowns_per_relation(self, unknown: BoolArray) -> IntArray:
        return np.bincount(self.relation[unknown[self.cell]], minlength=self.count)


def _dense_ranks(ids: IntArray) -> IntArray:
    """Each id's rank among the distinct ids (``np.unique``'s inverse), by counting when
    the ids are small numbers, as relation ids are."""
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high > 4 * ids.size:
        return np.unique(ids, return_inverse=True)[1].astype(np.int64)
    present = np.bincount(ids, minlength=high + 1) > 0
    return (np.cumsum(present) - 1)[ids]


@dataclass(frozen=True)
class Attack:
    """Which suppressed cells an attack recovers, and how far it could look."""

    recovered: BoolArray
    largest_block: int = 0


def holding(relations: Relations, values: FloatArray) -> Relations:
    """The relations the values satisfy (or cannot be checked on: a missing member). One
    that fails is not an identity — say a quarter's breakdown where a category is published
    for one of its months only — and differencing with it gives a wrong answer, not the
    count: protection need not (and, since it cannot be met, must not) guard against it."""
    if relations.count == 0:
        return relations
    member_values = values[relations.cell]
    residual = np.bincount(relations.relation, weights=relations.coef * np.nan_to_num(
        member_values), minlength=relations.count)
    unknown = np.bincount(relations.relation, weights=np.isnan(member_values),
                          minlength=relations.count) > 0
    scale = np.bincount(relations.relation, weights=np.abs(np.nan_to_num(member_values)),
                        minlength=relations.count)
    ok = unknown | (np.abs(residual) <= 1e-9 * np.maximum(scale, 1.0))
    if ok.all():
        return relations
    keep = ok[relations.relation]
    return Relations.build(relations.relation[keep], relations.cell[keep],
                           relations.coef[keep])


def _check(values: FloatArray, mask: BoolArray, relations: Relations) -> None:
    if mask.size != values.size:
        raise ValueError("values and the suppression mask must have the same length")
    if relations.cell.size and (relations.cell.min() < 0 or relations.cell.max() >= values.size):
        raise ValueError("a relation names a cell outside the values")


def _complements(values: FloatArray, hidden: BoolArray, relations: Relations,
                 lone: BoolArray, opens: FloatArray | None = None) -> IntArray:
    """For each relation flagged ``lone``, the cell to hide beside its one unknown: a
    non-zero visible part, else the total (coef > 0) if non-zero; of those, the one that
    leaves the fewest other relations with a lone hidden cell (``opens``: per cell, its
    relations with no unknown yet), then the smallest; ties: lowest index."""
    members = np.flatnonzero(lone[relations.relation])
    cells = relations.cell[members]
    usable = ~hidden[cells] & ~np.isnan(values[cells]) & (values[cells] != 0)
    members, cells = members[usable], cells[usable]
    if members.size == 0:
        return np.empty(0, dtype=np.int64)
    is_total = relations.coef[members] > 0
    rel = relations.relation[members]
    cost = np.zeros(cells.size) if opens is None else opens[cells]
    order = np.lexsort((cells, np.abs(values[cells]), cost, is_total, rel))
    ordered_rel = rel[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = ordered_rel[1:] != ordered_rel[:-1]
    return np.unique(cells[order][first])


def protect(values: npt.ArrayLike, primary: npt.ArrayLike, relations: Relations, *,
            windows: WindowPieces | None = None,
            contains: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            earlier: Earlier | None = None, max_rounds: int = 50) -> BoolArray:
    """The suppression mask: ``primary`` plus complements so that :func:`linear_attack`
    recovers no primary cell (inputs are not modified). A complement may itself be worked
    out (a large count hidden beside a small one discloses nothing); the small one may not.

    ``windows``, if given: overlapping windows (rolling 12 months, calendar years) are
    withheld unless they are sums of visible cells, and relations among windows alone get
    no complement of their own (:mod:`metrics.statistics.disclosure_windows`).
    ``contains`` (outer cells, inner cells): decision 8's older rule instead, an outer cell
    withheld whenever an inner one is. ``earlier``: a plan made before over the same cells,
    whose complements are kept and whose unchanged blocks are not attacked again
    (:mod:`metrics.statistics.disclosure_stable`).

    Each round gives every relation left with one hidden cell a complement, then runs the
    exact attack; each primary it recovers gets one more complement in every relation
    holding it (or, where none is left to choose, the relations are hidden whole, then
    their neighbours'). Hiding more never reveals more, so a primary found safe stays safe
    and later rounds attack only the blocks of the primaries recovered the round before.
    Zeros are never chosen as complements (they give no protection); a relation hidden
    whole hides its zeros too.
    """
    vals = np.asarray(values, dtype=np.float64).ravel()
    mask = np.asarray(primary, dtype=bool).ravel().copy()
    _check(vals, mask, relations)
    missing = np.isnan(vals)
    mask &= ~missing
    primary_mask = mask.copy()
    relations = holding(relations, vals)
    if relations.count == 0 or not mask.any():
        return mask
    if earlier is not None:
        mask |= earlier.seed(vals)
    if windows is None:
        windows = WindowPieces.containing(vals.size, *(contains or ([], [])))
    plan = _Plan(vals, missing, relations, windows)
    targets = primary_mask
    widened = np.zeros_like(mask)
    attacked: BoolArray | None = None  # this round's attack, when the repair made it
    for round_ in range(max_rounds):
        plan.settle(mask)
        scope = touched(earlier, mask, relations) if earlier is not None and round_ == 0 \
            else None
        exposed = (attacked if attacked is not None else
                   linear_attack(mask, relations, missing=missing, targets=targets,
                                 changed=scope).recovered) & targets
        if not exposed.any():
            return mask
        before = int(mask.sum())
        attacked = _repair(plan, mask, exposed, max_rounds)
        if int(mask.sum()) == before:
            _widen(vals, mask, missing, relations, exposed, whole=bool((exposed & widened).any()))
            widened |= exposed
        targets = exposed
    raise RuntimeError(f"secondary suppression did not settle in {max_rounds} rounds")


REPROVE_AT_MOST = 64


def _repair(plan: _Plan, mask: BoolArray, exposed: BoolArray, max_rounds: int
            ) -> BoolArray | None:
    """Hide a term of a proof of each exposed cell, again while proofs are found (a cell
    may have several) for up to ``REPROVE_AT_MOST`` cells: most proofs break at the first
    term, and past that many cells one attack finds the few still exposed sooner than a
    proof search round each (it finds none for a safe cell).

    Before seeking proofs again, the cells still recovered are found by attacking their
    blocks when none is larger than the search would look (``LOCAL_CELLS``): a cell no
    combination of the relations yields has no proof to find, and one elimination per
    block costs less than a widening search per cell. When that attack leaves nothing to
    prove, it is the next round's attack on the same mask: it is returned (else None)."""
    proved = exposed
    for _ in range(max_rounds):
        terms, proved = leak_complements(plan.vals, mask, plan.missing, plan.relations,
                                         proved, index=plan.index)
        mask[terms] = True
        plan.settle(mask)
        if terms.size == 0 or int(proved.sum()) > REPROVE_AT_MOST:
            return None
        again = _attack(mask, plan.relations, plan.missing, exposed, None, LOCAL_CELLS)
        if again is not None:
            proved = proved & again
            if not proved.any():
                return again
    return None


def _widen(vals: FloatArray, mask: BoolArray, missing: BoolArray, relations: Relations,
           exposed: BoolArray, *, whole: bool = False) -> None:
    """Hide at least one more cell beside the ``exposed`` ones (no proof was found near
    them): a non-zero complement in each relation holding one; else (or at once if
    ``whole``: a cell a complement each did not protect the round before, whose proof is
    far — each further round is another attack on its whole block) those relations whole;
    else their neighbours'."""
    before = int(mask.sum())
    frontier = exposed.copy()
    while True:
        touched = np.zeros(relations.count, dtype=bool)
        touched[relations.relation[frontier[relations.cell]]] = True
        if not whole:
            mask[_complements(vals, mask, relations, touched)] = True
        whole = False  # further out, complements first again
        if int(mask.sum()) > before:
            return
        members = touched[relations.relation] & ~missing[relations.cell]
        mask[relations.cell[members]] = True
        if int(mask.sum()) > before:
            return
        wider = frontier.copy()
        wider[relations.cell[touched[relations.relation]]] = True
        if np.array_equal(wider, frontier):
            raise RuntimeError("a suppressed count cannot be protected: every cell related "
                               "to it is hidden or missing and it is still determined")
        frontier = wider


class _Plan:
    """What stays fixed while a mask grows: the values, the missing cells, the relations
    (and which join windows alone) and the windows' pieces."""

    def __init__(self, vals: FloatArray, missing: BoolArray, relations: Relations,
                 windows: WindowPieces) -> None:
        self.vals, self.missing, self.relations, self.windows = vals, missing, relations, windows
        self.exempt = windows.with_window(relations)

    @cached_property
    def index(self) -> MemberIndex:
        """The relations' members by cell and by relation, for every proof search."""
        return MemberIndex(self.relations, self.vals.size)

    def settle(self, mask: BoolArray) -> None:
        """Complements until no relation has a lone hidden cell (but those holding a
        window) and every visible window is a sum of visible cells."""
        while True:
            self.fill_lone_relations(mask)
            spread = self.windows.to_hide(mask, self.missing)
            if spread.size == 0:
                return
            mask[spread] = True

    def fill_lone_relations(self, mask: BoolArray) -> None:
        relations = self.relations
        while True:
            unknowns = relations.unknowns_per_relation(mask | self.missing)
            # Only relations whose lone unknown is a suppressed cell (a missing one hides
            # nothing), and none holding a window (WindowPieces.with_window).
            lone = (unknowns == 1) & (relations.unknowns_per_relation(mask) == 1) & ~self.exempt
            if not lone.any():
                return
            opens = np.bincount(relations.cell, weights=((unknowns == 0) & ~self.exempt)[
                relations.relation], minlength=mask.size)
            extra = _complements(self.vals, mask, relations, lone, opens)
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
                  targets: npt.ArrayLike | None = None,
                  changed: npt.ArrayLike | None = None) -> Attack:
    """Suppressed cells determined by some linear combination of the relations.

    Every relation becomes an equation in the unknown cells (the visible ones are
    constants). After peeling, the unknowns split into blocks that share no relation; in
    each, cell j is determined iff every null vector of the block's matrix is zero at j,
    decided exactly (:mod:`metrics.statistics.exact_recovery`) whatever the block's size.
    ``targets`` (default: every hidden cell) limits the work to blocks holding a target
    cell, and ``changed`` to blocks holding a changed cell (used while protecting: a block
    with no new cell since the last check is as it was).
    """
    hid = np.asarray(hidden, dtype=bool).ravel()
    miss = np.zeros_like(hid) if missing is None else np.asarray(missing, dtype=bool).ravel()
    want = hid if targets is None else hid & np.asarray(targets, dtype=bool).ravel()
    largest: list[int] = []
    recovered = _attack(hid, relations, miss, want,
                        None if changed is None else np.asarray(changed, dtype=bool).ravel(),
                        None, largest)
    assert recovered is not None  # no size limit
    return Attack(recovered, largest[0] if largest else 0)


def _attack(hid: BoolArray, relations: Relations, miss: BoolArray, want: BoolArray,
            changed: BoolArray | None, most: int | None,
            largest: list[int] | None = None) -> BoolArray | None:
    """:func:`linear_attack`'s recovered cells; None, before any elimination, if a block
    it would check has more than ``most`` unknowns. ``largest`` gets the largest block's
    size (when there are blocks)."""
    recovered = peeling_attack(hid, relations, missing=miss).recovered
    unknown = (hid | miss) & ~recovered
    if not (want & unknown).any() or relations.count == 0:
        return recovered
    blocks = unknown_blocks(unknown, relations)
    if largest is not None:
        largest.append(int(blocks.sizes().max(initial=0)))
    chosen = np.zeros(blocks.count, dtype=bool)
    chosen[blocks.block_of[want[blocks.cols]]] = True
    if changed is not None:
        touched = np.zeros(blocks.count, dtype=bool)
        touched[blocks.block_of[changed[blocks.cols]]] = True
        chosen &= touched
    if most is not None and (blocks.sizes()[chosen] > most).any():
        return None
    for b in np.flatnonzero(chosen):
        sub, _ = blocks.matrix(int(b))
        fixed = exact.determined_columns(sub.indptr, sub.indices, sub.data, sub.shape[1])
        cells = blocks.cols[blocks.columns(int(b))[fixed]]
        recovered[cells[hid[cells]]] = True
    return recovered
