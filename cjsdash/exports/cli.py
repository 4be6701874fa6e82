"""``cjsdash export``: board packs from the command line.

Registered by :mod:`cjsdash.cli` as ``app.add_typer(export_app, name="export")``::

    cjsdash export pack --area Cumbria --period "2024-25 Q1" --format xlsx --out pack.xlsx
    cjsdash export pack --area all --period "2024-25 Q1" --format xlsx,pdf --out packs/
    cjsdash export packs
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse, WarehouseBusy

export_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Board packs: Excel, PowerPoint, PDF and CSV.")
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(1)


@export_app.command("pack")
def pack_command(
    area: Annotated[str, typer.Option(
        help="area name, alias or ONS code; several separated by commas, or 'all' (every "
             "LCJB): one file each, in the folder --out")],
    period: Annotated[str, typer.Option(
        help="e.g. '2024-25 Q1', '2024-25', 'Jun 2024', 'year ending June 2024' or 'latest'")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx|pptx|pdf|csv, or several "
                                                      "separated by commas (xlsx,pdf)")],
    out: Annotated[Path, typer.Option(help="file to write (written atomically); a folder "
                                           "for several areas or formats")],
    pack: Annotated[str, typer.Option(help="pack id (see `cjsdash export packs`) or a .yaml "
                                           "file")] = "lcjb_default",
    grain: Annotated[str | None, typer.Option(
        help="override the grain the period names (month|quarter|fquarter|fy|year|r12)")] = None,
    rounding: Annotated[int | None, typer.Option(
        min=0, help="round counts to the nearest N (e.g. 5); 0 = no rounding; default "
                    "CJSDASH_SUPPRESSION_ROUNDING (0)")] = None,
    commentary: Annotated[Path | None, typer.Option(
        help="YAML: indicator id → placeholder id → text")] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", envvar="CJSDASH_DB", help="warehouse file (default data/cjsdash.duckdb)")] = None,
    jobs: Annotated[int | None, typer.Option(
        min=0, help="several packs: processes laying PDFs out (0: this one; default: one per "
                    "core, at most 4)")] = None,
) -> None:
    """Write a board pack for one area and period, from the dashboard's own figures; or, for
    several areas (``--area all``: every LCJB) or formats, one file each in a folder."""
    from .images import start_browser
    from .packs import PackError, draws_charts, load_pack

    formats = tuple(dict.fromkeys(f.strip().lower() for f in fmt.split(",") if f.strip()))
    try:
        if {"pptx", "pdf"} & set(formats) and draws_charts(load_pack(pack)):
            start_browser()  # Chromium starts while Python imports and computes the figures
    except PackError as exc:
        _fail(str(exc))
    from .batch import is_batch, parse_formats
    from .render import FormatError

    try:
        formats = parse_formats(fmt)
    except FormatError as exc:
        _fail(str(exc))
    if is_batch(area, formats) and not (len(formats) == 1 and _one_area(area, db)):
        _batch(area=area, period=period, formats=formats, out=out, pack=pack, grain=grain,
               rounding=rounding, commentary=commentary, db=db, jobs=jobs)
        return
    from metrics.options import Options
    from metrics.registry import default_registry

    from .images import ImageError
    from .pack_inputs import ContentError, load_commentary
    from .render import export_pack
    from .write import ExportPathError

    warehouse = Warehouse(db or get_settings().db)
    if not warehouse.exists():
        _fail(f"no warehouse at {warehouse.path}: run `cjsdash demo` or `cjsdash ingest` first")
    try:
        notes = load_commentary(commentary) if commentary else None
        result = export_pack(warehouse.reader(), default_registry(), pack=pack, area=area,
                             period=period, fmt=formats[0], out=out, grain=grain,
                             options=Options() if rounding is None else Options(rounding=rounding),
                             commentary=notes)
    except (ContentError, PackError, FormatError, ExportPathError, ImageError,
            WarehouseBusy) as exc:
        _fail(str(exc))
    content = result.content
    for path in result.paths:
        console.print(f"wrote {path}", markup=False, highlight=False)
    console.print(
        f"{content.pack.title}: {content.area_label}, {content.period_text}; "
        f"{len(content.items)} indicators, {content.figures.height} figures "
        f"in {result.seconds:.1f} s", markup=False, highlight=False)
    console.print(content.disclosure(), markup=False, highlight=False)
    if content.synthetic:
        console.print("◆ synthetic demo data: generated, not real figures (marked in the pack)",
                      markup=False, highlight=False)


def _one_area(area: str, db: Path | None) -> bool:
    """Whether ``--area`` names one area as a whole (an alias may hold commas)."""
    from metrics.views import resolve_area

    warehouse = Warehouse(db or get_settings().db)
    if "," not in area or not warehouse.exists():
        return False
    try:
        return resolve_area(warehouse.reader(), area) is not None
    except WarehouseBusy:
        return False


def _batch(*, area: str, period: str, formats: tuple[str, ...], out: Path, pack: str,
           grain: str | None, rounding: int | None, commentary: Path | None, db: Path | None,
           jobs: int | None) -> None:
    """Several areas or formats: one file each in the folder ``out``, a line per pack, and
    a non-zero exit naming every area that failed (the others are still written)."""
    import statistics

    from metrics.options import Options
    from metrics.registry import default_registry

    from .batch import BatchError, Outcome, choose_areas, export_packs
    from .pack_inputs import ContentError, load_commentary
    from .packs import PackError
    from .render import FormatError
    from .write import ExportPathError

    warehouse = Warehouse(db or get_settings().db)
    if not warehouse.exists():
        _fail(f"no warehouse at {warehouse.path}: run `cjsdash demo` or `cjsdash ingest` first")

    def progress(outcome: Outcome, done: int, total: int) -> None:
        what = (f"wrote {outcome.path}" if outcome.ok else f"FAILED: {outcome.error}")
        console.print(f"[{done}/{total}] {outcome.area.name} {outcome.fmt}: {what} "
                      f"({outcome.seconds:.1f} s)", markup=False, highlight=False, soft_wrap=True)

    try:
        con = warehouse.reader()
        areas = choose_areas(con, area)
        notes = load_commentary(commentary) if commentary else None
        result = export_packs(con, default_registry(), pack=pack, areas=areas, period=period,
                              formats=formats, folder=out, grain=grain,
                              options=Options() if rounding is None else Options(
                                  rounding=rounding),
                              commentary=notes, jobs=jobs, progress=progress)
    except (BatchError, ContentError, PackError, FormatError, ExportPathError, OSError,
            WarehouseBusy) as exc:
        _fail(str(exc))
    times = sorted(o.seconds for o in result.outcomes)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else 0.0
    console.print(
        f"{len(result.outcomes) - len(result.failed)} of {len(result.outcomes)} packs "
        f"({len(areas)} areas × {', '.join(formats)}) in {result.seconds:.1f} s (set-up "
        f"{result.prefetch_seconds:.1f} s; the figures are read from the mart); per pack p50 "
        f"{statistics.median(times) if times else 0:.1f} s, p95 {p95:.1f} s",
        markup=False, highlight=False, soft_wrap=True)
    if result.failed:
        _fail(result.failure_text())


@export_app.command("packs")
def packs_command() -> None:
    """List the shipped packs."""
    from .packs import PackError, list_packs, load_pack

    for ident in list_packs():
        try:
            pack = load_pack(ident)
        except PackError as exc:
            console.print(f"{ident}: cannot be read: {exc}", markup=False)
            continue
        sections = ", ".join(s.title for s in pack.sections)
        console.print(f"{ident}: {pack.title} ({pack.grain}; sections: {sections})",
                      markup=False, highlight=False)
