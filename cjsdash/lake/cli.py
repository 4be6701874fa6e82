"""``cjsdash lake``: the record-level rollup on DuckDB or Spark over a Parquet lake.

Registered by :mod:`cjsdash.cli` as ``app.add_typer(lake_app, name="lake")``::

    cjsdash lake export --db data/cjsdash.duckdb --out lake/
    cjsdash lake rollup --engine spark --lake lake/ --out rolled/
    cjsdash lake sql --dialect trino
    cjsdash ingest rolled/
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.markup import escape

from cjsdash.core.config import get_settings

lake_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="Record-level rollups on DuckDB, Spark or Athena/Trino over a "
                            "Parquet lake.")
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(1)


@lake_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="lake folder to write (its tables are replaced)")],
    db: Annotated[Path | None, typer.Option(
        "--db", envvar="CJSDASH_DB", help="warehouse file (default data/cjsdash.duckdb)")] = None,
) -> None:
    """The warehouse's record tables as Parquet, hive-partitioned by month, zstd."""
    from cjsdash.lake.export import export

    path = Path(db or get_settings().db)
    if not path.exists():
        _fail(f"no warehouse at {path}")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        _fail(f"{path}: cannot open the warehouse read-only ({exc})")
    try:
        written = export(con, out)
    finally:
        con.close()
    if not written:
        _fail(f"{path} has no data.police.uk record tables (raw.police_uk_*): ingest some "
              "street, outcomes or stop-and-search files first")
    for table, rows in written.items():
        console.print(f"{table}: {rows:,} records → {out / table}", markup=False)


@lake_app.command("rollup")
def rollup_command(
    lake: Annotated[Path, typer.Option(help="lake folder (as 'cjsdash lake export' writes)")],
    out: Annotated[Path, typer.Option(help="folder for police_uk_observations.parquet")],
    engine: Annotated[str, typer.Option(help="duckdb|spark")] = "duckdb",
) -> None:
    """Records → observations on an engine; load the result with 'cjsdash ingest OUT'."""
    from cjsdash.lake.engines import ENGINES
    from cjsdash.lake.engines import engine as make_engine
    from cjsdash.lake.rollup import rollup, write

    if engine not in ENGINES:
        _fail(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if not lake.is_dir():
        _fail(f"no lake folder at {lake}")
    started = time.perf_counter()
    runner = make_engine(engine)
    try:
        table = rollup(runner, lake.resolve())
    except FileNotFoundError as exc:
        _fail(str(exc))
    finally:
        runner.close()
    path = write(table, out, engine, lake.resolve())
    console.print(f"{table.num_rows:,} observations on {engine} in "
                  f"{time.perf_counter() - started:.1f} s → {path}", markup=False)


@lake_app.command("sql")
def sql_command(
    dialect: Annotated[str, typer.Option(help="duckdb|spark|trino (Athena)")] = "duckdb",
) -> None:
    """Print the rollup statements an engine runs (one per record table)."""
    from cjsdash.lake.dialects import DIALECTS, all_rollup_sql

    if dialect not in DIALECTS:
        _fail(f"unknown dialect {dialect!r}: expected one of {', '.join(DIALECTS)}")
    sys.stdout.write(all_rollup_sql(dialect))
