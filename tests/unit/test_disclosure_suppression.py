"""Suppression over the whole published set, and the audit that attacks it (decision 8).

A hand-made table where the old scheme (secondary suppression only within one area-period
breakdown) leaks a count by differencing the region, and the new one does not.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from metrics.disclosure_audit import audit
from metrics.disclosure_relations import overlapping_windows, relations_for, with_cell_keys
from metrics.registry import load_registry
from metrics.statistics import disclosure as dc
from metrics.statistics import primary_suppression, secondary_suppression
from metrics.statistics.disclosure_solve import solve_recovered

# Three forces and their region, one quarter, charge-rate numerator by offence group.
FORCES = ("E23000001", "E23000002", "E23000003")
REGION = "E12000009"
AREA_SOURCES = pl.DataFrame({
    "area_code": [REGION] * 3, "strategy": [2] * 3, "source_area_code": list(FORCES),
    "set_size": [3] * 3,
})
BY_FORCE = {  # offence group → counts for the three forces
    "violence": (3, 10, 12), "theft": (20, 30, 41), "other": (8, 9, 7),
}


def _cells() -> pl.DataFrame:
    rows = []
    for i, area in enumerate(FORCES):
        rows.append((area, "", "", sum(v[i] for v in BY_FORCE.values())))
        rows += [(area, "offence_group", g, v[i]) for g, v in BY_FORCE.items()]
    rows.append((REGION, "", "", sum(sum(v) for v in BY_FORCE.values())))
    rows += [(REGION, "offence_group", g, sum(v)) for g, v in BY_FORCE.items()]
    frame = pl.DataFrame(rows, schema=["area_code", "bdim", "bval", "value"], orient="row")
    return with_cell_keys(frame.with_columns(
        pl.lit("crime_outcomes_charged").alias("series"), pl.lit("sum").alias("aggregation"),
        pl.lit(date(2024, 4, 1)).alias("period_start"),
        pl.lit(date(2024, 6, 30)).alias("period_end"),
        pl.col("value").cast(pl.Float64),
    )).with_row_index("cell")


def _old_scheme(cells: pl.DataFrame) -> np.ndarray:
    """Main before decision 8: within each area's breakdown only; totals on their own."""
    values = cells["value"].to_numpy()
    groups = cells.select(pl.when(pl.col("bdim") == "").then(pl.col("cell").cast(pl.String))
                          .otherwise(pl.col("area_code"))).to_series().to_numpy()
    return secondary_suppression(values, primary_suppression(values), groups)


def _published(cells: pl.DataFrame, mask: np.ndarray) -> pl.DataFrame:
    """The cells as the pages publish them: charge_rate's numerator column."""
    return cells.select(
        pl.lit("charge_rate").alias("indicator"), "area_code", "period_start", "period_end",
        "bdim", pl.col("bval").alias("breakdown"),
        pl.when(pl.Series(mask)).then(None).otherwise(pl.col("value")).alias("numerator"),
        pl.when(pl.Series(mask)).then(None).otherwise(pl.col("value") * 10).alias("denominator"),
        pl.Series("suppressed", mask),
    )


def test_old_scheme_leaks_by_differencing_the_region_and_the_audit_finds_it() -> None:
    cells = _cells()
    old = _old_scheme(cells)
    assert int(old.sum()) == 2  # violence 3 and its complement in the first force
    result = audit([_published(cells, old)], load_registry(), AREA_SOURCES, threshold=5)
    found = result.disclosures.select("area_code", "bval", "recovered_value").rows()
    assert (FORCES[0], "violence", 3.0) in found


def test_whole_set_protection_leaves_nothing_to_recover() -> None:
    cells = _cells()
    values = cells["value"].to_numpy()
    relations = relations_for(cells, AREA_SOURCES)
    mask = dc.protect(values, primary_suppression(values), relations)
    assert mask[primary_suppression(values)].all()
    assert not dc.linear_attack(mask, relations).recovered[primary_suppression(values)].any()
    result = audit([_published(cells, mask)], load_registry(), AREA_SOURCES, threshold=5)
    assert int(mask.sum()) >= 4
    assert result.suppressed == 2 * int(mask.sum())  # numerator and denominator cells
    assert result.disclosures.height == 0


def test_a_zero_is_never_the_complement() -> None:
    # total 3 = 3 + 0: hiding the zero would protect nothing; the total is withheld instead
    values = np.array([3.0, 3.0, 0.0])
    relations = dc.Relations.build([0, 0, 0], [0, 1, 2], [1, -1, -1])
    mask = dc.protect(values, primary_suppression(values), relations)
    assert mask.tolist() == [True, True, False]
    values = np.array([13.0, 3.0, 0.0, 10.0])
    relations = dc.Relations.build([0] * 4, [0, 1, 2, 3], [1, -1, -1, -1])
    assert dc.protect(values, primary_suppression(values), relations).tolist() == [
        False, True, False, True]


def test_linear_attack_finds_what_peeling_misses() -> None:
    # a + b = 10, a + b + c = 14 (both relations have two or more unknowns), so c = 4
    relations = dc.Relations.build([0, 0, 0, 1, 1, 1, 1], [0, 1, 2, 3, 1, 2, 4],
                                   [1, -1, -1, 1, -1, -1, -1])
    hidden = np.array([False, True, True, False, True])
    assert not dc.peeling_attack(hidden, relations).recovered.any()
    found = dc.linear_attack(hidden, relations).recovered
    assert found.tolist() == [False, False, False, False, True]
    shown = np.array([10.0, np.nan, np.nan, 14.0, np.nan])
    assert abs(solve_recovered(shown, hidden, relations, found)[4] - 4.0) < 1e-9


def test_overlapping_windows_withheld_with_what_is_inside() -> None:
    # quarters of 2023 and 2024 and the rolling year to June 2024: Q2 2024 primary
    quarters = [(date(y, m, 1), date(y, m + 2, 30 if m in (4, 7) else 31)) for y in (2023, 2024)
                for m in (1, 4, 7, 10)]
    rows = [(s, e, 20.0 + i) for i, (s, e) in enumerate(quarters)]
    rows[5] = (rows[5][0], rows[5][1], 2.0)
    rows.append((date(2023, 7, 1), date(2024, 6, 30), sum(r[2] for r in rows[2:6])))
    frame = pl.DataFrame(rows, schema=["period_start", "period_end", "value"], orient="row")
    cells = with_cell_keys(frame.with_columns(
        pl.lit("arrests").alias("series"), pl.lit("E23000001").alias("area_code"),
        pl.lit("").alias("bdim"), pl.lit("").alias("bval"), pl.lit("sum").alias("aggregation"),
    )).with_row_index("cell")
    relations = relations_for(cells, AREA_SOURCES.head(0))
    window, inside = overlapping_windows(cells)
    values = cells["value"].to_numpy()
    mask = dc.protect(values, primary_suppression(values), relations,
                      contains=(window.to_numpy(), inside.to_numpy()))
    assert mask[-1]  # the rolling year holding the small quarter is withheld
    assert not dc.linear_attack(mask, relations).recovered[5]
