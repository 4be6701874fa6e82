"""What every source module provides, and what a read gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as a long file is read and loaded."""


@dataclass(frozen=True)
class SourceSpec:
    """A source format, declared once: the pipeline, the docs and ``/data`` read it."""

    name: str
    title: str
    publisher: str
    licence: str
    kind: Literal["local", "published", "synthetic"]
    priority: int
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()
    suppression_markers: tuple[str, ...] = ("..", "[c]", "[x]", "[z]", "*", "-", "[low]")
    file_types: tuple[str, ...] = (".csv",)
    schema_only: bool = False
    """The layout was built from the published schema alone: no real file of it has been
    seen (the loader's docstring says where the schema comes from). Written to
    ``meta.sources.schema_only``; the data page says so beside the source."""


MAX_VALUE_CHARS = 200
"""A rejected value longer than this is stored and shown cut, with a marker saying so."""
MAX_REASON_CHARS = 500
MAX_REJECT_ROWS = 1000
"""Rejected rows stored per file; the rest are counted per reason (:func:`bound_rejects`)."""


def shorten(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, saying how long it was (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {len(text):,} characters]"


@dataclass(frozen=True)
class Reject:
    """One rejected row (or a whole-file problem when ``row`` is None)."""

    row: int | None
    column: str | None
    value: str | None
    reason: str
    count: int = 1
    """Rows this reject stands for: above 1, a summary of rows not listed one by one."""
    deliberate: bool = False
    """A row left out by design (a rate whose counts cjsdash loads instead, a rolling figure
    it builds itself): listed, but not a fault of the file, so it does not count towards the
    share of rejected rows that refuses a file (ingest.pipeline.mostly_rejected)."""

    def __post_init__(self) -> None:  # a 10 MB cell is neither echoed nor stored whole
        value, column = self.value, self.column
        if value is not None and len(value) > MAX_VALUE_CHARS:
            object.__setattr__(self, "value", shorten(value, MAX_VALUE_CHARS))
        if column is not None and len(column) > MAX_VALUE_CHARS:
            object.__setattr__(self, "column", shorten(column, MAX_VALUE_CHARS))
        if self.reason is not None and len(self.reason) > MAX_REASON_CHARS:
            object.__setattr__(self, "reason", shorten(self.reason, MAX_REASON_CHARS))

    def describe(self, file_name: str) -> str:
        where = file_name
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        shown = f" ('{self.value}')" if self.value not in (None, "") else ""
        return f"{where}: {self.reason}{shown}"


def deliberate(rejects: list[Reject]) -> list[Reject]:
    """``rejects`` marked as left out by design (see :attr:`Reject.deliberate`)."""
    return [replace(r, deliberate=True) for r in rejects]


class FileRefused(Exception):
    """The whole file cannot be loaded; nothing from it reaches the warehouse."""

    def __init__(self, file_name: str, reason: str, rejects: list[Reject] | None = None):
        self.file_name = file_name
        self.reason = shorten(reason, MAX_REASON_CHARS) or ""
        self.rejects = rejects or []
        super().__init__(f"{file_name}: {self.reason}")


def count_rejects(rejects: list[Reject]) -> int:
    """Rows rejected, counting what each summary stands for."""
    return sum(r.count for r in rejects)


def bound_rejects(rejects: list[Reject], limit: int = MAX_REJECT_ROWS) -> list[Reject]:
    """What is stored of a file's rejects: the first ``limit`` rows, then one summary row
    per reason for the rest (row None, value the count), so a hostile file cannot write
    a million rows to ``meta.rejects``."""
    listed = [r for r in rejects if r.count == 1]
    if len(listed) <= limit and len(listed) == len(rejects):
        return rejects
    rest: dict[tuple[str | None, str], int] = {}
    for r in [*listed[limit:], *(r for r in rejects if r.count != 1)]:
        reason = r.reason.removeprefix("not stored row by row: ")
        rest[(r.column, reason)] = rest.get((r.column, reason), 0) + r.count
    rejects = listed
    counted = sorted(rest.items(), key=lambda item: -item[1])
    summary = [Reject(None, column, f"{n:,} more rows", f"not stored row by row: {reason}", n)
               for (column, reason), n in counted[:100]]
    if len(counted) > 100:
        others = sum(n for _, n in counted[100:])
        summary.append(Reject(None, None, f"{others:,} more rows",
                              f"not stored row by row: {len(counted) - 100:,} other reasons",
                              others))
    return rejects[:limit] + summary


@dataclass
class ReadResult:
    """A source read into warehouse shape, with its rejected rows."""

    table: Literal["observations", "populations", "targets"]
    frame: pl.DataFrame
    rejects: list[Reject]
    rows_in: int
    source: str
    vintage: str
    notes: list[str] = field(default_factory=list)
    raw: dict[str, pl.DataFrame] = field(default_factory=dict)
    """Record-level frames for ``raw.*`` tables (written by the loader's ``load_raw``)."""


@dataclass(frozen=True)
class ReadContext:
    """What a reader needs to know about the warehouse (read before the file is read)."""

    resolve_area: Callable[[str], str | None]
    """any known spelling or code → area code, or None (see cjsdash.core.areas.AreaIndex)."""
    indicator_measures: dict[str, tuple[str, str, str | None]]
    """indicator id → (type, numerator measure, denominator measure or None)."""
    measures: frozenset[str]
    default_vintage: str


class Reader(Protocol):
    def __call__(self, path: Path, data: bytes, context: ReadContext) -> ReadResult: ...


RawLoader = Callable[["duckdb.DuckDBPyConnection", ReadResult, int], int]
"""load_raw(con, result, run_id) -> record rows written, inside the file's transaction."""

BatchReader = Callable[[list[tuple[Path, bytes, ReadContext]]], "list[ReadResult | FileRefused]"]
"""read for several files of one batch at once (the members of a ZIP): one result or refusal
per file, in order; each file's context names its own default vintage."""

RawRunsLoader = Callable[["duckdb.DuckDBPyConnection", list[tuple[ReadResult, int]]], int]
"""load_raw for every file of a batch at once (the members of a ZIP): [(result, run_id)] ->
record rows written, inside the batch's transaction; files are in load order."""


@dataclass(frozen=True)
class Loader:
    spec: SourceSpec
    detect: Callable[[Path, bytes], bool]
    read: Reader
    load_raw: RawLoader | None = None
    load_raw_runs: RawRunsLoader | None = None
    """Optional: one write for a whole batch (else ``load_raw`` is called once per file)."""
    read_batch: BatchReader | None = None
    """Optional: one read for a batch's files (else ``read`` is called once per file)."""


def with_run_ids(parts: list[tuple[pl.DataFrame, int]], how: str = "vertical"
                 ) -> pl.DataFrame:
    """The parts' frames one after the other, each row carrying its part's ``run_id``
    (Int64): one concatenation and one column, not a literal column per part (a ZIP's
    forty files: forty small polars queries, which wait for the reader thread's big ones).
    The column is chunked as the parts are, so that Arrow takes the frame as it is, without
    a copy of every record to align the chunks."""
    frame = pl.concat([f for f, _ in parts], how=how, rechunk=False)  # type: ignore[arg-type]
    ids = pl.concat([pl.Series("run_id", np.full(f.height, run_id, dtype=np.int64))
                     for f, run_id in parts], rechunk=False)
    return frame.with_columns(ids)
