"""Which population divides a period's count: the one counted most recently before it starts.

A population is dated by the day it describes: a census by its census day (27 March 2011,
21 March 2021), any other source (mid-year estimates) by 30 June of its year. For each period
the population with the latest date on or before the period's first day is chosen, else (a
period before every population) the earliest after it. So a 2024-25 rate is divided by Census
2021 when it is loaded (or by a later mid-year estimate), and a 2020-21 rate by Census 2011;
the first quarter of 2021 (January to March) still precedes the 2021 census day. Ties at one
date go to the source named first alphabetically, so the choice never depends on row order.

The choice is shown on each figure as ``denominator_source``: the source, with its year when
the name does not already say it ("Census 2021", "Mid-year estimates (2023)").

Pure polars; used by :mod:`metrics.pairing` (per-1,000 rates) and
:mod:`metrics.disproportionality` (rates by ethnic group).
"""

from __future__ import annotations

from datetime import date

import polars as pl

CENSUS_DAYS: dict[int, date] = {
    2001: date(2001, 4, 29), 2011: date(2011, 3, 27), 2021: date(2021, 3, 21),
}
"""Census day of each census of England and Wales."""


def reference_date(source: str, year: int) -> date:
    """The day a population describes: census day for a census, else 30 June (mid-year)."""
    if source.casefold().startswith("census"):
        return CENSUS_DAYS.get(year, date(year, 3, 31))
    return date(year, 6, 30)


def source_label(source: str, year: int) -> str:
    """"Census 2021" stays as it is; "Mid-year estimates" of 2023 → "Mid-year estimates (2023)"."""
    return source if str(year) in source else f"{source} ({year})"


def with_reference_dates(pops: pl.DataFrame) -> pl.DataFrame:
    """``pops`` (with ``source`` and ``year``) plus ``_ref_date`` and ``_label``."""
    pairs = pops.select("source", "year").unique()
    refs = pl.DataFrame(
        [(s, y, reference_date(s, int(y)), source_label(s, int(y)))
         for s, y in pairs.iter_rows()],
        schema={"source": pl.String, "year": pops.schema["year"], "_ref_date": pl.Date,
                "_label": pl.String},
        orient="row",
    )
    return pops.join(refs, on=["source", "year"], how="left")


def closest_first(start: str = "period_start") -> list[pl.Expr]:
    """Sort keys (with :func:`with_reference_dates` applied): the latest population on or
    before ``start`` first, then those after it from the earliest; ties by source name."""
    before = pl.col("_ref_date") <= pl.col(start)
    return [
        (~before).alias("_after"),
        pl.when(before).then(pl.col(start) - pl.col("_ref_date"))
        .otherwise(pl.col("_ref_date") - pl.col(start)).alias("_gap"),
    ]


def choose(candidates: pl.DataFrame, key: list[str], start: str = "period_start") -> pl.DataFrame:
    """One row per ``key``: the candidate population chosen for the period starting ``start``.

    ``candidates`` has ``source``, ``year`` and ``start`` (a Date) besides ``key``; the result
    keeps its columns and adds ``_label`` (the source as shown)."""
    if candidates.height == 0:
        return candidates.with_columns(pl.lit(None, dtype=pl.String).alias("_label"))
    ranked = with_reference_dates(candidates).with_columns(closest_first(start))
    return (ranked.sort([*key, "_after", "_gap", "source"])
            .unique(key, keep="first", maintain_order=True)
            .drop("_after", "_gap", "_ref_date"))
