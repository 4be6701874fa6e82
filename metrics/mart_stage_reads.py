"""The figure mart's stage counts, populations and coverage: the tables and their readers.

:mod:`metrics.mart_stages` fills these tables at load time (decision 0017); the
disproportionality package (:mod:`metrics.disproportionality.counts`) and the data page's
coverage (:mod:`metrics.figure_coverage`) read them here with bound SQL when :func:`ready` says they
answer for the warehouse as it is, and compute from the core tables otherwise.

- ``mart.stage_counts``: what :func:`metrics.disproportionality.counts.stage_counts` gives for
  every area, stage and grain (``grain``, ``ethnicity_source`` then its columns): under
  officer-defined ethnicity for every stage, under self-defined only for the stages counted by
  a self-defined measure of their own (the others are counted alike under both);
- ``mart.stage_populations``: :func:`~metrics.disproportionality.counts.populations` of every
  area;
- ``mart.coverage``: :func:`metrics.figure_coverage.coverage_cells` of every measure an indicator
  counts, for every coverage grain (``grain`` then :data:`metrics.figure_coverage.CELL_SCHEMA`);
- ``mart.stage_state``: what they were computed from (fingerprints), the warehouse stamp they
  answer for (``version``) and the measures coverage holds (``coverage_measures``).

None of it depends on :class:`~metrics.options.Options` (suppression and intervals are applied
when the matrices are drawn), so readiness is the version stamp alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.snapshots import STAMP_SQL
from metrics import cache
from metrics.stages import default_stages

COUNT_SCHEMA: dict[str, pl.DataType] = {
    "area_code": pl.String(), "stage": pl.String(), "period_start": pl.Date(),
    "period_end": pl.Date(), "group": pl.String(), "value": pl.Float64(), "source": pl.String(),
    "vintage": pl.String(), "synthetic": pl.Boolean()}
POPULATION_SCHEMA: dict[str, pl.DataType] = {
    "area_code": pl.String(), "year": pl.Int64(), "group": pl.String(), "source": pl.String(),
    "population": pl.Float64()}
CELL_COLUMNS = ("measure", "area_code", "period_start", "period_end", "period_label", "figures",
                "withheld", "breakdown_figures", "months_covered", "months_expected",
                "complete", "synthetic", "sources")
_CELL_TYPES = ("VARCHAR", "VARCHAR", "DATE", "DATE", "VARCHAR", "BIGINT", "BIGINT", "BIGINT",
               "BIGINT", "BIGINT", "BOOLEAN", "BOOLEAN", "VARCHAR")

DDL = (
    "CREATE SCHEMA IF NOT EXISTS mart",
    "CREATE TABLE IF NOT EXISTS mart.stage_counts (grain VARCHAR NOT NULL, "
    "ethnicity_source VARCHAR NOT NULL, area_code VARCHAR, stage VARCHAR, period_start DATE, "
    'period_end DATE, "group" VARCHAR, value DOUBLE, source VARCHAR, vintage VARCHAR, '
    "synthetic BOOLEAN)",
    "CREATE TABLE IF NOT EXISTS mart.stage_populations (area_code VARCHAR, year BIGINT, "
    '"group" VARCHAR, source VARCHAR, population DOUBLE)',
    "CREATE TABLE IF NOT EXISTS mart.coverage (grain VARCHAR NOT NULL, "
    + ", ".join(f'"{c}" {t}' for c, t in zip(CELL_COLUMNS, _CELL_TYPES, strict=True)) + ")",
    "CREATE TABLE IF NOT EXISTS mart.stage_state (key VARCHAR PRIMARY KEY, value VARCHAR)",
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


# --- readiness -----------------------------------------------------------------------------

_READY_SQL = (
    "SELECT coalesce((SELECT value FROM mart.stage_state WHERE key = 'version') = ("  # noqa: S608
    + STAMP_SQL + "), FALSE), "
    "(SELECT value FROM mart.stage_state WHERE key = 'coverage_measures')")


def _state(con: duckdb.DuckDBPyConnection) -> tuple[bool, frozenset[str]]:
    try:
        current, measures = con.execute(_READY_SQL).fetchall()[0]
    except duckdb.CatalogException:  # a warehouse whose mart predates these tables
        return False, frozenset()
    return bool(current), frozenset(json.loads(measures) if measures else ())


def _answered(con: duckdb.DuckDBPyConnection) -> tuple[bool, frozenset[str]]:
    """(whether the tables answer for the warehouse as it is, the measures coverage holds):
    asked once per data version (:func:`metrics.cache.cached`; a refresh clears it)."""
    return cache.cached(con, ("mart-stages-ready",), lambda: _state(con))


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the stage counts and populations answer for the warehouse as it is now."""
    return _answered(con)[0]


def coverage_ready(con: duckdb.DuckDBPyConnection, measures: Sequence[str]) -> bool:
    """Whether ``mart.coverage`` answers for the warehouse as it is, for every measure."""
    current, held = _answered(con)
    return current and held.issuperset(measures)


# --- reading -------------------------------------------------------------------------------

def read_counts(con: duckdb.DuckDBPyConnection, areas: Sequence[str], grain: str,
                ethnicity_source: str, stages: Sequence[str] | None) -> pl.DataFrame:
    """Stage counts of these areas (and stages: every one when None) at this grain and
    definition, in no particular order (as computed: every caller groups or sorts them;
    an ORDER BY was a third of the read)."""
    return read_counts_for(con, areas, grain, [(ethnicity_source, stages)])[0]


def read_counts_for(con: duckdb.DuckDBPyConnection, areas: Sequence[str], grain: str,
                    asks: Sequence[tuple[str, Sequence[str] | None]]) -> list[pl.DataFrame]:
    """:func:`read_counts` of these areas at this grain for each (definition, stages) asked,
    in one read (a page view wants its definition's counts and the other's stop and search:
    each read is a scan of the grain's rows)."""
    params: list[object] = [grain, list(areas)]
    wanted = []
    # the self-defined rows are held only for stages counted by a self-defined measure; the
    # other stages are counted alike under both definitions (the officer-defined rows)
    for ethnicity_source, stages in asks:
        own = set() if ethnicity_source == "officer" else set(self_defined_stages())
        parts = []  # the stages counted under each definition, as plain comparisons
        for definition, held in (("self", True), ("officer", False)):
            if definition == "self" and not own:
                continue
            if stages is None:
                if not own:
                    parts.append("ethnicity_source = 'officer'")
                    continue
                params.append(sorted(own))
                test = f"coalesce(list_contains(${len(params)}, stage), FALSE)"
                parts.append(f"(ethnicity_source = '{definition}' AND "
                             f"{test if held else f'NOT {test}'})")
            elif chosen := [st for st in stages if (st in own) == held]:
                params.append(chosen)
                parts.append(f"(ethnicity_source = '{definition}' AND "
                             f"list_contains(${len(params)}, stage))")
        wanted.append(f"({' OR '.join(parts) or 'FALSE'})")
    flags = "".join(f", {w} AS _ask{i}" for i, w in enumerate(wanted) if len(wanted) > 1)
    frame = fetch(con, f"SELECT {', '.join(_quoted(COUNT_SCHEMA))}{flags} "  # noqa: S608
                       "FROM mart.stage_counts WHERE grain = $1 AND list_contains($2, "
                       f"area_code) AND ({' OR '.join(wanted)})", params)
    if frame.height == 0:
        return [pl.DataFrame(schema=COUNT_SCHEMA) for _ in asks]
    frame = frame.cast(COUNT_SCHEMA)  # type: ignore[arg-type]
    if len(asks) == 1:
        return [frame]
    columns = [frame.get_column(c) for c in COUNT_SCHEMA]
    return [pl.DataFrame([c.filter(frame.get_column(f"_ask{i}")) for c in columns])
            for i in range(len(asks))]


def self_defined_stages() -> list[str]:
    """The stages counted by a measure of their own under self-defined ethnicity."""
    return [s.id for s in default_stages().counted() if s.self_defined_measure]


def read_populations(con: duckdb.DuckDBPyConnection, areas: Sequence[str]) -> pl.DataFrame:
    """These areas' populations: every area's are read once per data version (a few hundred
    rows; a disproportionality view asks up to five times)."""
    every = cache.cached(con, ("mart-stage-populations",), lambda: _all_populations(con))
    if len(areas) == 1:  # a page's one area: compared column-wise, without a query
        mask = every.get_column("area_code") == areas[0]
        return pl.DataFrame([column.filter(mask) for column in every.get_columns()])
    return every.filter(pl.col("area_code").is_in(list(areas)))


def _all_populations(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    frame = fetch(con, 'SELECT area_code, year, "group", source, population '
                       'FROM mart.stage_populations ORDER BY area_code, year, "group", source')
    return (frame.cast(POPULATION_SCHEMA) if frame.height  # type: ignore[arg-type]
            else pl.DataFrame(schema=POPULATION_SCHEMA))


def _coverage_where(grain: str, measures: Sequence[str], areas: Sequence[str] | None,
                    period: date | None) -> tuple[str, list[object]]:
    where = "grain = $1 AND list_contains($2, measure)"
    params: list[object] = [grain, sorted(measures)]
    if areas is not None:
        params.append(list(areas))
        where += f" AND list_contains(${len(params)}, area_code)"
    if period is not None:
        params.append(period)
        where += f" AND period_start = ${len(params)}"
    return where, params


def read_coverage(con: duckdb.DuckDBPyConnection, grain: str, measures: Sequence[str],
                  areas: Sequence[str] | None, period: date | None) -> pl.DataFrame:
    """Coverage cells (:data:`metrics.figure_coverage.CELL_SCHEMA`) of these measures."""
    where, params = _coverage_where(grain, measures, areas, period)
    return fetch(con, f"SELECT {', '.join(_quoted(CELL_COLUMNS))} FROM mart.coverage "  # noqa: S608
                      f"WHERE {where}", params)


def coverage_periods(con: duckdb.DuckDBPyConnection, grain: str, measures: Sequence[str],
                     areas: Sequence[str] | None) -> list[tuple[date, str]]:
    """The periods these areas' cells cover, oldest first: read once per data version (a
    scan of every cell of the grain for a list of a few dozen)."""
    where, params = _coverage_where(grain, measures, areas, None)
    key = ("coverage-periods", grain, tuple(sorted(measures)),
           None if areas is None else tuple(areas))
    return list(cache.cached(con, key, lambda: [(start, label) for start, label in con.execute(
        f"SELECT DISTINCT period_start, period_label FROM mart.coverage "  # noqa: S608
        f"WHERE {where} ORDER BY period_start", params).fetchall()]))


def _quoted(columns: Sequence[str] | dict[str, object]) -> list[str]:
    return [f'"{c}"' for c in columns]
