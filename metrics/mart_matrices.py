"""The disproportionality page's first view, stored at load time: every area's stage matrix
at the page's default settings (decision 0036).

``mart.stage_matrices`` holds :func:`metrics.disproportionality.compute_frame` of every area
and every financial year (:data:`GRAIN`, the page's default grain: decision 0016), under each
ethnicity definition (``definition``), with the page's other defaults: White as the reference
group, the closest census year as the population, every stage chained, the default options
and minimum count. The page's stage matrix, its self-defined stop and search row (the
sensitivity table) and the all-areas forest read one period of it with one bound query where
their settings are these (:mod:`metrics.disproportionality.stored`); any other grain or
setting, and every period at once (``cjsdash query``), is computed from the stored stage
counts as before (tested equal).

Every grain and setting would be 35 s and 2.2 million rows a refresh on the demo warehouse
(the month and rolling-year grains are four fifths of it); the default grain is 1.1 s and
68,000 rows. :func:`refresh`, called in :func:`metrics.mart_analyses.refresh`'s transaction
(which writes the table), makes them afresh only when what a matrix depends on changed
(:func:`inputs_key`): the stage measures' rows and the cells their whole-set plans withhold,
the populations, the areas, the sources, the stage declarations and the options; the table
answers when the analyses do (:func:`metrics.mart_analysis_reads.current`).
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import polars as pl

from metrics.disproportionality.matrix import compute_frame
from metrics.disproportionality.schema import MATRIX_COLUMNS
from metrics.disproportionality.stored import DEFINITIONS, GRAIN, REFERENCE, STATE_KEY
from metrics.mart_ready import options_key
from metrics.mart_stages import stages_key
from metrics.options import Options
from metrics.stages import default_stages

_KEPT = ("populations", "areas", "sources", "options")
_PLANNED_SQL = ("SELECT concat_ws(':', count(*), coalesce(sum(hash(measure, area_code, "
                "period_start, period_end, bdim, breakdown, \"primary\")), 0)) "
                "FROM mart.withheld WHERE list_contains($1, measure)")


def inputs_key(con: duckdb.DuckDBPyConnection, now: dict[str, str]) -> str:
    """A key of everything the stored matrices depend on: the figure refresh's fingerprints
    (``now``) of the stage measures' rows, :data:`_KEPT`, the stages, and the cells the
    stored whole-set plans withhold from the stage measures (a plan made afresh may differ
    with the same inputs)."""
    stages = default_stages()
    measures = sorted(stages.measures())  # officer- and self-defined alike
    # asked, not tried: a failed query would abort the analyses' transaction it runs in
    stored = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'mart' "
                         "AND table_name = 'withheld'").fetchall()[0][0]
    planned = str(con.execute(_PLANNED_SQL, [measures]).fetchall()[0][0]) if stored else ""
    parts = {k: now.get(k) for k in (*_KEPT, *[f"measure:{m}" for m in measures])}
    parts |= {"stages": stages_key(stages), "grain": GRAIN, "reference": REFERENCE,
              "planned": planned}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


AREAS_AT_ONCE = 25
"""Areas computed together: one pass over every area held about 160 MB more at its peak
during a large upload than the rows it makes (22 MB); a few passes hold a quarter of it.
Each area's matrix is the same computed alone or with others (tested)."""


def compute(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every area's stage matrices at :data:`GRAIN` under each definition, every period."""
    every = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
    frames = [compute_frame(con, every[i:i + AREAS_AT_ONCE], grain=GRAIN,
                            ethnicity_source=d)  # type: ignore[arg-type]
              .with_columns(pl.lit(d).alias("definition"))
              for d in DEFINITIONS for i in range(0, len(every), AREAS_AT_ONCE)]
    return pl.concat(frames).select("definition", *MATRIX_COLUMNS)


def refresh(con: duckdb.DuckDBPyConnection, now: dict[str, str], before: dict[str, str],
            held: set[str]) -> tuple[str | None, pl.DataFrame | None]:
    """(the inputs key to store, every matrix to write as ``mart.stage_matrices``: None when
    the stored table stands, made from the same inputs). No key and nothing made when the
    figures are refreshed under other options than the pages' (a test's): the matrices are
    the default options', and the pages then compute theirs."""
    if now.get("options") != options_key(Options()):
        return None, None
    key = inputs_key(con, now)
    if before.get(STATE_KEY) == key and "stage_matrices" in held:
        return key, None
    return key, compute(con)
