"""The ``cjsdash`` command: demo, ingest, validate, indicators, query, serve.

Every command takes ``--db PATH`` (or the ``CJSDASH_DB`` environment variable).
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse, WarehouseBusy
from cjsdash.core.periods import GRAINS

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Performance analytics for criminal justice partnerships.")
console = Console(width=None if sys.stdout.isatty() else 160, soft_wrap=True)
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar="CJSDASH_DB", help="warehouse file (default data/cjsdash.duckdb)"),
]


def _warehouse(db: Path | None) -> Warehouse:
    return Warehouse(db or get_settings().db)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def demo(db: DbOption = None, force: Annotated[bool, typer.Option(
        help="rebuild even if the warehouse exists")] = False) -> None:
    """Build the demo warehouse: reference data, real samples and the synthetic extract."""
    from cjsdash.demo.build import build_demo

    path = db or get_settings().db
    try:
        summary = build_demo(Path(path), force=force, echo=console.print, concurrent=True)
    except WarehouseBusy as exc:
        _fail(str(exc))
    console.print(summary)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files, folders or ZIPs")],
    db: DbOption = None,
    source: Annotated[str | None, typer.Option(help="force a loader instead of detecting")] = None,
    show_rejects: Annotated[int, typer.Option(help="rejects to print per file")] = 10,
    max_reject_share: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="refuse a file whole when more than this share of its rows is "
        "rejected (default 0.10, or CJSDASH_MAX_REJECT_SHARE)")] = None,
    overlap: Annotated[bool, typer.Option(
        help="read each ZIP while the one before is written (decision 37): the same "
        "outcome, a year of street crime about 7% faster on 2 cores for about 170 MB "
        "more memory; --no-overlap reads and writes them in turn")] = True,
    accept_shrink: Annotated[bool, typer.Option(
        help="load a file even when it would cut figures already loaded to under half "
        "(CJSDASH_SHRINK_FLOOR): for a drop you know is real, such as data a publisher "
        "withdrew; without it such a file is refused as cut short")] = False,
) -> None:
    """Load files into the warehouse (one transaction each; the same file twice is a no-op).

    Exit status: 0 every file loaded or unchanged; 2 a file was refused (logged in the run
    log with its reason); 3 a folder or ZIP held files no loader recognises (listed).
    """
    from rich.progress import Progress

    from cjsdash.bootstrap import prepare, refresh_figures
    from cjsdash.core.allocators import bulk_load
    from ingest.pipeline import ingest_paths

    refreshed = None

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        with _warehouse(db).writer() as con, Progress(console=err, transient=True) as bar:
            prepare(con)
            task = bar.add_task("ingest", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total or None)

            # the refresh's modules (scipy, the disclosure planner: 0.2-0.3 s) imported
            # while the first file is read, not after the last is written (not a daemon: an
            # exit waits for the import rather than finalising under its import lock)
            threading.Thread(target=importlib.import_module, args=("metrics.mart",),
                             name="import-refresh").start()
            with bulk_load():  # this process loads and exits (decision 40)
                reports = ingest_paths(con, paths, loader_name=source, progress=progress,
                                       max_reject_share=max_reject_share, overlap=overlap,
                                       shrink_floor=0.0 if accept_shrink else None)
                if reports:  # a refused or unchanged file is logged too: the mart follows
                    bar.update(task, description="figures", completed=0, total=None)
                    refreshed = refresh_figures(con, concurrent=True)
    except (WarehouseBusy, ValueError, OSError) as exc:
        _fail(str(exc))
    lines: list[str] = []
    for report in reports:
        lines.append(report.line())
        lines += ["    " + reject.describe(report.file_name)
                  for reject in report.rejects[:show_rejects]]
        if report.rows_rejected > show_rejects:
            lines.append(f"    … and {report.rows_rejected - show_rejects:,} more "
                         "(see meta.rejects or the data page)")
        lines += ["    check: " + flag for flag in report.flags]
    summary, code = _ingest_summary(reports)
    lines.append(summary)
    if refreshed is not None and any(r.status == "loaded" for r in reports):
        lines.append(refreshed.line())
    # one print: rich highlighting a year's 480 lines one at a time took 0.17 s (0.004 s once)
    console.print("\n".join(lines), markup=False, highlight=console.is_terminal)
    if code:
        raise typer.Exit(code)


@app.command()
def refresh(db: DbOption = None,
            full: Annotated[bool, typer.Option(help="recompute every figure")] = False,
            replan: Annotated[bool, typer.Option(
                help="plan disclosure control afresh, dropping complements kept from "
                     "earlier plans (decision 32)")] = False) -> None:
    """Bring the figure mart up to date (every load does this itself)."""
    from cjsdash.bootstrap import prepare
    from cjsdash.core.allocators import bulk_load
    from metrics import mart
    from metrics.registry import default_registry

    warehouse = _warehouse(db)
    if not warehouse.exists():
        _fail(f"no warehouse at {warehouse.path}: run `cjsdash demo` or `cjsdash ingest` first")
    try:
        with warehouse.writer() as con, bulk_load():  # refreshes and exits (decision 40)
            prepare(con)
            report = mart.refresh(con, default_registry(), full=full, replan=replan,
                                  concurrent=True)
    except WarehouseBusy as exc:
        _fail(str(exc))
    console.print(report.line(), markup=False)


def _ingest_summary(reports: list) -> tuple[str, int]:
    """One line of counts, and the exit status (2: a refusal; 3: unrecognised files)."""
    from ingest.pipeline import NOT_A_DATA_FILE

    count = {status: sum(r.status == status for r in reports)
             for status in ("loaded", "unchanged", "refused", "skipped")}
    unrecognised = [r for r in reports
                    if r.status == "skipped" and r.message != NOT_A_DATA_FILE]
    text = (f"{len(reports)} file(s): {count['loaded']} loaded, {count['unchanged']} "
            f"unchanged, {count['refused']} refused, {count['skipped']} skipped")
    if unrecognised:
        text += f" ({len(unrecognised)} not recognised: see above)"
    return text, 2 if count["refused"] else 3 if unrecognised else 0


@app.command()
def validate() -> None:
    """Check the indicator registry with every named rule, and every board pack against it."""
    from metrics.registry import RegistryError, load_registry
    from metrics.rules import RULES, check_registry

    try:
        registry = load_registry()
    except RegistryError as exc:
        _fail(str(exc))
    from cjsdash.exports.packs import list_packs, validate_packs

    problems = check_registry(registry) + validate_packs(registry)
    for problem in problems:
        console.print(str(problem), markup=False)
    console.print(f"{len(registry.indicators)} indicators, {len(RULES)} rules, "
                  f"{len(list_packs())} board packs: {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


@app.command()
def indicators(fmt: Annotated[str, typer.Option("--format", help="table|csv|json")] = "table"
               ) -> None:
    """List the registry's indicators by theme."""
    from metrics.registry import default_registry

    registry = default_registry()
    rows = [
        {"id": i.id, "theme": t.short_title, "title": i.title, "type": i.type, "unit": i.unit,
         "polarity": i.polarity, "ci_method": i.ci_method, "frequency": i.frequency}
        for t, members in registry.by_theme() for i in members
    ]
    _emit(rows, fmt, title="Indicators")


@app.command()
def query(
    indicator: Annotated[str, typer.Argument(help="indicator id (see `cjsdash indicators`)")],
    area: Annotated[str, typer.Option(help="area name, alias or ONS code")] = "England and Wales",
    grain: Annotated[str, typer.Option(help="|".join(GRAINS))] = "quarter",
    by: Annotated[str | None, typer.Option(help="breakdown, e.g. ethnicity")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table|csv|json")] = "table",
    stage: Annotated[str | None, typer.Option(
        help="disparity_ratio only: the figures of the /disproportionality page at this "
             "stage of the justice process (metrics/stages.yaml: stop_and_search, arrest, "
             "charge, prosecution, conviction, custody); without it, the indicator page's")
    ] = None,
    db: DbOption = None,
) -> None:
    """Print an indicator's figures for an area: exactly what the pages show."""
    from metrics.registry import default_registry
    from metrics.views import resolve_area, series

    if grain not in GRAINS:
        _fail(f"unknown grain '{grain}' (one of {', '.join(GRAINS)})")
    registry = default_registry()
    try:
        registry.get(indicator)
    except KeyError as exc:
        _fail(str(exc.args[0]))
    if stage is not None and indicator != "disparity_ratio":
        _fail("--stage applies to disparity_ratio only")
    warehouse = _warehouse(db)
    if not warehouse.exists():
        _fail(f"no warehouse at {warehouse.path}: run `cjsdash demo` or `cjsdash ingest` first")
    con = warehouse.reader()
    choice = resolve_area(con, area)
    if choice is None:
        _fail(f"unknown area '{area}'")
    if stage is not None:  # by stage: the /disproportionality page's figures
        from metrics.disproportionality import disparity_rows

        try:
            frame = disparity_rows(con, choice.code, choice.name, stage=stage, grain=grain, by=by)
        except (KeyError, ValueError) as exc:
            _fail(str(exc.args[0]) if exc.args else str(exc))
        title = f"{registry.get(indicator).title} at {stage}: {choice.name}"
        _emit(frame.to_dicts(), fmt, title=title)
        return
    try:
        frame = series(con, registry, indicator, [choice.code], grain=grain, by=by)
    except ValueError as exc:
        _fail(str(exc))
    columns = ["indicator", "area_code", "area_name", "period_label", "period_start",
               "period_end", "breakdown", "numerator", "denominator", "value", "lower", "upper",
               "method", "suppressed", "target", "target_kind", "target_scope", "status",
               "display_value", "display_ci", "source", "built_from", "synthetic", "note"]
    from metrics.analysis.changes import change_on_last_year

    ind = registry.get(indicator)
    rows = [{**r, "change_on_last_year": change_on_last_year(full, ind).short}
            for r, full in zip(frame.select(columns).to_dicts(), frame.to_dicts(), strict=True)]
    _emit(rows, fmt, title=f"{ind.title}: {choice.name}")


TABLE_COLUMNS = {
    # column in the rows → heading in the terminal table
    "period_label": "period", "breakdown": "group", "display_value": "value",
    "display_ci": "95% CI", "numerator": "numerator", "denominator": "denominator",
    "target": "target", "target_scope": "target set", "status": "status",
    "change_on_last_year": "on last year", "method": "method", "source": "source",
    "built_from": "made from",
    "id": "id", "theme": "theme", "type": "type", "unit": "unit", "polarity": "polarity",
}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.4g}"
    return str(value)


def _emit(rows: list[dict], fmt: str, *, title: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, default=str, indent=1) + "\n")
    elif fmt == "csv":
        import csv

        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif fmt == "table":
        synthetic = any(r.get("synthetic") for r in rows)
        table = Table(title=title, caption="◆ synthetic demo data: generated, not real figures"
                      if synthetic else None)
        shown = [k for k in TABLE_COLUMNS if rows and k in rows[0]]
        if rows and not any(r.get("breakdown") for r in rows):
            shown = [k for k in shown if k != "breakdown"]
        for key in shown:
            table.add_column(TABLE_COLUMNS[key], no_wrap=key in ("period_label", "id"))
        for row in rows:
            cells = [_cell(row[k]) for k in shown]
            if row.get("synthetic"):
                cells[0] += " ◆"
            table.add_row(*cells)
        console.print(table)
        if not rows:
            console.print("no figures for that choice")
    else:
        _fail(f"unknown format '{fmt}' (table, csv or json)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8050,
    db: DbOption = None,
    debug: Annotated[bool, typer.Option(help="Dash debug mode (development only)")] = False,
    log_level: Annotated[str, typer.Option(
        envvar="CJSDASH_LOG_LEVEL",
        help="debug, info (a line per request) or warning (problems only)")] = "info",
    workers: Annotated[int, typer.Option(
        min=1, help="processes answering on the one port (cjsdash.workers); 1 serves here")] = 1,
    threads: Annotated[int, typer.Option(min=1, help="request threads per process")] = 8,
) -> None:
    """Serve the dashboard (builds the demo warehouse first if there is none).

    It listens on 127.0.0.1 unless told otherwise; it answers the Host names localhost,
    127.0.0.1, [::1], ``--host`` and ``CJSDASH_ALLOWED_HOSTS``, and refuses a request body
    over the upload limit before reading it (cjsdash.guard)."""
    from cjsdash import request_log
    from cjsdash.guard import request_body_limit

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter("choose debug, info, warning or error", param_hint="--log-level")
    request_log.configure(log_level)

    path = Path(db or get_settings().db)
    if not path.exists():
        from cjsdash.demo.build import build_demo

        console.print(f"no warehouse at {path}: building the demo warehouse (once)…")
        console.print(build_demo(path, echo=console.print, concurrent=True))
    try:
        finished, refreshed = prepare_to_serve(path, publish=workers > 1)
    except WarehouseBusy as exc:
        _fail(str(exc))
    if finished:
        console.print(f"finished an interrupted load's area sums ({finished:,} figures)")
    if refreshed is not None and refreshed.indicators:
        console.print(refreshed.line())
    if workers > 1:  # the workers import the app: the parent need not (decision 35)
        _serve_workers(path, host, port, workers, threads, log_level, debug)
    from cjsdash.server import create_app, settle

    dash_app = create_app(Warehouse(path, held=True,
                                    memory_mb=get_settings().serve_duckdb_memory_mb),
                          bound_hosts=(host,))
    settle()
    console.print(f"cjsdash on http://{host}:{port}  (warehouse {path})")
    if host in ("0.0.0.0", "::", ""):
        console.print("listening on every address: only the Host names localhost, 127.0.0.1 "
                      "and CJSDASH_ALLOWED_HOSTS are answered")
    if debug:
        dash_app.run(host=host, port=port, debug=True)
    else:
        from waitress import serve as waitress_serve

        waitress_serve(dash_app.server, host=host, port=port, threads=threads,
                       max_request_body_size=request_body_limit(get_settings()))


def _serve_workers(path: Path, host: str, port: int, workers: int, threads: int,
                   log_level: str, debug: bool) -> None:
    """Hand over to ``workers`` processes on one port (:mod:`cjsdash.workers`); no return."""
    from cjsdash.guard import request_body_limit
    from cjsdash.workers import exec_workers

    if debug:
        _fail("--debug serves from one process: drop --workers")
    console.print(f"cjsdash on http://{host}:{port}  (warehouse {path}; {workers} worker "
                  f"processes of {threads} threads)")
    exec_workers("cjsdash.worker_app:dashboard", [str(path), host, log_level], host=host,
                 port=port, workers=workers, threads=threads,
                 max_request_body_size=request_body_limit(get_settings()))


def prepare_to_serve(path: Path, *, publish: bool = False) -> tuple[int, object]:
    """Sum up the areas for loads committed before a crash (meta.rollup_pending), and bring
    the figure mart up to date if a load left it behind: (figures rolled up, the mart's
    refresh report or None when it was up to date); with ``publish``, the snapshot that
    several workers read is brought up to date too (decision 0017)."""
    from cjsdash.core.rollup import refresh_pending
    from metrics import mart_ready
    from metrics.registry import default_registry

    with Warehouse(path, snapshots=publish).writer() as con:
        finished = refresh_pending(con)
        if mart_ready.current(con, default_registry()):  # the mart's machinery not imported
            return finished, None
        from cjsdash.bootstrap import refresh_figures

        return finished, refresh_figures(con)


def _register_subcommands() -> None:
    from cjsdash.exports.cli import export_app
    from cjsdash.lake.cli import lake_app

    app.add_typer(export_app, name="export")
    app.add_typer(lake_app, name="lake")


_register_subcommands()

if __name__ == "__main__":
    app()
