"""The lake on DuckDB: export the warehouse's records to Parquet, roll them up, load the
observations back; the same observations as ``cjsdash ingest`` made from the files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cjsdash.bootstrap import prepare
from cjsdash.cli import app
from cjsdash.lake.engines import DuckDBEngine
from cjsdash.lake.rollup import FILE_NAME, OBSERVATIONS, rollup, write
from ingest.pipeline import ingest_paths
from tests.integration.lake_support import (
    loaded_warehouse,
    register_new_measures,
    rows,
    warehouse_observations,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(warehouse, lake) with the lake made by ``cjsdash lake export``."""
    folder = tmp_path_factory.mktemp("lake")
    db = loaded_warehouse(folder)
    result = runner.invoke(app, ["lake", "export", "--db", str(db), "--out",
                                 str(folder / "lake")])
    assert result.exit_code == 0, result.output
    return db, folder / "lake"


def test_export_writes_each_record_table_partitioned_by_month_in_zstd(lake) -> None:
    db, folder = lake
    months = sorted(p.name for p in (folder / "raw_police_uk_street").iterdir())
    assert months == ["year_month=2021-06"]
    assert [p.name for p in (folder / "raw_police_uk_stop_search").iterdir()] == \
        ["year_month=2019-06"]
    [part] = (folder / "raw_police_uk_street" / "year_month=2021-06").glob("*.parquet")
    meta = pq.ParquetFile(part).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    with duckdb.connect(str(db), read_only=True) as con:
        records = con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0]
        schema = con.table("raw.police_uk_street").columns
    assert pq.read_table(folder / "raw_police_uk_street").num_rows == records
    assert pq.read_schema(part).names == schema  # every column, month kept as a DATE
    assert pq.read_schema(part).field("month").type == pa.date32()


def test_duckdb_rollup_is_what_ingest_made(lake) -> None:
    db, folder = lake
    table = rollup(DuckDBEngine(), folder)
    assert table.schema == OBSERVATIONS
    with duckdb.connect(str(db), read_only=True) as con:
        expected = warehouse_observations(con)
    assert len(expected) > 100
    assert rows(table) == expected


def test_rollup_command_writes_parquet_and_ingest_loads_it_back(lake, tmp_path) -> None:
    db, folder = lake
    out = tmp_path / "rolled"
    result = runner.invoke(app, ["lake", "rollup", "--engine", "duckdb", "--lake", str(folder),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "observations on duckdb" in result.output
    written = pq.read_table(out / FILE_NAME)
    assert written.schema.remove_metadata() == OBSERVATIONS
    assert written.schema.metadata[b"cjsdash.police_uk_rollup"] == b"duckdb"

    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    prepare(fresh)
    register_new_measures(fresh)
    [report] = ingest_paths(fresh, [out])
    assert report.status == "loaded", report.line()
    assert report.loader == "police_uk_lake_rollup"
    assert f"rolled up on duckdb from the lake {folder.resolve()}" in report.message
    vintages = {v for (v,) in fresh.execute(
        "SELECT DISTINCT vintage FROM core.observations WHERE is_current").fetchall()}
    assert len(vintages) == 1 and vintages.pop().startswith(
        f"police.uk lake rollup on duckdb of {folder.resolve()}")
    with duckdb.connect(str(db), read_only=True) as con:
        assert warehouse_observations(fresh) == warehouse_observations(con)
    [(again,)] = [(r.status,) for r in ingest_paths(fresh, [out])]
    assert again == "unchanged"
    fresh.close()


def test_cli_ingest_of_the_rollup_folder(lake, tmp_path) -> None:
    _, folder = lake
    out = tmp_path / "rolled"
    write(rollup(DuckDBEngine(), folder), out, "duckdb", folder)
    result = runner.invoke(app, ["ingest", str(out), "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 0, result.output
    assert "police_uk_observations.parquet" in result.output and "loaded" in result.output


def _rollup_file(tmp_path: Path, table: pa.Table) -> Path:
    return write(table, tmp_path / "bad", "duckdb", "/somewhere/lake")


def test_a_rollup_with_a_month_twice_is_refused(lake, con, tmp_path) -> None:
    _, folder = lake
    table = rollup(DuckDBEngine(), folder)
    [report] = ingest_paths(con, [_rollup_file(tmp_path, pa.concat_tables([table, table]))])
    assert report.status == "refused"
    assert "repeat one key" in report.message and "the lake holds a month twice" in report.message


def test_unknown_areas_and_bad_values_are_rejected_rows(lake, con, tmp_path) -> None:
    _, folder = lake
    table = rollup(DuckDBEngine(), folder).slice(0, 3)
    areas = table.column("area_code").to_pylist()
    values = table.column("value").to_pylist()
    table = table.set_column(1, "area_code", pa.array(["Atlantis", *areas[1:]]))
    table = table.set_column(table.schema.get_field_index("value"), "value",
                             pa.array([values[0], -1.0, values[2]]))
    [report] = ingest_paths(con, [_rollup_file(tmp_path, table)], max_reject_share=1.0)
    assert report.status == "loaded"
    assert [(r.row, r.column) for r in report.rejects] == [(1, "area_code"), (2, "value")]
    assert report.rows_loaded == 1


def test_a_parquet_file_with_other_types_is_refused(lake, con, tmp_path) -> None:
    _, folder = lake
    table = rollup(DuckDBEngine(), folder)
    table = table.set_column(table.schema.get_field_index("value"), "value",
                             table.column("value").cast(pa.int64()))
    [report] = ingest_paths(con, [_rollup_file(tmp_path, table)])
    assert report.status == "refused" and "column 'value' is Int64" in report.message


def test_other_parquet_files_are_not_taken_for_a_rollup(con, tmp_path) -> None:
    pq.write_table(pa.table({"a": [1]}), tmp_path / "other.parquet")
    [report] = ingest_paths(con, [tmp_path / "other.parquet"])
    assert report.status == "refused"  # named, not recognised: refused and logged (issue 13)
    assert "a Parquet file that 'cjsdash lake rollup' did not write" in report.message


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "trino"])
def test_sql_command_prints_sql_that_parses_in_its_dialect(dialect: str) -> None:
    import sqlglot

    result = runner.invoke(app, ["lake", "sql", "--dialect", dialect])
    assert result.exit_code == 0, result.output
    statements = [s for s in sqlglot.parse(result.output, read=dialect) if s is not None]
    assert len(statements) == 3


def test_commands_name_what_is_wrong(tmp_path) -> None:
    result = runner.invoke(app, ["lake", "sql", "--dialect", "oracle"])
    assert result.exit_code == 1 and "unknown dialect 'oracle'" in result.output
    result = runner.invoke(app, ["lake", "rollup", "--engine", "flink", "--lake", str(tmp_path),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "unknown engine 'flink'" in result.output
    result = runner.invoke(app, ["lake", "rollup", "--lake", str(tmp_path), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 1 and "no record table here" in result.output


def test_a_lake_named_by_uri_reads_every_table_through_the_engine(lake) -> None:
    """A cluster's lake is a URI (s3a://…), not a local folder: every record table is bound
    by name under it; DuckDB reads file:// URIs, which tests the same path."""
    _, folder = lake
    by_uri = rollup(DuckDBEngine(), f"file://{folder.resolve()}")
    assert by_uri.equals(rollup(DuckDBEngine(), folder))
