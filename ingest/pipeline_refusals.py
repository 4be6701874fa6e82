"""Refusing a file: the reject-share threshold, and the reports of refused, unchanged and
unwritable files (a refusal is logged in meta only; core is untouched)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ingest.base import (
    ReadResult,
    Reject,
    bound_rejects,
    count_rejects,
)
from ingest.pipeline_reports import FileToRead, IngestReport, Pending

SHOWN_REJECTS = 3
"""How many of a mostly rejected file's problems its refusal names."""


def mostly_rejected(name: str, outcome: ReadResult, max_share: float) -> str | None:
    """Why a file whose rows are mostly bad is refused whole, or None.

    A file with more than ``max_share`` of its rows rejected is not a revision of anything: an
    Excel re-save that mangled 99% of a month's records would otherwise replace a force's
    1,015 searches with the 6 that survived. Rows are counted once however many of their
    cells are bad; whole-file notes (no row) and rows left out by design
    (:attr:`ingest.base.Reject.deliberate`) do not count.
    """
    listed = {r.row for r in outcome.rejects if r.row is not None and not r.deliberate}
    counted = sum(r.count for r in outcome.rejects  # rows past the listed ones, summarised
                  if r.row is None and r.count > 1 and not r.deliberate)
    bad = len(listed) + counted
    if outcome.rows_in <= 0 or bad <= max_share * outcome.rows_in:
        return None
    faults = [r for r in outcome.rejects if not r.deliberate]
    first = "; ".join(r.describe(name) for r in faults[:SHOWN_REJECTS])
    return (f"{bad:,} of {outcome.rows_in:,} rows ({min(bad / outcome.rows_in, 1):.0%}) "
            f"were rejected, more than the {max_share:.0%} allowed (--max-reject-share); "
            f"nothing was loaded, so the figures already loaded stand. First problems: {first}")


def refused(file: FileToRead, started: datetime, reason: str, rejects: list[Reject],
             rows_in: int) -> Pending:
    """A refusal is logged in meta only; core is untouched."""
    report = IngestReport(file.name, "refused", loader=file.loader.spec.name, rows_in=rows_in,
                          rows_rejected=count_rejects(rejects), message=reason,
                          rejects=bound_rejects(rejects))
    return Pending(report, file.sha, file.loader, started, None)


def refuse_read(item: Pending, message: str) -> Pending:
    """A file read but refused at its write: nothing of it loaded, its report (the one its
    batch's slot holds) saying why."""
    report = item.report
    report.status, report.rows_loaded, report.rows_revised, report.rows_unchanged = (
        "refused", 0, 0, 0)
    report.message = message
    return replace(item, result=None)


def write_failed(item: Pending, exc: Exception) -> Pending:
    """A file whose batch could not be written (a loader's bug): refused, nothing loaded."""
    item.report.rejects = []
    return refuse_read(item, f"cjsdash could not write this file (internal error "
                             f"{type(exc).__name__}: {str(exc)[:200]}); nothing was loaded")


def unchanged(name: str, run_id: int) -> IngestReport:
    return IngestReport(name, "unchanged", run_id=run_id,
                        message=f"already loaded as run {run_id}; nothing changed")
