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

from cjsdash.core.frames import arrow_table
from cjsdash.core.schema import BREAKDOWNS

_BB = ", ".join(BREAKDOWNS)
_KB = ", ".join(f"k.{b}" for b in BREAKDOWNS)
_KEY = f"measure, period_start, period_end, {_BB}, source"

_MEASURES = "list_contains($1, measure)"
_PENDING_PERIODS = ("(measure, period_start, period_end) IN (SELECT (measure, period_start, "
                    "period_end) FROM meta.rollup_pending_periods)")

# Each figure's key (measure, period, breakdowns, source) is numbered once, so the joins and
# groupings over every (area, strategy, slot) work on narrow integers, and a slot's row (its
# own, else a twin's) is chosen once per slot, not once per area that sums it: the same rows
# as summing the wide keys per area, in a fifth of the time and memory (decision 0023).
_ROLLUP_TEMPLATE = f"""
WITH current AS (
    SELECT * FROM core.observations WHERE is_current AND {{scope}}
), keys AS MATERIALIZED (
    SELECT row_number() OVER () AS key_id, * FROM (SELECT DISTINCT {_KEY} FROM current)
), keyed AS MATERIALIZED (
    SELECT o.area_code, k.key_id, o.vintage, o.value, o.value_note, o.run_id
    FROM current AS o JOIN keys AS k USING ({_KEY})
), slot_obs AS (
    SELECT t.area_code AS slot, o.key_id, o.vintage, o.value, o.value_note, o.run_id
    FROM keyed AS o JOIN core.area_twins AS t ON o.area_code = t.candidate_code
    WHERE t.area_code IN (SELECT source_area_code FROM core.area_sources WHERE strategy <> 1)
    QUALIFY row_number() OVER (PARTITION BY t.area_code, o.key_id
                               ORDER BY t.preference, t.candidate_code) = 1
), per_strategy AS (
    SELECT s.area_code, o.key_id, s.strategy,
           CASE WHEN count(o.value) < count(*) THEN NULL ELSE sum(o.value) END AS value,
           max(o.vintage) AS vintage,
           array_to_string(list_sort(list_distinct(
               list(o.value_note) FILTER (WHERE o.value_note IS NOT NULL))), '; ') AS value_note,
           max(o.run_id) AS run_id
    FROM slot_obs AS o JOIN core.area_sources AS s ON s.source_area_code = o.slot
    WHERE s.strategy <> 1
    GROUP BY s.area_code, o.key_id, s.strategy
    HAVING count(*) = max(s.set_size)
), best AS (
    SELECT * FROM per_strategy
    QUALIFY row_number() OVER (PARTITION BY area_code, key_id ORDER BY strategy) = 1
)
SELECT b.area_code, k.measure, k.period_start, k.period_end, {_KB}, k.source, b.vintage,
       b.value, b.value_note, b.strategy, b.run_id
FROM best AS b JOIN keys AS k USING (key_id)
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
        # Distinct in DuckDB, not polars: the writer's polars calls wait for the reader's
        # parse on polars' thread pool (:mod:`cjsdash.core.frames`).
        con.register("_rollup_periods", arrow_table(
            periods, ("measure", "period_start", "period_end")))
        try:
            con.execute(
                "INSERT INTO meta.rollup_pending_periods SELECT DISTINCT * FROM _rollup_periods AS p "
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
