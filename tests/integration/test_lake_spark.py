"""The same rollup on local Spark: equal to DuckDB's row for row, and to what ``cjsdash
ingest`` made from the files. Runs in ``make test`` (select it alone with ``-m spark``); in
CI (``CI=true``) a missing Java or pyspark fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from cjsdash.lake.engines import DuckDBEngine, SparkEngine, local_spark
from cjsdash.lake.export import export
from cjsdash.lake.rollup import OBSERVATIONS, rollup
from tests.integration.lake_support import loaded_warehouse, rows, warehouse_observations

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning")]


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    message = f"{what} is missing: 'make test' installs it (scripts/ensure_java.sh, .[test])"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def spark():
    _need("java", shutil.which("java") is not None)
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _need("pyspark", False)
    session = local_spark("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("spark-lake")
    db = loaded_warehouse(folder)
    with duckdb.connect(str(db), read_only=True) as con:
        export(con, folder / "lake")
    return db, folder / "lake"


def test_spark_and_duckdb_give_the_same_observations_as_ingest(spark, lake) -> None:
    db, folder = lake
    conf = spark.conf
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert int(conf.get("spark.sql.shuffle.partitions")) <= 4
    on_spark = rollup(SparkEngine(spark), folder)
    on_duckdb = rollup(DuckDBEngine(), folder)
    assert on_spark.schema == on_duckdb.schema == OBSERVATIONS
    assert on_spark.to_pylist() == on_duckdb.to_pylist()  # row for row, run ids included
    with duckdb.connect(str(db), read_only=True) as con:
        assert rows(on_spark) == warehouse_observations(con)
