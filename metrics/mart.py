"""The figure mart: every indicator's figures, computed at load time, read with SQL.

``mart.figures`` holds what :func:`metrics.compute.compute_indicators` gives for every
indicator, every area, every grain and every breakdown (``by``: '' for the headline rows),
with the display text the pages, ``cjsdash query`` and the packs show
(:func:`metrics.views.present`), under the default :class:`~metrics.options.Options`.

:func:`refresh` brings it up to date after a load. It works out what changed from
fingerprints of what the figures depend on (each measure's rows in the area rollup, the
populations, each indicator's targets, the areas, the sources, the registry and the options)
and recomputes only the indicators that depend on something that changed, for every grain
and breakdown, and only in the areas whose rows of their measures changed
(:mod:`metrics.mart_areas`: a print per measure × area). An indicator's figures in one area
depend on the other areas only through disclosure control over the whole set: each measure's
plan is kept in ``mart.withheld`` (:mod:`metrics.mart_withheld`) and re-planned only when that
measure's cells, the areas or the sources change, and the indicators built on a re-planned
measure are recomputed in every area. The new rows are staged outside any transaction, then
replace the old in one short transaction: a reader sees all of the old figures or all of the
new (decision 0028).

:func:`ready` says whether the mart answers for the warehouse as it is now (the version stamp
written with the last refresh equals the warehouse's, and the options are those it was built
with); when it does not (a warehouse loaded without a refresh, such as a test's in-memory one,
or other options), the views compute what they need as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import duckdb
import polars as pl

from cjsdash.core import allocators
from cjsdash.core.gateway import fetch
from cjsdash.core.snapshots import STAMP_SQL
from metrics import (
    cache,
    disclosure,
    disclosure_workers,
    mart_analyses,
    mart_areas,
    mart_figures,
    mart_stages,
    mart_staging,
    mart_withheld,
)
from metrics.compute import RESULT_COLUMNS
from metrics.derive import RESULT_SCHEMA
from metrics.mart_figures import FIGURE_COLUMNS, GRAINS, PRESENTATION_COLUMNS
from metrics.mart_ready import options_key, registry_key
from metrics.options import Options
from metrics.registry import Indicator, Registry

log = logging.getLogger(__name__)

__all__ = ["FIGURE_COLUMNS", "GRAINS", "PRESENTATION_COLUMNS", "options_key", "read", "ready",
           "refresh", "registry_key"]


def _ddl() -> list[str]:
    return [
        "CREATE SCHEMA IF NOT EXISTS mart",
        mart_figures.figures_ddl(),
        "CREATE TABLE IF NOT EXISTS mart.state (key VARCHAR PRIMARY KEY, value VARCHAR)",
        mart_areas.DDL,
    ]


def ensure_mart(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _ddl():
        con.execute(statement)


# --- what the figures depend on ------------------------------------------------------------

VERSION_SQL = STAMP_SQL
"""A cheap stamp of the warehouse's state (:data:`cjsdash.core.snapshots.STAMP_SQL`)."""


def warehouse_version(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute(VERSION_SQL).fetchall()[0][0])




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
    everywhere: list[str] = field(default_factory=list)
    """The indicators recomputed in every area; the others only in :attr:`areas`."""
    areas: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.indicators:
            return "figures up to date"
        return (f"figures refreshed: {len(self.indicators)} indicators ("
                f"{len(self.everywhere)} in every area, the others in {len(self.areas)}), "
                f"{self.rows:,} rows in {self.seconds:.1f} s")


def _stored_state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM mart.state").fetchall())


def plan_as_refreshed(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options
                      ) -> pl.DataFrame | None:
    """The whole-set plan :func:`refresh` would store for the warehouse as it is now, made
    without writing (a reader's connection will do): the stored plans of the measures whose
    inputs are unchanged, the others planned from theirs (decision 32). None when the mart
    holds no plan to start from."""
    try:
        before = _stored_state(con)
        if disclosure.SPEC_KEY not in before:
            return None
        now = fingerprints(con, registry, options)
        found = mart_areas.changes(con, before, now, create=False)
        return mart_withheld.refresh_plan(con, registry, options, before, now,
                                          areas=found.areas, create=False)[0]
    except duckdb.CatalogException:  # a warehouse whose mart predates these tables
        return None


def scopes(todo: Sequence[Indicator], before: dict[str, str], now: dict[str, str],
           found: mart_areas.AreaChanges) -> list[mart_figures.Scope]:
    """The indicators to recompute in every area, and the others with the areas in which
    their measures' rows changed (:mod:`metrics.mart_areas`)."""
    every = [i for i in todo if mart_areas.whole(i, before, now, found, mart_withheld.PREFIX)]
    rest = [i for i in todo if i not in every]
    areas = found.of({m for i in rest for m in i.measures}) or frozenset()
    return [s for s in ((every, None), (rest, sorted(areas))) if s[0]]


def refresh(con: duckdb.DuckDBPyConnection, registry: Registry, *,
            options: Options | None = None, grains: Iterable[str] = GRAINS,
            full: bool = False, replan: bool = False, concurrent: bool = False
            ) -> RefreshReport:
    """Bring ``mart.figures`` up to date with the warehouse (see the module's docstring).

    ``full``: recompute every figure; whole-set plans are still re-planned only where their
    inputs changed, each from its stored plan (decision 32). ``replan``: plan every measure
    afresh, forgetting the stored plans' complements.

    Runs on the writer's connection after a load has committed; the figures, stage counts
    and coverage are computed from the committed data, staged as they are computed (never
    all held in memory at once: :mod:`metrics.mart_staging`), then swapped in by one short
    transaction with the new state (decision 0028).

    ``concurrent``: the stage counts and coverage are staged on a cursor of their own while
    the plan and the figures are, and the analyses' parts side by side: the same rows, sooner
    on two cores, for the memory of both at once (a command that loads and exits; a server's
    upload refreshes one step at a time, decision 44)."""
    with cache.pinned(con):  # the refresh writes mart.* alone (decision 40)
        return _refresh(con, registry, options=options, grains=grains, full=full,
                        replan=replan, concurrent=concurrent)


def _refresh(con: duckdb.DuckDBPyConnection, registry: Registry, *, options: Options | None,
             grains: Iterable[str], full: bool, replan: bool, concurrent: bool
             ) -> RefreshReport:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mart-stages") as pool:
        return _refresh_with(con, registry, options, grains, full, replan,
                             pool if concurrent else None)


def _refresh_with(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options | None,
                  grains: Iterable[str], full: bool, replan: bool,
                  pool: ThreadPoolExecutor | None) -> RefreshReport:
    options = options or Options()
    started = time.perf_counter()
    ensure_mart(con)
    stored = _stored_state(con)
    before = {} if full else stored
    now = fingerprints(con, registry, options)
    version = warehouse_version(con)
    found = mart_areas.changes(con, before, now, full=full)
    # Stage counts and coverage depend on the rows, not on the disclosure plan: the areas
    # the plan moves (widen, below) change no count, so they may be staged from here on
    counts: Future[mart_stages.StageReport] | None = None if pool is None else pool.submit(
        cache.on_own_cursor, con, mart_stages.stage, registry, dict(now), replace(
            found, areas=dict(found.areas), moved=dict(found.moved),
            scoped_plans=set(found.scoped_plans)), full=full)
    plan = None
    if options.disclosure == "whole_set":  # each measure's plan, re-planned where it changed
        rows = mart_areas.changes(con, stored, now) if full else found
        withheld, keys, planned = mart_withheld.refresh_plan(
            con, registry, options, stored, now, areas=rows.areas, full=replan,
            workers=1 if pool is None else disclosure_workers.PLAN_WORKERS)
        now |= keys
        plan = (withheld, keys, planned)
        allocators.release()  # each step's freed working memory given back (decision 38)
        if not full:  # recomputed where the new plan differs, with the areas whose rows did
            mart_areas.widen(found, mart_withheld.moved_areas(con, withheld, planned))
    todo = list(registry.indicators) if full else affected(registry, before, now, options)
    listed = {i.id for i in todo}
    todo += [i for i in registry.indicators  # a fresh plan moved, the rows unchanged
             if i.id not in listed and set(found.moved).intersection(i.measures)]
    report = RefreshReport(indicators=[i.id for i in todo], replanned=plan[2] if plan else [])
    replaced = scopes(todo, before, now, found)
    report.everywhere = [i.id for group, a in replaced if a is None for i in group]
    report.areas = next((a for _, a in replaced if a is not None), [])
    everything = len(todo) == len(registry.indicators) and all(a is None for _, a in replaced)
    # only indicators with rows to compute from are computed (the others' old rows go)
    computed = [([i for i in group if any(f"measure:{m}" in now for m in i.measures)], areas)
                for group, areas in replaced]
    every_area = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code"
                                            ).fetchall()]
    if todo:  # staged outside the transaction, each job committed and let go
        report.rows = mart_figures.stage(con, registry, computed, every_area, options, grains,
                                         plan[0] if plan else None)
    staged = (counts.result() if counts is not None
              else mart_stages.stage(con, registry, now, found, full=full))
    allocators.release()
    con.execute("BEGIN TRANSACTION")
    try:
        if todo:
            mart_staging.swap(con, mart_figures.TABLE, *mart_figures.gone(replaced, everything),
                              report.rows)
        if plan is not None:
            mart_withheld.store(con, *plan)
        mart_areas.store(con, found)
        con.execute("DELETE FROM mart.state")
        con.executemany("INSERT INTO mart.state VALUES (?, ?)",
                        [[k, v] for k, v in {**now, "version": version}.items()])
        mart_stages.refresh_stages(con, staged)  # stage counts, coverage: swapped in
        mart_staging.drop_leftovers(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    cache.clear_cache()  # "is the mart ready?" was answered per data version: ask again
    allocators.release()
    # baselines, comparisons, the data page: from the figures just committed, in a
    # transaction of their own (decision 32); until it commits they do not answer for the
    # warehouse (their own version stamp), and pages compute them from the new figures
    con.execute("BEGIN TRANSACTION")
    try:
        mart_analyses.refresh(con, registry, now, full=full, since=stored.get("version"),
                              scoped={i.id: None if a is None else frozenset(a)
                                      for group, a in replaced for i in group}, pool=pool)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    cache.clear_cache()
    allocators.release()
    report.seconds = time.perf_counter() - started
    log.info(report.line())
    return report


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


def one_of(column: str, values: Sequence[object]) -> tuple[str, list[object]]:
    """SQL keeping the rows whose ``column`` (a name from the schema contracts) is one of
    ``values``, and its one parameter: an equality for one value, ``= ANY`` of a list for
    more. DuckDB filters both inside the scan (the second through a filter it builds from
    the list), so only the rows kept have their other columns read; ``list_contains`` is
    tested after the scan has read every column of every row the other filters let
    through (one indicator at an area and England and Wales, quarters or financial years:
    10.9–13.8 ms against 8.1–11.0 ms, the demo warehouse, 2026-12-05; decision 0045)."""
    chosen = list(values)
    if len(chosen) == 1:
        return f"{column} = ?", chosen
    return f"{column} = ANY(?)", [chosen]


def read(con: duckdb.DuckDBPyConnection, where: str, params: Sequence[object]) -> pl.DataFrame:
    """Rows of ``mart.figures`` (FIGURE_COLUMNS, sorted as compute_indicators sorts) matching
    ``where`` (SQL written by this package's callers, every value bound)."""
    frame = fetch(con, f"SELECT {', '.join(FIGURE_COLUMNS)} FROM mart.figures "  # noqa: S608
                       f"WHERE {where} ORDER BY indicator, area_code, breakdown, period_start",
                  params)
    return frame.cast(_SCHEMA) if frame.height else pl.DataFrame(schema=_SCHEMA)


_LATEST_SQL = f"""
WITH h AS (
    SELECT {", ".join(RESULT_COLUMNS)} FROM mart.figures
    WHERE grain = $1 AND by_breakdown = '' AND breakdown = '' AND list_contains($2, indicator)),
g AS (SELECT unnest($3) AS area_code, unnest($4) AS grp),
ends AS (
    SELECT DISTINCT h.indicator, max(h.period_end) AS period_end
    FROM h JOIN g USING (area_code)
    WHERE h.value IS NOT NULL OR h.suppressed GROUP BY h.indicator, g.grp)
SELECT h.* FROM h SEMI JOIN ends USING (indicator, period_end)
ORDER BY indicator, area_code, period_start
"""  # noqa: S608 - column names from the schema contracts only
_RESULT_SCHEMA = {c: RESULT_SCHEMA[c] for c in RESULT_COLUMNS}


def headline_at_latest(con: duckdb.DuckDBPyConnection, grain: str, ids: Sequence[str],
                       groups: dict[str, Sequence[str]]) -> pl.DataFrame:
    """A grain's headline rows (RESULT_COLUMNS) of the indicators ``ids``, every area's, at
    the periods that are some group's latest with a figure (or a suppressed one) for an
    indicator; ``groups``: name → its areas. What the baselines (each area its own group)
    and the comparisons (England and Wales, each kind) read instead of every period
    (decision 32)."""
    codes = [c for members in groups.values() for c in members]
    names = [name for name, members in groups.items() for _ in members]
    frame = fetch(con, _LATEST_SQL, [grain, list(ids), codes, names])
    return frame.cast(_RESULT_SCHEMA) if frame.height else pl.DataFrame(schema=_RESULT_SCHEMA)  # type: ignore[arg-type]
