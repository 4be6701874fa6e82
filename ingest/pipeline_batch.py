"""One batch's three steps: classify its files (skipped, unchanged, a copy, or to read),
read them (no writes), then write the batch in one transaction.

Kept apart so that :mod:`ingest.pipeline_overlap` can classify and read the next batch on
its own cursor while this one is written; :func:`ingest.pipeline.ingest_batch` runs the
three in turn.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from cjsdash.core import allocators
from ingest.base import FileRefused, Progress
from ingest.catalogue import LOADERS
from ingest.diagnose import why_unrecognised
from ingest.pipeline_files import NOT_A_DATA_FILE, SKIP_SUFFIXES, UNRECOGNISED, detect_loader
from ingest.pipeline_reads import read_all
from ingest.pipeline_refusals import refused, unchanged, write_failed
from ingest.pipeline_reports import FileToRead, IngestReport
from ingest.pipeline_shrink import refuse_shrinking
from ingest.pipeline_writes import write_batch


@dataclass
class Prepared:
    """A batch classified (one slot per file, in order) and, once :func:`read_prepared`
    ran, read: every file to load has its ``pending`` write."""

    slots: list[IngestReport | FileToRead]
    first: dict[str, FileToRead]
    """The files to read, by sha256: the same bytes twice in a batch are read once."""
    shas: frozenset[str] = frozenset()
    """The sha256 of every file hashed (all but a folder's or ZIP's README and the like)."""

    def loading(self) -> frozenset[str]:
        """The sha256 of every file this batch may load (read, and not refused)."""
        return frozenset(sha for sha, file in self.first.items()
                         if file.pending is not None and file.pending.result is not None)


def check_loader_name(loader_name: str | None) -> None:
    if loader_name and loader_name not in LOADERS:
        raise ValueError(f"unknown source '{loader_name}' (one of {', '.join(LOADERS)})")


def classify_batch(con: duckdb.DuckDBPyConnection, files: list[tuple[str, Path, bytes]],
                   loader_name: str | None, refuse_unrecognised: bool) -> Prepared:
    """Each file's slot: a report for a file that will not be read (skipped, unchanged),
    else the file (its refusal already settled when no loader recognises it). One query
    says which files' bytes are already loaded."""
    shas = _sha256s([None if _skipped(name, path, refuse_unrecognised) else data
                     for name, path, data in files])
    hashed = [(*file, sha) for file, sha in zip(files, shas, strict=True)]
    done = loaded_runs(con, sorted({sha for *_, sha in hashed if sha is not None}))
    slots: list[IngestReport | FileToRead] = []
    first: dict[str, FileToRead] = {}
    for name, path, data, sha in hashed:
        slot = _classify(name, path, data, sha, done, loader_name, first, refuse_unrecognised)
        slots.append(slot)
        if isinstance(slot, FileToRead) and slot.pending is None:
            if slot.sha in first:
                first[slot.sha].copies.append(slot)
            else:
                first[slot.sha] = slot
    return Prepared(slots, first, frozenset(sha for *_, sha in hashed if sha is not None))


def read_prepared(con: duckdb.DuckDBPyConnection, prepared: Prepared, progress: Progress | None,
                  max_reject_share: float) -> None:
    """Read and validate the batch's files (``con`` is only read); then polars' freed pages
    are given back (a 332,640-row extract's read kept 400 MB of them into its write; DuckDB's
    are left: the previous batch may be writing on another thread, decision 39)."""
    read_all(con, list(prepared.first.values()), progress, max_reject_share)
    allocators.release(duckdb=False)


def write_prepared(con: duckdb.DuckDBPyConnection, prepared: Prepared, progress: Progress | None,
                   shrink_floor: float) -> list[IngestReport]:
    """Write the batch in one transaction; one report per file, in order. A file that would
    cut figures loaded now to under ``shrink_floor`` of them is refused
    (:mod:`ingest.pipeline_shrink`)."""
    slots = prepared.slots
    items = [s.pending for s in slots if isinstance(s, FileToRead) and s.pending is not None]
    items = refuse_shrinking(con, items, shrink_floor)
    try:
        write_batch(con, items, progress)
    except duckdb.Error as exc:  # rolled back: log the batch as refused, never a traceback
        write_batch(con, [write_failed(item, exc) for item in items], progress)
    for original in prepared.first.values():
        for copy in original.copies:
            if copy.pending is None:  # the original loaded: the copy changes nothing
                copy.report = unchanged(copy.name, original.report.run_id or 0)
    return [s if isinstance(s, IngestReport) else s.report for s in slots]


def _sha256s(datas: list[bytes | None]) -> list[str | None]:
    """Each file's sha256 (None for None), two at a time when there are several: hashing
    releases the GIL (a month's forty forces: 0.05 → 0.03 s)."""
    def sha(data: bytes | None) -> str | None:
        return None if data is None else hashlib.sha256(data).hexdigest()

    if len(datas) < 2:
        return [sha(data) for data in datas]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(sha, datas))


def _not_data(name: str, path: Path) -> bool:
    """A README, a hidden file and the like, by name."""
    return path.suffix.casefold() in SKIP_SUFFIXES or name.startswith(".")


def _skipped(name: str, path: Path, refuse_unrecognised: bool) -> bool:
    """A folder's or ZIP's file that is not data (a README): skipped unread, unhashed."""
    return not refuse_unrecognised and _not_data(name, path)


def _classify(name: str, path: Path, data: bytes, sha: str | None, done: dict[str, int],
              loader_name: str | None, first: dict[str, FileToRead], refuse_unrecognised: bool
              ) -> IngestReport | FileToRead:
    if sha is None:
        return IngestReport(name, "skipped", message=NOT_A_DATA_FILE)
    if sha in done:
        return unchanged(name, done[sha])
    if sha in first:
        return FileToRead(name, path, data, sha, first[sha].loader)
    skip = _not_data(name, path)
    loader = LOADERS[loader_name] if loader_name else (None if skip else detect_loader(path, data))
    if loader is None:
        reason = why_unrecognised(path, data)
        if not refuse_unrecognised:
            return IngestReport(name, "skipped", message=reason)
        file = FileToRead(name, path, b"", sha, UNRECOGNISED)
        file.pending = refused(file, datetime.now(), reason, [], rows_in=0)
        file.report = file.pending.report
        return file
    return FileToRead(name, path, data, sha, loader)


def loaded_runs(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, int]:
    """The first run that loaded each of these sha256 (those never loaded are absent)."""
    if not shas:
        return {}
    return dict(con.execute(
        "SELECT sha256, min(run_id) FROM meta.ingest_runs "
        "WHERE status = 'loaded' AND sha256 IN (SELECT unnest(?::VARCHAR[])) GROUP BY sha256",
        [shas]).fetchall())


def log_refusal(con: duckdb.DuckDBPyConnection, refusal: FileRefused) -> IngestReport:
    """Log a file refused before any loader read it (a ZIP that cannot be opened)."""
    file = FileToRead(refusal.file_name, Path(refusal.file_name), b"", "", UNRECOGNISED)
    pending = refused(file, datetime.now(), refusal.reason, refusal.rejects, rows_in=0)
    write_batch(con, [pending], None)
    return pending.report
