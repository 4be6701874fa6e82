"""All areas side by side: every area's ratio for one stage, sorted, with its CI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from metrics.disproportionality.counts import _chain_to, stage_counts
from metrics.disproportionality.matrix import stage_frame
from metrics.disproportionality.schema import GROUPS
from metrics.options import Options
from metrics.stages import EthnicitySource
from metrics.statistics import disproportionality as dp

FOREST_COLUMNS: tuple[str, ...] = (
    "area_code", "area_name", "area_kind", "is_national", "period_label", "period_end", "stage",
    "stage_title", "group", "reference", "basis", "count", "denominator", "value", "lower",
    "upper", "significant", "status", "suppressed", "population_source", "synthetic", "note",
)
BASES = {"population": "disparity ratio (per population)",
         "previous_stage": "relative rate index (per previous stage)"}



def _areas(con: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    return fetch(con, "SELECT code AS area_code, name AS area_name, kind AS area_kind, sort_key "
                      "FROM core.areas WHERE kind = $1 OR code = $2 ORDER BY sort_key",
                 [kind, "K04000001"])


def forest(
    con: duckdb.DuckDBPyConnection, stage: str, period_end: date | None = None, *,
    grain: str = "fy", reference: str = "White", group: str = "Black",
    basis: str = "population", kind: str = "lcjb",
    ethnicity_source: EthnicitySource = "officer", population_source: str | None = None,
    min_count: float = dp.DEFAULT_MIN_COUNT, stages: Sequence[str] | None = None,
    options: Options | None = None,
) -> pl.DataFrame:
    """Every area's ratio for one stage and group, with its 95% CI, sorted (smallest first).

    ``basis='population'``: the disparity ratio per population; ``'previous_stage'``: the
    relative rate index. Areas of ``kind`` (LCJB areas by default) plus England and Wales
    (``is_national``, last). The period is ``period_end`` or the latest with the stage.
    """
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}")
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}")
    areas = _areas(con, kind)
    codes = areas["area_code"].to_list()
    chain = _chain_to(stage, stages)
    counts = stage_counts(con, codes, grain, ethnicity_source=ethnicity_source, stages=chain)
    if period_end is None:
        here = counts.filter((pl.col("stage") == stage) & pl.col("group").is_in(GROUPS))
        if here.height == 0:
            return pl.DataFrame(schema=dict.fromkeys(FOREST_COLUMNS, pl.String))
        period_end = here["period_end"].max()
    matrix = stage_frame(con, codes, grain=grain, reference=reference,
                         ethnicity_source=ethnicity_source, population_source=population_source,
                         min_count=min_count, stages=stages, period_end=period_end,
                         options=options, counts=counts, stage=stage)
    rows = matrix.filter((pl.col("stage") == stage) & (pl.col("group") == group))
    by_population = basis == "population"
    out = rows.join(areas, on="area_code", how="inner").select(
        "area_code", "area_name", "area_kind",
        (pl.col("area_code") == "K04000001").alias("is_national"), "period_label",
        "period_end", "stage", "stage_title", "group", "reference", pl.lit(BASES[basis])
        .alias("basis"), "count",
        pl.col("population" if by_population else "previous_count").alias("denominator"),
        pl.col("disparity_ratio" if by_population else "rri").alias("value"),
        pl.col("ratio_lower" if by_population else "rri_lower").alias("lower"),
        pl.col("ratio_upper" if by_population else "rri_upper").alias("upper"),
        pl.col("ratio_significant" if by_population else "significant").alias("significant"),
        "status", "suppressed", "population_source", "synthetic", "note", "sort_key",
    )
    return out.sort("is_national", pl.col("value").is_null(), "value", "sort_key").drop(
        "sort_key")

