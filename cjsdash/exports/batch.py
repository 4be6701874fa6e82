"""Many board packs in one run: every LCJB (or a list of areas), in several formats, to a folder.

``cjsdash export pack --area all --period "2024-25 Q1" --format xlsx,pdf --out packs/``
writes one file per area and format, named from the area's name made safe
(``avon-and-somerset_lcjb_default_2024-25-q1.pdf``). What every pack shares is done once:

- the figures: every area's were computed at load time into the warehouse's mart
  (:mod:`metrics.mart`), so each area's content, built by the same
  :func:`content.build_content` as the single-area command, reads its rows (the same figures:
  a test compares the two);
- one headless Chromium (:mod:`.images`) draws every chart of every pack;
- WeasyPrint's layout, about four fifths of a PDF's time and bound to one core, runs in
  ``jobs`` worker processes fed with each pack's finished HTML (:mod:`.pdf_layout`) while
  this process builds and draws the next areas. The workers never read the warehouse.

Each file is written atomically as soon as it is ready. An area or format that fails is
recorded with its reason and the others are still written; the caller reports the failures
and exits non-zero.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import duckdb

from metrics import views
from metrics.options import Options
from metrics.registry import Registry
from metrics.views import AreaChoice

from .content import build_content, slug
from .pack_inputs import Commentary, ContentError, resolve_period
from .packs import PackError, draws_charts, load_pack
from .render import FORMATS, FormatError, write_content
from .write import ExportPathError, write_bytes

ALL_LCJBS = ("all", "lcjb")
"""``--area`` values meaning every Local Criminal Justice Board area."""
MAX_JOBS = 4


class BatchError(ValueError):
    """A batch that cannot start: unknown areas."""


@dataclass(frozen=True)
class Outcome:
    """One pack (area × format): the file written, or why not."""

    area: AreaChoice
    fmt: str
    path: Path | None  # None: it failed
    seconds: float  # this pack's own work: its content, rendering, layout and writing
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class BatchResult:
    outcomes: tuple[Outcome, ...]
    seconds: float  # the whole run
    prefetch_seconds: float  # set-up before the first area: pack, period, folder, Chromium's start

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def failure_text(self) -> str:
        """'2 of 84 packs failed: Cumbria (pdf): reason; …' ('' when none did)."""
        failed = self.failed
        if not failed:
            return ""
        return (f"{len(failed)} of {len(self.outcomes)} packs failed: "
                + "; ".join(f"{o.area.name} ({o.fmt}): {o.error}" for o in failed))


Progress = Callable[[Outcome, int, int], None]  # (outcome, packs done, packs in all)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"xlsx,pdf"`` → ``("xlsx", "pdf")``; an unknown or missing format is a FormatError."""
    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if not wanted or unknown:
        raise FormatError(f"unknown format '{', '.join(unknown) or text}' "
                          f"(one or more of {', '.join(FORMATS)}, separated by commas)")
    return tuple(dict.fromkeys(wanted))


def is_batch(area: str, formats: Sequence[str]) -> bool:
    """Whether ``--area``/``--format`` ask for more than one file (``--out`` is then a folder)."""
    return area.strip().lower() in ALL_LCJBS or "," in area or len(formats) > 1


def choose_areas(con: duckdb.DuckDBPyConnection, spec: str) -> list[AreaChoice]:
    """``all``/``lcjb``: every LCJB in the warehouse; else each comma-separated name, alias or
    code, resolved as the single-area command resolves it. Unknown names are a BatchError
    naming every one of them (before anything is computed)."""
    if spec.strip().lower() in ALL_LCJBS:
        areas = [a for a in views.list_areas(con) if a.kind == "lcjb"]
        if not areas:
            raise BatchError("the warehouse has no LCJB areas")
        return areas
    found: dict[str, AreaChoice] = {}
    unknown: list[str] = []
    for name in (n.strip() for n in spec.split(",")):
        if not name:
            continue
        choice = views.resolve_area(con, name)
        if choice is None:
            unknown.append(name)
        else:
            found.setdefault(choice.code, choice)
    if unknown:
        raise BatchError("unknown area" + ("s" if len(unknown) > 1 else "") + ": "
                         + ", ".join(f"'{n}'" for n in unknown))
    if not found:
        raise BatchError("no area named")
    return list(found.values())


def safe_name(text: str) -> str:
    """A file-name-safe form of an area's name: ASCII letters, digits and hyphens."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return slug(plain)


def file_names(areas: Sequence[AreaChoice], pack_id: str, period_label: str,
               formats: Sequence[str]) -> dict[tuple[str, str], str]:
    """``(area code, format)`` → file name; two areas of the same safe name (the force and
    the LCJB of Cumbria) are told apart by their codes."""
    stems = {a.code: safe_name(a.name) for a in areas}
    shared = {s for s in stems.values() if list(stems.values()).count(s) > 1}
    tail = f"_{safe_name(pack_id)}_{safe_name(period_label)}"
    out = {}
    for area in areas:
        stem = stems[area.code]
        if stem in shared:
            stem += "-" + safe_name(area.code)
        for fmt in formats:
            out[(area.code, fmt)] = f"{stem}{tail}.{fmt}"
    return out


def default_jobs() -> int:
    """PDF layout processes: one per core, at most :data:`MAX_JOBS`."""
    return max(1, min(MAX_JOBS, os.cpu_count() or 1))


def _reason(exc: BaseException) -> str:
    known = (ContentError, PackError, FormatError, ExportPathError, OSError)
    text = str(exc)
    if not isinstance(exc, known) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text


def export_packs(
    con: duckdb.DuckDBPyConnection, registry: Registry, *, pack: str,
    areas: Sequence[AreaChoice], period: str | None, formats: Sequence[str], folder: Path,
    grain: str | None = None, options: Options | None = None,
    commentary: Commentary | None = None, jobs: int | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Write ``pack`` for every area in ``areas`` in every format, into ``folder``.

    ``jobs``: processes laying PDFs out (0: in this process; None: :func:`default_jobs`).
    Bad choices shared by every pack (pack, format, period, folder) raise before any work;
    a failure of one area or format is an :class:`Outcome` with its reason."""
    started = time.perf_counter()
    options = options or Options()
    chosen = load_pack(pack)
    formats = parse_formats(",".join(formats))
    choice = resolve_period(period, grain=grain, default_grain=chosen.grain)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExportPathError(f"{folder} is a file: give a folder for several packs")
    folder.mkdir(parents=True, exist_ok=True)
    names = file_names(areas, chosen.id, choice.label if choice.end else "latest", formats)
    if any(f in ("pptx", "pdf") for f in formats) and draws_charts(chosen):
        from .images import start_browser

        start_browser()  # Chromium starts while the first areas' figures are read
    prefetched = time.perf_counter() - started

    outcomes: list[Outcome] = []
    total = len(areas) * len(formats)

    def record(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome, len(outcomes), total)

    jobs = default_jobs() if jobs is None else max(0, jobs)
    pool = _layout_pool(jobs) if "pdf" in formats and jobs > 0 else None
    pending: dict[Future, tuple[AreaChoice, Path, float]] = {}
    try:
        for area in areas:
            began = time.perf_counter()
            try:
                content = build_content(con, registry, chosen, area=area.code, period=period,
                                        grain=grain, options=options, commentary=commentary)
            except Exception as exc:  # this area fails; the others are still written
                spent = time.perf_counter() - began
                for fmt in formats:
                    record(Outcome(area, fmt, None, spent, _reason(exc)))
                continue
            built = time.perf_counter() - began
            for fmt in formats:
                began = time.perf_counter()
                path = folder / names[(area.code, fmt)]
                try:
                    if fmt == "pdf" and pool is not None:
                        from .pdf import pdf_html
                        from .pdf_layout import timed_layout

                        document = pdf_html(content)
                        spent = built + time.perf_counter() - began
                        pending[pool.submit(timed_layout, document)] = (area, path, spent)
                        _finish(pending, 2 * jobs, record)
                        continue
                    written = write_content(content, fmt, path)
                    record(Outcome(area, fmt, written[0],
                                   built + time.perf_counter() - began))
                except Exception as exc:
                    record(Outcome(area, fmt, None, built + time.perf_counter() - began,
                                   _reason(exc)))
        _finish(pending, 0, record)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return BatchResult(tuple(outcomes), time.perf_counter() - started, prefetched)


def _layout_pool(jobs: int) -> ProcessPoolExecutor:
    # spawn, not fork: this process runs threads (Chromium's event loop, DuckDB's workers)
    from .pdf_layout import die_with_parent

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent)


def _finish(pending: dict[Future, tuple[AreaChoice, Path, float]], keep: int,
            record: Callable[[Outcome], None]) -> None:
    """Write the PDFs laid out so far until at most ``keep`` are still being laid out."""
    while len(pending) > keep:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            area, path, spent = pending.pop(future)
            began = time.perf_counter()
            try:
                data, layout = future.result()
                write_bytes(path, data)
                record(Outcome(area, "pdf", path, spent + layout + time.perf_counter() - began))
            except Exception as exc:  # a worker's failure fails this pack only
                record(Outcome(area, "pdf", None, spent + time.perf_counter() - began,
                               _reason(exc)))
