"""data.police.uk records → observations, as SQL: one statement per record table.

The loaders (``cjsdash ingest``) run these statements on DuckDB over the records they have
just validated, and ``cjsdash lake rollup`` runs the same statements, translated by sqlglot,
on DuckDB or Spark over a Parquet lake (or prints them for Athena/Trino): the observations
are the same by construction. Each statement reads one logical record table
(``raw_police_uk_street``, ``raw_police_uk_outcomes``, ``raw_police_uk_stop_search``: the
columns of the warehouse's ``raw.police_uk_*`` tables) and scans it once: ``GROUPING SETS``
count every breakdown in one pass, and a small inline table says which measure each grouping
feeds (a CTE referenced twice is computed twice on Spark).

Statements are written once, in DuckDB's dialect, with ``:name`` placeholders for the
vocabulary they compare against (``Not stated``, ``Arrest``…). :func:`statement` binds them
in the syntax tree (each placeholder becomes a literal node; values are never formatted into
SQL text) and returns the bound tree, which :mod:`cjsdash.lake.dialects` emits for an engine.

Every statement returns the columns of :data:`OUTPUT_COLUMNS`: one row per measure, force,
month, breakdown and load run (``run_id``: one run per force and month slice, so it never
splits a count; in a batch the loaders number files with it).
"""

from __future__ import annotations

from functools import cache

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from cjsdash.core.schema import BREAKDOWNS
from ingest.base import ReadContext
from ingest.police_uk_records import KEYS, NOT_STATED, OBSERVATION_SCHEMA

ASB = "Anti-social behaviour"
ARREST = "Arrest"
SELF_DEFINED_NOT_STATED = "Other ethnic group - Not stated"

OUTPUT_COLUMNS: tuple[str, ...] = (
    "measure", "area_code", "period_start", "period_end", *BREAKDOWNS, "value", "source",
    "run_id",
)
"""The columns (in order) every rollup statement returns."""
ENGINE_KEY = b"cjsdash.police_uk_rollup"
"""Parquet metadata of a lake rollup's output: the engine that ran it (and marks the file)."""
LAKE_KEY = b"cjsdash.lake"
"""Parquet metadata of a lake rollup's output: the lake it read."""

STREET = """
WITH records AS (
    SELECT area_code, month, run_id, crime_type = :asb AS is_asb, crime_type,
           coalesce(last_outcome, :not_stated) AS outcome
    FROM raw_police_uk_street
), grouped AS (
    SELECT area_code, month, run_id, is_asb,
           CASE WHEN GROUPING(crime_type) = 0 THEN 'offence_group'
                WHEN GROUPING(outcome) = 0 THEN 'outcome' ELSE 'total' END AS dim,
           CASE WHEN GROUPING(crime_type) = 0 THEN crime_type
                WHEN GROUPING(outcome) = 0 THEN outcome ELSE '' END AS dim_value,
           count(*) AS n
    FROM records
    GROUP BY GROUPING SETS ((area_code, month, run_id, is_asb),
                            (area_code, month, run_id, is_asb, crime_type),
                            (area_code, month, run_id, is_asb, outcome))
)
SELECT m.measure, g.area_code, g.month AS period_start, last_day(g.month) AS period_end,
    CASE WHEN g.dim = 'ethnicity' THEN g.dim_value ELSE '' END AS ethnicity,
    CASE WHEN g.dim = 'sex' THEN g.dim_value ELSE '' END AS sex,
    CASE WHEN g.dim = 'age_group' THEN g.dim_value ELSE '' END AS age_group,
    CASE WHEN g.dim = 'offence_group' THEN g.dim_value ELSE '' END AS offence_group,
    '' AS court_type,
    CASE WHEN g.dim = 'outcome' THEN g.dim_value ELSE '' END AS outcome,
    CAST(g.n AS DOUBLE) AS value, 'police_uk_street' AS source, g.run_id
FROM grouped AS g
JOIN (VALUES ('recorded_crimes', 'total', FALSE), ('recorded_crimes', 'offence_group', FALSE),
             ('recorded_crimes', 'outcome', FALSE), ('asb_incidents', 'total', TRUE)
     ) AS m(measure, dim, is_asb)
  ON g.dim = m.dim AND g.is_asb = m.is_asb
"""

OUTCOMES = """
WITH grouped AS (
    SELECT area_code, month, run_id,
           CASE WHEN GROUPING(outcome_type) = 0 THEN 'outcome' ELSE 'total' END AS dim,
           CASE WHEN GROUPING(outcome_type) = 0 THEN outcome_type ELSE '' END AS dim_value,
           count(*) AS n
    FROM raw_police_uk_outcomes
    GROUP BY GROUPING SETS ((area_code, month, run_id), (area_code, month, run_id, outcome_type))
)
SELECT 'police_uk_outcomes' AS measure, g.area_code, g.month AS period_start,
    last_day(g.month) AS period_end,
    CASE WHEN g.dim = 'ethnicity' THEN g.dim_value ELSE '' END AS ethnicity,
    CASE WHEN g.dim = 'sex' THEN g.dim_value ELSE '' END AS sex,
    CASE WHEN g.dim = 'age_group' THEN g.dim_value ELSE '' END AS age_group,
    CASE WHEN g.dim = 'offence_group' THEN g.dim_value ELSE '' END AS offence_group,
    '' AS court_type,
    CASE WHEN g.dim = 'outcome' THEN g.dim_value ELSE '' END AS outcome,
    CAST(g.n AS DOUBLE) AS value, 'police_uk_outcomes' AS source, g.run_id
FROM grouped AS g
"""

STOP_SEARCH = """
WITH records AS (
    SELECT area_code, month, run_id,
           coalesce(officer_defined_ethnicity, :not_stated) AS officer_group,
           CASE WHEN self_defined_ethnicity IS NULL
                     OR self_defined_ethnicity = :self_defined_not_stated THEN :not_stated
                ELSE CASE split_part(self_defined_ethnicity, ' - ', 1)
                    WHEN 'White' THEN 'White'
                    WHEN 'Black/African/Caribbean/Black British' THEN 'Black'
                    WHEN 'Asian/Asian British' THEN 'Asian'
                    WHEN 'Mixed/Multiple ethnic groups' THEN 'Mixed'
                    WHEN 'Other ethnic group' THEN 'Other'
                    WHEN 'Black or Black British' THEN 'Black'
                    WHEN 'Asian or Asian British' THEN 'Asian'
                    WHEN 'Mixed' THEN 'Mixed' END
           END AS self_group,
           coalesce(gender, :not_stated) AS sex,
           coalesce(age_range, :not_stated) AS age_group,
           coalesce(outcome, :not_stated) AS outcome
    FROM raw_police_uk_stop_search
), grouped AS (
    SELECT area_code, month, run_id,
           CASE WHEN GROUPING(officer_group) = 0 THEN 'officer'
                WHEN GROUPING(self_group) = 0 THEN 'self'
                WHEN GROUPING(sex) = 0 THEN 'sex'
                WHEN GROUPING(age_group) = 0 THEN 'age_group'
                WHEN GROUPING(outcome) = 0 THEN 'outcome' ELSE 'total' END AS grouping_name,
           CASE WHEN GROUPING(officer_group) = 0 THEN officer_group
                WHEN GROUPING(self_group) = 0 THEN self_group
                WHEN GROUPING(sex) = 0 THEN sex
                WHEN GROUPING(age_group) = 0 THEN age_group
                WHEN GROUPING(outcome) = 0 THEN outcome ELSE '' END AS dim_value,
           count(*) AS n,
           count(CASE WHEN officer_group <> :not_stated THEN 1 END) AS n_recorded,
           count(CASE WHEN outcome = :arrest THEN 1 END) AS n_arrests
    FROM records
    GROUP BY GROUPING SETS ((area_code, month, run_id),
                            (area_code, month, run_id, officer_group),
                            (area_code, month, run_id, self_group),
                            (area_code, month, run_id, sex),
                            (area_code, month, run_id, age_group),
                            (area_code, month, run_id, outcome))
), fed AS (
    SELECT m.measure, g.area_code, g.month, g.run_id, m.dim, g.dim_value,
           CASE m.counted WHEN 'n' THEN g.n WHEN 'n_recorded' THEN g.n_recorded
                ELSE g.n_arrests END AS n
    FROM grouped AS g
    JOIN (VALUES ('stop_searches', 'total', 'total', 'n'),
                 ('stop_searches', 'officer', 'ethnicity', 'n'),
                 ('stop_searches', 'sex', 'sex', 'n'),
                 ('stop_searches', 'age_group', 'age_group', 'n'),
                 ('stop_searches', 'outcome', 'outcome', 'n'),
                 ('stop_searches_ethnicity_recorded', 'total', 'total', 'n_recorded'),
                 ('stop_searches_self_defined', 'total', 'total', 'n'),
                 ('stop_searches_self_defined', 'self', 'ethnicity', 'n'),
                 ('stop_search_arrests', 'total', 'total', 'n_arrests'),
                 ('stop_search_arrests', 'officer', 'ethnicity', 'n_arrests')
         ) AS m(measure, grouping_name, dim, counted)
      ON g.grouping_name = m.grouping_name
)
SELECT g.measure, g.area_code, g.month AS period_start, last_day(g.month) AS period_end,
    CASE WHEN g.dim = 'ethnicity' THEN g.dim_value ELSE '' END AS ethnicity,
    CASE WHEN g.dim = 'sex' THEN g.dim_value ELSE '' END AS sex,
    CASE WHEN g.dim = 'age_group' THEN g.dim_value ELSE '' END AS age_group,
    CASE WHEN g.dim = 'offence_group' THEN g.dim_value ELSE '' END AS offence_group,
    '' AS court_type,
    CASE WHEN g.dim = 'outcome' THEN g.dim_value ELSE '' END AS outcome,
    CAST(g.n AS DOUBLE) AS value, 'police_uk_stop_search' AS source, g.run_id
FROM fed AS g
WHERE g.n > 0
"""

STATEMENTS: dict[str, tuple[str, str]] = {
    "police_uk_street": ("raw_police_uk_street", STREET),
    "police_uk_outcomes": ("raw_police_uk_outcomes", OUTCOMES),
    "police_uk_stop_search": ("raw_police_uk_stop_search", STOP_SEARCH),
}
"""source → (the logical record table it reads, the statement in DuckDB's dialect)."""

MEASURES: dict[str, tuple[str, ...]] = {
    "police_uk_street": ("recorded_crimes", "asb_incidents"),
    "police_uk_outcomes": ("police_uk_outcomes",),
    "police_uk_stop_search": ("stop_searches", "stop_searches_ethnicity_recorded",
                              "stop_searches_self_defined", "stop_search_arrests"),
}
"""source → the measures its statement emits."""

PARAMETERS: dict[str, str] = {
    "not_stated": NOT_STATED,
    "asb": ASB,
    "arrest": ARREST,
    "self_defined_not_stated": SELF_DEFINED_NOT_STATED,
}
"""The values bound to the statements' placeholders."""


def statement(source: str, parameters: dict[str, str] | None = None) -> exp.Expression:
    """The rollup for ``source`` as a syntax tree, its placeholders bound to literals."""
    _, sql = STATEMENTS[source]
    return bind(sqlglot.parse_one(sql, read="duckdb"), parameters or PARAMETERS)


def bind(tree: exp.Expression, parameters: dict[str, str]) -> exp.Expression:
    """Replace every ``:name`` placeholder in ``tree`` by a string literal node (a copy)."""
    tree = tree.copy()
    for node in list(tree.find_all(exp.Placeholder)):
        name = node.name
        if name not in parameters:
            raise KeyError(f"no value for the placeholder :{name}")
        node.replace(exp.Literal.string(parameters[name]))
    return tree


@cache
def duckdb_sql(source: str) -> str:
    return statement(source).sql(dialect="duckdb")


@cache
def columns_read(source: str) -> frozenset[str]:
    """The column names ``source``'s statement mentions (its table's, and others)."""
    return frozenset(column.name for column in statement(source).find_all(exp.Column))


def rollup_frame(source: str, records: pl.DataFrame) -> pl.DataFrame:
    """Run ``source``'s rollup on DuckDB over ``records`` (its logical table's columns, with
    ``run_id``); the result has :data:`OUTPUT_COLUMNS`."""
    table, _ = STATEMENTS[source]
    # One thread: a month of street records is counted in 0.08 s on one, and two cost 20%
    # more CPU for 0.01 s less wall, taken from the writer's commit when the next batch
    # is read while one is written (decision 37, "Since 2026-12-05 (later)").
    con = duckdb.connect(config={"threads": 1})
    try:
        needed = [c for c in records.columns if c in columns_read(source)]
        con.register(table, records.select(needed).to_arrow(  # string views: no copy
            compat_level=pl.CompatLevel.newest()))
        result = con.sql(duckdb_sql(source)).to_arrow_table()
    finally:
        con.close()
    frame = pl.from_arrow(result).select(OUTPUT_COLUMNS)  # type: ignore[union-attr]
    return frame.sort(OUTPUT_COLUMNS[:-3])


def observations_of(source: str, counts: pl.DataFrame, context: ReadContext,
                    vintage: str | pl.Expr, keep_run: bool = False
                    ) -> tuple[pl.DataFrame, list[str]]:
    """A rollup's counts as warehouse observations (with ``run_id`` if ``keep_run``).
    Measures the registry does not know are left out, with a note saying so."""
    missing = sorted(m for m in MEASURES[source] if m not in context.measures)
    notes = [f"measure '{m}' is not in the registry's measure catalogue: not loaded (the "
             "records are kept in raw)" for m in missing]
    frame = counts.filter(pl.col("measure").is_in(sorted(context.measures))).select(
        "measure", *KEYS, *BREAKDOWNS, "value",
        pl.lit(None, dtype=pl.String).alias("value_note"), pl.lit(source).alias("source"),
        (vintage if isinstance(vintage, pl.Expr) else pl.lit(vintage)).alias("vintage"),
        *(["run_id"] if keep_run else []),
    )
    if not keep_run:
        frame = frame.cast(OBSERVATION_SCHEMA)  # type: ignore[arg-type]
    return frame, notes
