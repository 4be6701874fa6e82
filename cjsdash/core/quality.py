"""Months that depart wildly from the area's own history: a data-quality check.

A broken publisher month looks like data: data.police.uk's Thames Valley stop and search for
January 2022 has 84 searches, 81 of them "Asian", against several hundred a month with a
small Asian share. Nothing in the file is invalid row by row, so nothing rejects it; this
check compares each month of a count with the same area's months before it (decision 0012):

- **history**: the observed months in the 24 calendar months before, at least
  :data:`MIN_HISTORY` of them (fewer: not checked);
- **total**: flagged when its robust z-score ``(x − median) / (1.4826 × MAD)`` is beyond
  :data:`Z_LIMIT` *and* the month is at most half or at least double the median
  (:data:`RATIO`). The scale is floored at 10% of the median (and 1), so a flat history does
  not make every small wobble a departure;
- **composition**: each group's share of the month's total (by ethnicity, sex, age group,
  outcome, …), when the total is at least :data:`MIN_TOTAL`: flagged when its robust z-score
  against the group's own shares is beyond :data:`Z_LIMIT` *and* it moved by at least
  :data:`SHARE_POINTS` (20 percentage points); the scale is floored at 2 points.

Median and MAD rather than mean and standard deviation: one broken month in the history must
not hide the next. Only counts (measures summed over time) at month grain are checked; per
area and month the source the dashboard would show (the lowest priority number) is the
series. Flags are warnings: nothing is refused or hidden.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cjsdash.core.frames import arrow_table
from cjsdash.core.gateway import fetch
from cjsdash.core.schema import BREAKDOWNS

MIN_HISTORY = 12
HISTORY_MONTHS = 24
Z_LIMIT = 5.0
RATIO = 2.0
MIN_TOTAL = 30
SHARE_POINTS = 0.20
MAD_SCALE = 1.4826
"""MAD × 1.4826 estimates the standard deviation of normally distributed data."""

FLAG_SCHEMA: dict[str, pl.DataType] = {
    "area_code": pl.String(), "measure": pl.String(), "period_start": pl.Date(),
    "breakdown": pl.String(), "group": pl.String(), "source": pl.String(),
    "value": pl.Float64(), "expected": pl.Float64(), "history": pl.Int64(),
    "z": pl.Float64(), "reason": pl.String(),
}
_ONE_BREAKDOWN = " + ".join(f"(o.{b} <> '')::INTEGER" for b in BREAKDOWNS)
_WHICH = "CASE " + " ".join(f"WHEN o.{b} <> '' THEN '{b}'" for b in BREAKDOWNS) + " ELSE '' END"
_GROUP = "CASE " + " ".join(f"WHEN o.{b} <> '' THEN o.{b}" for b in BREAKDOWNS) + " ELSE '' END"
_HISTORY = (f"PARTITION BY area_code, measure, breakdown, \"group\" ORDER BY m "
            f"RANGE BETWEEN {HISTORY_MONTHS} PRECEDING AND 1 PRECEDING")

HISTORY_SQL = f"""
WITH counts AS (
    SELECT o.area_code, o.measure, o.period_start, {_WHICH} AS breakdown,
           {_GROUP} AS "group", o.source, o.value,
           year(o.period_start) * 12 + month(o.period_start) AS m
    FROM core.area_observations AS o
    JOIN meta.measures AS ms ON ms.measure = o.measure AND ms.aggregation = 'sum'
    LEFT JOIN meta.sources AS s ON s.source = o.source
    WHERE o.period_end = last_day(o.period_start) AND o.value IS NOT NULL
      AND {_ONE_BREAKDOWN} <= 1 AND NOT coalesce(s.is_synthetic, FALSE)
      AND ($1::VARCHAR[] IS NULL OR list_contains($1::VARCHAR[], o.area_code))
      AND ($2::VARCHAR[] IS NULL OR list_contains($2::VARCHAR[], o.measure))
      AND ($3::DATE IS NULL OR o.period_start >= $3::DATE - INTERVAL {HISTORY_MONTHS} MONTH)
    QUALIFY o.source = first(o.source ORDER BY coalesce(s.priority, 50), o.source) OVER (
        PARTITION BY o.area_code, o.measure, o.period_start)
), totals AS (
    SELECT area_code, measure, period_start, m, source, value AS total
    FROM counts WHERE breakdown = ''
), parts AS (
    SELECT c.area_code, c.measure, c.period_start, c.m, c.breakdown, c."group", c.source,
           c.value, t.total
    FROM counts AS c JOIN totals AS t USING (area_code, measure, period_start, source)
    WHERE c.breakdown <> '' AND t.total > 0
), months AS (
    SELECT DISTINCT area_code, measure, breakdown, period_start, m, source, total FROM parts
), groups AS (
    SELECT DISTINCT area_code, measure, breakdown, "group" FROM parts
), series AS (  -- a group absent from a month had a share of 0 that month
    SELECT mo.area_code, mo.measure, mo.period_start, mo.m, mo.breakdown, g."group",
           mo.source, coalesce(p.value, 0) AS value, mo.total,
           coalesce(p.value, 0) / mo.total AS x
    FROM months AS mo JOIN groups AS g USING (area_code, measure, breakdown)
    LEFT JOIN parts AS p USING (area_code, measure, breakdown, "group", period_start)
    UNION ALL
    SELECT area_code, measure, period_start, m, '', '', source, total, total, total FROM totals
)
SELECT area_code, measure, period_start, breakdown, "group", source, value, total, x,
       count(x) OVER w AS history, median(x) OVER w AS expected, mad(x) OVER w AS mad
FROM series
WINDOW w AS ({_HISTORY})
QUALIFY $3::DATE IS NULL OR period_start >= $3::DATE
"""  # noqa: S608 - identifiers from the schema contracts only
"""Every month of every count — its total (``x`` the count) and each group of one breakdown
(``x`` its share of the total) — with the median, MAD and number of the same series' months
in the HISTORY_MONTHS before. ``$1`` areas, ``$2`` measures, ``$3`` the first month judged
(each NULL: all). Synthetic sources are left out; per area and month, the source the
dashboard would show."""


def history_stats(con: duckdb.DuckDBPyConnection, *, areas: list[str] | None = None,
                  measures: list[str] | None = None, since: date | None = None
                  ) -> pl.DataFrame:
    return fetch(con, HISTORY_SQL, [areas, measures, since])


def departures(stats: pl.DataFrame) -> pl.DataFrame:
    """The rows of :func:`history_stats` that depart wildly from their history (the rule in
    this module's docstring), as FLAG_SCHEMA rows. Pure."""
    if stats.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    known = stats.filter(pl.col("history") >= MIN_HISTORY)
    is_total = pl.col("breakdown") == ""
    scale = pl.when(is_total).then(
        pl.max_horizontal(MAD_SCALE * pl.col("mad"), 0.1 * pl.col("expected"), pl.lit(1.0))
    ).otherwise(pl.max_horizontal(MAD_SCALE * pl.col("mad"), pl.lit(0.02)))
    z = (pl.col("x") - pl.col("expected")) / scale
    wild_total = (pl.col("x") * RATIO <= pl.col("expected")) | (
        pl.col("x") >= RATIO * pl.col("expected"))
    wild_share = ((pl.col("x") - pl.col("expected")).abs() >= SHARE_POINTS) & (
        pl.col("total") >= MIN_TOTAL)
    flagged = known.with_columns(z.alias("z")).filter(
        (pl.col("z").abs() >= Z_LIMIT) & pl.when(is_total).then(wild_total)
        .otherwise(wild_share))
    return flagged.with_columns(
        pl.col("x").alias("value"),
        pl.when(is_total).then(_total_reason()).otherwise(_share_reason()).alias("reason"),
    ).select(list(FLAG_SCHEMA)).cast(FLAG_SCHEMA).sort(
        "area_code", "measure", "period_start", "breakdown", "group")


def _whole(column: str, scale: float = 1.0) -> pl.Expr:
    return (pl.col(column) * scale).round(0).cast(pl.Int64).cast(pl.String)


def _total_reason() -> pl.Expr:
    return pl.concat_str([pl.lit("total "), _whole("x"), pl.lit(" against a median of "),
                          _whole("expected"), pl.lit(" in the "), pl.col("history").cast(
                              pl.String), pl.lit(" months before")])


def _share_reason() -> pl.Expr:
    return pl.concat_str([
        pl.col("group"), pl.lit(": "), _whole("value"), pl.lit(" of "), _whole("total"),
        pl.lit(" ("), _whole("x", 100.0), pl.lit("%) against a median share of "),
        _whole("expected", 100.0), pl.lit("% in the "), pl.col("history").cast(pl.String),
        pl.lit(" months before")])


def describe(flag: dict[str, object], area_name: str | None = None) -> str:
    """One line: 'Thames Valley stop_searches, Jan 2022, by ethnicity: Asian: 81 of 84 (96%)
    against a median share of 12% in the 24 months before'."""
    period = flag["period_start"]
    when = period.strftime("%b %Y") if isinstance(period, date) else str(period)
    by = f", by {str(flag['breakdown']).replace('_', ' ')}" if flag["breakdown"] else ""
    return f"{area_name or flag['area_code']} {flag['measure']}, {when}{by}: {flag['reason']}"


def check_months(con: duckdb.DuckDBPyConnection, months: pl.DataFrame) -> pl.DataFrame:
    """Flags for just ``months`` (area_code, measure, period_start: what a load brought),
    judged against all the history the warehouse holds."""
    if months.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    stats = history_stats(con, areas=sorted(months["area_code"].unique().to_list()),
                          measures=sorted(months["measure"].unique().to_list()),
                          since=months["period_start"].min())
    stats = stats.join(months.select("area_code", "measure", "period_start").unique(),
                       on=["area_code", "measure", "period_start"], how="semi")
    return departures(stats)


def record_flags(con: duckdb.DuckDBPyConnection, flags: pl.DataFrame,
                 months: pl.DataFrame) -> None:
    """Replace the stored flags of ``months`` (area_code, measure, period_start, run_id) with
    ``flags``, each under the run that brought its month (``meta.quality_flags``)."""
    keys = ["area_code", "measure", "period_start"]
    con.register("_checked_months", months.select(*keys, "run_id").unique(keys).to_arrow())
    try:
        con.execute("DELETE FROM meta.quality_flags AS f WHERE EXISTS (SELECT 1 FROM "
                    "_checked_months AS c WHERE c.area_code = f.area_code AND "
                    "c.measure = f.measure AND c.period_start = f.period_start)")
        if flags.height:
            con.register("_flags", arrow_table(flags))
            try:
                con.execute(
                    "INSERT INTO meta.quality_flags SELECT c.run_id, f.* FROM _flags AS f "
                    "JOIN _checked_months AS c USING (area_code, measure, period_start)")
            finally:
                con.unregister("_flags")
    finally:
        con.unregister("_checked_months")
