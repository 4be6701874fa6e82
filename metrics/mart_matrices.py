"""The disproportionality page's first view, stored at load time: every area's stage matrix
at the page's default settings (decision 0036).

``mart.stage_matrices`` holds :func:`metrics.disproportionality.stage_frame` of every area and
every financial year (:data:`GRAIN`, the page's default grain: decision 0016), under each
ethnicity definition (``definition``), with the page's other defaults: White as the reference
group, the closest census year as the population, every stage chained, the default options
and minimum count. The page's stage matrix, its self-defined stop and search row (the
sensitivity table), the all-areas forest and ``cjsdash query disparity_ratio --stage`` read it
with one bound query where their settings are these
(:mod:`metrics.disproportionality.stored`); any other grain or
setting is computed from the stored stage counts as before (tested equal).

Every grain and setting would be 35 s and 2.2 million rows a refresh on the demo warehouse
(the month and rolling-year grains are four fifths of it); the default grain is 1.1 s and
68,000 rows. :func:`refresh` runs in :func:`metrics.mart_analyses.refresh`'s transaction and
rewrites the table only when what a matrix depends on changed (:func:`inputs_key`): the stage
measures' rows and whole-set plans, the populations, the areas, the sources, the stage
declarations and the options; the table answers when the analyses do
(:func:`metrics.mart_analysis_reads.current`).
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import polars as pl

from metrics.disproportionality.matrix import compute_frame
from metrics.disproportionality.schema import MATRIX_COLUMNS
from metrics.disproportionality.stored import DEFINITIONS, GRAIN, REFERENCE, STATE_KEY
from metrics.mart_stages import stages_key
from metrics.stages import default_stages
_KEPT = ("populations", "areas", "sources", "options")


def inputs_key(now: dict[str, str]) -> str:
    """A key of everything the stored matrices depend on, from the figure refresh's
    fingerprints (``now``): the stage measures' rows and plans, :data:`_KEPT`, the stages."""
    stages = default_stages()
    measures = sorted({m for s in stages.counted() for d in DEFINITIONS
                       if (m := s.measure_for(d))})  # type: ignore[arg-type]
    parts = {k: now.get(k) for k in (*_KEPT, *[f"measure:{m}" for m in measures],
                                      *[f"withheld:{m}" for m in measures], "withheld:spec")}
    parts |= {"stages": stages_key(stages), "grain": GRAIN, "reference": REFERENCE}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def compute(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every area's stage matrices at :data:`GRAIN` under each definition, every period."""
    every = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
    frames = [compute_frame(con, every, grain=GRAIN, ethnicity_source=d)  # type: ignore[arg-type]
              .with_columns(pl.lit(d).alias("definition")) for d in DEFINITIONS]
    return pl.concat(frames).select("definition", *MATRIX_COLUMNS)


def refresh(con: duckdb.DuckDBPyConnection, now: dict[str, str], before: dict[str, str],
            held: set[str]) -> tuple[str, int | None]:
    """(the inputs key to store, the rows written: None when the stored table stands)."""
    key = inputs_key(now)
    if before.get(STATE_KEY) == key and "stage_matrices" in held:
        return key, None
    frame = compute(con)
    con.register("_mart_stage_matrices", frame.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TABLE mart.stage_matrices AS "
                    "SELECT * FROM _mart_stage_matrices")
    finally:
        con.unregister("_mart_stage_matrices")
    return key, frame.height
