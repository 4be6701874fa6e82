"""Reading the stage matrices stored at load time (``mart.stage_matrices``, written by
:mod:`metrics.mart_matrices`: decision 0036) for the settings they were stored with."""

from __future__ import annotations

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from metrics import cache
from metrics import mart_analysis_reads as reads
from metrics.disproportionality.schema import DEFAULT_GRAIN, ETHNICITY_WORDS, MATRIX_SCHEMA
from metrics.mart_ready import options_key
from metrics.options import Options
from metrics.statistics import disproportionality as dp

GRAIN = DEFAULT_GRAIN
REFERENCE = "White"
DEFINITIONS = tuple(ETHNICITY_WORDS)
SETTINGS: dict[str, object] = {"grain": GRAIN, "reference": REFERENCE, "population_source": None,
                               "min_count": dp.DEFAULT_MIN_COUNT, "stages": None,
                               "options": None}
"""The settings (besides the definition) the matrices are stored with: :func:`read`'s."""
STATE_KEY = "matrices"
"""``mart.analysis_state``'s key of the inputs the table was made from."""


def read(con: duckdb.DuckDBPyConnection, areas: list[str], period_end: object, *,
         ethnicity_source: str, grain: str, reference: str, population_source: str | None,
         min_count: float, stages: object, options: Options | None,
         stage: str | None = None) -> pl.DataFrame | None:
    """The stored matrix rows of ``areas`` at ``period_end`` (of one ``stage`` when given),
    ordered as :func:`~metrics.disproportionality.stage_frame` orders them; None unless the
    settings are those the matrices are stored with (the page's default grain, White as the
    reference, the closest census population, the default minimum count, every stage
    chained, the default options) and the stored matrices answer for the warehouse as it
    is."""
    if not (period_end is not None and grain == GRAIN and reference == REFERENCE
            and population_source is None and min_count == dp.DEFAULT_MIN_COUNT
            and stages is None and ethnicity_source in DEFINITIONS
            and (options is None or options_key(options) == options_key(Options()))
            and reads.matrices_current(con)):
        return None
    rows = _period_rows(con, areas, period_end)
    wanted = pl.col("definition") == ethnicity_source
    frame = rows.filter(wanted if stage is None else wanted & (pl.col("stage") == stage))
    frame = frame.drop("definition")
    return frame.cast(MATRIX_SCHEMA) if frame.height else pl.DataFrame(schema=MATRIX_SCHEMA)  # type: ignore[arg-type]


def _period_rows(con: duckdb.DuckDBPyConnection, areas: list[str], period_end: object
                 ) -> pl.DataFrame:
    """Every stored matrix row of ``areas`` at ``period_end``, both definitions, in the
    stored order; kept per data version. A view of the page reads the area's matrix by the
    chosen definition, then the other definition's stop and search row for its sensitivity
    table: one query, not two (4–6 ms each), and none for a view seen before."""
    return cache.cached(con, ("stored-matrices", tuple(areas), period_end), lambda: fetch(
        con, "SELECT * FROM mart.stage_matrices WHERE list_contains($1, area_code) "
             "AND period_end = $2 ORDER BY rowid", [areas, period_end]))
