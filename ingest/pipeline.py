"""Ingest files: detect the format, hash, read, validate, and load in one transaction.

Loading the same bytes twice is a no-op that says so. A file with a whole-file problem, or
with no good rows, is refused: nothing reaches ``core``; the attempt and its reasons are
logged in ``meta.ingest_runs`` and ``meta.rejects``. A partly bad file loads its good rows
and quarantines the rest, all or nothing.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from cjsdash.core.areas import AreaIndex
from cjsdash.core.rollup import mark_pending, refresh_pending
from ingest.base import FileRefused, Loader, Progress, ReadContext, ReadResult, Reject
from ingest.catalogue import LOADERS, source_spec
from ingest.load import register_sources, upsert_versioned

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
    message: str = ""
    rejects: list[Reject] = field(default_factory=list)

    def line(self) -> str:
        if self.status in ("skipped", "unchanged"):
            return f"{self.file_name}: {self.status}: {self.message}"
        if self.status == "refused":
            return f"{self.file_name}: refused: {self.message}"
        text = (
            f"{self.file_name}: {self.loader}: {self.rows_in:,} rows read, "
            f"{self.rows_rejected:,} rejected; {self.rows_loaded:,} figures loaded, "
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
        if path.suffix.casefold() in loader.spec.file_types and loader.detect(path, data):
            return loader
    return None


def iter_files(paths: list[Path]) -> Iterator[tuple[str, Path, bytes]]:
    """(display name, path, bytes) for files, folders (recursively) and ZIP members."""
    for path in paths:
        if path.is_dir():
            yield from iter_files(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.suffix.casefold() == ".zip":
            with zipfile.ZipFile(path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if not info.is_dir():
                        member = Path(info.filename)
                        yield f"{path.name}!{info.filename}", member, archive.read(info)
        else:
            yield path.name, path, path.read_bytes()


def ingest_paths(
    con: duckdb.DuckDBPyConnection, paths: list[Path], *, loader_name: str | None = None,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Load every file (one transaction each), then refresh the area rollup once."""
    reports = []
    # Many small commits: let the WAL grow and checkpoint once at the end of the batch.
    con.execute("SET checkpoint_threshold = '1GB'")
    try:
        for name, path, data in iter_files(paths):
            if path.suffix.casefold() in SKIP_SUFFIXES or name.startswith("."):
                reports.append(IngestReport(name, "skipped", message="not a data file"))
                continue
            reports.append(ingest_bytes(con, name, path, data, loader_name=loader_name,
                                        progress=progress))
    finally:
        if progress:
            progress("summing up areas", 0, 1)
        refresh_pending(con)
        con.execute("RESET checkpoint_threshold")
        con.execute("CHECKPOINT")
    return reports


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, **kwargs: object) -> IngestReport:
    report = ingest_bytes(con, path.name, path, path.read_bytes(), **kwargs)  # type: ignore[arg-type]
    refresh_pending(con)
    return report


def ingest_bytes(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, data: bytes, *,
    loader_name: str | None = None, progress: Progress | None = None,
) -> IngestReport:
    sha = hashlib.sha256(data).hexdigest()
    done = con.execute(
        "SELECT run_id FROM meta.ingest_runs WHERE sha256 = ? AND status = 'loaded' "
        "ORDER BY run_id LIMIT 1", [sha],
    ).fetchone()
    if done:
        return IngestReport(name, "unchanged", run_id=done[0],
                            message=f"already loaded as run {done[0]}; nothing changed")
    if loader_name:
        if loader_name not in LOADERS:
            raise ValueError(f"unknown source '{loader_name}' (one of {', '.join(LOADERS)})")
        loader = LOADERS[loader_name]
    else:
        loader = detect_loader(path, data)
    if loader is None:
        return IngestReport(name, "skipped", message="not a format cjsdash recognises")
    started = datetime.now()
    if progress:
        progress(f"reading {name}", 0, len(data))
    context = read_context(con, default_vintage=f"{name} (sha256 {sha[:8]}, loaded {started:%Y-%m-%d})")
    try:
        result = loader.read(path, data, context)
    except FileRefused as exc:
        return _refuse(con, name, sha, loader, started, exc.reason, exc.rejects, rows_in=0)
    if result.frame.height == 0 and not any(raw.height for raw in result.raw.values()):
        why = "no row could be loaded"
        if result.rejects:
            why += f"; first problem: {result.rejects[0].describe(name)}"
        return _refuse(con, name, sha, loader, started, why, result.rejects, result.rows_in)
    if progress:
        progress(f"loading {name}", 0, result.frame.height)
    report = _load(con, name, sha, loader, started, result)
    if progress:
        progress(f"loaded {name}", result.frame.height, result.frame.height)
    return report


def _insert_run(con: duckdb.DuckDBPyConnection, name: str, sha: str, loader: Loader,
                started: datetime, status: str, source: str | None, vintage: str | None,
                rows_in: int, message: str) -> int:
    run_id = con.execute("SELECT nextval('meta.run_ids')").fetchone()[0]
    con.execute(
        "INSERT INTO meta.ingest_runs (run_id, file_name, sha256, loader, source, vintage, "
        "started_at, finished_at, rows_in, status, message) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [run_id, name, sha, loader.spec.name, source, vintage, started, datetime.now(),
         rows_in, status, message],
    )
    return run_id


def _insert_rejects(con: duckdb.DuckDBPyConnection, run_id: int, name: str,
                    rejects: list[Reject]) -> None:
    if rejects:
        frame = pl.DataFrame(
            {
                "run_id": [run_id] * len(rejects),
                "file_name": [name] * len(rejects),
                "row_number": [r.row for r in rejects],
                "column_name": [r.column for r in rejects],
                "value": [r.value for r in rejects],
                "reason": [r.reason for r in rejects],
            },
            schema={"run_id": pl.Int64, "file_name": pl.String, "row_number": pl.Int64,
                    "column_name": pl.String, "value": pl.String, "reason": pl.String},
        )
        con.register("_rejects", frame.to_arrow())
        con.execute("INSERT INTO meta.rejects SELECT * FROM _rejects")
        con.unregister("_rejects")


def _refuse(con: duckdb.DuckDBPyConnection, name: str, sha: str, loader: Loader,
            started: datetime, reason: str, rejects: list[Reject], rows_in: int) -> IngestReport:
    """Log the refusal in meta only; core is untouched."""
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = _insert_run(con, name, sha, loader, started, "refused", None, None, rows_in,
                             reason)
        _insert_rejects(con, run_id, name, rejects or [Reject(None, None, None, reason)])
        con.execute("UPDATE meta.ingest_runs SET rows_rejected = ? WHERE run_id = ?",
                    [len(rejects), run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return IngestReport(name, "refused", loader=loader.spec.name, run_id=run_id,
                        rows_in=rows_in, rows_rejected=len(rejects), message=reason,
                        rejects=rejects)


def _load(con: duckdb.DuckDBPyConnection, name: str, sha: str, loader: Loader,
          started: datetime, result: ReadResult) -> IngestReport:
    table = f"core.{result.table}"
    # Observations name their source per row (a board extract may name several); population
    # rows name their census, which is described by the loader's own spec.
    sources = (sorted(set(result.frame["source"].unique().to_list()))
               if result.table == "observations" else [])
    con.execute("BEGIN TRANSACTION")
    try:
        register_sources(con, [loader.spec] + [source_spec(s) for s in sources])
        run_id = _insert_run(con, name, sha, loader, started, "loaded", result.source,
                             result.vintage, result.rows_in, "; ".join(result.notes))
        new, revised, unchanged = upsert_versioned(con, table, result.frame, run_id)
        if loader.load_raw is not None:
            loader.load_raw(con, result, run_id)
        if result.table == "observations" and (new or revised):
            mark_pending(con, sorted(set(result.frame["measure"].unique().to_list())))
        _insert_rejects(con, run_id, name, result.rejects)
        con.execute(
            "UPDATE meta.ingest_runs SET rows_loaded = ?, rows_revised = ?, rows_unchanged = ?, "
            "rows_rejected = ?, finished_at = ? WHERE run_id = ?",
            [new, revised, unchanged, len(result.rejects), datetime.now(), run_id],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return IngestReport(
        name, "loaded", loader=loader.spec.name, run_id=run_id, rows_in=result.rows_in,
        rows_loaded=new, rows_revised=revised, rows_unchanged=unchanged,
        rows_rejected=len(result.rejects), message="; ".join(result.notes),
        rejects=result.rejects,
    )
