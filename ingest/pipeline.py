"""Ingest files: detect the format, hash, read, validate, and load in one transaction.

Loading the same bytes twice is a no-op that says so. A file with a whole-file problem, or
with no good rows, is refused: nothing reaches ``core``; the attempt and its reasons are
logged in ``meta.ingest_runs`` and ``meta.rejects``. A partly bad file loads its good rows
and quarantines the rest, all or nothing.

A ZIP is the file the user offered: its members are all read and validated first, then
written in one transaction (one ``meta.ingest_runs`` row per member, one insert per table
for all of them), so a month's forty forces cost one commit, not forty. A refused member
is logged as ever and the others load; loose files keep one transaction each.

The steps live beside this module, by concern: :mod:`ingest.pipeline_files` (batches and
detection), :mod:`ingest.pipeline_reads` (reading, with quarantined rows),
:mod:`ingest.pipeline_refusals` (the reject-share threshold, refused and unchanged files),
:mod:`ingest.pipeline_writes` (the batch's one transaction),
:mod:`ingest.pipeline_reports` (:class:`IngestReport` and the records passed between steps),
:mod:`ingest.pipeline_batch` (a batch's steps: classify, read, write) and
:mod:`ingest.pipeline_overlap` (the next batch read while this one is written).
The entry points stay here, and every name imported from here before.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from cjsdash.core import quality
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import transaction
from cjsdash.core.rollup import refresh_pending
from ingest.base import FileRefused, Progress
from ingest.pipeline_batch import (
    check_loader_name,
    classify_batch,
    log_refusal,
    read_prepared,
    write_prepared,
)
from ingest.pipeline_files import (
    NOT_A_DATA_FILE,
    SKIP_SUFFIXES,
    UNRECOGNISED,
    Batch,
    detect_loader,
    iter_batches,
    named_batches,
)
from ingest.pipeline_overlap import ingest_overlapped
from ingest.pipeline_reads import read_context
from ingest.pipeline_refusals import SHOWN_REJECTS, mostly_rejected
from ingest.pipeline_reports import IngestReport

__all__ = [
    "NOT_A_DATA_FILE", "SHOWN_REJECTS", "SKIP_SUFFIXES", "UNRECOGNISED", "Batch",
    "IngestReport", "check_quality", "detect_loader", "ingest_batch", "ingest_bytes",
    "ingest_file", "ingest_paths", "iter_batches", "mostly_rejected", "read_context",
]


def ingest_paths(
    con: duckdb.DuckDBPyConnection, paths: list[Path], *, loader_name: str | None = None,
    progress: Progress | None = None, max_reject_share: float | None = None,
    overlap: bool = True, shrink_floor: float | None = None,
) -> list[IngestReport]:
    """Load every file (one transaction each; a ZIP's members in one), then refresh the area
    rollup once. A file with more than ``max_reject_share`` of its rows rejected (default:
    the ``max_reject_share`` setting) is refused whole. Each batch is read while the one
    before is written (:mod:`ingest.pipeline_overlap`); ``overlap=False`` reads and writes
    them in turn, with the same outcome. A file that would cut figures loaded now to under
    ``shrink_floor`` of them (default: the ``shrink_floor`` setting; 0 never) is refused
    (:mod:`ingest.pipeline_shrink`)."""
    reports: list[IngestReport] = []
    # Many small commits: let the WAL grow and checkpoint once at the end of the batch.
    con.execute("SET checkpoint_threshold = '1GB'")
    try:
        if max_reject_share is None:
            max_reject_share = get_settings().max_reject_share
        if shrink_floor is None:
            shrink_floor = get_settings().shrink_floor
        if overlap:
            reports = ingest_overlapped(con, named_batches(paths, named=True),
                                        loader_name=loader_name, progress=progress,
                                        max_reject_share=max_reject_share,
                                        shrink_floor=shrink_floor)
        else:
            for batch, named in named_batches(paths, named=True):
                try:
                    reports += ingest_batch(con, batch, loader_name=loader_name,
                                            progress=progress, refuse_unrecognised=named,
                                            max_reject_share=max_reject_share,
                                            shrink_floor=shrink_floor)
                except FileRefused as exc:  # a ZIP that cannot be opened: refused, logged
                    reports.append(log_refusal(con, exc))
    finally:
        if progress:
            progress("summing up areas", 0, 1)
        refresh_pending(con)
        con.execute("RESET checkpoint_threshold")
        con.execute("CHECKPOINT")
    check_quality(con, reports)
    return reports


def check_quality(con: duckdb.DuckDBPyConnection, reports: list[IngestReport]) -> None:
    """Judge the months the loads brought against each area's own history (after the
    rollup): flags go to ``meta.quality_flags``, each report's ``flags`` and its logged
    message. Warnings only: nothing is refused or hidden."""
    loaded = [r for r in reports if r.months is not None and r.months.height]
    if not loaded:
        return
    months = pl.concat([r.months.with_columns(pl.lit(r.run_id, pl.Int64).alias("run_id"))
                        for r in loaded if r.months is not None])
    flags = quality.check_months(con, months.drop("run_id"))
    with transaction(con):
        quality.record_flags(con, flags, months)
        names = dict(con.execute("SELECT code, name FROM core.areas").fetchall())
        # Each report's flags from one join (a run's months are distinct), not one a report.
        by_run = flags.join(months, on=["area_code", "measure", "period_start"], how="inner",
                            maintain_order="left").partition_by(
            "run_id", as_dict=True, include_key=False, maintain_order=True)
        for report in loaded:
            mine = by_run.get((report.run_id,), flags.clear())
            report.flags = [quality.describe(f, names.get(f["area_code"]))
                            for f in mine.iter_rows(named=True)]
            report.months = None
            if report.flags:
                count = mine.select("area_code", "measure", "period_start").unique().height
                report.message = "; ".join(filter(None, [report.message, (
                    f"data quality: {count} month(s) depart wildly from the area's own "
                    f"history, e.g. {report.flags[0]}")]))
                con.execute("UPDATE meta.ingest_runs SET message = ? WHERE run_id = ?",
                            [report.message, report.run_id])


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, **kwargs: object) -> IngestReport:
    report = ingest_bytes(con, path.name, path, path.read_bytes(), **kwargs)  # type: ignore[arg-type]
    refresh_pending(con)
    return report


def ingest_bytes(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, data: bytes, *,
    loader_name: str | None = None, progress: Progress | None = None,
    max_reject_share: float | None = None, shrink_floor: float | None = None,
) -> IngestReport:
    """One file in its own transaction."""
    [report] = ingest_batch(con, iter([(name, path, data)]), loader_name=loader_name,
                            progress=progress, max_reject_share=max_reject_share,
                            shrink_floor=shrink_floor)
    return report


def ingest_batch(
    con: duckdb.DuckDBPyConnection, files: Batch, *, loader_name: str | None = None,
    progress: Progress | None = None, max_reject_share: float | None = None,
    refuse_unrecognised: bool = True, shrink_floor: float | None = None,
) -> list[IngestReport]:
    """Read and validate every file of the batch, then write them in one transaction: one
    ``meta.ingest_runs`` row per file, one insert per table for all of them. Returns one
    report per file, in order. A file no loader recognises is refused and logged (a file
    the user named), or skipped with its reason (``refuse_unrecognised=False``: a folder's
    or a ZIP's)."""
    check_loader_name(loader_name)
    prepared = classify_batch(con, list(files), loader_name, refuse_unrecognised)
    if max_reject_share is None:
        max_reject_share = get_settings().max_reject_share
    read_prepared(con, prepared, progress, max_reject_share)
    if shrink_floor is None:
        shrink_floor = get_settings().shrink_floor
    return write_prepared(con, prepared, progress, shrink_floor)
