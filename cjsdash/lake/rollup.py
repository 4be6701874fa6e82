"""The lake rollup: every record table in a lake → one observations Parquet file.

The lake is a folder with one folder per logical record table (``raw_police_uk_street/``…),
hive-partitioned by ``year_month`` as ``cjsdash lake export`` writes it. The result has the
same columns and types whichever engine ran it (:data:`OBSERVATIONS`) and names the engine
and the lake in its Parquet metadata, which ``cjsdash ingest`` records as provenance.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cjsdash.core.schema import BREAKDOWNS
from cjsdash.lake.engines import Engine
from ingest.police_uk_rollup import ENGINE_KEY, LAKE_KEY, OUTPUT_COLUMNS, STATEMENTS, statement

OBSERVATIONS = pa.schema([
    ("measure", pa.string()), ("area_code", pa.string()), ("period_start", pa.date32()),
    ("period_end", pa.date32()), *[(b, pa.string()) for b in BREAKDOWNS],
    ("value", pa.float64()), ("source", pa.string()), ("run_id", pa.int64()),
])
assert tuple(OBSERVATIONS.names) == OUTPUT_COLUMNS
FILE_NAME = "police_uk_observations.parquet"


def tables_in(lake: Path) -> list[str]:
    """The sources whose record table the lake holds (with at least one Parquet file)."""
    return [source for source, (table, _) in STATEMENTS.items()
            if (lake / table).is_dir() and any((lake / table).rglob("*.parquet"))]


def rollup(engine: Engine, lake: Path | str, sources: list[str] | None = None) -> pa.Table:
    """Every source the lake holds (or ``sources``), rolled up on ``engine``: one table,
    sorted. ``lake`` is a folder, or a URI the engine reads (``s3a://bucket/lake`` on a
    Spark cluster), with one folder per logical record table."""
    remote = "://" in str(lake)
    if sources is None:
        sources = list(STATEMENTS) if remote else tables_in(Path(lake))
    if not sources:
        raise FileNotFoundError(
            f"{lake}: no record table here (expected folders such as raw_police_uk_street/ "
            "of Parquet files, as 'cjsdash lake export' writes them)")
    parts = []
    for source in sources:
        table, _ = STATEMENTS[source]
        engine.bind(table, f"{lake}/{table}" if remote else Path(lake) / table)
        parts.append(conform(engine.to_arrow(statement(source))))
    result = pa.concat_tables(parts)
    return result.sort_by([(c, "ascending") for c in OUTPUT_COLUMNS[:-3]])


def conform(table: pa.Table) -> pa.Table:
    """The engine's result in :data:`OBSERVATIONS` (Spark gives other string and int types)."""
    missing = [c for c in OBSERVATIONS.names if c not in table.column_names]
    if missing:
        raise ValueError(f"the rollup returned no column {', '.join(missing)}")
    return table.select(OBSERVATIONS.names).cast(OBSERVATIONS)


def write(table: pa.Table, out: Path, engine: str, lake: Path | str) -> Path:
    """The observations as ``out/police_uk_observations.parquet`` (zstd), naming the engine
    and the lake in the file's metadata."""
    out.mkdir(parents=True, exist_ok=True)
    metadata = {ENGINE_KEY: engine.encode(), LAKE_KEY: str(lake).encode()}
    path = out / FILE_NAME
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")
    return path
