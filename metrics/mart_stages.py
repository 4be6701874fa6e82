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
from metrics import mart_staging as staging
from metrics.disproportionality.counts import (
    _measure_stages,
    _populations,
    _stage_counts,
    _stage_list,
)
from metrics.figure_coverage import COVERAGE_GRAINS, coverage_cells
from metrics.mart_areas import AreaChanges
from metrics.registry import Registry
from metrics.stages import Stages, default_stages

log = logging.getLogger(__name__)

DEFINITIONS = ("officer", "self")
"""The ethnicity definitions the disproportionality page offers."""
THREADS = 2
COVERAGE_MEASURES = 8
"""Measures per coverage job (a job's memory grows with them; each job scans the rollup)."""
WHOLE = ("areas", "sources")
"""Fingerprints whose change recomputes every stage and every coverage cell."""
CLUSTER = {"stage_counts": "grain, area_code, ethnicity_source, stage, period_start",
           "coverage": "grain, area_code, measure, period_start"}
"""The order each table's staged rows are written in (:func:`metrics.mart_staging.cluster`):
the disproportionality pages read one grain and area's stage counts (the forest a kind's
areas), the data page one grain and area's coverage cells and a group's areas in one period;
DuckDB skips every row group whose min/max cannot match (decision 0039). The rows a
swap keeps follow in their own (clustered) order."""


@dataclass
class StageReport:
    stages: dict[str, list[str]] = field(default_factory=dict)
    """definition → the stages recomputed."""
    populations: bool = False
    coverage: list[str] = field(default_factory=list)
    """The measures whose coverage was recomputed."""
    stage_areas: dict[str, list[str] | None] = field(default_factory=dict)
    """definition → the areas its stages were recomputed for (None: every area)."""
    coverage_areas: list[str] | None = None
    """The areas the coverage was recomputed for (None: every area)."""
    rows: int = 0
    seconds: float = 0.0
    staged: dict[str, int] = field(default_factory=dict)
    """table → the rows staged for it (:mod:`metrics.mart_staging`)."""
    state: dict[str, str] = field(default_factory=dict)
    """What :func:`refresh_stages` writes to ``mart.stage_state`` with the swap."""

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


def _areas(found: AreaChanges | None, measures: set[str]) -> list[str] | None:
    """The areas in which ``measures`` changed; None (every area) when not known."""
    if found is None or not measures <= found.areas.keys():
        return None
    areas = found.of(measures)
    return None if areas is None else sorted(areas)


def plan(before: dict[str, str], now: dict[str, str], stages: Stages, measures: list[str],
         full: bool, found: AreaChanges | None = None) -> StageReport:
    """What to recompute, from the stored fingerprints (``before``) and the warehouse's, and
    for which areas (``found``: the areas each changed measure changed in)."""
    whole = full or bool(_changed(before, now, {*WHOLE, "stages"}))
    held = set(json.loads(before.get("coverage_measures", "[]")))
    report = StageReport()
    for definition in DEFINITIONS:
        report.stages[definition] = [  # self-defined: the stages with a measure of their own
            s.id for s in stages.counted()
            if (s.self_defined_measure if definition == "self" else s.measure) and (
                whole or _changed(before, now, {f"measure:{s.measure_for(definition)}"}))]
        counted = {s.measure_for(definition) for s in stages.counted()
                   if s.id in report.stages[definition]}
        report.stage_areas[definition] = None if whole else _areas(found, counted)
    report.populations = whole or bool(_changed(before, now, {"populations"}))
    report.coverage = [m for m in measures
                       if whole or m not in held or _changed(before, now, {f"measure:{m}"})]
    report.coverage_areas = (None if whole or not held.issuperset(report.coverage)
                             else _areas(found, set(report.coverage)))
    return report


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM mart.stage_state").fetchall())


def stage(con: duckdb.DuckDBPyConnection, registry: Registry, now: dict[str, str],
          found: AreaChanges | None = None, *, full: bool = False) -> StageReport:
    """Compute what changed (see the module's docstring) into staging tables, outside any
    transaction, one job at a time (:func:`metrics.mart_staging.in_order`), each committed
    and let go; :func:`refresh_stages` swaps them in. ``now``: the fingerprints
    :func:`metrics.mart.fingerprints` took for this refresh; ``found``: the areas each
    changed measure changed in (:mod:`metrics.mart_areas`; None: every area)."""
    started = time.perf_counter()
    tables.ensure_tables(con)
    stages = default_stages()
    state = {**{k: v for k, v in now.items() if k.startswith("measure:") or k in (
        *WHOLE, "populations")}, "stages": stages_key(stages)}
    measures = coverage_measures(registry)
    report = plan(_stored(con), state, stages, measures, full, found)
    report.state = {**state, "coverage_measures": json.dumps(measures)}
    every = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
    jobs = _jobs(report, stages, every)
    batches = staging.Batches(con)  # one transaction at a time, for every table
    staged = {table: staging.Staged(batches, f"mart.{table}", _ddl(table), CLUSTER.get(table))
              for table in dict.fromkeys(job.table for job in jobs)}
    report.staged = dict.fromkeys(staged, 0)
    present = _measured(con) if jobs else set()
    # a job whose measures have no rows stages none: its table is still swapped (emptied)
    jobs = [job for job in jobs if job.measures is None or job.measures & present]

    def run(job: Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]) -> pl.DataFrame:
        cursor = con.cursor()  # one per thread: polars and DuckDB release the GIL
        try:
            return job(cursor)
        finally:
            cursor.close()

    if staged:
        try:
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                frames = staging.in_order(pool, run, [job.compute for job in jobs], THREADS)
                for job, frame in zip(jobs, frames, strict=True):
                    rows = _insert(staged[job.table], job.table, job.tags, frame)
                    report.staged[job.table] += rows
                    report.rows += rows
                    del frame
            staging.finish(batches, list(staged.values()))
        except BaseException:
            batches.abandon()
            for table in staged.values():
                table.abandon()
            raise
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Job:
    table: str
    tags: tuple[object, ...]
    compute: Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]
    measures: frozenset[str] | None
    """The measures it reads (None: not measures'): none with rows, nothing to compute."""


def _jobs(report: StageReport, stages: Stages, every: list[str]) -> list[_Job]:
    """Small jobs, one stage or a few measures each: the memory held is a job's, not the sum
    (the rows are then written in the order the pages read them: CLUSTER)."""
    jobs: list[_Job] = []
    for definition, chosen in report.stages.items():
        areas = report.stage_areas[definition]
        if areas != []:  # a few areas' stages together: their memory is small
            split = [chosen] if chosen and _few(areas, every) else [[s] for s in chosen]
            jobs += [_Job("stage_counts", (grain, definition),
                          lambda c, g=grain, d=definition, s=some, a=areas: _stage_counts(
                              c, every if a is None else a, g, d, s),  # type: ignore[misc]
                          frozenset(_measure_stages(_stage_list(stages, some), definition)))
                     for grain in GRAINS for some in split]
    if report.populations:
        jobs.append(_Job("stage_populations", (), lambda c: _populations(c, every), None))
    if report.coverage_areas != []:
        size = (len(report.coverage) if _few(report.coverage_areas, every)
                else COVERAGE_MEASURES)
        jobs += [_Job("coverage", (grain,), lambda c, g=grain, m=part: coverage_cells(
            c, m, g, areas=report.coverage_areas), frozenset(part))  # type: ignore[misc]
            for grain in COVERAGE_GRAINS for k in range(0, len(report.coverage), max(1, size))
            for part in [report.coverage[k:k + size]]]
    return jobs


def _measured(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The measures with rows in the area rollup."""
    return {m for (m,) in con.execute(
        "SELECT DISTINCT measure FROM core.area_observations").fetchall()}


def _few(areas: list[str] | None, every: list[str]) -> bool:
    """Whether ``areas`` are few enough (a quarter of them at most) to compute in one job."""
    return areas is not None and 4 * len(areas) <= len(every)


def _ddl(table: str) -> str:
    return next(d for d in tables.DDL if d.startswith(f"CREATE TABLE IF NOT EXISTS mart.{table} ("))


def refresh_stages(con: duckdb.DuckDBPyConnection, report: StageReport) -> StageReport:
    """Swap what :func:`stage` staged into the stage tables and write their state; called
    inside :func:`metrics.mart.refresh`'s transaction on the writer's connection."""
    started = time.perf_counter()
    for table, rows in report.staged.items():
        staging.swap(con, f"mart.{table}", *_gone(table, report), rows)
    if "coverage" not in report.staged:  # measures that left the registry
        con.execute("DELETE FROM mart.coverage WHERE NOT list_contains(?, measure)",
                    [json.loads(report.state["coverage_measures"])])
    version = str(con.execute(STAMP_SQL).fetchall()[0][0])
    con.execute("DELETE FROM mart.stage_state")
    con.executemany("INSERT INTO mart.stage_state VALUES (?, ?)",
                    [[k, v] for k, v in {**report.state, "version": version}.items()])
    report.seconds += time.perf_counter() - started
    log.info(report.line())
    return report


def _gone(table: str, report: StageReport) -> tuple[str, list[object]]:
    """SQL (and its values) matching the rows of ``table`` the staged rows replace."""
    params: list[object] = []

    def bind(value: object) -> str:
        params.append(value)
        return f"${len(params)}"

    def within(areas: list[str] | None) -> str:
        return "" if areas is None else f" AND list_contains({bind(areas)}, area_code)"

    if table == "stage_populations":
        return "TRUE", params
    if table == "coverage":
        measures = json.loads(report.state["coverage_measures"])
        return (f"NOT list_contains({bind(measures)}, measure) OR (list_contains("
                f"{bind(report.coverage)}, measure){within(report.coverage_areas)})", params)
    terms = [f"(ethnicity_source = {bind(d)} AND list_contains({bind(chosen)}, stage)"
             f"{within(report.stage_areas[d])})"
             for d, chosen in report.stages.items() if chosen]
    return " OR ".join(terms) or "FALSE", params


_TAGS = {"stage_counts": ("grain", "ethnicity_source"), "stage_populations": (),
         "coverage": ("grain",)}
_ORDER = {"stage_populations": ("area_code", "year")}
"""The populations are read whole (once per data version), in area order."""


def _insert(staged: staging.Staged, table: str, tags: tuple[object, ...],
            frame: pl.DataFrame) -> int:
    """Stage ``frame`` (outside the refresh's transaction); the rows staged."""
    if frame.height == 0:
        return 0
    frame = frame.with_columns(pl.lit(v).alias(k) for k, v in zip(
        _TAGS[table], tags, strict=True))
    if table in _ORDER:  # the others are written in CLUSTER's order once all are staged
        frame = frame.sort(_ORDER[table])
    return staged.insert(frame)
