"""Engines the rollup runs on: bind a logical table to a Parquet folder, run a query to Arrow.

Modelled on MoJ's Splink (``splink/internals/database_api.py``): one small interface, an
implementation per engine, SQL emitted per engine by sqlglot. DuckDB is the default and runs
in this process; Spark runs in local mode here and on any cluster through a ``SparkSession``
the caller supplies (``spark-submit``, Databricks, EMR). Athena/Trino users take the SQL from
``cjsdash lake sql --dialect trino``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from cjsdash.lake.dialects import emit


class Engine(ABC):
    name: str
    dialect: str

    @abstractmethod
    def bind(self, table: str, path: Path | str) -> None:
        """Make ``table`` read the Parquet files under ``path`` (hive partitions included)."""

    @abstractmethod
    def _run(self, sql: str) -> pa.Table: ...

    def to_arrow(self, tree: exp.Expression) -> pa.Table:
        """Run ``tree`` (after the portability gate) in this engine's dialect."""
        return self._run(emit(tree, self.dialect, pretty=False))

    def close(self) -> None:  # noqa: B027 - optional
        """Release what the engine holds."""


class DuckDBEngine(Engine):
    name = dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con or duckdb.connect()
        self._owned = con is None

    def bind(self, table: str, path: Path | str) -> None:
        relation = self.con.read_parquet(f"{path}/**/*.parquet", hive_partitioning=True)
        relation.create_view(table, replace=True)

    def _run(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def close(self) -> None:
        if self._owned:
            self.con.close()


LOCAL_SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "2g",
    "spark.ui.showConsoleProgress": "false",
}
"""Local mode as the tests and the benchmark run it: no web UI, few shuffle partitions, UTC,
nothing downloaded (no ``spark.jars.packages``)."""


def local_spark(master: str = "local[2]", conf: dict[str, str] | None = None) -> Any:
    """A local SparkSession (pyspark and Java 17 must be installed)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("cjsdash-lake")
    for key, value in {**LOCAL_SPARK_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine(Engine):
    name = dialect = "spark"

    def __init__(self, spark: Any = None) -> None:
        self.spark = spark or local_spark()
        self._owned = spark is None

    def bind(self, table: str, path: Path | str) -> None:
        self.spark.read.option("basePath", str(path)).parquet(str(path)) \
            .createOrReplaceTempView(table)

    def _run(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def close(self) -> None:
        if self._owned:
            self.spark.stop()


ENGINES = {"duckdb": DuckDBEngine, "spark": SparkEngine}


def engine(name: str) -> Engine:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    return ENGINES[name]()
