"""Native periods → the grain asked for: sums or period-end stocks, complete periods only.

Pure polars: a frame of native observations in, a frame of grain periods out. A period is
shown only when every month of it is covered (a quarter with two months of data is left out,
never shown as if complete).

Observations of one series (area, measure, breakdown, source) at several grains that overlap
— months loaded, then a revised quarter — are first reduced to *tiles* that do not overlap
(decision 0012): for each month, the most recently loaded observation that covers it, the
finer where one load gave both; an observation is used whole or not at all. Every grain is
then built from the same tiles, so a quarter, its financial year and the rolling years that
contain it agree. ``built_from`` says which grains made each figure ("9 months + 1 quarter").
"""

from __future__ import annotations

import polars as pl

GRAIN_MONTHS = {"month": 1, "quarter": 3, "fquarter": 3, "fy": 12, "year": 12, "r12": 12}
GROUP = ["area_code", "measure", "breakdown", "source"]


def _month_index(col: str) -> pl.Expr:
    return pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month().cast(pl.Int32) - 1


def _bucket(grain: str) -> pl.Expr:
    start = pl.col("period_start")
    if grain == "month":
        return start.dt.truncate("1mo")
    if grain in ("quarter", "fquarter"):
        return start.dt.truncate("1q")
    if grain == "year":
        return start.dt.truncate("1y")
    if grain == "fy":
        year = start.dt.year() - (start.dt.month() < 4).cast(pl.Int32)
        return pl.date(year, 4, 1)
    raise ValueError(f"unknown grain '{grain}'")


def _with_months(native: pl.DataFrame) -> pl.DataFrame:
    return native.with_columns(
        (_month_index("period_end") - _month_index("period_start") + 1).alias("months"),
        _month_index("period_end").alias("end_index"),
    )


def choose_tiles(frame: pl.DataFrame) -> pl.DataFrame:
    """The observations each series' figures are built from: none overlapping (decision 0012).

    Per series, observations are taken in order of recency (``run_id``, latest first), then
    fineness (fewest months first), then time; one is kept when none of its months is already
    covered by a kept one. So a quarter loaded after its months replaces them (and every
    financial and rolling year built on them), a month loaded after its quarter replaces the
    quarter (the quarter's other months, loaded earlier, come back), and where one load gave
    both, the finer observations are kept. Only series with overlapping periods are examined
    one by one; the others pass through.
    """
    if frame.height == 0:
        return frame
    frame = frame.with_columns(
        (pl.col("end_index") - pl.col("months") + 1).alias("_start"),
        pl.col("run_id").fill_null(0).alias("_run") if "run_id" in frame.columns
        else pl.lit(0).alias("_run"),
    )
    reach = pl.col("end_index").cum_max().shift(1).over(GROUP, order_by="_start")
    clash = frame.filter((pl.col("_start") <= reach).fill_null(False)).select(GROUP).unique()
    if clash.height == 0:
        return frame.drop("_start", "_run")
    overlapping = frame.join(clash, on=GROUP, how="semi", nulls_equal=True)
    kept: list[pl.DataFrame] = [frame.join(clash, on=GROUP, how="anti", nulls_equal=True)]
    for series in overlapping.partition_by(GROUP, maintain_order=True):
        series = series.sort(["_run", "months", "_start"], descending=[True, False, False])
        covered: set[int] = set()
        keep = []
        for start, end in series.select("_start", "end_index").iter_rows():
            months = set(range(start, end + 1))
            keep.append(not months & covered)
            if keep[-1]:
                covered |= months
        kept.append(series.filter(pl.Series(keep)))
    return pl.concat(kept, how="vertical_relaxed").drop("_start", "_run")


GRAIN_WORDS = ((1, "month", "months"), (3, "quarter", "quarters"), (12, "year", "years"))


def _built_from(tiles: pl.Expr) -> pl.Expr:
    """'12 months', '9 months + 1 quarter', '1 year': the grains of a figure's tiles."""
    def count(size: int) -> pl.Expr:
        return tiles.list.eval((pl.element() == size).sum()).list.first()

    def words(n: pl.Expr, one: str, many: str) -> pl.Expr:
        return (pl.when(n == 1).then(pl.lit(f"1 {one}"))
                .when(n > 1).then(n.cast(pl.String) + pl.lit(f" {many}")))

    other = tiles.list.eval((~pl.element().is_in([s for s, _, _ in GRAIN_WORDS])).sum()
                            ).list.first()
    return pl.concat_str(
        [words(count(size), one, many) for size, one, many in GRAIN_WORDS]
        + [words(other, "other period", "other periods")],
        separator=" + ", ignore_nulls=True,
    )


def to_grain(native: pl.DataFrame, grain: str, aggregation: dict[str, str]) -> pl.DataFrame:
    """Aggregate native observations to ``grain``.

    ``native`` has columns area_code, measure, breakdown, source, period_start, period_end,
    value, vintage, value_note. ``aggregation`` maps measure → 'sum' | 'last'.
    Returns the same columns with period_start/period_end of the grain periods.
    """
    if native.height == 0:
        return native
    months = GRAIN_MONTHS[grain]
    frame = choose_tiles(_with_months(native)).filter(pl.col("months") <= months)
    frame = frame.with_columns(
        pl.col("measure").replace_strict(aggregation, default="sum").alias("aggregation")
    )
    if grain == "r12":
        return _rolling(frame)
    frame = frame.with_columns(_bucket(grain).alias("bucket"))
    out = (
        frame.sort("period_end")
        .group_by([*GROUP, "bucket", "aggregation"])
        .agg(
            pl.when(pl.col("value").null_count() > 0).then(None)
            .otherwise(pl.col("value").sum()).alias("sum_value"),
            pl.col("value").last().alias("last_value"),
            pl.col("months").sum().alias("covered"),
            pl.col("period_end").max().alias("last_end"),
            pl.col("vintage").max().alias("vintage"),
            pl.col("value_note").drop_nulls().unique().str.join("; ").alias("value_note"),
            pl.col("months").alias("tiles"),
            pl.col("months").last().alias("last_tile"),
        )
        .with_columns(
            pl.col("bucket").alias("period_start"),
            pl.col("bucket").dt.offset_by(f"{months}mo").dt.offset_by("-1d").alias("period_end"),
        )
    )
    is_last = pl.col("aggregation") == "last"
    complete = pl.when(is_last).then(
        pl.col("last_end") == pl.col("period_end")
    ).otherwise((pl.col("covered") == months) & (pl.col("last_end") <= pl.col("period_end")))
    out = out.filter(complete)
    return out.select(
        *GROUP, "period_start", "period_end",
        pl.when(is_last).then("last_value").otherwise("sum_value").alias("value"),
        "vintage", pl.col("value_note").replace("", None),
        pl.when(is_last).then(pl.concat_list("last_tile")).otherwise("tiles").alias("tiles"),
    ).with_columns(_built_from(pl.col("tiles")).alias("built_from")).drop("tiles")


def _rolling(frame: pl.DataFrame) -> pl.DataFrame:
    """Rolling 12 months ending at each native period end that has 12 months behind it."""
    frame = frame.with_columns(
        (pl.col("end_index") - pl.col("months") + 1).alias("start_index"),
        pl.col("value").is_null().cast(pl.Int32).alias("withheld"),
    ).sort([*GROUP, "end_index"])
    rolled = frame.rolling(index_column="end_index", period="12i", group_by=GROUP).agg(
        pl.col("value").sum().alias("sum_value"),
        pl.col("value").last().alias("last_value"),
        pl.col("withheld").sum().alias("withheld"),
        pl.col("months").sum().alias("covered"),
        pl.col("start_index").min().alias("first_index"),
        pl.col("period_end").last().alias("period_end"),
        pl.col("aggregation").last().alias("aggregation"),
        pl.col("vintage").max().alias("vintage"),
        pl.col("value_note").drop_nulls().unique().str.join("; ").alias("value_note"),
        pl.col("months").alias("tiles"),
        pl.col("months").last().alias("last_tile"),
    )
    is_last = pl.col("aggregation") == "last"
    complete = is_last | (
        (pl.col("covered") == 12) & (pl.col("first_index") == pl.col("end_index") - 11)
    )
    value = pl.when(is_last).then("last_value").when(pl.col("withheld") > 0).then(None).otherwise(
        "sum_value"
    )
    return rolled.filter(complete).select(
        *GROUP,
        pl.col("period_end").dt.offset_by("-11mo").dt.month_start().alias("period_start"),
        "period_end", value.alias("value"), "vintage", pl.col("value_note").replace("", None),
        pl.when(is_last).then(pl.concat_list("last_tile")).otherwise("tiles").alias("tiles"),
    ).with_columns(_built_from(pl.col("tiles")).alias("built_from")).drop("tiles")
