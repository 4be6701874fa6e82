"""A held warehouse (``cjsdash serve``, one worker) keeps DuckDB within the limit it is given."""

from __future__ import annotations

from pathlib import Path

from cjsdash.core.config import Settings
from cjsdash.core.gateway import Warehouse


def _limit_mb(warehouse: Warehouse) -> float:
    text = warehouse.reader().execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    number, unit = text.split()
    return float(number) * {"MiB": 1.048576, "GiB": 1073.741824, "MB": 1.0, "GB": 1000.0}[unit]


def test_a_held_warehouse_has_the_memory_limit_it_is_given(tmp_path: Path) -> None:
    limited = Warehouse(tmp_path / "a.duckdb", held=True, memory_mb=300)
    try:
        assert abs(_limit_mb(limited) - 300) < 1
    finally:
        limited.close()
    default = Warehouse(tmp_path / "b.duckdb", held=True)
    try:
        assert _limit_mb(default) > 1000  # DuckDB's own default: 80 % of the machine's memory
    finally:
        default.close()


def test_serve_limits_duckdb_by_default() -> None:
    assert Settings().serve_duckdb_memory_mb == 300


def test_a_workers_warehouse_limits_its_snapshots_and_its_writer(tmp_path: Path) -> None:
    """``cjsdash serve --workers N``: each worker reads published snapshots and writes the file
    itself; both databases get the limit (they took 80 % of RAM each before)."""
    path = tmp_path / "w.duckdb"
    warehouse = Warehouse(path, snapshots=True, memory_mb=200)
    try:
        with warehouse.writer() as con:  # publishes the first snapshot
            con.execute("CREATE TABLE IF NOT EXISTS main.t AS SELECT 1 AS x")
            text = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            assert text.endswith("MiB") and abs(float(text.split()[0]) * 1.048576 - 200) < 1
        with warehouse.reading():
            reader = warehouse.reader()
            assert reader.execute("SELECT x FROM main.t").fetchall() == [(1,)]  # a snapshot
            assert abs(_limit_mb(warehouse) - 200) < 1
    finally:
        warehouse.close()
