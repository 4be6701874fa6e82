"""The one DuckDB gateway: a single writer, read-only readers, SQL with bound parameters.

Every query in cjsdash goes through :func:`fetch` (a polars frame back) or a connection
opened here. Values are always bound as ``?`` parameters; identifiers come only from the
registries and the contracts in :mod:`cjsdash.core.schema`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from cjsdash.core.schema import ensure_schema

MEMORY = ":memory:"


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for writing (or reading, when we write)."""


class Warehouse:
    """A DuckDB warehouse file (or an in-memory one, for tests).

    ``writer()`` yields the single read-write connection inside a transaction; ``reader()``
    returns a thread-local cursor on one read-only connection that sees only committed data.
    An in-memory warehouse uses one connection for both.
    """

    def __init__(self, path: str | Path = MEMORY) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._shared: duckdb.DuckDBPyConnection | None = None
        self._local = threading.local()
        if self.in_memory:
            self._shared = duckdb.connect(MEMORY)
            ensure_schema(self._shared)

    @property
    def in_memory(self) -> bool:
        return self.path == MEMORY

    def exists(self) -> bool:
        return self.in_memory or Path(self.path).exists()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self._shared is not None:
            return self._shared
        try:
            if not read_only:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            raise WarehouseBusy(
                f"cannot open {self.path}: {exc}. Another cjsdash process (a running dashboard "
                "or ingest) holds it; stop that process or load through it."
            ) from exc

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The read-write connection, schema ensured; the caller runs its own transactions."""
        with self._lock:
            self.close_readers()
            con = self._connect(read_only=False)
            try:
                ensure_schema(con)
                yield con
            finally:
                if con is not self._shared:
                    con.close()

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only cursor for this thread, opened once per process and reused."""
        if self._shared is not None:
            return self._shared.cursor()
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            with self._lock:
                if getattr(self, "_reader", None) is None:
                    self._reader = self._connect(read_only=True)
                cursor = self._reader.cursor()
            self._local.cursor = cursor
        return cursor

    def close_readers(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()
            self._reader = None
            self._local = threading.local()

    def close(self) -> None:
        self.close_readers()
        if self._shared is not None:
            self._shared.close()
            self._shared = None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed when the block ends, rolled back whole if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run ``sql`` with bound ``params`` and return a polars frame."""
    return con.sql(sql, params=list(params or [])).pl()


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append a polars frame to ``table`` (an identifier from the schema contracts)."""
    if frame.height == 0:
        return 0
    columns = ", ".join(frame.columns)
    con.register("_cjsdash_insert", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _cjsdash_insert")  # noqa: S608
    finally:
        con.unregister("_cjsdash_insert")
    return frame.height
