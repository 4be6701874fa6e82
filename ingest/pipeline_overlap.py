"""Many batches: the next batch is classified and read on a background thread while this
one is written (decision 37).

Why: reading (ZIP inflate, sha256, polars parsing and validation) and writing (DuckDB's
inserts and commit) each fill less than the machine's cores, and one after the other they
left a core idle much of the time. Both release the GIL in their native work, so one reader
thread ahead of the writer fills it.

What makes the overlap give exactly what one batch after the other gives
(:func:`ingest.pipeline.ingest_paths` with ``overlap=False``):

- The reader classifies and reads on its own cursor (a DuckDB connection is not safe in
  two threads at once) and only reads ``meta``; the writer keeps ``con``. A batch's run
  ids are drawn when it is written, in order, as before.
- The reader sees what is committed, so it cannot know whether the batch being written
  will load bytes the next batch repeats. When a file of the next batch has bytes the batch
  being written may load (:meth:`Prepared.loading`), whatever its name or loader (a file is
  "unchanged" before anything else is asked of it), the reader leaves that batch unread,
  and once the write settles the batch is classified and read on ``con``, as in turn: its
  copies are "unchanged" if the write loaded them, read if it refused them or rolled back.
- A file refused whole (a ZIP that cannot be opened) is logged in its place; any other
  exception of the reader is raised here when its batch's turn comes (after the batch
  before is written, as in turn).
- Progress: the reader queues its calls and the caller's thread makes them, in the order
  of the batches, so the callback is never called from two threads.
- At most two batches are in memory: the one written and the one read. On any exception
  (Ctrl-C too) the batch not yet started is cancelled and the reader joined before this
  returns; its cursor is closed.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.base import FileRefused, Progress
from ingest.pipeline_batch import (
    Prepared,
    check_loader_name,
    classify_batch,
    log_refusal,
    read_prepared,
    write_prepared,
)
from ingest.pipeline_files import Batch
from ingest.pipeline_reports import IngestReport

_DONE = object()
"""The reader's last word on a batch, after its progress calls."""


@dataclass
class _Unread:
    """A batch left unread: some of its bytes may be loaded by the batch being written."""

    files: list[tuple[str, Path, bytes]]
    named: bool


class _End:
    """No more batches."""


Ahead = Prepared | _Unread | FileRefused | _End


def ingest_overlapped(
    con: duckdb.DuckDBPyConnection, batches: Iterator[tuple[Batch, bool]], *,
    loader_name: str | None, progress: Progress | None, max_reject_share: float,
    shrink_floor: float,
) -> list[IngestReport]:
    """Every batch's reports, in order, each batch written in its own transaction while the
    next is read."""
    reports: list[IngestReport] = []
    events: queue.SimpleQueue[object] = queue.SimpleQueue()
    cursor = con.cursor()

    def ahead(in_flight: frozenset[str]) -> Ahead:
        try:
            return _read_next(cursor, batches, in_flight, loader_name, max_reject_share,
                              lambda *event: events.put(event))
        finally:
            events.put(_DONE)

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read") as pool:
            future = pool.submit(ahead, frozenset())
            try:
                while not isinstance(batch := _wait(future, events, progress), _End):
                    if isinstance(batch, _Unread):  # classified again now the write settled
                        batch = _prepare(con, batch, loader_name, max_reject_share, progress)
                    if isinstance(batch, FileRefused):  # e.g. a ZIP that cannot be opened
                        future = pool.submit(ahead, frozenset())
                        reports.append(log_refusal(con, batch))
                        continue
                    future = pool.submit(ahead, batch.loading())
                    reports += _write(con, batch, progress, shrink_floor)
                    del batch  # the batch written leaves memory before the next is taken
            finally:
                future.cancel()  # not started: never will; started: joined on leaving
    finally:
        cursor.close()
    return reports


def _read_next(
    cursor: duckdb.DuckDBPyConnection, batches: Iterator[tuple[Batch, bool]],
    in_flight: frozenset[str], loader_name: str | None, max_reject_share: float,
    progress: Progress,
) -> Ahead:
    """The next batch classified and read on ``cursor``; left unread when any of its bytes
    are ``in_flight`` (the batch being written may load them)."""
    try:
        batch, named = next(batches)
    except StopIteration:
        return _End()
    check_loader_name(loader_name)
    try:
        files = list(batch)
        prepared = classify_batch(cursor, files, loader_name, refuse_unrecognised=named)
        if in_flight & prepared.shas:  # "unchanged" is asked before anything else
            return _Unread(files, named)
        del files
        read_prepared(cursor, prepared, progress, max_reject_share)
    except FileRefused as exc:
        return exc
    return prepared


def _prepare(con: duckdb.DuckDBPyConnection, batch: _Unread, loader_name: str | None,
             max_reject_share: float, progress: Progress | None) -> Prepared | FileRefused:
    try:
        prepared = classify_batch(con, batch.files, loader_name, batch.named)
        batch.files = []
        read_prepared(con, prepared, progress, max_reject_share)
    except FileRefused as exc:
        return exc
    return prepared


def _write(con: duckdb.DuckDBPyConnection, batch: Prepared, progress: Progress | None,
           shrink_floor: float) -> list[IngestReport]:
    try:
        return write_prepared(con, batch, progress, shrink_floor)
    except FileRefused as exc:  # as a batch refused while it was read
        return [log_refusal(con, exc)]


def _wait(future: Future[Ahead], events: queue.SimpleQueue[object], progress: Progress | None
          ) -> Ahead:
    """The reader's batch, making its progress calls meanwhile; its exception raised."""
    while True:
        try:
            event = events.get(timeout=0.5)
        except queue.Empty:
            continue  # a pause in which Ctrl-C is heard
        if event is _DONE:
            return future.result()
        if progress:
            progress(*event)  # type: ignore[misc]
