"""The warehouse's record tables → a Parquet lake (hive-partitioned by month, zstd).

``raw.police_uk_street`` becomes ``<lake>/raw_police_uk_street/year_month=2021-06/…parquet``:
the logical table names the rollup statements read. Every column is kept (``month`` too, as
a DATE; ``year_month`` is only in the folder names).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from ingest.police_uk_rollup import STATEMENTS

RAW_TABLES = {table: "raw." + table.removeprefix("raw_") for table, _ in STATEMENTS.values()}
"""logical table → the warehouse table it is exported from."""


def export(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """Write every record table the warehouse has to ``out``; rows written per table. A
    table's folder is replaced whole (a lake is a copy of the warehouse's records)."""
    present = {f"raw.{name}" for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
    ).fetchall()}
    written = {}
    for logical, table in RAW_TABLES.items():
        if table not in present:
            continue
        target = out / logical
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        relation = con.table(table)
        relation = relation.select("*, strftime(month, '%Y-%m') AS year_month")
        relation.to_parquet(str(target), compression="zstd", partition_by=["year_month"],
                            write_partition_columns=False, overwrite=True)
        written[logical] = con.table(table).aggregate("count(*)").fetchall()[0][0]
    return written
