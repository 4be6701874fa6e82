"""Reading a batch's files: by loader, together where a loader can, with the rows the CSV
readers quarantined as the files' rejects; each read settled as a load or a refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb

from cjsdash.core.areas import AreaIndex
from ingest.base import (
    FileRefused,
    Loader,
    Progress,
    ReadContext,
    ReadResult,
    Reject,
    bound_rejects,
    count_rejects,
)
from ingest.pipeline_refusals import mostly_rejected, refused
from ingest.pipeline_reports import FileToRead, IngestReport, Pending, files_label
from ingest.textio import quarantined_rows


@lru_cache(maxsize=1)
def _area_index() -> AreaIndex:
    return AreaIndex.from_reference()


def read_context(con: duckdb.DuckDBPyConnection, default_vintage: str) -> ReadContext:
    index = _area_index()
    rows = con.execute(
        "SELECT indicator, indicator_type, numerator_measure, denominator_measure "
        "FROM meta.indicator_measures"
    ).fetchall()
    measures = frozenset(m for (m,) in con.execute("SELECT measure FROM meta.measures").fetchall())
    return ReadContext(
        resolve_area=index.resolve,
        indicator_measures={r[0]: (r[1], r[2], r[3]) for r in rows},
        measures=measures,
        default_vintage=default_vintage,
    )


def read_all(con: duckdb.DuckDBPyConnection, files: list[FileToRead],
              progress: Progress | None, max_reject_share: float) -> None:
    """Read and validate the files (no writes: the batch writes afterwards), by loader: all
    of a loader's files at once when it can read them together."""
    if not files:
        return
    context = read_context(con, default_vintage="")
    started = datetime.now()
    by_loader: dict[str, list[FileToRead]] = {}
    for file in files:
        by_loader.setdefault(file.loader.spec.name, []).append(file)
    for group in by_loader.values():
        loader = group[0].loader
        if progress:
            progress(f"reading {files_label(f.name for f in group)}", 0,
                     sum(len(f.data) for f in group))
        inputs = [(f.path, f.data, replace(context, default_vintage=(
            f"{f.name} (sha256 {f.sha[:8]}, loaded {started:%Y-%m-%d})"))) for f in group]
        outcomes = _read_group(loader, inputs)
        for file, outcome in zip(group, outcomes, strict=True):
            _settle(file, outcome, started, max_reject_share)


def _read_group(loader: Loader, inputs: list[tuple[Path, bytes, ReadContext]]
                ) -> list[ReadResult | FileRefused]:
    """One loader's files: together when it can; rows the CSV readers quarantined become
    the files' rejects (in place of what the loader said of the blank rows kept)."""
    if loader.read_batch is None or len(inputs) < 2:
        return [_read_one(loader, *one) for one in inputs]
    try:
        with quarantined_rows() as quarantined:
            outcomes = loader.read_batch(inputs)
    except Exception:  # one file's surprise: read them one by one, to name it
        return [_read_one(loader, *one) for one in inputs]
    return [_with_quarantined(outcome, quarantined.get(path.name, []))
            for outcome, (path, _, _) in zip(outcomes, inputs, strict=True)]


def _read_one(loader: Loader, path: Path, data: bytes, context: ReadContext
              ) -> ReadResult | FileRefused:
    try:
        with quarantined_rows() as quarantined:
            result = loader.read(path, data, context)
    except FileRefused as exc:
        return exc
    except Exception as exc:  # a loader's bug refuses the file, never crashes
        return FileRefused(path.name, f"cjsdash could not read this file (internal error "
                           f"{type(exc).__name__}: {str(exc)[:200]}); nothing was loaded")
    return _with_quarantined(result, quarantined.get(path.name, []))


def _with_quarantined(outcome: ReadResult | FileRefused, rows: list[Reject]
                      ) -> ReadResult | FileRefused:
    if rows and isinstance(outcome, ReadResult):
        kept = {r.row for r in rows}
        outcome.rejects = sorted(rows + [r for r in outcome.rejects if r.row not in kept],
                                 key=lambda r: (r.row or 0, r.column or ""))
    return outcome


def _settle(file: FileToRead, outcome: ReadResult | FileRefused, started: datetime,
            max_reject_share: float) -> None:
    """What a read gives: a load, or a refusal (also for each copy of the file)."""
    for one in (file, *file.copies):
        one.data = b""  # read: a ZIP's bytes need not stay in memory with its frames
        if isinstance(outcome, FileRefused):
            one.pending = refused(one, started, outcome.reason, outcome.rejects, rows_in=0)
        elif outcome.frame.height == 0 and not any(raw.height for raw in outcome.raw.values()):
            why = "no row could be loaded"
            if outcome.rejects:
                why += f"; first problem: {outcome.rejects[0].describe(one.name)}"
            one.pending = refused(one, started, why, outcome.rejects, outcome.rows_in)
        elif (why := mostly_rejected(one.name, outcome, max_reject_share)) is not None:
            one.pending = refused(one, started, why, outcome.rejects, outcome.rows_in)
        elif one is file:
            report = IngestReport(
                one.name, "loaded", loader=one.loader.spec.name, rows_in=outcome.rows_in,
                rows_rejected=count_rejects(outcome.rejects), message="; ".join(outcome.notes),
                rejects=bound_rejects(outcome.rejects),
                noun="targets" if outcome.table == "targets" else "figures",
            )
            one.pending = Pending(report, one.sha, one.loader, started, outcome)
        if one.pending is not None:
            one.report = one.pending.report
