"""Ingest files: detect the format, hash, read, validate, and load in one transaction.

Loading the same bytes twice is a no-op that says so. A file with a whole-file problem, or
with no good rows, is refused: nothing reaches ``core``; the attempt and its reasons are
logged in ``meta.ingest_runs`` and ``meta.rejects``. A partly bad file loads its good rows
and quarantines the rest, all or nothing.

A ZIP is the file the user offered: its members are all read and validated first, then
written in one transaction (one ``meta.ingest_runs`` row per member, one insert per table
for all of them), so a month's forty forces cost one commit, not forty. A refused member
is logged as ever and the others load; loose files keep one transaction each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from cjsdash.core import quality
from cjsdash.core.areas import AreaIndex
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import transaction
from cjsdash.core.rollup import mark_pending, refresh_pending
from cjsdash.core.safe_text import count_of
from cjsdash.core.schema import OBSERVATION_KEY
from ingest.archives import zip_members
from ingest.base import (
    FileRefused,
    Loader,
    Progress,
    ReadContext,
    ReadResult,
    Reject,
    SourceSpec,
    bound_rejects,
    count_rejects,
)
from ingest.catalogue import LOADERS, source_spec
from ingest.diagnose import why_unrecognised
from ingest.load import (
    register_sources,
    replace_local_targets,
    upsert_versioned_runs,
    withdraw_outside_slices,
)
from ingest.textio import quarantined_rows

NOT_A_DATA_FILE = "not a data file"
SKIP_SUFFIXES = (".md", ".txt", ".json", ".yaml", ".yml", ".py", ".pdf", ".png")


@dataclass
class IngestReport:
    file_name: str
    status: str  # loaded | unchanged | refused | skipped
    loader: str = ""
    run_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_revised: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    rows_withdrawn: int = 0
    """Figures of earlier loads retired because this file now supplies their slice."""
    noun: str = "figures"
    """What the loaded rows are: figures, or targets (ingest.local_targets)."""
    flags: list[str] = field(default_factory=list)
    """Months this file brought that depart wildly from the area's history
    (cjsdash.core.quality): warnings, nothing is refused."""
    months: pl.DataFrame | None = field(default=None, repr=False)
    """(area_code, measure, period_start) of the months this file brought, to be checked."""
    message: str = ""
    rejects: list[Reject] = field(default_factory=list)

    def line(self) -> str:
        if self.status in ("skipped", "unchanged"):
            return f"{self.file_name}: {self.status}: {self.message}"
        if self.status == "refused":
            return f"{self.file_name}: refused: {self.message}"
        text = (
            f"{self.file_name}: {self.loader}: {count_of(self.rows_in, 'row')} read, "
            f"{self.rows_rejected:,} rejected; "
            f"{count_of(self.rows_loaded, self.noun.removesuffix('s'), self.noun)} loaded, "
            f"{self.rows_revised:,} revised, {self.rows_unchanged:,} unchanged"
        )
        return text + (f" ({self.message})" if self.message else "")


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


def detect_loader(path: Path, data: bytes) -> Loader | None:
    for loader in LOADERS.values():
        if path.suffix.casefold() in loader.spec.file_types and _detects(loader, path, data):
            return loader
    return None


def _detects(loader: Loader, path: Path, data: bytes) -> bool:
    """A loader's detect, where a hostile file's surprise means 'not this format'."""
    try:
        return bool(loader.detect(path, data))
    except FileRefused:
        return False
    except Exception:  # detection must not take the ingest down
        return False


UNRECOGNISED = Loader(
    spec=SourceSpec(name="unrecognised", title="A file no loader recognised", publisher="",
                    licence="", kind="local", priority=99, required_columns=()),
    detect=lambda path, data: False,
    read=lambda path, data, context: (_ for _ in ()).throw(FileRefused(path.name, "unread")),
)
"""The loader named in the run log for a file that was refused before any loader read it."""


Batch = Iterator[tuple[str, Path, bytes]]
"""(display name, path, bytes) of the files loaded in one transaction."""


def iter_batches(paths: list[Path]) -> Iterator[Batch]:
    """One batch per loose file (folders recursively) and one per ZIP: the ZIP is the file
    the user offered, so its members load all or nothing, in one transaction."""
    for batch, _ in _batches(paths, named=True):
        yield batch


def _batches(paths: list[Path], *, named: bool) -> Iterator[tuple[Batch, bool]]:
    """:func:`iter_batches`, saying of each batch whether its files were named by the user
    (refused when unrecognised) or found in a folder or ZIP (skipped, and listed)."""
    for path in paths:
        if path.is_dir():
            yield from _batches(sorted(p for p in path.rglob("*") if p.is_file()), named=False)
        elif path.suffix.casefold() == ".zip":
            yield _zip_members(path), False
        else:
            yield iter([(path.name, path, path.read_bytes())]), named


def _zip_members(path: Path) -> Batch:
    """A ZIP's members in name order (all read and checked before any is loaded)."""
    yield from zip_members(path)


def ingest_paths(
    con: duckdb.DuckDBPyConnection, paths: list[Path], *, loader_name: str | None = None,
    progress: Progress | None = None, max_reject_share: float | None = None,
) -> list[IngestReport]:
    """Load every file (one transaction each; a ZIP's members in one), then refresh the area
    rollup once. A file with more than ``max_reject_share`` of its rows rejected (default:
    the ``max_reject_share`` setting) is refused whole."""
    reports = []
    # Many small commits: let the WAL grow and checkpoint once at the end of the batch.
    con.execute("SET checkpoint_threshold = '1GB'")
    try:
        for batch, named in _batches(paths, named=True):
            try:
                reports += ingest_batch(con, batch, loader_name=loader_name,
                                        progress=progress, refuse_unrecognised=named,
                                        max_reject_share=max_reject_share)
            except FileRefused as exc:  # a ZIP that cannot be opened: refused, logged
                reports.append(_log_refusal(con, exc))
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
        for report in loaded:
            mine = flags.join(report.months, on=["area_code", "measure", "period_start"],
                              how="semi") if report.months is not None else flags.clear()
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
    max_reject_share: float | None = None,
) -> IngestReport:
    """One file in its own transaction."""
    [report] = ingest_batch(con, iter([(name, path, data)]), loader_name=loader_name,
                            progress=progress, max_reject_share=max_reject_share)
    return report


@dataclass
class _Pending:
    """A file read and waiting for its batch's transaction, which completes ``report``."""

    report: IngestReport
    sha: str
    loader: Loader
    started: datetime
    result: ReadResult | None  # None: refused (the reason is report.message)


def ingest_batch(
    con: duckdb.DuckDBPyConnection, files: Batch, *, loader_name: str | None = None,
    progress: Progress | None = None, max_reject_share: float | None = None,
    refuse_unrecognised: bool = True,
) -> list[IngestReport]:
    """Read and validate every file of the batch, then write them in one transaction: one
    ``meta.ingest_runs`` row per file, one insert per table for all of them. Returns one
    report per file, in order. A file no loader recognises is refused and logged (a file
    the user named), or skipped with its reason (``refuse_unrecognised=False``: a folder's
    or a ZIP's)."""
    if loader_name and loader_name not in LOADERS:
        raise ValueError(f"unknown source '{loader_name}' (one of {', '.join(LOADERS)})")
    slots: list[IngestReport | _File] = []
    first: dict[str, _File] = {}  # by sha256: the same bytes twice in a batch are read once
    for name, path, data in files:
        slot = _classify(con, name, path, data, loader_name, first, refuse_unrecognised)
        slots.append(slot)
        if isinstance(slot, _File) and slot.pending is None:
            if slot.sha in first:
                first[slot.sha].copies.append(slot)
            else:
                first[slot.sha] = slot
    if max_reject_share is None:
        max_reject_share = get_settings().max_reject_share
    _read_all(con, list(first.values()), progress, max_reject_share)
    items = [s.pending for s in slots if isinstance(s, _File) and s.pending is not None]
    try:
        _write(con, items, progress)
    except duckdb.Error as exc:  # rolled back: log the batch as refused, never a traceback
        _write(con, [_write_failed(item, exc) for item in items], progress)
    for original in first.values():
        for copy in original.copies:
            if copy.pending is None:  # the original loaded: the copy changes nothing
                copy.report = _unchanged(copy.name, original.report.run_id or 0)
    return [s if isinstance(s, IngestReport) else s.report for s in slots]


@dataclass
class _File:
    """A file to read: its loader is known and its bytes are not loaded yet."""

    name: str
    path: Path
    data: bytes
    sha: str
    loader: Loader
    copies: list[_File] = field(default_factory=list)
    """Later files of the batch with the same bytes (read once, through this one)."""
    pending: _Pending | None = None
    report: IngestReport = field(init=False)


def _classify(con: duckdb.DuckDBPyConnection, name: str, path: Path, data: bytes,
              loader_name: str | None, first: dict[str, _File], refuse_unrecognised: bool
              ) -> IngestReport | _File:
    """A report for a file that will not be read (skipped, unchanged), else the file (with
    its refusal already settled when no loader recognises it)."""
    skip = path.suffix.casefold() in SKIP_SUFFIXES or name.startswith(".")
    if skip and not refuse_unrecognised:
        return IngestReport(name, "skipped", message=NOT_A_DATA_FILE)
    sha = hashlib.sha256(data).hexdigest()
    if (done := _loaded_run(con, sha)) is not None:
        return _unchanged(name, done)
    if sha in first:
        return _File(name, path, data, sha, first[sha].loader)
    loader = LOADERS[loader_name] if loader_name else (None if skip else detect_loader(path, data))
    if loader is None:
        reason = why_unrecognised(path, data)
        if not refuse_unrecognised:
            return IngestReport(name, "skipped", message=reason)
        file = _File(name, path, b"", sha, UNRECOGNISED)
        file.pending = _refused(file, datetime.now(), reason, [], rows_in=0)
        file.report = file.pending.report
        return file
    return _File(name, path, data, sha, loader)


def _write_failed(item: _Pending, exc: Exception) -> _Pending:
    """A file whose batch could not be written (a loader's bug): refused, nothing loaded."""
    report = item.report
    report.status, report.rows_loaded, report.rows_revised, report.rows_unchanged = (
        "refused", 0, 0, 0)
    report.message = (f"cjsdash could not write this file (internal error "
                      f"{type(exc).__name__}: {str(exc)[:200]}); nothing was loaded")
    report.rejects = []
    return replace(item, result=None)


def _log_refusal(con: duckdb.DuckDBPyConnection, refusal: FileRefused) -> IngestReport:
    """Log a file refused before any loader read it (a ZIP that cannot be opened)."""
    file = _File(refusal.file_name, Path(refusal.file_name), b"", "", UNRECOGNISED)
    pending = _refused(file, datetime.now(), refusal.reason, refusal.rejects, rows_in=0)
    _write(con, [pending], None)
    return pending.report


def _loaded_run(con: duckdb.DuckDBPyConnection, sha: str) -> int | None:
    done = con.execute(
        "SELECT run_id FROM meta.ingest_runs WHERE sha256 = ? AND status = 'loaded' "
        "ORDER BY run_id LIMIT 1", [sha],
    ).fetchone()
    return done[0] if done else None


def _unchanged(name: str, run_id: int) -> IngestReport:
    return IngestReport(name, "unchanged", run_id=run_id,
                        message=f"already loaded as run {run_id}; nothing changed")


def _read_all(con: duckdb.DuckDBPyConnection, files: list[_File],
              progress: Progress | None, max_reject_share: float) -> None:
    """Read and validate the files (no writes: the batch writes afterwards), by loader: all
    of a loader's files at once when it can read them together."""
    if not files:
        return
    context = read_context(con, default_vintage="")
    started = datetime.now()
    by_loader: dict[str, list[_File]] = {}
    for file in files:
        by_loader.setdefault(file.loader.spec.name, []).append(file)
    for group in by_loader.values():
        loader = group[0].loader
        if progress:
            progress(f"reading {_label(f.name for f in group)}", 0,
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


def _settle(file: _File, outcome: ReadResult | FileRefused, started: datetime,
            max_reject_share: float) -> None:
    """What a read gives: a load, or a refusal (also for each copy of the file)."""
    for one in (file, *file.copies):
        one.data = b""  # read: a ZIP's bytes need not stay in memory with its frames
        if isinstance(outcome, FileRefused):
            one.pending = _refused(one, started, outcome.reason, outcome.rejects, rows_in=0)
        elif outcome.frame.height == 0 and not any(raw.height for raw in outcome.raw.values()):
            why = "no row could be loaded"
            if outcome.rejects:
                why += f"; first problem: {outcome.rejects[0].describe(one.name)}"
            one.pending = _refused(one, started, why, outcome.rejects, outcome.rows_in)
        elif (why := mostly_rejected(one.name, outcome, max_reject_share)) is not None:
            one.pending = _refused(one, started, why, outcome.rejects, outcome.rows_in)
        elif one is file:
            report = IngestReport(
                one.name, "loaded", loader=one.loader.spec.name, rows_in=outcome.rows_in,
                rows_rejected=count_rejects(outcome.rejects), message="; ".join(outcome.notes),
                rejects=bound_rejects(outcome.rejects),
                noun="targets" if outcome.table == "targets" else "figures",
            )
            one.pending = _Pending(report, one.sha, one.loader, started, outcome)
        if one.pending is not None:
            one.report = one.pending.report


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


def _refused(file: _File, started: datetime, reason: str, rejects: list[Reject],
             rows_in: int) -> _Pending:
    """A refusal is logged in meta only; core is untouched."""
    report = IngestReport(file.name, "refused", loader=file.loader.spec.name, rows_in=rows_in,
                          rows_rejected=count_rejects(rejects), message=reason,
                          rejects=bound_rejects(rejects))
    return _Pending(report, file.sha, file.loader, started, None)


def _label(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{len(names)} files"


def _write(con: duckdb.DuckDBPyConnection, items: list[_Pending],
           progress: Progress | None) -> None:
    """Everything the batch's files bring, in one transaction (all or nothing)."""
    if not items:
        return
    rows = sum(i.result.frame.height for i in items if i.result is not None)
    label = _label(i.report.file_name for i in items)
    if progress:
        progress(f"loading {label}", 0, rows)
    con.execute("BEGIN TRANSACTION")
    try:
        run_ids = con.execute("SELECT nextval('meta.run_ids') FROM range(?)",
                              [len(items)]).fetchall()
        for item, (run_id,) in zip(items, sorted(run_ids), strict=True):
            item.report.run_id = run_id
        loads = [item for item in items if item.result is not None]
        _load_core(con, loads)
        _load_raw(con, loads)
        _insert_runs(con, items)
        _insert_rejects(con, items)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if progress:
        progress(f"loaded {label}", rows, rows)


def _load_core(con: duckdb.DuckDBPyConnection, loads: list[_Pending]) -> None:
    """Upsert the batch's frames, one statement per table when their keys do not overlap,
    and note the measures the rollup must refresh."""
    sources = {s for item in loads if item.result and item.result.table == "observations"
               for s in item.result.frame["source"].unique().to_list()}
    register_sources(con, [item.loader.spec for item in loads]
                     + [source_spec(s) for s in sorted(sources)])
    touched: set[str] = set()
    for table in ("observations", "populations", "targets"):
        parts = [(item, item.result.frame) for item in loads
                 if item.result is not None and item.result.table == table]
        if not parts:
            continue
        withdrawn = _withdraw(con, parts) if table == "observations" else {}
        counts = (_replace_targets(con, parts) if table == "targets"
                  else _upsert(con, f"core.{table}", parts))
        for item, frame in parts:
            item.report.rows_withdrawn = withdrawn.get(item.report.run_id or 0, 0)
            if item.report.rows_withdrawn:
                item.report.message = "; ".join(filter(None, [item.report.message, (
                    f"{item.report.rows_withdrawn:,} figures of earlier loads withdrawn: "
                    "this file now supplies their area, period and measure whole")]))
            new, revised, unchanged = counts.get(item.report.run_id or 0, (0, 0, 0))
            item.report.rows_loaded, item.report.rows_revised = new, revised
            item.report.rows_unchanged = unchanged
            if table == "observations":
                item.report.months = _months(frame)
            if table == "observations" and (new or revised or item.report.rows_withdrawn):
                touched.update(frame["measure"].unique().to_list())
    mark_pending(con, sorted(touched))


def _months(frame: pl.DataFrame) -> pl.DataFrame:
    """The months (one-month periods) a frame of observations brings, per area and measure."""
    return frame.filter(pl.col("period_end") == pl.col("period_start").dt.month_end()).select(
        "area_code", "measure", "period_start").unique()


def _withdraw(con: duckdb.DuckDBPyConnection, parts: list[tuple[_Pending, pl.DataFrame]]
              ) -> dict[int, int]:
    """A revision replaces its slices whole (:func:`ingest.load.withdraw_outside_slices`)."""
    frames = [frame.select(*OBSERVATION_KEY).with_columns(
        pl.lit(item.report.run_id, pl.Int64).alias("run_id")) for item, frame in parts]
    return withdraw_outside_slices(con, pl.concat(frames, how="vertical_relaxed"))


def _replace_targets(con: duckdb.DuckDBPyConnection,
                     parts: list[tuple[_Pending, pl.DataFrame]]) -> dict[int, tuple[int, int, int]]:
    """Local targets: a later file of the batch wins for the same target."""
    frames = [frame.with_columns(pl.lit(item.report.run_id, pl.Int64).alias("run_id"))
              for item, frame in parts]
    key = ["indicator", "area_code", "period_start", "period_end", "kind"]
    frame = pl.concat(frames, how="vertical_relaxed").sort("run_id").unique(
        key, keep="last", maintain_order=True)
    return replace_local_targets(con, frame)


def _upsert(con: duckdb.DuckDBPyConnection, table: str,
            parts: list[tuple[_Pending, pl.DataFrame]]) -> dict[int, tuple[int, int, int]]:
    """All parts in one upsert, each row carrying its file's run id."""
    frames = [frame.with_columns(pl.lit(item.report.run_id, pl.Int64).alias("run_id"))
              for item, frame in parts]
    return upsert_versioned_runs(con, table, pl.concat(frames, how="vertical_relaxed"))


def _load_raw(con: duckdb.DuckDBPyConnection, loads: list[_Pending]) -> None:
    """Record-level rows, by loader: all of a loader's files at once when it can."""
    by_loader: dict[str, list[_Pending]] = {}
    for item in loads:
        by_loader.setdefault(item.loader.spec.name, []).append(item)
    for items in by_loader.values():
        loader = items[0].loader
        runs = [(item.result, item.report.run_id) for item in items
                if item.result is not None and item.report.run_id is not None]
        if loader.load_raw_runs is not None:
            loader.load_raw_runs(con, runs)
        elif loader.load_raw is not None:
            for result, run_id in runs:
                loader.load_raw(con, result, run_id)


def _insert_runs(con: duckdb.DuckDBPyConnection, items: list[_Pending]) -> None:
    """One ``meta.ingest_runs`` row per file, with its counts."""
    finished = datetime.now()
    frame = pl.DataFrame(
        [(i.report.run_id, i.report.file_name, i.sha, i.loader.spec.name,
          i.result.source if i.result else None, i.result.vintage if i.result else None,
          i.started, finished, i.report.rows_in, i.report.rows_loaded, i.report.rows_unchanged,
          i.report.rows_revised, i.report.rows_rejected, i.report.status, i.report.message)
         for i in items],
        schema={"run_id": pl.Int64, "file_name": pl.String, "sha256": pl.String,
                "loader": pl.String, "source": pl.String, "vintage": pl.String,
                "started_at": pl.Datetime("us"), "finished_at": pl.Datetime("us"),
                "rows_in": pl.Int64, "rows_loaded": pl.Int64, "rows_unchanged": pl.Int64,
                "rows_revised": pl.Int64, "rows_rejected": pl.Int64, "status": pl.String,
                "message": pl.String},
        orient="row",
    )
    _insert_frame(con, "meta.ingest_runs", frame)


def _insert_rejects(con: duckdb.DuckDBPyConnection, items: list[_Pending]) -> None:
    """Every rejected row of the batch, with its file; a refusal without rejected rows logs
    its reason as a whole-file reject."""
    rows = []
    for item in items:
        rejects = item.report.rejects
        if item.result is None and not rejects:
            rejects = [Reject(None, None, None, item.report.message)]
        rows += [(item.report.run_id, item.report.file_name, r.row, r.column, r.value, r.reason)
                 for r in rejects]
    if rows:
        frame = pl.DataFrame(
            rows, orient="row",
            schema={"run_id": pl.Int64, "file_name": pl.String, "row_number": pl.Int64,
                    "column_name": pl.String, "value": pl.String, "reason": pl.String},
        )
        _insert_frame(con, "meta.rejects", frame)


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Insert ``frame`` into ``table`` by column name (``table`` is one of our constants)."""
    con.register("_insert_frame", frame.to_arrow())
    try:
        columns = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _insert_frame")  # noqa: S608
    finally:
        con.unregister("_insert_frame")
