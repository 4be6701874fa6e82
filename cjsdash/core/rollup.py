"""Figures for every area, summed up from the areas that make it: ``core.area_observations``.

An area's figure comes from its own rows (or a twin's: a force and its LCJB have the same
footprint), else from the sum of its forces, else the sum of its LCJBs — a strategy counts
only when every area it needs is present, so a partial total is never shown as a total.
Each load notes the measures it touched in ``meta.rollup_pending`` inside its own transaction,
and the periods of each in ``meta.rollup_pending_periods``; after a batch of files (one
``cjsdash ingest`` call, one upload) the pending measures are refreshed in one transaction, so
a reader sees either the old figures or the new ones, never a mix. An interrupted batch is
finished by the next ``prepare``. An area's figure for a measure and period is summed from the
figures of that measure and period alone, so only the periods a load touched are refreshed (a
month of street crime into ten years: 1 period of 121, not all of them); a measure pending
with no period noted (an older warehouse's note, a migration) is refreshed whole.
"""

from __future__ import annotations

import duckdb
import polars as pl

from cjsdash.core.schema import BREAKDOWNS

_B = ", ".join(f"o.{b}" for b in BREAKDOWNS)
_BB = ", ".join(BREAKDOWNS)

_MEASURES = "list_contains($1, o.measure)"
_PENDING_PERIODS = ("(o.measure, o.period_start, o.period_end) IN (SELECT (measure, period_start, "
                    "period_end) FROM meta.rollup_pending_periods)")

_ROLLUP_TEMPLATE = f"""
WITH src AS (
    SELECT s.area_code, s.strategy, s.source_area_code AS slot, s.set_size,
           t.candidate_code, t.preference
    FROM core.area_sources AS s JOIN core.area_twins AS t ON t.area_code = s.source_area_code
    WHERE s.strategy <> 1
), obs AS (
    SELECT s.area_code, o.measure, o.period_start, o.period_end, {_B}, o.source, o.vintage,
           s.strategy, s.set_size, s.slot, o.value, o.value_note, o.run_id
    FROM core.observations AS o JOIN src AS s ON o.area_code = s.candidate_code
    WHERE o.is_current AND {{scope}}
    QUALIFY row_number() OVER (
        PARTITION BY s.area_code, s.strategy, s.slot, o.measure, o.period_start, o.period_end,
                     {_B}, o.source
        ORDER BY s.preference) = 1
), per_strategy AS (
    SELECT area_code, measure, period_start, period_end, {_BB}, source, strategy,
           CASE WHEN count(value) < count(*) THEN NULL ELSE sum(value) END AS value,
           max(vintage) AS vintage,
           string_agg(DISTINCT value_note, '; ') AS value_note,
           max(run_id) AS run_id
    FROM obs
    GROUP BY area_code, measure, period_start, period_end, {_BB}, source, strategy
    HAVING count(DISTINCT slot) = max(set_size)
)
SELECT area_code, measure, period_start, period_end, {_BB}, source, vintage, value,
       value_note, strategy, run_id
FROM per_strategy
QUALIFY row_number() OVER (
    PARTITION BY area_code, measure, period_start, period_end, {_BB}, source
    ORDER BY strategy) = 1
"""  # noqa: S608 - identifiers from the schema contracts only
ROLLUP_SELECT_SQL = _ROLLUP_TEMPLATE.format(scope=_MEASURES)
"""The rollup of the measures bound as $1, every period."""


def refresh_rollup(con: duckdb.DuckDBPyConnection, measures: list[str]) -> int:
    """Recompute ``core.area_observations`` for ``measures`` (inside the caller's transaction)."""
    if not measures:
        return 0
    con.execute("DELETE FROM core.area_observations WHERE list_contains($1, measure)",
                [measures])
    return con.execute(
        f"INSERT INTO core.area_observations {ROLLUP_SELECT_SQL}", [measures]
    ).fetchone()[0]


def refresh_periods(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute ``core.area_observations`` for the (measure, period) pairs noted in
    ``meta.rollup_pending_periods`` (inside the caller's transaction)."""
    con.execute("DELETE FROM core.area_observations AS o WHERE "  # noqa: S608 - fixed SQL
                + _PENDING_PERIODS)
    return con.execute("INSERT INTO core.area_observations "
                       + _ROLLUP_TEMPLATE.format(scope=_PENDING_PERIODS)).fetchone()[0]


def mark_pending(con: duckdb.DuckDBPyConnection, measures: list[str],
                 periods: pl.DataFrame | None = None) -> None:
    """Note, inside a load's transaction, which measures the rollup must refresh, and with
    ``periods`` (columns measure, period_start, period_end) which of their periods; a measure
    already pending whole stays whole."""
    if not measures:
        return
    if periods is not None and periods.height:
        con.register("_rollup_periods", periods.select(
            "measure", "period_start", "period_end").unique().to_arrow())
        try:
            con.execute(
                "INSERT INTO meta.rollup_pending_periods SELECT * FROM _rollup_periods AS p "
                "WHERE p.measure NOT IN (SELECT measure FROM meta.rollup_pending WHERE measure "
                "NOT IN (SELECT measure FROM meta.rollup_pending_periods)) "
                "AND (p.measure, p.period_start, p.period_end) NOT IN (SELECT (measure, "
                "period_start, period_end) FROM meta.rollup_pending_periods)")
        finally:
            con.unregister("_rollup_periods")
    # One statement, and only the measures not already noted (an INSERT … ON CONFLICT per
    # measure cost about 6 ms a file in a batch of forty).
    con.execute("INSERT INTO meta.rollup_pending SELECT DISTINCT m FROM unnest($1::VARCHAR[]) "
                "AS t(m) WHERE m NOT IN (SELECT measure FROM meta.rollup_pending)",
                [list(measures)])


def refresh_pending(con: duckdb.DuckDBPyConnection) -> int:
    """Refresh every pending measure in one transaction (after a batch of loads, or at start
    after an interrupted batch): the periods noted, or the whole measure where none are.
    Readers see the old figures or the new, never a mix."""
    pending = [m for (m,) in con.execute("SELECT measure FROM meta.rollup_pending").fetchall()]
    if not pending:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        with_periods = {m for (m,) in con.execute(
            "SELECT DISTINCT measure FROM meta.rollup_pending_periods").fetchall()}
        rows = refresh_rollup(con, sorted(set(pending) - with_periods))
        if with_periods:
            rows += refresh_periods(con)
        con.execute("DELETE FROM meta.rollup_pending_periods")
        con.execute("DELETE FROM meta.rollup_pending")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows
