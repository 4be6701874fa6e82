"""What is in the warehouse and whether to trust it: sources, loads, rejects, revisions.

Read-only functions over the provenance tables (``meta.sources``, ``meta.ingest_runs``,
``meta.rejects``, ``meta.quality_flags``) and the facts (``core.observations``), each
returning a polars frame with the same columns whatever the warehouse holds (an empty
warehouse gives empty frames, not errors). The ``/data`` page shows them; nothing here writes.
Which figures exist, by indicator, area and period, is :mod:`metrics.figure_coverage`.
"""

from __future__ import annotations

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.schema import BREAKDOWNS, OBSERVATION_KEY
from metrics import mart_analysis_reads as analysis_reads

REJECTS_LIMIT = 500

_KEY = ", ".join(OBSERVATION_KEY)


def sources_frame(con: duckdb.DuckDBPyConnection, *, stored: bool = True) -> pl.DataFrame:
    """One row per source: who publishes it, how much of it is loaded, which vintages.

    Every source in ``meta.sources``, and any that facts or runs name without registering it
    (kind ``unregistered``). ``figures`` counts current rows (observations and population
    denominators), ``superseded`` the older vintages kept beside them; ``runs`` the loads
    that brought rows of this source or named it. ``stored``: as the mart holds it
    (:mod:`metrics.mart_analysis_reads`) where it answers for the warehouse as it is.
    """
    if stored and (held := analysis_reads.provenance_table(con, "sources")) is not None:
        return held
    return fetch(con, """
        WITH facts AS (  -- grouped first: one row per source, run, vintage and currency
            SELECT source, run_id, vintage, is_current, count(*) AS n,
                   min(period_start) AS period_start, max(period_end) AS period_end
            FROM core.observations GROUP BY source, run_id, vintage, is_current
            UNION ALL
            -- population rows name their census ("Census 2011"); the source is the loader
            -- that brought them (its publisher and licence are registered)
            SELECT coalesce(r.loader, p.source), p.run_id, p.vintage, p.is_current, count(*),
                   make_date(min(p.year), 1, 1), make_date(max(p.year), 12, 31)
            FROM core.populations AS p LEFT JOIN meta.ingest_runs AS r USING (run_id)
            GROUP BY ALL
        ), per_source AS (
            SELECT source,
                   coalesce(sum(n) FILTER (WHERE is_current), 0) AS figures,
                   coalesce(sum(n) FILTER (WHERE NOT is_current), 0) AS superseded,
                   list(DISTINCT vintage ORDER BY vintage) AS vintages,
                   min(period_start) AS first_period_start,
                   max(period_end) AS last_period_end
            FROM facts GROUP BY source
        ), run_sources AS (
            SELECT DISTINCT source, run_id FROM facts
            UNION
            SELECT DISTINCT unnest(string_split(source, ',')) AS source, run_id
            FROM meta.ingest_runs WHERE source IS NOT NULL
        ), per_run AS (
            SELECT source, count(DISTINCT run_id) AS runs, list(DISTINCT run_id) AS run_ids
            FROM run_sources GROUP BY source
        ), names AS (
            SELECT source FROM meta.sources UNION SELECT source FROM per_source
            UNION SELECT source FROM per_run
        )
        SELECT n.source, coalesce(s.title, n.source) AS title,
               coalesce(s.publisher, 'not registered') AS publisher,
               coalesce(s.licence, 'not known') AS licence,
               coalesce(s.kind, 'unregistered') AS kind, coalesce(s.priority, 999) AS priority,
               coalesce(s.is_synthetic, false) AS synthetic,
               coalesce(s.schema_only, false) AS schema_only,
               CAST(coalesce(p.figures, 0) AS BIGINT) AS figures,
               CAST(coalesce(p.superseded, 0) AS BIGINT) AS superseded,
               coalesce(pr.runs, 0) AS runs,
               coalesce(p.vintages, []::VARCHAR[]) AS vintages,
               p.first_period_start, p.last_period_end,
               (SELECT max(coalesce(r.finished_at, r.started_at)) FROM meta.ingest_runs AS r
                WHERE list_contains(pr.run_ids, r.run_id)) AS last_loaded_at
        FROM names AS n LEFT JOIN meta.sources AS s USING (source)
        LEFT JOIN per_source AS p USING (source)
        LEFT JOIN per_run AS pr USING (source)
        ORDER BY priority, n.source
    """)


def runs_frame(con: duckdb.DuckDBPyConnection, *, stored: bool = True) -> pl.DataFrame:
    """Every file ever offered to ingest, newest first, with its source's title.

    ``source`` is what the run loaded (a board extract naming several sources lists them
    comma-separated); ``synthetic`` is true when any of them is a synthetic source.
    ``stored`` as for :func:`sources_frame`.
    """
    if stored and (held := analysis_reads.provenance_table(con, "runs")) is not None:
        return held
    return fetch(con, """
        SELECT r.run_id, r.file_name, r.loader, r.source,
               coalesce((SELECT string_agg(s.title, '; ' ORDER BY s.title) FROM meta.sources AS s
                         WHERE list_contains(string_split(r.source, ','), s.source)),
                        r.source) AS source_title,
               coalesce((SELECT bool_or(s.is_synthetic) FROM meta.sources AS s
                         WHERE list_contains(string_split(r.source, ','), s.source)),
                        false) AS synthetic,
               coalesce((SELECT bool_or(s.schema_only) FROM meta.sources AS s
                         WHERE list_contains(string_split(r.source, ','), s.source)),
                        false) AS schema_only,
               r.vintage, r.started_at, r.finished_at,
               coalesce(r.finished_at, r.started_at) AS loaded_at,
               r.rows_in, r.rows_loaded, r.rows_revised, r.rows_unchanged, r.rows_rejected,
               r.status, r.message, r.sha256
        FROM meta.ingest_runs AS r
        ORDER BY r.run_id DESC
    """)


def rejects_frame(con: duckdb.DuckDBPyConnection, run_id: int | None = None,
                  limit: int | None = REJECTS_LIMIT) -> pl.DataFrame:
    """Rejected rows with their reasons (one run, or every run newest first), at most ``limit``.

    ``row_number`` is the row as a spreadsheet numbers it (NULL for a whole-file problem).
    """
    where = "" if run_id is None else "WHERE run_id = ?"
    params: list[object] = [] if run_id is None else [int(run_id)]
    tail = ""
    if limit is not None:
        tail = "LIMIT ?"
        params.append(int(limit))
    return fetch(con, f"""
        SELECT run_id, file_name, row_number, column_name, value, reason
        FROM meta.rejects {where}
        ORDER BY run_id DESC, row_number NULLS FIRST, column_name
        {tail}
    """, params)  # noqa: S608 - the only interpolations are fixed SQL fragments


def rejects_count(con: duckdb.DuckDBPyConnection, run_id: int | None = None) -> int:
    """How many rejected rows there are (for one run, or in all)."""
    if run_id is None:
        held = analysis_reads.provenance_summary(con)
        return held["rejects"] if held else int(
            con.execute("SELECT count(*) FROM meta.rejects").fetchall()[0][0])
    return int(con.execute("SELECT count(*) FROM meta.rejects WHERE run_id = ?",
                           [int(run_id)]).fetchall()[0][0])


def quality_flags_frame(con: duckdb.DuckDBPyConnection, limit: int | None = REJECTS_LIMIT
                        ) -> pl.DataFrame:
    """Months that depart wildly from their area's own history (``meta.quality_flags``,
    written at each load by :mod:`cjsdash.core.quality`), newest month first, with the area's
    name, the measure's title and the file that brought the month."""
    tail, params = ("LIMIT ?", [int(limit)]) if limit is not None else ("", [])
    return fetch(con, f"""
        SELECT f.run_id, r.file_name, f.area_code, coalesce(a.name, f.area_code) AS area_name,
               f.measure, coalesce(m.title, f.measure) AS measure_title, f.period_start,
               f.breakdown, f."group", f.source, f.value, f.expected, f.history, f.z, f.reason
        FROM meta.quality_flags AS f
        LEFT JOIN meta.ingest_runs AS r USING (run_id)
        LEFT JOIN core.areas AS a ON a.code = f.area_code
        LEFT JOIN meta.measures AS m ON m.measure = f.measure
        ORDER BY f.period_start DESC, area_name, f.measure, f.breakdown, f."group"
        {tail}
    """, params)  # noqa: S608 - the only interpolation is a fixed SQL fragment


def revisions_frame(con: duckdb.DuckDBPyConnection, limit: int | None = None, *,
                    stored: bool = True) -> pl.DataFrame:
    """Figures loaded more than once with different values: each older row and what replaced it.

    One row per replaced version of a key of ``core.observations`` (measure, area, period,
    breakdowns, source), newest revision first: the old and new value, vintage and run.
    ``change`` is new minus old (NULL when either was withheld). ``stored`` as for
    :func:`sources_frame` (the newest revisions are held, not all of them).
    """
    if stored and (held := analysis_reads.provenance_table(con, "revisions", limit)) is not None:
        return held
    tail = "" if limit is None else "LIMIT ?"
    params = [] if limit is None else [int(limit)]
    return fetch(con, f"""
        WITH multi AS (  -- a key with more than one version has a version no longer current
            SELECT DISTINCT {_KEY} FROM core.observations WHERE NOT is_current
        ), versions AS (
            SELECT o.*,
                   lead(o.value) OVER k AS new_value,
                   lead(o.value_note) OVER k AS new_value_note,
                   lead(o.vintage) OVER k AS new_vintage,
                   lead(o.run_id) OVER k AS new_run_id,
                   lead(o.is_current) OVER k AS new_is_current
            FROM core.observations AS o SEMI JOIN multi USING ({_KEY})
            WINDOW k AS (PARTITION BY {", ".join("o." + c for c in OBSERVATION_KEY)}
                         ORDER BY o.run_id)
        )
        SELECT o.measure, coalesce(m.title, o.measure) AS measure_title,
               o.area_code, coalesce(a.name, o.area_code) AS area_name,
               o.period_start, o.period_end,
               {", ".join("o." + b for b in BREAKDOWNS)},
               coalesce(concat_ws(', ', {", ".join(
                   f"CASE WHEN o.{b} <> '' THEN '{b}=' || o.{b} END" for b in BREAKDOWNS)}),
                        '') AS breakdown,
               o.source,
               o.value AS old_value, o.value_note AS old_value_note,
               o.vintage AS old_vintage, o.run_id AS old_run_id,
               o.new_value, o.new_value_note, o.new_vintage, o.new_run_id, o.new_is_current,
               o.new_value - o.value AS change
        FROM versions AS o
        LEFT JOIN meta.measures AS m ON m.measure = o.measure
        LEFT JOIN core.areas AS a ON a.code = o.area_code
        WHERE o.new_run_id IS NOT NULL
        ORDER BY o.new_run_id DESC, o.measure, a.sort_key, o.period_start, breakdown
        {tail}
    """, params)  # noqa: S608 - identifiers from the schema contracts only


def coverage_summary(con: duckdb.DuckDBPyConnection, *, stored: bool = True) -> dict[str, int]:
    """Counts for the page's opening line: sources, runs by status, figures, rejects, revisions
    (``stored`` as for :func:`sources_frame`)."""
    if stored and (held := analysis_reads.provenance_summary(con)) is not None:
        return held
    row = con.execute("""
        SELECT (SELECT count(*) FROM meta.sources),
               (SELECT count(*) FROM meta.ingest_runs),
               (SELECT count(*) FROM meta.ingest_runs WHERE status = 'loaded'),
               (SELECT count(*) FROM meta.ingest_runs WHERE status <> 'loaded'),
               (SELECT count(*) FROM core.observations WHERE is_current),
               (SELECT count(*) FROM core.observations WHERE NOT is_current),
               (SELECT count(*) FROM meta.rejects),
               (SELECT count(*) FROM meta.sources WHERE is_synthetic)
    """).fetchall()[0]
    keys = ("sources", "runs", "runs_loaded", "runs_refused", "figures", "superseded",
            "rejects", "synthetic_sources")
    return {k: int(v) for k, v in zip(keys, row, strict=True)}
