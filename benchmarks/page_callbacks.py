"""Measure, don't assert: the server time of every page's callbacks, as Dash runs them.

Each callback function (and each page's ``layout()``, which Dash runs for every page load) is
called with a realistic mix of inputs — England and Wales, an LCJB, a police force area, a
region; quarter and financial-year grains — and its return value is serialised to JSON as Dash
does before sending it. Reported per callback: p50 and p95 over ``--repeats`` rounds through
the inputs, the figures read from the warehouse's mart (:mod:`metrics.mart`, computed at
load time; decision 0017) and each input viewed once before;
the first call after a load (nothing computed yet; with ``--after-start``, the first call after
the start instead: what :func:`cjsdash.server.settle` read is kept, decision 0041); and a plain
DuckDB baseline in the same run:
``SELECT *`` of the same areas' rows of ``core.area_observations`` into a polars frame (what
the gateway reads before any computing). "CPU p50" is the process's CPU time per view seen
before (every thread's), which a busy shared machine inflates far less than the wall time.
The app is built and settled (:func:`cjsdash.server.settle`: its start-up objects frozen out
of the garbage collector's way) as every serving process does (decision 33).

``--street-months N`` first loads N months of record-level police.uk street crime into a copy
of the warehouse: the real June 2021 ZIP for 40 forces (PROVENANCE.md) loaded as each of the N
months ending June 2021 (``--street-year`` is 12: July 2020 to June 2021; issue 14's ten years
are 120: July 2011 to June 2021, 46 million records) — a load test, not real figures for those
months — in one ``ingest_paths`` call as ``cjsdash ingest`` makes it, then refreshes the figure
mart (:func:`cjsdash.bootstrap.refresh_figures`), timing each (wall and CPU seconds, load
average) and the warehouse's size. ``--in-place`` loads into ``--db`` itself instead of a copy
(so a later run with ``--in-place`` and no ``--street-months`` reuses the big warehouse).

Usage: ``python benchmarks/page_callbacks.py [--db PATH [--in-place]] [--repeats N]
[--street-year | --street-months N] [--only NAME] [--clock wall|cpu] [--after-start]``.
Never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dash
from street_ingest import DEFAULT_ZIP, replicate_months

from cjsdash.bootstrap import refresh_figures
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.demo.build import build_demo
from cjsdash.server import create_app, settle
from ingest.pipeline import ingest_paths
from metrics import analysis
from metrics.registry import default_registry

NATIONAL = "K04000001"
AREAS = (NATIONAL, "CJA03", "E23000002", "CJA01", "E12000002")  # E&W, Cumbria ×2, London, NW


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def as_response(value: object) -> str:
    """The answer's JSON text as the server makes it (Dash's ``to_json``, which
    :func:`cjsdash.server.create_app` points at :func:`cjsdash.response_json.to_json`)."""
    return str(dash._callback.to_json(value))


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter
CPU: list[float] = []  # process CPU seconds of every timed call (DuckDB's threads included)


def timed(fn: Callable[[], object]) -> float:
    started, cpu = clock(), time.process_time()
    as_response(fn())
    CPU.append(time.process_time() - cpu)
    return clock() - started


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def size_gb(path: Path) -> float:
    wal = path.with_name(path.name + ".wal")
    return (path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e9


def load_street(warehouse: Warehouse, path: Path, folder: Path, months: int) -> None:
    """``months`` monthly ZIPs made from the real June 2021 one (the repository's copy),
    loaded in one ``ingest_paths`` call, then the figure mart refreshed: timed apiece."""
    started = time.perf_counter()
    zips = replicate_months(DEFAULT_ZIP, folder, months)
    print(f"{months} monthly ZIPs made in {time.perf_counter() - started:.1f} s "
          f"({sum(z.stat().st_size for z in zips) / 1e9:.2f} GB); warehouse "
          f"{size_gb(path):.2f} GB; load average {load_average()}", flush=True)
    with warehouse.writer() as con:
        started, cpu = time.perf_counter(), time.process_time()
        reports = ingest_paths(con, zips)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = sum(r.rows_in for r in reports if r.status == "loaded")
        print(f"street crime: {rows:,} records in {months} monthly ZIPs loaded in "
              f"{seconds:.1f} s ({rows / seconds:,.0f} rows/s; {cpu:.0f} CPU s); "
              f"load average {load_average()}", flush=True)
        started, cpu = time.perf_counter(), time.process_time()
        refreshed = refresh_figures(con)
        print(f"figure mart refresh: {time.perf_counter() - started:.1f} s "
              f"({time.process_time() - cpu:.0f} CPU s): {refreshed}; load average "
              f"{load_average()}", flush=True)
    print(f"warehouse after the load: {size_gb(path):.2f} GB", flush=True)
    for zipped in zips:
        zipped.unlink()


def cases(pages: dict[str, Any]) -> dict[str, list[Callable[[], object]]]:
    """Every callback, with the mix of inputs it is timed over."""
    ov, ind, base, dis, data, exp = (pages[k] for k in (
        "overview", "indicator", "baseline", "disproportionality", "data", "export"))
    grains = ("quarter", "fy")
    mix = [(a, g) for a in AREAS for g in grains]
    trial, search = "ineffective_trial_rate_crown", "stop_search_rate"
    d = dis.DEFAULTS
    return {
        "overview layout": [lambda a=a, g=g: ov.layout(area=a, grain=g) for a, g in mix],
        "overview update": [lambda a=a, g=g: ov.update(a, g, None) for a, g in mix],
        "indicator layout": [lambda a=a, g=g: ind.layout(indicator_id=trial, area=a, grain=g)
                             for a, g in mix],
        "indicator trend (update)": [lambda a=a, g=g, i=i: ind.update(a, g, None, i)
                                     for a, g in mix for i in (trial, search)],
        "indicator SPC (update_spc)": [lambda a=a, g=g, i=i: ind.update_spc(a, g, None, None, None, i)
                                       for a, g in mix for i in (trial, search)],
        "indicator compare (update_compare)": [lambda a=a, g=g, i=i: ind.update_compare(a, g, i)
                                               for a, g in mix for i in (trial, search)],
        "indicator by ethnicity (update)": [lambda a=a: ind.update(a, "fy", "ethnicity", search)
                                            for a in AREAS],
        "baseline layout": [lambda a=a, g=g: base.layout(area=a, grain=g) for a, g in mix],
        "baseline update": [lambda a=a, g=g: base.update(a, g) for a, g in mix],
        "disproportionality update": [
            lambda a=a: dis.update(a, d["grain"], d["period"], d["reference"], d["eth"],
                                   d["pop"], d["chain"]) for a in AREAS],
        "disproportionality, other settings": [  # computed: nothing stored for them
            lambda a=a, g=g: dis.update(a, g, d["period"], "Black", d["eth"], d["pop"],
                                        d["chain"]) for a in AREAS for g in ("quarter", "fy")],
        "disproportionality forest": [
            lambda s=s: dis.update_forest(s, "Black", "population", "lcjb", d["grain"],
                                          d["period"], d["reference"], d["eth"], d["pop"],
                                          d["chain"])
            for s in ("stop_and_search", "arrest", "custody")],
        "data layout": [lambda: data.layout()],
        "data coverage": [lambda g=g, grp=grp: data.coverage("CJA03", g, grp, "latest")
                          for g in ("quarter", "fy") for grp in ("lcjb", "force")],
        "data refresh (after a load)": [lambda: data.refresh(1, data.ALL_RUNS)],
        "data quality (after a load)": [lambda: data.refresh_quality(1)],
        "data rejects": [lambda: data.update_rejects(data.ALL_RUNS, 1)],
        "export layout": [lambda a=a: exp.layout(area=a) for a in AREAS],
        "export periods": [lambda a=a, g=g: exp.periods(a, g) for a, g in mix],
    }


def baseline_reads(con: Any, repeats: int, cpu: list[float] | None = None) -> list[float]:
    plain = "SELECT * FROM core.area_observations WHERE list_contains($1, area_code)"
    out = []
    for _ in range(repeats):
        for area in AREAS:
            started, used = clock(), time.process_time()
            con.sql(plain, params=[sorted({area, NATIONAL})]).pl()
            out.append(clock() - started)
            if cpu is not None:
                cpu.append(time.process_time() - used)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--in-place", action="store_true",
                        help="load into --db itself, not a copy")
    parser.add_argument("--street-year", action="store_const", const=12, dest="street_months",
                        help="the same as --street-months 12")
    parser.add_argument("--street-months", type=int, default=0, metavar="N",
                        help="first load N months of street crime (120: ten years)")
    parser.add_argument("--only", action="append", default=[],
                        help="time only the callbacks whose name contains this (repeatable)")
    parser.add_argument("--after-start", action="store_true",
                        help="the cold column: each callback's first call after the start "
                        "(what settle() read kept), not after a load (nothing kept)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a busy "
                             "machine; DuckDB's threads count too)")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    tmp = Path(tempfile.mkdtemp(prefix="cjsdash-bench-"))
    path = tmp / "demo.duckdb"
    if args.db and args.in_place:
        path = args.db
    elif args.db:
        shutil.copy(args.db, path)
    else:
        started = time.perf_counter()
        build_demo(path, echo=lambda _: None)
        print(f"demo build: {time.perf_counter() - started:.1f} s")
    # as `cjsdash serve` holds it, DuckDB's memory limited alike
    warehouse = Warehouse(path, held=True, memory_mb=get_settings().serve_duckdb_memory_mb)
    if args.street_months:
        load_street(warehouse, path, tmp, args.street_months)
    registry = default_registry()
    create_app(warehouse, registry)
    settle()  # as every serving process does before its first request
    # the page modules Dash imported (under its own module names), not a second copy of them
    pages = {page["module"].rsplit(".", 1)[-1]: sys.modules[page["module"]]
             for page in dash.page_registry.values()}
    con = warehouse.reader()
    with warehouse.reading():
        raw = con.execute("SELECT count(*) FROM raw.police_uk_street").fetchall()[0][0]
        facts = con.execute("SELECT count(*) FROM core.area_observations").fetchall()[0][0]
        print(f"warehouse: {raw:,} street-level records; {facts:,} area observations\n")
        all_cases = {name: calls for name, calls in cases(pages).items()
                     if not args.only or any(o in name for o in args.only)}
        cold = {}
        if not args.after_start:
            analysis.clear_cache()
        for name, calls in all_cases.items():  # the first call after a load, cache cold
            cold[name] = timed(calls[0])
        base_cpu: list[float] = []
        base = baseline_reads(con, args.repeats, base_cpu)
        b50, b95 = pct(base, 0.5) * 1000, pct(base, 0.95) * 1000
        print(f"plain DuckDB read of an area's and E&W's rows: p50 {b50:.1f} ms, "
              f"p95 {b95:.1f} ms; CPU p50 {pct(base_cpu, 0.5) * 1000:.1f} ms\n")
        print(f"load average {load_average()}")
        print(f"{'callback':<36} {'first view: p50':>15} {'p95':>7} | {'viewed before: p50':>18}"
              f" {'p95':>7} {'×DuckDB':>8} {'CPU p50':>8} {'p95':>6} | {'cold':>6}  (ms)")
        worst_first = worst = 0.0
        for name, calls in all_cases.items():
            first = [timed(call) for call in calls]  # each input once: its first view
            CPU.clear()
            times = [timed(call) for _ in range(args.repeats) for call in calls]
            c50, c95 = pct(CPU, 0.5) * 1000, pct(CPU, 0.95) * 1000
            f50, f95 = pct(first, 0.5) * 1000, pct(first, 0.95) * 1000
            p50, p95 = pct(times, 0.5) * 1000, pct(times, 0.95) * 1000
            worst_first, worst = max(worst_first, f95), max(worst, p95)
            print(f"{name:<36} {f50:>15.1f} {f95:>7.1f} | {p50:>18.1f} {p95:>7.1f} "
                  f"{p50 / b50:>7.1f}× {c50:>8.1f} {c95:>6.1f} | {cold[name] * 1000:>6.0f}",
                  flush=True)
        print(f"\nworst p95, first views: {worst_first:.1f} ms")
        print(f"worst p95, views seen before: {worst:.1f} ms; load average {load_average()}")
    warehouse.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
