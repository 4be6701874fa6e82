"""A whole-set plan that keeps its earlier choices: re-planning only what a load touched.

Protection (:func:`metrics.statistics.disclosure.protect`) chooses complements greedily over
every cell of a measure. Planned afresh after a board's revised quarter, the choices shift
everywhere: on the demo warehouse one LCJB's quarter moved withheld cells in 94 of 99 areas,
so every area's figures were recomputed and a figure published last month could be withheld
this month for no change of its own (and the reverse, which an analyst holding both vintages
could difference).

An :class:`Earlier` plan over the same cells lets protection start where it left off:

- its complements (secondary cells) stay withheld, unless a changed value made one zero (a
  zero protects nothing), and every primary is decided afresh from the values as they are
  now;
- the exact attack need only look at the blocks of unknowns that hold a cell whose value or
  relations may differ from when the earlier plan was made (``same`` false: the areas whose
  rows a load changed), or a cell whose withheld status differs from it, or any cell sharing
  a relation with one of those (:func:`touched`): a relation that is new, dropped or no
  longer holds has such a member. Every other block is as it was when the earlier plan was
  shown safe — and hiding more never reveals more — so it is still safe.

So a revision's new complements are found next to the revision, the earlier ones stay
where they were, and the check costs the blocks the revision reaches (decision 32). The
price is that a complement no longer needed stays withheld until a fresh plan
(``cjsdash refresh --replan``, or any change of areas, sources or the protected measures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from metrics.statistics.disclosure import Relations

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Earlier:
    """An earlier plan laid over the same cells.

    ``hidden``: what it withheld; ``kept``: its complements to keep (withheld and not
    primary then); ``same``: cells whose value and whose relations' other members are known
    to be as they were (those of areas whose rows did not change)."""

    hidden: BoolArray
    kept: BoolArray
    same: BoolArray

    @staticmethod
    def build(hidden: npt.ArrayLike, kept: npt.ArrayLike, same: npt.ArrayLike) -> Earlier:
        h, k, s = (np.asarray(a, dtype=bool).ravel() for a in (hidden, kept, same))
        if not (h.size == k.size == s.size):
            raise ValueError("hidden, kept and same must have one flag per cell")
        return Earlier(h, k & h, s)

    def seed(self, values: npt.NDArray[np.float64]) -> BoolArray:
        """The complements to start from: kept, present, and not a zero whose value may have
        changed (a zero is never chosen as a complement; one the earlier plan withheld with
        its whole relation stays so while its area is unchanged)."""
        return self.kept & ~np.isnan(values) & (self.same | (np.nan_to_num(values) != 0))


def touched(earlier: Earlier, mask: BoolArray, relations: Relations) -> BoolArray:
    """Cells whose blocks the attack must check against ``mask``: those not ``same``, those
    whose withheld status differs from the earlier plan, and every cell sharing a relation
    with one of them."""
    moved = ~earlier.same | (mask != earlier.hidden)
    if relations.count == 0:
        return moved
    reached = np.zeros(relations.count, dtype=bool)
    reached[relations.relation[moved[relations.cell]]] = True
    out = moved.copy()
    out[relations.cell[reached[relations.relation]]] = True
    return out
