"""The one DuckDB gateway: a single writer, read-only readers, SQL with bound parameters.

Every query in cjsdash goes through :func:`fetch` (a polars frame back) or a connection
opened here. Values are always bound as ``?`` parameters; identifiers come only from the
registries and the contracts in :mod:`cjsdash.core.schema`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from cjsdash.core import snapshots
from cjsdash.core.file_lock import LockTimeout, writer_lock
from cjsdash.core.frames import arrow_table
from cjsdash.core.schema import ensure_schema

MEMORY = ":memory:"


_HELD_CURSORS: weakref.WeakKeyDictionary[Any, Warehouse] = weakref.WeakKeyDictionary()


def held_version(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """(file, writes so far) for a reader cursor of a held warehouse — it changes exactly
    when this process's writer finishes a write, so results can be kept per version without
    a query — else None."""
    warehouse = _HELD_CURSORS.get(con)
    return None if warehouse is None else (warehouse.path, warehouse.generation)


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file for writing (or reading, when we write)."""


REOPEN_WAIT_S = 5.0


def _connect_after_close(path: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, allowing a moment for this process's other mode to let go.

    Just after this process closes its read-only connection (or its read-write one), DuckDB
    can for a few milliseconds still hold the database open in that mode, when a query has
    just finished on another thread, and refuses to open it in the other mode ("a different
    configuration"). Every connection of ours in that mode is closed, so it passes: wait.
    """
    deadline = time.monotonic() + REOPEN_WAIT_S
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.ConnectionException as exc:
            if "different configuration" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class ReadWriteLock:
    """Many readers at once, or one writer: a writer waits for the readers in flight.

    Used by a process that both serves pages and loads files (the dashboard's upload): each
    request holds a read slot while it uses its cursor (:meth:`Warehouse.reading`), and
    :meth:`Warehouse.writer` takes the write slot, so the read-only connection is closed only
    when no request is using it. A waiting writer bars new readers, so a stream of requests
    cannot starve an upload. Read slots are per thread and re-entrant; a thread that holds
    one and asks to write (the upload's own request) gives its slots up while it writes and
    gets them back after; a thread that writes may read.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers: dict[int, int] = {}
        self._writer: int | None = None
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                counted = False
            else:
                counted = True
                if me not in self._readers:
                    while self._writer is not None or self._writers_waiting:
                        self._cond.wait()
                self._readers[me] = self._readers.get(me, 0) + 1
        try:
            yield
        finally:
            if counted:
                with self._cond:
                    self._readers[me] -= 1
                    if self._readers[me] == 0:
                        del self._readers[me]
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                raise RuntimeError("this thread is already writing to the warehouse")
            suspended = self._readers.pop(me, 0)
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = me
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._writer = None
                if suspended:
                    self._readers[me] = suspended
                self._cond.notify_all()


class Warehouse:
    """A DuckDB warehouse file (or an in-memory one, for tests).

    ``writer()`` yields the single read-write connection inside a transaction; ``reader()``
    returns a thread-local cursor on one read-only connection that sees only committed data.
    An in-memory warehouse uses one connection for both.

    DuckDB will not open a file read-write in a process that has it open read-only, so
    ``writer()`` closes the readers first; code that may run while another thread writes
    (the dashboard's requests) holds ``reading()`` around its use of ``reader()``, and the
    writer waits for those blocks to end. Readers reopen, on the committed data, afterwards.
    """

    def __init__(self, path: str | Path = MEMORY, *, snapshots: bool = False,
                 held: bool = False, memory_mb: int | None = None) -> None:
        self.path = str(path)
        self.snapshots = snapshots and path != MEMORY
        """Serve reads from published snapshots (:mod:`cjsdash.core.snapshots`), never the
        file itself: readers never wait for a writer, in this process or another."""
        self._snapshot: tuple[tuple[int, int] | None, duckdb.DuckDBPyConnection | None] = (
            None, None)
        self._lock = threading.Lock()  # guards opening and closing the connections
        self._rw = ReadWriteLock()
        self._shared: duckdb.DuckDBPyConnection | None = None
        self._local = threading.local()
        self._writing = threading.Lock()
        self.generation = 0  # writes finished (a held warehouse's data version)
        self.memory_mb = memory_mb
        """DuckDB's memory limit for each database this opens (the file, a snapshot), not
        its default 80 % of RAM (decision 0023): a server's cache of blocks stays within it."""
        self.held = held and not self.in_memory
        """One read-write instance held open for the life of the process (``cjsdash serve``
        with one worker): readers' cursors read the last committed state while a writer's
        cursor loads (DuckDB's MVCC), so a load never waits for readers nor they for it."""
        if self.in_memory:
            self._shared = duckdb.connect(MEMORY)
            ensure_schema(self._shared)
        elif self.held:
            self._shared = self._open_file(read_only=False)
            ensure_schema(self._shared)

    @property
    def in_memory(self) -> bool:
        return self.path == MEMORY

    def exists(self) -> bool:
        return self.in_memory or Path(self.path).exists()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self._shared is not None:
            return self._shared
        return self._open_file(read_only=read_only)

    def _open_file(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        try:
            if not read_only:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            con = _connect_after_close(self.path, read_only=read_only)
            con.execute("SET enable_progress_bar = false")  # never on a loader's terminal
            return self._limited(con)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise WarehouseBusy(
                f"cannot open {self.path}: {exc}. Another cjsdash process (a running dashboard "
                "or ingest) holds it; stop that process or load through it."
            ) from exc

    def _limited(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        if self.memory_mb:
            con.execute(f"SET memory_limit = '{int(self.memory_mb)}MB'")  # an int: not a value
        return con

    @property
    def snapshot_folder(self) -> Path:
        return snapshots.snapshot_dir(self.path)

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The read-write connection, schema ensured; the caller runs its own transactions.

        Waits until no ``reading()`` block on the file itself is open (other than this
        thread's own) and holds new ones off until the connection is closed again. When the
        warehouse is served from snapshots (``snapshots=True``, or a snapshot folder exists
        because a dashboard serves it), a write that changed the warehouse ends by publishing
        a new snapshot; readers of snapshots never wait.
        """
        if self.held:  # writers take turns; readers carry on on their own cursors
            with self._writing:
                assert self._shared is not None
                cursor = self._shared.cursor()
                try:
                    ensure_schema(cursor)
                    yield cursor
                finally:
                    cursor.close()
                    self.generation += 1
            return
        with self._rw.write(), self._lock, self._other_writers():
            self.close_file_reader()
            con = self._connect(read_only=False)
            try:
                ensure_schema(con)
                yield con
                if not self.in_memory and (self.snapshots or self.snapshot_folder.exists()):
                    snapshots.publish(con, self.snapshot_folder)
            finally:
                if con is not self._shared:
                    con.close()

    @contextmanager
    def _other_writers(self) -> Iterator[None]:
        """Hold the warehouse's inter-process writer lock (:mod:`cjsdash.core.file_lock`):
        an upload in any worker and a ``cjsdash ingest`` from a shell take turns."""
        if self.in_memory:
            yield
            return
        try:
            with writer_lock(self.path, purpose="writing"):
                yield
        except LockTimeout as exc:
            raise WarehouseBusy(str(exc)) from exc

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold off writers while this thread uses ``reader()`` cursors on the file itself
        (re-entrant); with a published snapshot to read, nothing is held."""
        if self.held or self._snapshot_pointer() is not None:
            yield
            return
        with self._rw.read():
            yield

    def _snapshot_pointer(self) -> tuple[int, int] | None:
        return snapshots.pointer_key(self.snapshot_folder) if self.snapshots else None

    def _snapshot_reader(self, key: tuple[int, int]) -> duckdb.DuckDBPyConnection | None:
        """A cursor for this thread on the snapshot ``CURRENT`` names (reopened when it
        changes); None when it cannot be opened."""
        local_key, cursor = getattr(self._local, "snapshot", (None, None))
        if local_key == key and cursor is not None:
            return cursor
        with self._lock:
            opened_key, con = self._snapshot
            if opened_key != key or con is None:
                published = snapshots.current(self.snapshot_folder)
                if published is None:
                    return None
                try:
                    con = self._limited(duckdb.connect(str(published.path), read_only=True))
                except duckdb.Error:
                    return None
                # the old snapshot's connection is let go, not closed: a request still
                # using a cursor on it finishes there
                self._snapshot = (key, con)
            cursor = con.cursor()
        self._local.snapshot = (key, cursor)
        return cursor

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only cursor for this thread: on the published snapshot when the warehouse
        is served from snapshots, else on the file (opened once per process and reused)."""
        if self._shared is not None:
            if not self.held:
                return self._shared.cursor()
            cursor = getattr(self._local, "cursor", None)
            if cursor is None:
                cursor = self._local.cursor = self._shared.cursor()
                _HELD_CURSORS[cursor] = self
            return cursor
        key = self._snapshot_pointer()
        if key is not None:
            cursor = self._snapshot_reader(key)
            if cursor is not None:
                return cursor
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            with self._lock:
                if getattr(self, "_reader", None) is None:
                    self._reader = self._connect(read_only=True)
                cursor = self._reader.cursor()
            self._local.cursor = cursor
        return cursor

    def close_file_reader(self) -> None:
        """Close the read-only connection to the file itself (a writer needs the file)."""
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()
            self._reader = None
            self._local = threading.local()  # every thread's cursor on it goes too

    def close_readers(self) -> None:
        self.close_file_reader()
        _, con = self._snapshot
        if con is not None:
            con.close()
        self._snapshot = (None, None)
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


SETTINGS = {"threads": int, "preserve_insertion_order": bool}
"""The DuckDB settings this package changes for a statement (:func:`settings`)."""


def _setting_literal(name: str, value: object) -> str:
    kind = SETTINGS.get(name)
    if kind is None:
        raise ValueError(f"not a setting cjsdash changes: {name!r}")
    if kind is bool:
        return "true" if value in (True, "true") else "false"
    return str(int(value))  # type: ignore[call-overload]


@contextmanager
def settings(con: duckdb.DuckDBPyConnection, **values: object) -> Iterator[None]:
    """DuckDB settings (global to the database) for a block, back as they were after it.

    Set and restored on a cursor of its own, outside any transaction ``con`` has open, so
    they come back even when the block's statement fails and aborts that transaction.
    ``SET`` takes no bound parameters: names come from :data:`SETTINGS` only, values are
    made literals by their type."""
    wanted = {name: _setting_literal(name, value) for name, value in values.items()}
    cursor = con.cursor()
    try:
        before = {name: _setting_literal(name, cursor.execute(
            f"SELECT current_setting('{name}')").fetchall()[0][0]) for name in wanted}
        for name, literal in wanted.items():
            cursor.execute(f"SET {name} = {literal}")
        try:
            yield
        finally:
            for name, literal in before.items():
                cursor.execute(f"SET {name} = {literal}")
    finally:
        cursor.close()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run ``sql`` with bound ``params`` and return a polars frame."""
    return con.sql(sql, params=list(params or [])).pl()


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append a polars frame to ``table`` (an identifier from the schema contracts)."""
    if frame.height == 0:
        return 0
    columns = ", ".join(frame.columns)
    con.register("_cjsdash_insert", arrow_table(frame))
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _cjsdash_insert")  # noqa: S608
    finally:
        con.unregister("_cjsdash_insert")
    return frame.height
