"""Computing the figure mart's rows and staging them (:mod:`metrics.mart`, decisions 0023, 0028).

:func:`stage` computes :func:`metrics.compute.compute_indicators`' rows for the indicators a
refresh recomputes — each scope of them (indicators, areas) for every grain and breakdown —
and inserts them with their display text (:data:`PRESENT_SQL`) into ``mart.figures_staged``
job by job, each insert committed and the frame let go (:mod:`metrics.mart_staging`);
:func:`metrics.mart.refresh` then swaps them in, in its one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import duckdb
import polars as pl

from metrics import mart_staging
from metrics.compute import RESULT_COLUMNS, compute_indicators
from metrics.compute_inputs import Inputs
from metrics.derive import RESULT_SCHEMA, label_periods
from metrics.options import Options
from metrics.registry import Indicator, Registry

GRAINS = ("quarter", "fy", "fquarter", "month", "year", "r12")
THREADS = max(1, min(2, os.cpu_count() or 1))
"""Grains and breakdowns computed side by side at a refresh."""
PRESENTATION_COLUMNS = ("indicator_title", "area_name", "display_value", "display_ci", "theme")
FIGURE_COLUMNS = (*RESULT_COLUMNS, *PRESENTATION_COLUMNS)
TABLE = "mart.figures"
CLUSTER = "grain, area_code, indicator, by_breakdown, breakdown, period_start"
"""The order staged figures are written in: the pages read one grain and area at a time, so
DuckDB reads a row group or two of the table, not every one (decision 0039)."""

_SQL_TYPES = {pl.String: "VARCHAR", pl.Date: "DATE", pl.Float64: "DOUBLE",
              pl.Boolean: "BOOLEAN"}


def figures_ddl() -> str:
    columns = [f"{name} {_SQL_TYPES[type(RESULT_SCHEMA[name])]}" for name in RESULT_COLUMNS]
    columns += [f"{name} VARCHAR" for name in PRESENTATION_COLUMNS]
    return (f"CREATE TABLE IF NOT EXISTS {TABLE} (grain VARCHAR NOT NULL, "
            "by_breakdown VARCHAR NOT NULL, " + ", ".join(columns) + ")")


def figures_for(con: duckdb.DuckDBPyConnection, registry: Registry, ids: Sequence[str],
                areas: Sequence[str], grain: str, by: str | None, options: Options,
                withheld: pl.DataFrame | None = None, inputs: Inputs | None = None
                ) -> pl.DataFrame:
    """compute_indicators' rows (RESULT_COLUMNS) for the mart, tagged with grain and by."""
    frame = compute_indicators(con, registry, list(ids), list(areas), grain=grain, by=by,
                               options=options, withheld=withheld, inputs=inputs)
    return frame.select(pl.lit(grain).alias("grain"), pl.lit(by or "").alias("by_breakdown"),
                        *RESULT_COLUMNS)


SAME_PERIODS = {"fquarter": "quarter"}
"""Grains whose periods are another grain's under other names: financial quarters are the
calendar quarters (Apr–Jun is 2024-25 Q1 and 2024 Q2), built from the same tiles, so their
figures are the quarter's relabelled, not computed again (decision 0023)."""


def relabelled(frame: pl.DataFrame, grain: str) -> pl.DataFrame:
    """:func:`figures_for`'s rows of the grain ``grain`` has the periods of, as ``grain``'s."""
    out = label_periods(frame.drop("period_label"), grain)
    return out.with_columns(pl.lit(grain).alias("grain")).select(frame.columns)


def _shown(x: str) -> str:
    """SQL for :func:`metrics.views.format_value` of column ``x`` (``i``: the indicator)."""
    return f"""CASE WHEN {x} IS NULL OR isnan({x}) THEN '–'
        WHEN i.unit = 'percent' THEN format('{{:,.' || i.decimals || 'f}}%', {x})
        WHEN i.unit = 'pounds' THEN '£' || format('{{:,.0f}}', {x})
        WHEN i.unit = 'count' THEN format('{{:,.0f}}', {x})
        WHEN i.unit = 'ratio' THEN format('{{:,.' || i.decimals || 'f}}×', {x})
        ELSE format('{{:,.' || i.decimals || 'f}}', {x}) END"""


PRESENT_SQL = f"""
SELECT r.grain, r.by_breakdown, {", ".join(f"r.{c}" for c in RESULT_COLUMNS)},
       i.title AS indicator_title, coalesce(a.name, r.area_code) AS area_name,
       CASE WHEN coalesce(r.suppressed, FALSE) THEN '[c]' ELSE {_shown("r.value")} END
           AS display_value,
       CASE WHEN r.lower IS NULL OR coalesce(r.suppressed, FALSE) OR isnan(r.lower) THEN ''
            ELSE {_shown("r.lower")} || ' to ' || {_shown("r.upper")} END AS display_ci,
       i.theme
FROM _mart_staged_rows AS r
JOIN _mart_indicators AS i ON i.id = r.indicator
LEFT JOIN core.areas AS a ON a.code = r.area_code
"""  # noqa: S608 - column names from RESULT_COLUMNS; every value comes from the frames
"""The display text, as :func:`metrics.views.present` writes it, in one pass of SQL."""


def _indicator_table(registry: Registry) -> pl.DataFrame:
    return pl.DataFrame(
        [(i.id, i.title, i.theme, i.unit, i.decimals) for i in registry.indicators],
        schema={"id": pl.String, "title": pl.String, "theme": pl.String, "unit": pl.String,
                "decimals": pl.Int64}, orient="row")


PARTS = 3
"""Each grain and breakdown of every area is computed for a third of the indicators at a
time: an indicator's figures do not depend on the others computed beside it, and a task's
polars intermediates shrink with it (decision 0023). A scope of fewer areas is split less."""
PART_ROWS = 150_000
"""Observations (of the area rollup) a part is computed from at most: a scope with fewer
(a year of street crime: 25,000; one area of the demo: 9,000) is computed whole in each grain
and breakdown, its inputs read once for all of them (:mod:`metrics.compute_inputs`). Split
in thirds, its tasks spent more on the steps each repeats (a query, a polars call: a few
milliseconds however few the rows) than on its figures; the demo's 890,000 are still split
in thirds."""


def parts(indicators: Sequence[Indicator], count: int = PARTS) -> list[list[str]]:
    """The indicators' ids in ``count`` groups, those sharing measures side by side."""
    ordered = sorted(indicators, key=lambda i: (min(i.measures, default=""), i.id))
    size = max(1, -(-len(ordered) // max(1, count)))
    return [[i.id for i in ordered[k:k + size]] for k in range(0, len(ordered), size)]


def observation_rows(con: duckdb.DuckDBPyConnection, indicators: Sequence[Indicator],
                     areas: Sequence[str]) -> int:
    """The area rollup's rows of the indicators' measures in ``areas`` (every breakdown)."""
    measures = sorted({m for i in indicators for m in i.measures})
    return int(con.execute(
        "SELECT count(*) FROM core.area_observations "
        "WHERE list_contains($1, area_code) AND list_contains($2, measure)",
        [list(areas), measures]).fetchall()[0][0])


Scope = tuple[list[Indicator], list[str] | None]
"""Indicators recomputed together, and the areas they are recomputed for (None: every area)."""
Task = tuple[str, str | None, list[str], list[str], Inputs]
"""A grain, a breakdown (None: none), the indicators, the areas, and where to read inputs."""


def tasks(con: duckdb.DuckDBPyConnection, registry: Registry, scopes: Sequence[Scope],
          every_area: list[str], grains: Sequence[str]) -> list[Task]:
    """Each scope's tasks: every grain, breakdown and part of its indicators (a part's
    grains side by side, so that a small scope's inputs are read once for all)."""
    out: list[Task] = []
    for indicators, scoped in scopes:
        areas = every_area if scoped is None else sorted(scoped)
        if not indicators or not areas:
            continue
        # a ratio's rows are computed under every breakdown asked for: all of them then
        ratios = any(i.comparison is not None for i in indicators)
        breakdowns = sorted({b for i in (registry.indicators if ratios else indicators)
                             for b in i.breakdowns})
        count = -(-PARTS * len(areas) // max(1, len(every_area)))  # fewer areas, fewer parts
        rows = observation_rows(con, indicators, areas)
        count = max(1, min(count, -(-rows // PART_ROWS)))
        inputs = Inputs(shared=count == 1, indicators=[i.id for i in indicators])
        out += [(grain, by, part, areas, inputs if count == 1 else Inputs())
                for by in (None, *breakdowns) for part in parts(indicators, count)
                for grain in grains]
    return out


def stage(con: duckdb.DuckDBPyConnection, registry: Registry, scopes: Sequence[Scope],
          every_area: list[str], options: Options, grains: Iterable[str],
          withheld: pl.DataFrame | None) -> int:
    """Compute every scope's figures for every grain and breakdown into the staging table
    (created empty here); the rows staged."""
    grains = tuple(grains)
    derived = {g: same for g, same in SAME_PERIODS.items() if {g, same} <= set(grains)}
    todo = tasks(con, registry, scopes, every_area, [g for g in grains if g not in derived])

    def compute(task: Task) -> list[pl.DataFrame]:
        cursor = con.cursor()  # one per thread: polars and DuckDB release the GIL
        try:
            frame = figures_for(cursor, registry, task[2], task[3], task[0], task[1],
                                options, withheld, task[4])
        finally:
            cursor.close()
        return [frame, *(relabelled(frame, g) for g, same in derived.items()
                         if same == task[0])]

    batches = mart_staging.Batches(con)
    staged = mart_staging.Staged(batches, TABLE, figures_ddl(), CLUSTER, PRESENT_SQL)
    rows = 0
    con.register("_mart_indicators", _indicator_table(registry).to_arrow())
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            for group in mart_staging.in_order(pool, compute, todo, THREADS):
                for frame in group:  # each staged as it comes (committed in batches), let go
                    rows += staged.insert(frame)
                del group
        mart_staging.finish(batches, [staged])
    except BaseException:
        batches.abandon()
        staged.abandon()
        raise
    finally:
        con.unregister("_mart_indicators")
    return rows


def gone(scopes: Sequence[Scope], everything: bool) -> tuple[str, list[object]]:
    """SQL (and its values) matching the rows of ``mart.figures`` the scopes replace."""
    if everything:
        return "TRUE", []
    terms: list[str] = []
    params: list[object] = []
    for indicators, areas in scopes:
        params.append([i.id for i in indicators])
        term = f"list_contains(${len(params)}, indicator)"
        if areas is not None:
            params.append(sorted(areas))
            term += f" AND list_contains(${len(params)}, area_code)"
        terms.append(f"({term})")
    return " OR ".join(terms) or "FALSE", params
