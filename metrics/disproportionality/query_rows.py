"""What ``cjsdash query disparity_ratio --stage …`` prints."""

from __future__ import annotations

import math
from collections.abc import Sequence

import duckdb
import polars as pl

from metrics.disproportionality.counts import _chain_to
from metrics.disproportionality.matrix import stage_frame
from metrics.disproportionality.schema import INDICATOR
from metrics.options import Options
from metrics.stages import EthnicitySource

QUERY_COLUMNS: tuple[str, ...] = (
    "indicator", "stage", "area_code", "area_name", "period_label", "period_start",
    "period_end", "breakdown", "reference", "numerator", "denominator", "value", "lower",
    "upper", "method", "significant", "status", "previous_stage", "previous_count", "rri",
    "rri_lower", "rri_upper", "rri_significant", "rate_per_1000", "excess", "parity_reduction",
    "suppressed", "population_source", "ethnicity_source", "display_value", "display_ci",
    "source", "vintage", "synthetic", "note",
)


def _ratio_text(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.2f}×"


def disparity_rows(
    con: duckdb.DuckDBPyConnection, area: str, area_name: str, *, stage: str = "stop_and_search",
    grain: str = "quarter", by: str | None = None, group: str = "Black",
    reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, stages: Sequence[str] | None = None,
    options: Options | None = None,
) -> pl.DataFrame:
    """The disparity ratio at one stage for every period: the declared group against the
    reference (``breakdown`` '') or, ``by='ethnicity'``, every group. The same figures as
    :func:`stage_matrix` (and so the page): ``numerator`` is the group's count,
    ``denominator`` its population, ``value`` the disparity ratio with its Katz CI, and the
    stage's RRI beside it."""
    if by not in (None, "ethnicity"):
        raise ValueError("disparity_ratio is broken down by ethnicity only")
    frame = stage_frame(con, [area], grain=grain, reference=reference,
                        ethnicity_source=ethnicity_source, population_source=population_source,
                        stages=_chain_to(stage, stages), options=options)
    rows = frame.filter(pl.col("stage") == stage)
    if by is None:
        rows = rows.filter(pl.col("group") == group)
    if rows.height == 0:
        return pl.DataFrame(schema=dict.fromkeys(QUERY_COLUMNS, pl.String))
    ci = [("" if lo is None or hi is None else f"{_ratio_text(lo)} to {_ratio_text(hi)}")
          for lo, hi in rows.select("ratio_lower", "ratio_upper").iter_rows()]
    return rows.with_columns(
        pl.lit(INDICATOR).alias("indicator"), pl.lit(area_name).alias("area_name"),
        (pl.col("group") if by else pl.lit("")).alias("breakdown"),
        pl.col("count").alias("numerator"), pl.col("population").alias("denominator"),
        pl.col("disparity_ratio").alias("value"), pl.col("ratio_lower").alias("lower"),
        pl.col("ratio_upper").alias("upper"), pl.lit("katz").alias("method"),
        pl.col("ratio_significant").alias("significant"),
        pl.col("significant").alias("rri_significant"),
        pl.Series("display_value", [("[c]" if s else _ratio_text(v)) for v, s in
                                    rows.select("disparity_ratio", "suppressed").iter_rows()],
                  dtype=pl.String),
        pl.Series("display_ci", ci, dtype=pl.String),
    ).select(QUERY_COLUMNS)
