"""Record-level rows written by ``replace_raw_slices_runs``: one DuckDB thread, whole row
groups, the connection's settings as they were (decision 37, "Since 2026-12-05")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from ingest import catalogue, police_uk_street
from ingest.pipeline import ingest_paths
from ingest.police_uk_records import replace_raw_slices_runs
from tests.conftest import ALL_FORCES_ZIP

ROW_GROUP = 122_880


def records(n: int, force: str, start: int) -> pl.DataFrame:
    """``n`` street records of one force and month, in twenty chunks (as a ZIP's members
    concatenated are), with distinct crime ids."""
    ids = [f"{i:064x}" for i in range(start, start + n)]
    frame = pl.DataFrame({
        "month": [date(2021, 6, 1)] * n, "area_code": [force] * n, "crime_id": ids,
        "reported_by": [force] * n, "falls_within": [force] * n,
        "longitude": [-1.5 + i / 1e6 for i in range(n)], "latitude": [52.0] * n,
        "location": ["On or near High Street"] * n, "lsoa_code": ["E01000001"] * n,
        "lsoa_name": ["Somewhere 001A"] * n, "crime_type": ["Burglary"] * n,
        "last_outcome": [None] * n, "context": [None] * n,
    }, schema_overrides={"last_outcome": pl.String, "context": pl.String})
    part = n // 20
    return pl.concat([frame.slice(i * part, part if i < 19 else None) for i in range(20)],
                     rechunk=False)


def row_groups(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [n for (n,) in con.execute(
        "SELECT max(count) FROM pragma_storage_info('raw.police_uk_street') "
        "WHERE column_name = 'month' AND segment_type = 'DATE' "
        "GROUP BY row_group_id ORDER BY row_group_id").fetchall()]


def test_a_batch_is_written_in_whole_row_groups_and_every_row_kept(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute("SET threads = 2")
    runs = [(records(192_085, "E23000001", 0), 1), (records(192_085, "E23000002", 192_085), 2)]
    con.execute("BEGIN TRANSACTION")
    assert replace_raw_slices_runs(con, police_uk_street.RAW_TABLE, police_uk_street.RAW_DDL,
                                   runs) == 384_170
    con.execute("COMMIT")
    # one thread: whole groups and one partial (two threads left a partial group each, and
    # the final CHECKPOINT merged them)
    assert row_groups(con) == [ROW_GROUP, ROW_GROUP, ROW_GROUP, 384_170 - 3 * ROW_GROUP]
    con.execute("CHECKPOINT")
    assert row_groups(con) == [ROW_GROUP, ROW_GROUP, ROW_GROUP, 384_170 - 3 * ROW_GROUP]
    stored = pl.from_arrow(con.sql("SELECT * FROM raw.police_uk_street").to_arrow_table())
    expected = pl.concat([f.with_columns(pl.lit(r, pl.Int64).alias("run_id")) for f, r in runs])
    assert con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('raw.police_uk_street') "
        "WHERE column_name = 'crime_id' AND segment_type = 'VARCHAR'").fetchall() == [("ZSTD",)]
    assert isinstance(stored, pl.DataFrame)
    assert stored.sort("crime_id").equals(expected.sort("crime_id"))
    assert con.execute("SELECT current_setting('threads'), "
                       "current_setting('preserve_insertion_order')").fetchone() == (2, True)


def test_the_settings_come_back_when_the_insert_fails(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute("SET threads = 3")
    bad = records(1_000, "E23000001", 0).with_columns(pl.lit(None, pl.String).alias("crime_type"))
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.Error):  # the NOT NULL constraint (the batch is then rolled back)
        replace_raw_slices_runs(con, police_uk_street.RAW_TABLE, police_uk_street.RAW_DDL,
                                [(bad, 1)])
    con.execute("ROLLBACK")
    assert con.execute("SELECT current_setting('threads'), "
                       "current_setting('preserve_insertion_order')").fetchone() == (3, True)


@pytest.mark.slow
def test_a_real_month_is_stored_in_whole_row_groups_for_the_checkpoint_to_keep(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each thread of a parallel insert left a partial row group (0.9 s of merging in the
    final CHECKPOINT for three months); one thread leaves one, the month's last."""
    monkeypatch.setitem(catalogue.LOADERS, police_uk_street.SPEC.name, police_uk_street.LOADER)
    wh = Warehouse(tmp_path / "w.duckdb")
    try:
        with wh.writer() as con:
            prepare(con)
            reports = ingest_paths(con, [ALL_FORCES_ZIP])
            assert [r.status for r in reports] == ["loaded"] * 40
            assert row_groups(con) == [ROW_GROUP, ROW_GROUP, ROW_GROUP, 384_170 - 3 * ROW_GROUP]
    finally:
        wh.close()
