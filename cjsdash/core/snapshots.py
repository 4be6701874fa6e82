"""Read-only snapshots of the warehouse, published atomically, that any number of processes
read while one process writes (decision 0017).

DuckDB lets one process open a database file read-write, or any number open it read-only, but
not both. The dashboard's processes therefore never open the warehouse itself: after a write
that changed it, the writer copies what the pages read (the ``core``, ``meta`` and ``mart``
schemas; the record-level ``raw`` schema stays behind) into a new file in the warehouse's
snapshot folder, and then names it in the folder's ``CURRENT`` file by an atomic rename. A
reader opens the file ``CURRENT`` names, read-only, and moves to a newer one when ``CURRENT``
changes, at its next request. A snapshot file is never written again once named, so a
request that started on the old one finishes on it: it sees all of the old figures or all of
the new, and never waits for a load.

How a snapshot is made (decision 0031): where the record-level ``raw`` schema is small (at
most :data:`WHOLE_FILE_RAW_ROWS` rows, as on the demo warehouse and a board's own
extracts), the writer checkpoints and copies the warehouse file as it is (the kernel copies
the bytes: about 0.2 s for the demo's 160 MB, against 5 CPU seconds, and 10-37 s on a busy
machine, to copy its tables row by row); where ``raw`` is large (years of street-level crime)
it copies the three schemas table by table, so snapshots do not carry the records.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCHEMAS = ("core", "meta", "mart")
"""What the pages, ``cjsdash query`` and the packs read; ``raw`` (record-level rows) is not."""
WHOLE_FILE_RAW_ROWS = 1_000_000
"""At most this many rows in ``raw``: a snapshot is the whole warehouse file, copied."""
KEEP = 3
"""Snapshot files kept: the current one and the two before it (a request still on one)."""
POINTER = "CURRENT"

STAMP_SQL = """SELECT concat_ws('|',
    (SELECT coalesce(max(run_id), 0) FROM meta.ingest_runs),
    (SELECT count(*) FROM meta.ingest_runs),
    (SELECT concat(count(*), ':', coalesce(sum(value), 0)) FROM core.targets),
    (SELECT count(*) FROM core.area_peers),
    (SELECT count(*) FROM core.areas))"""
"""A cheap stamp of the warehouse's state: it changes with every load, target and area."""


def state_stamp(con: duckdb.DuckDBPyConnection) -> str:
    """The warehouse's stamp, with the figure mart's own when it has one."""
    stamp = str(con.execute(STAMP_SQL).fetchall()[0][0])
    with contextlib.suppress(duckdb.CatalogException):
        rows = con.execute("SELECT value FROM mart.state WHERE key = 'version'").fetchall()
        stamp += "|mart:" + (rows[0][0] if rows else "")
    return stamp


def snapshot_dir(warehouse: str | Path) -> Path:
    path = Path(warehouse)
    return path.with_name(path.name + ".snapshots")


@dataclass(frozen=True)
class Published:
    """What ``CURRENT`` names: the snapshot file and the stamp of the state it holds."""

    path: Path
    stamp: str


def current(folder: Path) -> Published | None:
    try:
        text = (folder / POINTER).read_text(encoding="utf-8")
        found = json.loads(text)
        return Published(folder / str(found["file"]), str(found["stamp"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pointer_key(folder: Path) -> tuple[int, int] | None:
    """Changes whenever ``CURRENT`` is replaced (cheap: one stat)."""
    try:
        st = (folder / POINTER).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def publish(con: duckdb.DuckDBPyConnection, folder: Path, *, force: bool = False
            ) -> Published | None:
    """Copy what the pages read into a new snapshot file and name it in ``CURRENT``; None
    when the published snapshot already holds this state (unless ``force``)."""
    stamp = state_stamp(con)
    now = current(folder)
    if now is not None and now.stamp == stamp and now.path.exists() and not force:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    name = f"snapshot-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.duckdb"
    part = folder / f"{name}.part"
    source = _database_file(con)
    if source is not None and _raw_rows(con) <= WHOLE_FILE_RAW_ROWS:
        _copy_file(con, source, part)
    else:
        _copy_tables(con, part)
    os.replace(part, folder / name)
    pointer = folder / f"{POINTER}.{secrets.token_hex(4)}"
    pointer.write_text(json.dumps({"file": name, "stamp": stamp}), encoding="utf-8")
    os.replace(pointer, folder / POINTER)  # the moment readers move to it
    _prune(folder, keep=name)
    return Published(folder / name, stamp)


def _database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file of ``con``'s database (None in memory)."""
    rows = con.execute("SELECT path FROM duckdb_databases() "
                       "WHERE database_name = current_database()").fetchall()
    return Path(rows[0][0]) if rows and rows[0][0] else None


def _raw_rows(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables() "
                       "WHERE database_name = current_database() AND schema_name = 'raw'"
                       ).fetchall()
    return int(rows[0][0])


def _copy_file(con: duckdb.DuckDBPyConnection, source: Path, part: Path) -> None:
    """The whole warehouse file, checkpointed first (so it holds every commit and the
    write-ahead log is empty) by the one connection that has it open: nothing writes to it
    while the bytes are copied."""
    con.execute("CHECKPOINT")
    shutil.copyfile(source, part)


def _copy_tables(con: duckdb.DuckDBPyConnection, part: Path) -> None:
    """The tables of :data:`SCHEMAS`, row by row, into a new database file."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND list_contains(?, schema_name) "
        "ORDER BY schema_name, table_name", [list(SCHEMAS)]).fetchall()
    # the file name is ours (folder of the warehouse, random hex): quoted, not user text
    con.execute(f"ATTACH '{_quoted(part)}' AS cjsdash_snapshot")
    try:
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"CREATE SCHEMA cjsdash_snapshot.{schema}")
        for schema, table in tables:  # identifiers from the catalogue of our own schemas
            con.execute(f"CREATE TABLE cjsdash_snapshot.{schema}.{table} AS "  # noqa: S608
                        f"SELECT * FROM {schema}.{table}")
    finally:
        con.execute("DETACH cjsdash_snapshot")


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _prune(folder: Path, *, keep: str) -> None:
    """Remove all but the newest :data:`KEEP` snapshots (an open file stays readable until
    its reader closes it), and leftovers of an interrupted publish."""
    files = sorted(folder.glob("snapshot-*.duckdb"), key=lambda p: p.stat().st_mtime_ns,
                   reverse=True)
    for old in [f for f in files if f.name != keep][KEEP - 1:]:
        with contextlib.suppress(OSError):
            old.unlink()
            Path(f"{old}.wal").unlink(missing_ok=True)
    for leftover in folder.glob("*.part"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > 600:
                leftover.unlink()
