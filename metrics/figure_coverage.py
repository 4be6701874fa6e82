"""Which figures exist: indicator × area × period coverage, for the data page's matrices.

Read-only functions over the rolled-up facts (``core.area_observations``), so an LCJB is
covered when its forces are; from the figure mart's coverage cells
(:mod:`metrics.mart_stage_reads`) where they answer for the warehouse as it is, else computed
here (:func:`coverage_cells`, which the mart stores). An empty warehouse gives empty frames
with the same columns, not errors. Where the figures came from is :mod:`metrics.provenance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.periods import GRAIN_MONTHS, add_months, bucket_end, bucket_start, label_period
from cjsdash.core.schema import BREAKDOWNS
from metrics import mart_stage_reads as stage_reads
from metrics.registry import Registry

COVERAGE_GRAINS: tuple[str, ...] = ("month", "quarter", "fquarter", "fy", "year")
"""Grains a coverage matrix can be drawn at (a rolling 12 months overlaps itself)."""

_HEADLINE = " AND ".join(f"{b} = ''" for b in BREAKDOWNS)
_BUCKET_SQL = {
    # the first day of the bucket holding the month ``m`` (a DATE, the first of a month)
    "month": "m",
    "quarter": "CAST(date_trunc('quarter', m) AS DATE)",
    "fquarter": "CAST(date_trunc('quarter', m) AS DATE)",
    "fy": "make_date(year(m) - CAST(month(m) < 4 AS INTEGER), 4, 1)",
    "year": "make_date(year(m), 1, 1)",
}


COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "indicator": pl.String(), "indicator_title": pl.String(), "theme": pl.String(),
    "measure": pl.String(), "area_code": pl.String(), "period_start": pl.Date(),
    "period_end": pl.Date(), "period_label": pl.String(), "figures": pl.Int64(),
    "withheld": pl.Int64(), "breakdown_figures": pl.Int64(), "months_covered": pl.Int64(),
    "months_expected": pl.Int64(), "complete": pl.Boolean(), "synthetic": pl.Boolean(),
    "sources": pl.String(),
}


CELL_SCHEMA: dict[str, pl.DataType] = {
    k: v for k, v in COVERAGE_SCHEMA.items() if k not in ("indicator", "indicator_title", "theme")}
"""A coverage cell of one measure (what :func:`coverage_cells` gives and the mart holds)."""


def coverage_frame(con: duckdb.DuckDBPyConnection, registry: Registry, grain: str = "fy", *,
                   areas: Sequence[str] | None = None, period: date | None = None
                   ) -> pl.DataFrame:
    """Which figures exist: indicator × area × period (of ``grain``), from the rolled-up facts.

    For every registry indicator its numerator measure is looked up in
    ``core.area_observations`` (so an LCJB is covered when its forces are). Per cell:

    - ``figures``: headline figures present (no breakdown, a value);
    - ``withheld``: headline rows the publisher withheld (no value, a reason);
    - ``breakdown_figures``: figures present for breakdown groups (ethnicity, …);
    - ``months_covered`` of ``months_expected``: calendar months of the period that any
      present figure covers; ``complete`` when every month is covered;
    - ``synthetic``: any of it comes from a synthetic source; ``sources``: which sources.

    Only cells with at least one row are returned (absent cells have nothing). ``areas``
    limits the areas; ``period`` (the first day of a ``grain`` period) limits it to that one.
    """
    cells = coverage_cells(con, _numerators(registry), grain, areas=areas, period=period)
    return with_indicators(cells, registry)


def _numerators(registry: Registry) -> list[str]:
    return sorted({ind.numerator.measure for ind in registry.indicators})


def coverage_cells(con: duckdb.DuckDBPyConnection, measures: Sequence[str], grain: str, *,
                   areas: Sequence[str] | None = None, period: date | None = None
                   ) -> pl.DataFrame:
    """:func:`coverage_frame`'s cells per measure (:data:`CELL_SCHEMA`), before the registry's
    indicators are joined to them; what the figure mart holds (:mod:`metrics.mart_stages`)."""
    _check_grain(grain)
    params: list[object] = [sorted(measures)]
    area_filter = ""
    if areas is not None:
        params.append(list(areas))
        area_filter = f"AND list_contains(${len(params)}, o.area_code)"
    if period is not None:
        params += [bucket_end(period, grain), period]
        area_filter += (f" AND o.period_start <= ${len(params) - 1}"
                        f" AND o.period_end >= ${len(params)}")
    cells = fetch(con, f"""
        WITH rows AS (
            SELECT o.measure, o.area_code, o.period_start, o.period_end,
                   count(*) FILTER (WHERE {_HEADLINE} AND o.value IS NOT NULL) AS figures,
                   count(*) FILTER (WHERE {_HEADLINE} AND o.value IS NULL) AS withheld,
                   count(*) FILTER (WHERE NOT ({_HEADLINE}) AND o.value IS NOT NULL)
                       AS breakdown_figures,
                   bool_or(o.value IS NOT NULL) AS present,
                   bool_or(coalesce(s.is_synthetic, false)) AS synthetic,
                   list(DISTINCT o.source) AS sources
            FROM core.area_observations AS o
            LEFT JOIN meta.sources AS s ON s.source = o.source
            WHERE list_contains($1, o.measure) {area_filter}
            GROUP BY o.measure, o.area_code, o.period_start, o.period_end
        ), months AS (
            SELECT r.*, CAST(unnest(generate_series(
                       CAST(date_trunc('month', r.period_start) AS TIMESTAMP),
                       CAST(r.period_end AS TIMESTAMP), INTERVAL 1 MONTH)) AS DATE) AS m
            FROM rows AS r
        ), bucketed AS (
            SELECT * FROM (SELECT *, {_BUCKET_SQL[grain]} AS bucket FROM months)
            {"" if period is None else f"WHERE bucket = ${len(params) + 1}"}
        ), per_period AS (
            SELECT measure, area_code, bucket, period_start, period_end,
                   any_value(figures) AS figures, any_value(withheld) AS withheld,
                   any_value(breakdown_figures) AS breakdown_figures,
                   any_value(synthetic) AS synthetic, any_value(sources) AS sources
            FROM bucketed GROUP BY measure, area_code, bucket, period_start, period_end
        ), per_bucket AS (
            SELECT measure, area_code, bucket,
                   sum(figures) AS figures, sum(withheld) AS withheld,
                   sum(breakdown_figures) AS breakdown_figures,
                   bool_or(synthetic) AS synthetic,
                   list_sort(list_distinct(flatten(list(sources)))) AS sources
            FROM per_period GROUP BY measure, area_code, bucket
        ), covered AS (
            SELECT measure, area_code, bucket, count(DISTINCT m) AS months_covered
            FROM bucketed WHERE present GROUP BY measure, area_code, bucket
        )
        SELECT b.measure, b.area_code, b.bucket AS period_start,
               CAST(b.figures AS BIGINT) AS figures, CAST(b.withheld AS BIGINT) AS withheld,
               CAST(b.breakdown_figures AS BIGINT) AS breakdown_figures,
               coalesce(c.months_covered, 0) AS months_covered,
               b.synthetic, array_to_string(b.sources, ', ') AS sources
        FROM per_bucket AS b
        LEFT JOIN covered AS c USING (measure, area_code, bucket)
    """, params + ([] if period is None else [period]))  # noqa: S608 - values are bound
    if cells.height == 0:
        return pl.DataFrame(schema=CELL_SCHEMA)
    expected = GRAIN_MONTHS[grain]
    starts = cells["period_start"].unique().to_list()
    labels = pl.DataFrame({
        "period_start": starts,
        "period_end": [bucket_end(s, grain) for s in starts],
        "period_label": [label_period(s, bucket_end(s, grain), grain) for s in starts],
    }, schema={"period_start": pl.Date, "period_end": pl.Date, "period_label": pl.String})
    return (
        cells.join(labels, on="period_start", how="left")
        .with_columns(
            pl.col("months_covered").clip(upper_bound=expected).cast(pl.Int64),
            pl.lit(expected, dtype=pl.Int64).alias("months_expected"),
        )
        .with_columns((pl.col("months_covered") >= pl.col("months_expected")).alias("complete"))
        .select(list(CELL_SCHEMA)).cast(CELL_SCHEMA)  # type: ignore[arg-type]
    )


def with_indicators(cells: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """Coverage cells (:data:`CELL_SCHEMA`) as :func:`coverage_frame` gives them: one row per
    registry indicator counted by the cell's measure, in registry, area and period order."""
    if cells.height == 0:
        return pl.DataFrame(schema=COVERAGE_SCHEMA)
    pairs = [(ind.id, ind.title, ind.theme, ind.numerator.measure) for ind in registry.indicators]
    indicators = pl.DataFrame(pairs, schema=["indicator", "indicator_title", "theme", "measure"],
                              orient="row")
    order = {ind.id: i for i, ind in enumerate(registry.indicators)}
    frame = (
        indicators.join(cells, on="measure", how="inner")
        .with_columns(pl.col("indicator").replace_strict(order, return_dtype=pl.Int64)
                      .alias("_order"))
        .sort("_order", "area_code", "period_start")
        .select(list(COVERAGE_SCHEMA))
    )
    return frame.cast(COVERAGE_SCHEMA)  # type: ignore[arg-type]


def _check_grain(grain: str) -> None:
    if grain not in _BUCKET_SQL:
        raise ValueError(f"coverage grain must be one of {', '.join(COVERAGE_GRAINS)}, "
                         f"not '{grain}'")


COVERAGE_DEFAULT_GRAIN = "fy"  # the data page's first view


def coverage(con: duckdb.DuckDBPyConnection, registry: Registry, grain: str = "fy", *,
             areas: Sequence[str] | None = None, period: date | None = None) -> pl.DataFrame:
    """:func:`coverage_frame`, read from the figure mart where it answers for the warehouse
    as it is (:func:`metrics.mart_stage_reads.coverage_ready`), else computed. The same rows
    either way (tested)."""
    _check_grain(grain)
    measures = _numerators(registry)
    if stage_reads.coverage_ready(con, measures):
        cells = stage_reads.read_coverage(con, grain, measures, areas, period)
        return with_indicators(cells, registry)
    return coverage_frame(con, registry, grain, areas=areas, period=period)


def coverage_periods(con: duckdb.DuckDBPyConnection, registry: Registry, grain: str = "fy", *,
                     areas: Sequence[str] | None = None) -> list[tuple[date, str]]:
    """(first day, label) of every ``grain`` period any registry figure touches, oldest first
    (from the figure mart where it answers, else one query)."""
    _check_grain(grain)
    measures = _numerators(registry)
    if stage_reads.coverage_ready(con, measures):
        return stage_reads.coverage_periods(con, grain, measures, areas)
    params: list[object] = [measures]
    area_filter = ""
    if areas is not None:
        params.append(list(areas))
        area_filter = "AND list_contains($2, area_code)"
    spans = con.execute(
        "SELECT DISTINCT period_start, period_end FROM core.area_observations "  # noqa: S608
        f"WHERE list_contains($1, measure) {area_filter}", params).fetchall()
    starts: set[date] = set()
    for start, end in spans:
        month = date(start.year, start.month, 1)
        while month <= end:
            starts.add(bucket_start(month, grain))
            month = add_months(month, 1)
    return [(s, label_period(s, bucket_end(s, grain), grain)) for s in sorted(starts)]
