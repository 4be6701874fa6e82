"""Refreshing the figure mart's stage counts, populations and coverage after a load.

:func:`refresh_stages` runs inside :func:`metrics.mart.refresh`'s transaction, so a reader
sees the old figures, stage counts and coverage together or the new ones together. It
recomputes only what a load changed, from the fingerprints :func:`metrics.mart.fingerprints`
took (one per measure's rows in the area rollup, the populations, the areas, the sources):

- the stage counts of a stage (every area and grain) when the measure counting it changed
  (under self-defined ethnicity only the stages with a self-defined measure are stored); every stage when the areas, the sources (their
  priorities choose between them) or the stage declarations changed;
- the populations when the populations or the areas changed;
- the coverage cells of a measure (every area and coverage grain) when its rows changed;
  every measure when the areas or the sources (the synthetic mark) changed.

The tables are those of :mod:`metrics.mart_stage_reads`; the stamp written with them
(``version``) is what readers check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import polars as pl

from cjsdash.core.periods import GRAINS
from cjsdash.core.snapshots import STAMP_SQL
from metrics import mart_stage_reads as tables
from metrics.disproportionality.counts import _populations, _stage_counts
from metrics.provenance import COVERAGE_GRAINS, coverage_cells
from metrics.registry import Registry
from metrics.stages import Stages, default_stages

log = logging.getLogger(__name__)

DEFINITIONS = ("officer", "self")
"""The ethnicity definitions the disproportionality page offers."""
THREADS = 2
WHOLE = ("areas", "sources")
"""Fingerprints whose change recomputes every stage and every coverage cell."""


@dataclass
class StageReport:
    stages: dict[str, list[str]] = field(default_factory=dict)
    """definition → the stages recomputed."""
    populations: bool = False
    coverage: list[str] = field(default_factory=list)
    """The measures whose coverage was recomputed."""
    rows: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        if not (any(self.stages.values()) or self.populations or self.coverage):
            return "stage counts and coverage up to date"
        return (f"stage counts and coverage refreshed: {sum(map(len, self.stages.values()))} "
                f"stage × definition, {len(self.coverage)} measures' coverage, "
                f"{self.rows:,} rows in {self.seconds:.1f} s")


def stages_key(stages: Stages) -> str:
    return hashlib.sha256(stages.model_dump_json().encode()).hexdigest()[:16]


def coverage_measures(registry: Registry) -> list[str]:
    return sorted({i.numerator.measure for i in registry.indicators})


def _changed(before: dict[str, str], now: dict[str, str], keys: set[str]) -> set[str]:
    return {k for k in keys if before.get(k) != now.get(k)}


def plan(before: dict[str, str], now: dict[str, str], stages: Stages, measures: list[str],
         full: bool) -> StageReport:
    """What to recompute, from the stored fingerprints (``before``) and the warehouse's."""
    whole = full or bool(_changed(before, now, {*WHOLE, "stages"}))
    held = set(json.loads(before.get("coverage_measures", "[]")))
    report = StageReport()
    for definition in DEFINITIONS:
        report.stages[definition] = [  # self-defined: the stages with a measure of their own
            s.id for s in stages.counted()
            if (s.self_defined_measure if definition == "self" else s.measure) and (
                whole or _changed(before, now, {f"measure:{s.measure_for(definition)}"}))]
    report.populations = whole or bool(_changed(before, now, {"populations"}))
    report.coverage = [m for m in measures
                       if whole or m not in held or _changed(before, now, {f"measure:{m}"})]
    return report


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM mart.stage_state").fetchall())


def refresh_stages(con: duckdb.DuckDBPyConnection, registry: Registry, now: dict[str, str],
                   *, full: bool = False) -> StageReport:
    """Bring the stage tables up to date (see the module's docstring). ``now``: the
    fingerprints :func:`metrics.mart.fingerprints` took for this refresh. Called inside the
    refresh's transaction on the writer's connection; the counts are computed on cursors of
    it, reading the committed warehouse."""
    started = time.perf_counter()
    tables.ensure_tables(con)
    stages = default_stages()
    state = {**{k: v for k, v in now.items() if k.startswith("measure:") or k in (
        *WHOLE, "populations")}, "stages": stages_key(stages)}
    measures = coverage_measures(registry)
    report = plan(_stored(con), state, stages, measures, full)
    areas = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
    jobs: list[tuple[str, tuple[object, ...], Callable[[duckdb.DuckDBPyConnection],
                                                         pl.DataFrame]]] = []
    for definition, chosen in report.stages.items():
        if chosen:
            jobs += [("stage_counts", (grain, definition),
                      lambda c, g=grain, d=definition, s=chosen: _stage_counts(
                          c, areas, g, d, s)) for grain in GRAINS]  # type: ignore[misc]
    if report.populations:
        jobs.append(("stage_populations", (), lambda c: _populations(c, areas)))
    if report.coverage:
        jobs += [("coverage", (grain,), lambda c, g=grain: coverage_cells(
            c, report.coverage, g)) for grain in COVERAGE_GRAINS]  # type: ignore[misc]
    frames = _compute(con, [job[2] for job in jobs])
    for definition, chosen in report.stages.items():
        if chosen:
            con.execute("DELETE FROM mart.stage_counts WHERE ethnicity_source = ? "
                        "AND list_contains(?, stage)", [definition, chosen])
    if report.populations:
        con.execute("DELETE FROM mart.stage_populations")
    con.execute("DELETE FROM mart.coverage WHERE NOT list_contains(?, measure) "
                "OR list_contains(?, measure)", [measures, report.coverage])
    for (table, tags, _), frame in zip(jobs, frames, strict=True):
        report.rows += frame.height
        _insert(con, table, tags, frame)
    version = str(con.execute(STAMP_SQL).fetchall()[0][0])
    con.execute("DELETE FROM mart.stage_state")
    con.executemany("INSERT INTO mart.stage_state VALUES (?, ?)", [[k, v] for k, v in {
        **state, "coverage_measures": json.dumps(measures), "version": version}.items()])
    report.seconds = time.perf_counter() - started
    log.info(report.line())
    return report


def _compute(con: duckdb.DuckDBPyConnection,
             work: list[Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]]
             ) -> list[pl.DataFrame]:
    def run(job: Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]) -> pl.DataFrame:
        cursor = con.cursor()  # one per thread: polars and DuckDB release the GIL
        try:
            return job(cursor)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, work))


_TAGS = {"stage_counts": ("grain", "ethnicity_source"), "stage_populations": (),
         "coverage": ("grain",)}
_ORDER = {"stage_counts": ("area_code", "stage", "period_start"),
          "stage_populations": ("area_code", "year"),
          "coverage": ("area_code", "measure", "period_start")}
"""Rows stored by area: DuckDB skips the row groups a one-area read does not need."""


def _insert(con: duckdb.DuckDBPyConnection, table: str, tags: tuple[object, ...],
            frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    frame = frame.with_columns(pl.lit(v).alias(k) for k, v in zip(
        _TAGS[table], tags, strict=True)).sort(_ORDER[table])
    con.register("_mart_stage_rows", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO mart.{table} BY NAME SELECT * FROM _mart_stage_rows")  # noqa: S608
    finally:
        con.unregister("_mart_stage_rows")
