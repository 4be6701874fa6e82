"""Build the demo warehouse: reference data, Census denominators and the synthetic extract.

Everything goes through the same ingest path as a user's files. The warehouse is built in a
temporary file beside the target and moved into place only when complete, so an interrupted
build never leaves a half-built warehouse behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from cjsdash.bootstrap import prepare, refresh_figures
from cjsdash.core.allocators import bulk_load
from cjsdash.core.config import REPO_ROOT
from cjsdash.core.gateway import Warehouse, fetch
from cjsdash.demo.synthetic import make_synthetic_extract, write_synthetic_extract
from ingest.pipeline import IngestReport, ingest_paths
from metrics.registry import default_registry

REFERENCE_DATA = REPO_ROOT / "data" / "reference"
POPULATION_FILE = REFERENCE_DATA / "census2011_force_ethnicity.csv"
REAL_SAMPLES = REPO_ROOT / "data" / "real"


def lcjb_populations(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Census population of every LCJB area by ethnicity ('' = all), from its forces."""
    return fetch(
        con,
        """SELECT a.name AS area, p.ethnicity, sum(p.population) AS population
           FROM core.areas AS a
           JOIN core.area_footprints AS f ON f.area_code = a.code
           JOIN core.populations AS p ON p.area_code = f.force_code
           WHERE a.kind = 'lcjb' AND p.is_current AND p.source = 'Census 2011'
             AND p.sex = '' AND p.age_group = ''
           GROUP BY a.name, p.ethnicity, a.sort_key ORDER BY a.sort_key, p.ethnicity""",
    )


def is_built(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        return con.execute(
            "SELECT count(*) FROM core.observations WHERE source = 'synthetic_demo'"
        ).fetchone()[0] > 0
    except duckdb.Error:
        return False
    finally:
        con.close()


def build_demo(path: Path, *, force: bool = False, echo: Callable[[str], None] = print,
               concurrent: bool = False) -> str:
    """Build the demo warehouse at ``path`` (reused when already built, unless ``force``);
    ``concurrent``: refresh as a command that exits does (its independent steps side by
    side, large disclosure batches in processes: decision 44 and 48)."""
    path = Path(path)
    if is_built(path) and not force:
        return f"demo warehouse already built at {path}; use --force to rebuild"
    started = time.perf_counter()
    building = path.with_name(path.name + ".building")
    for leftover in (building, Path(str(building) + ".wal")):
        leftover.unlink(missing_ok=True)
    reports: list[IngestReport] = []
    warehouse = Warehouse(building)
    # the build loads and refreshes like ``cjsdash ingest``: 32 MiB threshold meanwhile,
    # restored with the heap trimmed after (decision 40, "Since")
    with warehouse.writer() as con, bulk_load():
        prepare(con)
        reports += ingest_paths(con, [POPULATION_FILE])
        registry = default_registry()
        echo("generating the synthetic demo extract…")
        extract = make_synthetic_extract(registry, lcjb_populations(con))
        generated = path.parent / "generated"  # beside the warehouse, never in the repo
        generated.mkdir(parents=True, exist_ok=True)
        csv_path = write_synthetic_extract(extract, generated / "synthetic_board_extract.csv")
        echo(f"loading {extract.height:,} synthetic rows…")
        reports += ingest_paths(con, [csv_path])
        if REAL_SAMPLES.exists():
            reports += ingest_paths(con, [REAL_SAMPLES])
        echo("computing every indicator's figures for the mart…")
        refresh_figures(con, registry, concurrent=concurrent)
        con.execute("CHECKPOINT")
    warehouse.close()
    os.replace(building, path)
    for report in reports:
        if report.status not in ("skipped",):
            echo(report.line())
    seconds = time.perf_counter() - started
    return f"demo warehouse built at {path} in {seconds:.1f} s (synthetic demo data marked as such)"
