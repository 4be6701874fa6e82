"""Which areas a load changed, measure by measure: ``mart.area_prints``.

An area's figures depend on the other areas' only through whole-set disclosure control: its
rows in the area rollup (``core.area_observations``, where a region's and England and Wales's
rows are already the sums of theirs), the populations, the targets set for it or nationally,
the sources and the registry. So when a load changed only some areas' rows of a measure — a
board's latest quarter — the figures, stage counts and coverage of that measure need
recomputing for those areas only: their own rows changed, and so did the rows of the areas
summed from them (their region, England and Wales), whose prints change with them.

``mart.area_prints`` keeps a print per measure × area of its rollup rows (count, and the sum
and XOR of a hash of every column of every row), written in the refresh's transaction with
the figures. :func:`changes` compares the prints of the measures whose fingerprint changed
(:func:`metrics.mart.fingerprints`) with the stored ones and gives the areas that differ;
a measure without stored prints (a mart older than the table, a measure new to it, a full
refresh) counts as changed in every area (``None``). :func:`whole` says which indicators must
still be recomputed in every area (decision 0028).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch, insert_frame
from metrics.registry import Indicator

DDL = ("CREATE TABLE IF NOT EXISTS mart.area_prints (measure VARCHAR NOT NULL, "
       "area_code VARCHAR NOT NULL, print VARCHAR NOT NULL)")
PRINTS_SQL = """
SELECT o.measure, o.area_code, concat_ws(':', count(*), bit_xor(hash(o)), sum(hash(o))) AS print
FROM core.area_observations AS o
WHERE list_contains($1, o.measure)
GROUP BY o.measure, o.area_code
"""
"""Each area's print of each measure bound as $1: every column of every row counts."""
WHOLE_KEYS = frozenset({"registry", "options", "areas", "sources"})
"""Fingerprints whose change recomputes every indicator in every area."""
_SCHEMA = {"measure": pl.String(), "area_code": pl.String(), "print": pl.String()}


@dataclass
class AreaChanges:
    """What a refresh found changed, per measure: ``areas[m]`` is the areas whose rows of
    ``m`` differ from the stored prints (``None``: every area)."""

    areas: dict[str, frozenset[str] | None] = field(default_factory=dict)
    prints: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_SCHEMA))
    """The examined measures' prints now (stored by :func:`store`)."""
    full: bool = False
    scoped_plans: set[str] = field(default_factory=set)
    """Re-planned measures (whole-set disclosure) whose changed areas include every area
    where the plan changed (:func:`widen`): recomputed there, not everywhere."""
    moved: dict[str, frozenset[str]] = field(default_factory=dict)
    """Re-planned measures whose rows did not change (a fresh plan asked for), and the areas
    in which their withheld cells moved (:func:`widen`)."""

    def of(self, measures: Iterable[str]) -> frozenset[str] | None:
        """The areas in which any of ``measures`` changed (``None``: every area)."""
        found: set[str] = set()
        for m in measures:
            if m in self.areas:
                areas = self.areas[m]
                if areas is None:
                    return None
                found |= areas
            found |= self.moved.get(m, frozenset())
        return frozenset(found)


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def changes(con: duckdb.DuckDBPyConnection, before: dict[str, str], now: dict[str, str], *,
            full: bool = False, create: bool = True) -> AreaChanges:
    """The areas changed per measure whose fingerprint changed (every measure when ``full``).
    ``create=False``: the mart's table is there already (a read-only connection)."""
    if create:
        ensure_table(con)
    measures = sorted({k.split(":", 1)[1] for k in before.keys() | now.keys()
                       if k.startswith("measure:") and (full or before.get(k) != now.get(k))})
    found = AreaChanges(full=full)
    if not measures:
        return found
    found.prints = _frame(fetch(con, PRINTS_SQL, [measures]))
    if full:
        found.areas = dict.fromkeys(measures)
        return found
    stored = _frame(fetch(con, "SELECT measure, area_code, print FROM mart.area_prints "
                               "WHERE list_contains($1, measure)", [measures]))
    held = set(stored["measure"].unique().to_list())
    differ = found.prints.join(stored, on=["measure", "area_code"], how="full",
                               coalesce=True, suffix="_was").filter(
        pl.col("print").ne_missing(pl.col("print_was")))
    for m in measures:
        areas = differ.filter(pl.col("measure") == m)["area_code"].to_list()
        found.areas[m] = frozenset(areas) if m in held else None
    return found


def widen(found: AreaChanges, plan_areas: dict[str, frozenset[str]]) -> None:
    """Add to each re-planned measure's changed areas those in which its withheld cells
    changed: an area's figures depend on its own rows and on its own cells' plan only, so a
    new whole-set plan recomputes the areas it moved, not every area (decision 28). A
    measure whose areas are unknown (``None``) or not examined stays whole."""
    for measure, areas in plan_areas.items():
        if measure not in found.areas:  # its rows did not change: its prints stay as stored
            if areas:
                found.moved[measure] = areas
                found.scoped_plans.add(measure)
            continue
        held = found.areas[measure]
        if held is not None:
            found.areas[measure] = held | areas
            found.scoped_plans.add(measure)


def _frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.cast(_SCHEMA) if frame.height else pl.DataFrame(schema=_SCHEMA)  # type: ignore[arg-type]


def store(con: duckdb.DuckDBPyConnection, found: AreaChanges) -> None:
    """Replace the examined measures' prints (every print on a full refresh); inside the
    refresh's transaction."""
    if found.full:
        con.execute("DELETE FROM mart.area_prints")
    elif found.areas:
        con.execute("DELETE FROM mart.area_prints WHERE list_contains($1, measure)",
                    [sorted(found.areas)])
    insert_frame(con, "mart.area_prints", found.prints.sort("measure", "area_code"))


def _changed(before: dict[str, str], now: dict[str, str], key: str) -> bool:
    return before.get(key) != now.get(key)


def whole(indicator: Indicator, before: dict[str, str], now: dict[str, str],
          found: AreaChanges, withheld_prefix: str) -> bool:
    """Whether ``indicator`` must be recomputed in every area: a full refresh, a change to
    what every area shares (registry, options, areas, sources), its targets (a national
    target holds everywhere), populations it divides by, a whole-set disclosure plan of one
    of its measures re-planned (the plan spans every area), or a measure changed where no
    prints were stored."""
    if found.full or any(_changed(before, now, k) for k in WHOLE_KEYS):
        return True
    if _changed(before, now, f"targets:{indicator.id}"):
        return True
    if indicator.population_denominator and _changed(before, now, "populations"):
        return True
    if any(_changed(before, now, f"{withheld_prefix}{m}") and m not in found.scoped_plans
           for m in indicator.measures):
        return True
    return found.of(indicator.measures) is None
