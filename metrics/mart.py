"""The figure mart: every indicator's figures, computed at load time, read with SQL.

``mart.figures`` holds what :func:`metrics.compute.compute_indicators` gives for every
indicator, every area, every grain and every breakdown (``by``: '' for the headline rows),
with the display text the pages, ``cjsdash query`` and the packs show
(:func:`metrics.views.present`), under the default :class:`~metrics.options.Options`.

:func:`refresh` brings it up to date after a load. It works out what changed from
fingerprints of what the figures depend on (each measure's rows in the area rollup, the
populations, each indicator's targets, the areas, the sources, the registry and the options)
and recomputes only the indicators that depend on something that changed, for every area,
grain and breakdown. An indicator's figures in one area depend on the other areas only through
disclosure control over the whole set: each measure's plan is kept in ``mart.withheld``
(:mod:`metrics.mart_withheld`) and re-planned only when that measure's cells, the areas or
the sources change, and the indicators built on a re-planned measure are recomputed. The new
rows replace the old in one transaction: a reader sees all of the old figures or all of the
new.

:func:`ready` says whether the mart answers for the warehouse as it is now (the version stamp
written with the last refresh equals the warehouse's, and the options are those it was built
with); when it does not (a warehouse loaded without a refresh, such as a test's in-memory one,
or other options), the views compute what they need as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.snapshots import STAMP_SQL
from metrics import cache, mart_analyses, mart_stages, mart_withheld
from metrics.compute import RESULT_COLUMNS, compute_indicators
from metrics.derive import RESULT_SCHEMA, label_periods
from metrics.options import Options
from metrics.registry import Indicator, Registry

log = logging.getLogger(__name__)

GRAINS = ("quarter", "fy", "fquarter", "month", "year", "r12")
THREADS = max(1, min(2, os.cpu_count() or 1))
"""Grains and breakdowns computed side by side at a refresh."""
PRESENTATION_COLUMNS = ("indicator_title", "area_name", "display_value", "display_ci", "theme")
FIGURE_COLUMNS = (*RESULT_COLUMNS, *PRESENTATION_COLUMNS)

_SQL_TYPES = {pl.String: "VARCHAR", pl.Date: "DATE", pl.Float64: "DOUBLE",
              pl.Boolean: "BOOLEAN"}


def _ddl() -> list[str]:
    columns = [f"{name} {_SQL_TYPES[type(RESULT_SCHEMA[name])]}" for name in RESULT_COLUMNS]
    columns += [f"{name} VARCHAR" for name in PRESENTATION_COLUMNS]
    return [
        "CREATE SCHEMA IF NOT EXISTS mart",
        "CREATE TABLE IF NOT EXISTS mart.figures (grain VARCHAR NOT NULL, "
        "by_breakdown VARCHAR NOT NULL, " + ", ".join(columns) + ")",
        "CREATE TABLE IF NOT EXISTS mart.state (key VARCHAR PRIMARY KEY, value VARCHAR)",
    ]


def ensure_mart(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _ddl():
        con.execute(statement)


# --- what the figures depend on ------------------------------------------------------------

VERSION_SQL = STAMP_SQL
"""A cheap stamp of the warehouse's state (:data:`cjsdash.core.snapshots.STAMP_SQL`)."""


def warehouse_version(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute(VERSION_SQL).fetchall()[0][0])


def options_key(options: Options) -> str:
    return repr(options)


def registry_key(registry: Registry) -> str:
    text = json.dumps([i.model_dump(mode="json") for i in registry.indicators], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprints(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options
                 ) -> dict[str, str]:
    """key → fingerprint of everything a figure depends on (see the module's docstring)."""
    found = {f"measure:{m}": f for m, f in con.execute(
        "SELECT measure, concat_ws(':', count(*), max(run_id), sum(coalesce(value, 0)), "
        "count(value)) FROM core.area_observations GROUP BY measure").fetchall()}
    found |= {f"targets:{i}": f for i, f in con.execute(
        "SELECT indicator, concat_ws(':', count(*), sum(value), max(coalesce(run_id, 0)), "
        "string_agg(DISTINCT kind || area_code, ',' ORDER BY kind || area_code)) "
        "FROM core.targets GROUP BY indicator").fetchall()}
    for key, sql in {
        "populations": "SELECT concat_ws(':', count(*), max(run_id), sum(population)) "
                       "FROM core.populations WHERE is_current",
        "areas": "SELECT concat_ws(':', (SELECT count(*) FROM core.areas), "
                 "(SELECT count(*) FROM core.area_sources), "
                 "(SELECT count(*) FROM core.area_twins), "
                 "(SELECT string_agg(code || name, ',' ORDER BY code) FROM core.areas))",
        "sources": "SELECT string_agg(concat_ws(':', source, priority, is_synthetic), ',' "
                   "ORDER BY source) FROM meta.sources",
    }.items():
        found[key] = str(con.execute(sql).fetchall()[0][0])
    found["registry"] = registry_key(registry)
    found["options"] = options_key(options)
    return found


def affected(registry: Registry, before: dict[str, str], now: dict[str, str],
             options: Options) -> list[Indicator]:
    """The indicators whose figures may differ between the two fingerprints."""
    changed = {k for k in before.keys() | now.keys() if before.get(k) != now.get(k)}
    if not changed:
        return []
    if changed & {"registry", "options", "areas", "sources"}:
        return list(registry.indicators)
    measures = {k.split(":", 1)[1] for k in changed
                if k.startswith(("measure:", mart_withheld.PREFIX))}
    targeted = {k.split(":", 1)[1] for k in changed if k.startswith("targets:")}
    populations = "populations" in changed
    return [i for i in registry.indicators
            if measures.intersection(i.measures) or i.id in targeted
            or (populations and i.population_denominator)]


# --- refresh -------------------------------------------------------------------------------

@dataclass
class RefreshReport:
    indicators: list[str] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    replanned: list[str] = field(default_factory=list)
    """Measures whose whole-set disclosure plan was made afresh (:mod:`metrics.mart_withheld`)."""

    def line(self) -> str:
        if not self.indicators:
            return "figures up to date"
        return (f"figures refreshed: {len(self.indicators)} indicators, {self.rows:,} rows "
                f"in {self.seconds:.1f} s")


def _stored_state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM mart.state").fetchall())


def figures_for(con: duckdb.DuckDBPyConnection, registry: Registry, ids: Sequence[str],
                areas: Sequence[str], grain: str, by: str | None, options: Options,
                withheld: pl.DataFrame | None = None) -> pl.DataFrame:
    """compute_indicators' rows (RESULT_COLUMNS) for the mart, tagged with grain and by."""
    frame = compute_indicators(con, registry, list(ids), list(areas), grain=grain, by=by,
                               options=options, withheld=withheld)
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
FROM _mart_rows AS r
JOIN _mart_indicators AS i ON i.id = r.indicator
LEFT JOIN core.areas AS a ON a.code = r.area_code
"""  # noqa: S608 - column names from RESULT_COLUMNS; every value comes from the frames
"""The display text, as :func:`metrics.views.present` writes it, in one pass of SQL."""


def _indicator_table(registry: Registry) -> pl.DataFrame:
    return pl.DataFrame(
        [(i.id, i.title, i.theme, i.unit, i.decimals) for i in registry.indicators],
        schema={"id": pl.String, "title": pl.String, "theme": pl.String, "unit": pl.String,
                "decimals": pl.Int64}, orient="row")


def refresh(con: duckdb.DuckDBPyConnection, registry: Registry, *,
            options: Options | None = None, grains: Iterable[str] = GRAINS,
            full: bool = False) -> RefreshReport:
    """Bring ``mart.figures`` up to date with the warehouse (see the module's docstring).

    Runs on the writer's connection after a load has committed; the figures are computed from
    the committed data, staged as they are computed (never all held in memory at once), then
    swapped in by one transaction with the new state."""
    options = options or Options()
    started = time.perf_counter()
    ensure_mart(con)
    before = {} if full else _stored_state(con)
    now = fingerprints(con, registry, options)
    version = warehouse_version(con)
    plan = None
    if options.disclosure == "whole_set":  # each measure's plan, re-planned where it changed
        withheld, keys, planned = mart_withheld.refresh_plan(con, registry, options, before,
                                                             now, full=full)
        now |= keys
        plan = (withheld, keys, planned)
    todo = list(registry.indicators) if full else affected(registry, before, now, options)
    report = RefreshReport(indicators=[i.id for i in todo], replanned=plan[2] if plan else [])
    frames: Iterable[pl.DataFrame] = ()
    pool = ThreadPoolExecutor(max_workers=THREADS)
    ids = [i.id for i in todo]
    # only indicators with rows to compute from are computed (the others' old rows go)
    computed = [i for i in todo if any(f"measure:{m}" in now for m in i.measures)]
    if computed:
        areas = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
        # a ratio's rows are computed under every breakdown asked for: all of them then
        ratios = any(i.comparison is not None for i in computed)
        breakdowns = sorted({b for i in (registry.indicators if ratios else computed)
                             for b in i.breakdowns})
        grains = tuple(grains)
        derived = {g: same for g, same in SAME_PERIODS.items() if {g, same} <= set(grains)}
        tasks = [(grain, by, part) for grain in grains if grain not in derived
                 for by in (None, *breakdowns) for part in parts(computed)]

        def compute(task: tuple[str, str | None, list[str]]) -> list[pl.DataFrame]:
            cursor = con.cursor()  # one per thread: polars and DuckDB release the GIL
            try:
                frame = figures_for(cursor, registry, task[2], areas, task[0], task[1],
                                    options, plan[0] if plan else None)
            finally:
                cursor.close()
            return [frame, *(relabelled(frame, g) for g, same in derived.items()
                             if same == task[0])]

        frames = (frame for group in pool.map(compute, tasks) for frame in group)
    try:  # each frame staged (committed) as it comes and let go: never all held in memory
        if todo:
            report.rows = _append(con, registry, frames)
    finally:
        pool.shutdown(cancel_futures=True)
    con.execute("BEGIN TRANSACTION")
    try:
        if todo:
            _swap(con, ids, len(todo) == len(registry.indicators), report.rows)
        con.execute(f"DROP TABLE IF EXISTS {STAGED}")
        if plan is not None:
            mart_withheld.store(con, *plan)
        con.execute("DELETE FROM mart.state")
        con.executemany("INSERT INTO mart.state VALUES (?, ?)",
                        [[k, v] for k, v in {**now, "version": version}.items()])
        mart_stages.refresh_stages(con, registry, now, full=full)  # stage counts, coverage
        mart_analyses.refresh(con, registry, now, full=full)  # baselines, comparisons, data page
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    cache.clear_cache()  # "is the mart ready?" was answered per data version: ask again
    report.seconds = time.perf_counter() - started
    log.info(report.line())
    return report


PARTS = 3
"""Each grain and breakdown is computed for a third of the indicators at a time: an
indicator's figures do not depend on the others computed beside it, and a task's polars
intermediates shrink with it (decision 0023)."""


def parts(indicators: Sequence[Indicator]) -> list[list[str]]:
    """The indicators' ids in :data:`PARTS` groups, those sharing measures side by side."""
    ordered = sorted(indicators, key=lambda i: (min(i.measures, default=""), i.id))
    size = max(1, -(-len(ordered) // PARTS))
    return [[i.id for i in ordered[k:k + size]] for k in range(0, len(ordered), size)]


STAGED = "mart.figures_staged"
"""The new rows of a refresh, before they replace the old in one transaction: rows inserted
inside that transaction stay in memory until it commits (700 MB for 1.2 million figures);
committed here piece by piece they do not; :func:`_swap` then moves them (decision 0023)."""


def _swap(con: duckdb.DuckDBPyConnection, ids: list[str], everything: bool, staged: int
          ) -> None:
    """Inside the refresh's transaction: the staged rows replace the affected indicators'
    (``everything``: all rows). The fewer rows are copied: the rows kept into the staging
    table, which then becomes ``mart.figures`` (readers in flight keep the old table), or
    the staged rows into ``mart.figures``."""
    keep = "FALSE" if everything else "NOT list_contains(?, indicator)"
    params = [] if everything else [ids]
    kept = con.execute(f"SELECT count(*) FROM mart.figures WHERE {keep}", params  # noqa: S608
                       ).fetchall()[0][0]
    if kept <= staged:
        if kept:
            con.execute(f"INSERT INTO {STAGED} SELECT * FROM mart.figures "  # noqa: S608
                        f"WHERE {keep}", params)
        con.execute("DROP TABLE mart.figures")
        con.execute(f"ALTER TABLE {STAGED} RENAME TO figures")
        return
    con.execute(f"DELETE FROM mart.figures WHERE NOT ({keep})", params)  # noqa: S608
    con.execute(f"INSERT INTO mart.figures SELECT * FROM {STAGED}")  # noqa: S608


def _append(con: duckdb.DuckDBPyConnection, registry: Registry,
            frames: Iterable[pl.DataFrame]) -> int:
    """Stage the computed rows with their display text (:data:`PRESENT_SQL`) in
    :data:`STAGED`, each frame committed as it comes; the rows staged."""
    rows = 0
    con.execute(_ddl()[1].replace("CREATE TABLE IF NOT EXISTS mart.figures",
                                  f"CREATE OR REPLACE TABLE {STAGED}"))
    con.register("_mart_indicators", _indicator_table(registry).to_arrow())
    try:
        for frame in frames:
            if not frame.height:
                continue
            rows += frame.height
            con.register("_mart_rows", frame.to_arrow())
            try:
                con.execute(f"INSERT INTO {STAGED} BY NAME {PRESENT_SQL}")
            finally:
                con.unregister("_mart_rows")
    finally:
        con.unregister("_mart_indicators")
    return rows


# --- reading -------------------------------------------------------------------------------

_READY_SQL = (
    "SELECT coalesce((SELECT value FROM mart.state WHERE key = 'version') = ("  # noqa: S608
    + VERSION_SQL + ") AND (SELECT value FROM mart.state WHERE key = 'options') = $options, "
    "FALSE)")


def ready(con: duckdb.DuckDBPyConnection, options: Options | None = None) -> bool:
    """Whether ``mart.figures`` answers for the warehouse as it is now, under ``options``
    (the mart's version stamp against the warehouse's; asked once per data version)."""
    key = options_key(options or Options())
    return bool(cache.cached(con, ("mart-ready", key), lambda: _ready(con, key)))


def _ready(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    try:
        return bool(con.execute(_READY_SQL, {"options": key}).fetchall()[0][0])
    except duckdb.CatalogException:
        return False


_SCHEMA = {**RESULT_SCHEMA, **{c: pl.String() for c in PRESENTATION_COLUMNS}}


def read(con: duckdb.DuckDBPyConnection, where: str, params: Sequence[object]) -> pl.DataFrame:
    """Rows of ``mart.figures`` (FIGURE_COLUMNS, sorted as compute_indicators sorts) matching
    ``where`` (SQL written by this package's callers, every value bound)."""
    frame = fetch(con, f"SELECT {', '.join(FIGURE_COLUMNS)} FROM mart.figures "  # noqa: S608
                       f"WHERE {where} ORDER BY indicator, area_code, breakdown, period_start",
                  params)
    return frame.cast(_SCHEMA) if frame.height else pl.DataFrame(schema=_SCHEMA)
