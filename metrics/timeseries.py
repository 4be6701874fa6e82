"""Native periods → the grain asked for: sums or period-end stocks, complete periods only.

Pure polars: a frame of native observations in, a frame of grain periods out. A period is
shown only when every month of it is covered (a quarter with two months of data is left out,
never shown as if complete).
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


def _finest(frame: pl.DataFrame, max_months: int) -> pl.DataFrame:
    """Keep, per series, only the finest native periods that fit in the grain."""
    frame = frame.filter(pl.col("months") <= max_months)
    return frame.filter(pl.col("months") == pl.col("months").min().over(GROUP))


def to_grain(native: pl.DataFrame, grain: str, aggregation: dict[str, str]) -> pl.DataFrame:
    """Aggregate native observations to ``grain``.

    ``native`` has columns area_code, measure, breakdown, source, period_start, period_end,
    value, vintage, value_note. ``aggregation`` maps measure → 'sum' | 'last'.
    Returns the same columns with period_start/period_end of the grain periods.
    """
    if native.height == 0:
        return native
    months = GRAIN_MONTHS[grain]
    frame = _finest(_with_months(native), months)
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
        )
        .with_columns(
            pl.col("bucket").alias("period_start"),
            pl.col("bucket").dt.offset_by(f"{months}mo").dt.offset_by("-1d").alias("period_end"),
        )
    )
    complete = pl.when(pl.col("aggregation") == "last").then(
        pl.col("last_end") == pl.col("period_end")
    ).otherwise(pl.col("covered") == months)
    return out.filter(complete).select(
        *GROUP, "period_start", "period_end",
        pl.when(pl.col("aggregation") == "last").then("last_value").otherwise("sum_value")
        .alias("value"),
        "vintage", pl.col("value_note").replace("", None),
    )


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
    )
