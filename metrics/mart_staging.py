"""Staging a mart table's new rows outside the refresh's transaction, then swapping them in.

Rows inserted inside a transaction stay in memory until it commits (700 MB for 1.2 million
figures, decision 0023; a DuckDB ``memory_limit`` does not bound them). So a refresh computes
its rows job by job into a staging table (``<table>_staged``, each insert committed as it
comes, the frame then let go), and only the swap runs inside the one transaction that also
writes the new state: readers see all of the old tables or all of the new (decision 0028).

:func:`in_order` runs the jobs on a small pool with at most a few results waiting, so the
memory a refresh holds is that of its largest job or two, not the sum of them all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import duckdb
import polars as pl

from cjsdash.core import allocators
from cjsdash.core.gateway import settings

T = TypeVar("T")
R = TypeVar("R")


def staged_name(table: str) -> str:
    """``mart.figures`` → ``mart.figures_staged``."""
    return f"{table}_staged"


def create_staged(con: duckdb.DuckDBPyConnection, table: str, ddl: str) -> str:
    """Create (or empty) the staging table of ``table`` from ``table``'s own DDL
    (``CREATE TABLE IF NOT EXISTS <table> (…)``: its constraints come with it)."""
    staged = staged_name(table)
    head = f"CREATE TABLE IF NOT EXISTS {table} ("
    if not ddl.startswith(head):
        raise ValueError(f"not the DDL of {table}: {ddl[:80]}")
    con.execute(f"CREATE OR REPLACE TABLE {staged} (" + ddl[len(head):])
    return staged


def cluster(con: duckdb.DuckDBPyConnection, table: str, ddl: str, order_by: str) -> None:
    """Rewrite the staging table of ``table`` (DDL ``ddl``) in the order ``order_by``,
    outside the refresh's transaction (DuckDB sorts within its memory limit, spilling to
    disk; the rows are written as they come). DuckDB skips every row group whose min/max
    cannot match a filter, so a table clustered by what the pages filter on is read a row
    group or two at a time instead of whole (decision 0039). The rows kept by :func:`swap`
    follow, in their own order; rows a later refresh replaces are appended, clustered."""
    staged = staged_name(table)
    sorting = create_staged(con, f"{table}_sorting",
                            ddl.replace(f" {table} (", f" {table}_sorting (", 1))
    with settings(con, preserve_insertion_order=True):  # the ORDER BY is kept only with it
        con.execute(f"INSERT INTO {sorting} SELECT * FROM {staged} ORDER BY {order_by}")  # noqa: S608
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP TABLE {staged}")
        con.execute(f"ALTER TABLE {sorting} RENAME TO {staged.split('.')[-1]}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame,
                 select: str = "SELECT * FROM _mart_staged_rows") -> int:
    """Insert ``frame`` (registered as ``_mart_staged_rows``) into ``table`` by name through
    ``select``; the rows inserted."""
    if frame.height == 0:
        return 0
    con.register("_mart_staged_rows", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {table} BY NAME {select}")
    finally:
        con.unregister("_mart_staged_rows")
    return frame.height


COMMIT_ROWS = 100_000
"""Staged rows committed together: a commit per frame cost a write-ahead-log sync per frame
(a hundred for one area's refresh), one for everything would hold every row in memory."""


class Batches:
    """Staged inserts committed every :data:`COMMIT_ROWS` rows (and at :meth:`close`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.pending = con, 0

    def insert(self, table: str, frame: pl.DataFrame,
               select: str = "SELECT * FROM _mart_staged_rows") -> int:
        if frame.height == 0:
            return 0
        if not self.pending:
            self.con.execute("BEGIN TRANSACTION")
        self.pending += insert_frame(self.con, table, frame, select) or 1
        if self.pending >= COMMIT_ROWS:
            self.close()
        return frame.height

    def close(self) -> None:
        if self.pending:
            self.pending = 0
            self.con.execute("COMMIT")
            allocators.release()  # the batch's working memory, freed by DuckDB: given back

    def abandon(self) -> None:
        if self.pending:
            self.pending = 0
            self.con.execute("ROLLBACK")


class Staged:
    """One table's staged rows: held until they fill a batch, so that a refresh whose rows
    all fit in one is written once, already in ``order_by``'s order.

    Written as they came and then rewritten in cluster order (:func:`cluster`), a small
    refresh's few thousand rows were written twice, each write committed (and, past
    DuckDB's checkpoint threshold, checkpointed). The frames held stand for the rows a batch
    held uncommitted anyway (:data:`COMMIT_ROWS`). Past it, they go into ``batches`` (shared
    by a refresh's tables: one transaction at a time) as every later frame does, and the
    table is clustered at :meth:`finish`, as before. ``order_by`` None: written as they
    come (the frames come in their order)."""

    def __init__(self, batches: Batches, table: str, ddl: str, order_by: str | None,
                 select: str = "SELECT * FROM _mart_staged_rows") -> None:
        create_staged(batches.con, table, ddl)
        self.batches, self.table, self.ddl = batches, table, ddl
        self.order_by, self.select = order_by, select
        self.held: list[pl.DataFrame] = []
        self.held_rows, self.spilled = 0, False

    def insert(self, frame: pl.DataFrame) -> int:
        """Stage ``frame``'s rows; the rows staged."""
        if frame.height == 0:
            return 0
        if self.spilled:
            return self.batches.insert(staged_name(self.table), frame, self.select)
        self.held.append(frame)
        self.held_rows += frame.height
        if self.held_rows >= COMMIT_ROWS:  # more than a batch: written as they come
            self.spilled = True
            for held in self._release():
                self.batches.insert(staged_name(self.table), held, self.select)
        return frame.height

    def _release(self) -> list[pl.DataFrame]:
        held, self.held, self.held_rows = self.held, [], 0
        return held

    def write_held(self) -> None:
        """Insert the frames held, in ``order_by``'s order, into the batch in progress."""
        held = self._release()
        if not held:
            return
        frame = pl.concat(held, how="diagonal_relaxed")
        if self.order_by is None:
            self.batches.insert(staged_name(self.table), frame, self.select)
            return
        # the ORDER BY is kept only with preserve_insertion_order on, as in cluster()
        with settings(self.batches.con, preserve_insertion_order=True):
            self.batches.insert(staged_name(self.table), frame,
                                f"SELECT * FROM ({self.select}) ORDER BY {self.order_by}")  # noqa: S608

    def finish(self) -> None:
        """After :meth:`write_held` and the batches' close: cluster a table that spilled."""
        if self.spilled and self.order_by is not None:
            cluster(self.batches.con, self.table, self.ddl, self.order_by)

    def abandon(self) -> None:
        self._release()


def finish(batches: Batches, staged: list[Staged]) -> None:
    """Write every table's held rows, commit, and cluster the tables that spilled."""
    try:
        for table in staged:
            table.write_held()
        batches.close()
    except BaseException:
        batches.abandon()
        for table in staged:
            table.abandon()
        raise
    for table in staged:
        table.finish()


def swap(con: duckdb.DuckDBPyConnection, table: str, gone: str, params: list[object],
         staged_rows: int) -> None:
    """Inside the refresh's transaction: the rows of ``table`` matching ``gone`` (SQL, values
    bound as ``params``) are replaced by the staged rows. The fewer rows are copied: the rows
    kept into the staging table, which then takes ``table``'s name (readers in flight keep
    the old table), or the staged rows into ``table``."""
    staged = staged_name(table)
    gone = f"coalesce(({gone}), FALSE)"
    kept = con.execute(f"SELECT count(*) FROM {table} WHERE NOT {gone}",  # noqa: S608
                       params).fetchall()[0][0]
    if kept <= staged_rows:
        if kept:
            con.execute(f"INSERT INTO {staged} SELECT * FROM {table} "  # noqa: S608
                        f"WHERE NOT {gone}", params)
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {staged} RENAME TO {table.split('.')[-1]}")
        return
    con.execute(f"DELETE FROM {table} WHERE {gone}", params)  # noqa: S608
    if staged_rows:
        con.execute(f"INSERT INTO {table} SELECT * FROM {staged}")  # noqa: S608
    con.execute(f"DROP TABLE {staged}")


def in_order(pool: ThreadPoolExecutor, job: Callable[[T], R], items: Iterable[T],
             ahead: int) -> Iterator[R]:
    """``job(item)`` for every item, yielded in order, with at most ``ahead`` submitted and
    not yet consumed: a slow consumer never lets finished results pile up."""
    waiting: deque[Future[R]] = deque()
    try:
        for item in items:
            waiting.append(pool.submit(job, item))
            if len(waiting) >= ahead:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        for future in waiting:
            future.cancel()


def drop_leftovers(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every staging table left in ``mart`` (a refresh that failed before its swap)."""
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = "
                               "'mart' AND database_name = current_database() "
                               "AND ends_with(table_name, '_staged')").fetchall():
        con.execute(f'DROP TABLE IF EXISTS mart."{name}"')

