"""Shared by the hostile-input tests: a warehouse's checksum, and what a load must never do."""

from __future__ import annotations

import math

import duckdb

LOG_TABLES = {"meta.ingest_runs", "meta.rejects"}
"""The only tables a refused file may change."""


def checksums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """(rows, hash of every row) of every table but the run log and the rejects."""
    tables = [f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary "
        "ORDER BY ALL").fetchall()]
    return {table: con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} AS t").fetchone()  # noqa: S608
            for table in tables if table not in LOG_TABLES}


def non_finite_values(con: duckdb.DuckDBPyConnection) -> int:
    """Figures that are NaN or infinite anywhere in core (there must be none)."""
    total = 0
    for table, column in (("core.observations", "value"), ("core.populations", "population"),
                          ("core.area_observations", "value")):
        total += con.execute(
            f"SELECT count(*) FROM {table} WHERE isnan({column}) OR isinf({column})"  # noqa: S608
        ).fetchone()[0]
    return total


def assert_finite(value: float | None) -> None:
    assert value is None or math.isfinite(value)
