"""Aggregated measures → numerator/denominator pairs for many indicators at once.

Pure polars. Every frame here carries an ``indicator`` column, so one pass serves the whole
scorecard: a measure shared by several indicators (a common denominator) pairs with each.
"""

from __future__ import annotations

import polars as pl

from metrics import population_choice
from metrics.registry import Indicator

KEY = ["indicator", "area_code", "period_start", "period_end", "breakdown"]
PAIR_SCHEMA = {
    "indicator": pl.String, "area_code": pl.String, "period_start": pl.Date,
    "period_end": pl.Date, "breakdown": pl.String, "source": pl.String, "vintage": pl.String,
    "numerator": pl.Float64, "denominator": pl.Float64, "value_note": pl.String,
    "denominator_source": pl.String, "built_from": pl.String, "priority": pl.Int64,
    "synthetic": pl.Boolean,
}


def measure_map(indicators: list[Indicator]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator": [i.id for i in indicators],
            "num_measure": [i.numerator.measure for i in indicators],
            "den_measure": [i.denominator.measure if i.denominator else None for i in indicators],
            "population": [i.population_denominator for i in indicators],
        },
        schema={"indicator": pl.String, "num_measure": pl.String, "den_measure": pl.String,
                "population": pl.Boolean},
    )


def pair_measures(periods: pl.DataFrame, indicators: list[Indicator], pops: pl.DataFrame,
                  population_source: str | None) -> pl.DataFrame:
    """One row per indicator × area × period × breakdown × source, numerator beside denominator."""
    if periods.height == 0 or not indicators:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    mapping = measure_map(indicators)
    cols = ["area_code", "period_start", "period_end", "breakdown", "source"]
    num = periods.join(mapping, left_on="measure", right_on="num_measure", how="inner").select(
        "indicator", *cols, "vintage", pl.col("value").alias("numerator"), "value_note",
        "den_measure", "population", _grains(periods), *_ranks(periods),
    )
    den = periods.join(
        mapping.filter(pl.col("den_measure").is_not_null()),
        left_on="measure", right_on="den_measure", how="inner",
    ).select(
        "indicator", *cols, pl.col("vintage").alias("den_vintage"),
        pl.col("value").alias("denominator"), pl.col("value_note").alias("den_note"),
        _grains(periods).alias("den_built_from"),
        *[c.name.suffix("_den") for c in _ranks(periods)],
    )
    with_den = num.filter(pl.col("den_measure").is_not_null()).join(
        den, on=["indicator", *cols], how="inner"
    ).with_columns(
        pl.max_horizontal("vintage", "den_vintage").alias("vintage"),
        pl.concat_str([pl.col("value_note"), pl.col("den_note")], separator="; ",
                      ignore_nulls=True).replace("", None).alias("value_note"),
        pl.lit(None, dtype=pl.String).alias("denominator_source"),
        pl.min_horizontal("priority", "priority_den").alias("priority"),
        (pl.col("synthetic") | pl.col("synthetic_den")).alias("synthetic"),
        pl.when(pl.col("built_from") == pl.col("den_built_from")).then("built_from")
        .otherwise(pl.concat_str([pl.lit("numerator "), "built_from", pl.lit("; denominator "),
                                  "den_built_from"])).alias("built_from"),
    )
    plain = num.filter(pl.col("den_measure").is_null() & ~pl.col("population")).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("denominator"),
        pl.lit(None, dtype=pl.String).alias("denominator_source"),
    )
    per_pop = _join_population(num.filter(pl.col("population")), pops, population_source)
    parts = [f.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA) for f in (with_den, plain, per_pop)]
    return pl.concat(parts)


def _grains(periods: pl.DataFrame) -> pl.Expr:
    """Which grains made each figure (:func:`metrics.timeseries.to_grain`)."""
    if "built_from" in periods.columns:
        return pl.col("built_from")
    return pl.lit(None, dtype=pl.String).alias("built_from")


def _ranks(periods: pl.DataFrame) -> list[pl.Expr]:
    """Each figure's source priority and whether it is synthetic (metrics.timeseries)."""
    return [
        pl.col("priority").cast(pl.Int64) if "priority" in periods.columns
        else pl.lit(None, dtype=pl.Int64).alias("priority"),
        pl.col("synthetic") if "synthetic" in periods.columns
        else pl.lit(None, dtype=pl.Boolean).alias("synthetic"),
    ]


def _join_population(num: pl.DataFrame, pops: pl.DataFrame, source: str | None) -> pl.DataFrame:
    """The population counted most recently before the period starts (else the earliest
    after): see :mod:`metrics.population_choice`."""
    if pops.height == 0 or num.height == 0:
        return num.head(0).with_columns(
            pl.lit(None, dtype=pl.Float64).alias("denominator"),
            pl.lit(None, dtype=pl.String).alias("denominator_source"),
        )
    if source:
        pops = pops.filter(pl.col("source") == source)
    joined = num.join(
        pops.select("area_code", "breakdown", "year", "source",
                    pl.col("population").alias("denominator")),
        on=["area_code", "breakdown"], how="inner", suffix="_population",
    )
    # the population's own source column is "source_population" (the count's is "source")
    chosen = population_choice.choose(
        joined.rename({"source": "_count_source", "source_population": "source"}),
        [*KEY, "_count_source"])
    return chosen.drop("source", "year").rename(
        {"_count_source": "source", "_label": "denominator_source"})


def choose_source(pairs: pl.DataFrame, sources: pl.DataFrame) -> pl.DataFrame:
    """Where two sources carry the same figure, keep the one with the lowest priority number.
    A figure made from several sources' tiles (metrics.timeseries) carries its own priority
    and synthetic flag; the others take their source's."""
    known = sources.select("source", pl.col("priority").alias("_p"),
                           pl.col("is_synthetic").alias("_s"))
    pairs = pairs.join(known, on="source", how="left").with_columns(
        pl.coalesce("priority", "_p", pl.lit(50)).alias("priority"),
        pl.coalesce("synthetic", "_s", pl.lit(False)).alias("synthetic"),
    ).drop("_p", "_s")
    return pairs.sort("priority").unique(KEY, keep="first")
