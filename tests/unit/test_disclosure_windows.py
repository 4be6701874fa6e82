"""Overlapping windows and complements in whole-set disclosure control (decision 26).

A rolling year or calendar year that is a sum of visible cells stays published; relations
holding a window get no complement of their own; a complement closing two relations beats a
smaller one that opens another. The exact attack still recovers nothing.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from metrics.disclosure_relations import (
    overlapping_windows,
    relations_for,
    window_pieces,
    with_cell_keys,
)
from metrics.statistics import disclosure as dc
from metrics.statistics import primary_suppression
from metrics.statistics.disclosure_windows import WindowPieces

FORCES = ("E23000001", "E23000002", "E23000003")
REGION = "E12000009"
NO_AREAS = pl.DataFrame(schema={"area_code": pl.String, "strategy": pl.Int32,
                                "source_area_code": pl.String, "set_size": pl.Int32})
REGION_OF_FORCES = pl.DataFrame({
    "area_code": [REGION] * 3, "strategy": [2] * 3, "source_area_code": list(FORCES),
    "set_size": [3] * 3})


def _month_end(index: int) -> date:
    year, month = divmod(index + 1, 12)
    return date(year, month + 1, 1).fromordinal(date(year, month + 1, 1).toordinal() - 1)


def _start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _cells(monthly: dict[str, list[float]], first: int, *, months: bool = True
           ) -> pl.DataFrame:
    """Every month (optional), quarter, financial year, calendar year and rolling year of
    each area's monthly series, starting at month index ``first`` (year·12 + month − 1)."""
    rows = []
    for area, values in monthly.items():
        n = len(values)
        for s in range(n):
            for length in (1, 3, 12):
                if s + length > n:
                    continue
                start = first + s
                if length == 1 and not months:
                    continue
                if length == 3 and start % 3:
                    continue
                rows.append((area, _start(start), _month_end(start + length - 1),
                             float(sum(values[s:s + length]))))
    frame = pl.DataFrame(rows, schema=["area_code", "period_start", "period_end", "value"],
                         orient="row")
    return with_cell_keys(frame.with_columns(
        pl.lit("trials").alias("series"), pl.lit("").alias("bdim"), pl.lit("").alias("bval"),
        pl.lit("sum").alias("aggregation"))).with_row_index("cell").with_columns(
        pl.col("cell").cast(pl.Int64))


def _plan(cells: pl.DataFrame, sources: pl.DataFrame, windows: WindowPieces
          ) -> tuple[np.ndarray, np.ndarray, dc.Relations]:
    values = cells["value"].to_numpy()
    primary = primary_suppression(values)
    relations = relations_for(cells, sources)
    return dc.protect(values, primary, relations, windows=windows), primary, relations


def _old_rule(cells: pl.DataFrame) -> WindowPieces:
    window, inside = overlapping_windows(cells)
    return WindowPieces.containing(cells.height, window.to_numpy(), inside.to_numpy())


def test_a_window_made_of_shown_quarters_stays_published() -> None:
    # April 2023 to March 2026, one small month (June 2024) in an area of large months
    values = [40.0 + (i * 7) % 11 for i in range(36)]
    values[14] = 2.0
    cells = _cells({FORCES[0]: values}, 2023 * 12 + 3)
    new, primary, relations = _plan(cells, NO_AREAS, window_pieces(cells))
    old, _, _ = _plan(cells, NO_AREAS, _old_rule(cells))
    assert not dc.linear_attack(new, relations).recovered[primary].any()
    windows = cells.with_columns(pl.Series("hidden", new)).filter(
        (pl.col("months") == 12) & (pl.col("s_idx") % 12 != 3))
    june = 2024 * 12 + 5
    holding = windows.filter((pl.col("s_idx") <= june) & (pl.col("s_idx") + 11 >= june))
    assert holding.height >= 4
    # the windows holding the whole of April–June 2024 are sums of shown quarters
    whole = holding.filter(pl.col("s_idx") <= june - 2)
    assert whole.height > 0 and not whole["hidden"].any()
    # the rest cut the quarter and are withheld; decision 8's rule withheld them all
    assert holding.filter(pl.col("s_idx") > june - 2)["hidden"].all()
    assert int(new.sum()) < int(old.sum())
    assert old[cells.select((pl.col("months") == 12) & (pl.col("s_idx") <= june)
                            & (pl.col("s_idx") + 11 >= june) & (pl.col("s_idx") % 12 != 3)
                            ).to_series().to_numpy()].all()


def test_relations_among_windows_get_no_complement_of_their_own() -> None:
    # quarterly counts of three forces and their region: a small quarter in the first
    monthly = {f: [10.0 + (3 * i + 5 * k) % 7 for i in range(36)] for k, f in enumerate(FORCES)}
    monthly[FORCES[0]][18:21] = [1.0, 1.0, 1.0]  # October–December 2023: 3
    monthly[REGION] = [sum(monthly[f][i] for f in FORCES) for i in range(36)]
    cells = _cells(monthly, 2022 * 12 + 3, months=False)
    new, primary, relations = _plan(cells, REGION_OF_FORCES, window_pieces(cells))
    old, _, _ = _plan(cells, REGION_OF_FORCES, _old_rule(cells))
    assert not dc.linear_attack(new, relations).recovered[primary].any()
    hidden_windows = window_pieces(cells).is_window & new
    assert hidden_windows.any()  # the rolling years holding a hidden quarter
    # no window of the two forces left visible was hidden as a complement
    untouched = cells.with_columns(pl.Series("hidden", new)).group_by("area_code").agg(
        pl.col("hidden").filter(pl.col("months") == 3).any().alias("quarter_hidden"),
        pl.col("hidden").filter(pl.col("months") == 12).any().alias("window_hidden"))
    assert untouched.filter(~pl.col("quarter_hidden"))["window_hidden"].sum() == 0
    assert int(new.sum()) <= int(old.sum())


def test_a_complement_that_closes_two_relations_beats_a_smaller_one() -> None:
    # rows r1, r2 × columns c1..c3 with row and column totals; x(r1, c1) = 2 is primary
    grid = np.array([[2.0, 10.0, 9.0], [20.0, 5.0, 50.0]])
    values = list(grid.ravel()) + list(grid.sum(axis=1)) + list(grid.sum(axis=0))
    relation, cell, coef = [], [], []
    for r in range(2):  # row totals at 6, 7
        relation += [r] * 4
        cell += [6 + r, 3 * r, 3 * r + 1, 3 * r + 2]
        coef += [1, -1, -1, -1]
    for c in range(3):  # column totals at 8, 9, 10
        relation += [2 + c] * 3
        cell += [8 + c, c, 3 + c]
        coef += [1, -1, -1]
    relations = dc.Relations.build(relation, cell, coef)
    vals = np.array(values)
    mask = dc.protect(vals, primary_suppression(vals), relations)
    # x(r1, c3) closes row 1, x(r2, c1) column 1, then x(r2, c3) closes row 2 and column 3
    # at once (the smaller x(r2, c2) = 5 would open column 2 and cost two more cells)
    assert np.flatnonzero(mask).tolist() == [0, 2, 3, 5]
    assert not dc.linear_attack(mask, relations).recovered[0]
