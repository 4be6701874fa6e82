"""Measure, don't assert: the analysis pages' callbacks on the demo warehouse.

For each callback, the server-side work of one request: the data functions of
:mod:`metrics.analysis` alone, and the whole callback body (data, Dash components, plotly
figures and the JSON Dash sends back). p50/p95 over ``--repeats`` runs with the cache warm (as
after the first request), the first request after a load (cache cold, ``--cold`` runs), and the
ratio to a plain DuckDB read of the same rows in the same run. Never part of the test suite.

Usage: ``python benchmarks/analysis_callbacks.py [--repeats N] [--cold N] [--db PATH]
[--clock wall|cpu]`` (without ``--db`` a demo warehouse is built in a temporary folder).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dash

from cjsdash.core.gateway import Warehouse
from cjsdash.demo.build import build_demo
from cjsdash.server import create_app, settle
from metrics import analysis, cache
from metrics.registry import default_registry

NATIONAL = "K04000001"
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def timings(fn: Callable[[], object], repeats: int, *, before: Callable[[], None] | None = None,
            warm: bool = True) -> list[float]:
    if warm:
        fn()
    out = []
    for _ in range(repeats):
        if before is not None:
            before()
        started = clock()
        fn()
        out.append(clock() - started)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, ours: list[float], base: list[float] | None = None) -> None:
    p50, p95 = pct(ours, 0.5) * 1000, pct(ours, 0.95) * 1000
    line = f"{name:<58} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms"
    if base:
        b50, b95 = pct(base, 0.5) * 1000, pct(base, 0.95) * 1000
        line += (f"  | DuckDB p50 {b50:6.1f} ms p95 {b95:6.1f} ms | ratio p50 {p50 / b50:5.1f}x"
                 f" p95 {p95 / b95:5.1f}x")
    print(line, flush=True)


def as_response(value: object) -> str:
    """What Dash does with a callback's return value before sending it."""
    return str(dash._callback.to_json(value))  # as the server serialises (decision 45)


Base = Callable[[list[str], list[str]], list[float]]


def indicator_callbacks(con: object, registry: object, page: object, base: Base,
                        args: argparse.Namespace) -> None:
    for ind_id, area, grain in (("ineffective_trial_rate_crown", "CJA03", "quarter"),
                                ("ineffective_trial_rate_crown", NATIONAL, "quarter"),
                                ("stop_search_rate", "E23000002", "month")):
        ind = registry.get(ind_id)
        measures = list(ind.measures)
        kind = analysis.comparison_kind(con, area)
        label = f"{ind_id[:22]}, {area}, {grain}"

        def spc_data(i=ind, a=area, g=grain) -> object:
            rows = analysis.area_series(con, registry, i.id, a, g)
            return analysis.spc_frame(rows, i)

        def compare_data(i=ind, a=area, g=grain, k=kind) -> object:
            frame = analysis.compare_areas(con, registry, i.id, None, g, kind=k)
            return analysis.msg_comparison(con, registry, i.id, a, None, g, compare=frame)

        report(f"SPC data (area series, cached frame + spc_frame): {label}", timings(spc_data, args.repeats),
               base(sorted({area, NATIONAL}), measures))
        report(f"compare data (compare_areas + MSG): {label}",
               timings(compare_data, args.repeats),
               base([*analysis.area_codes(con, kind), NATIONAL], measures))
        report(f"  cold cache: {label}",
               timings(compare_data, args.cold, before=analysis.clear_cache, warm=False))
        report(f"indicator trend callback (existing, JSON): {label}",
               timings(lambda i=ind, a=area, g=grain: as_response(page.render(i, a, g, None)),
                       args.repeats))
        report(f"indicator SPC callback (series + SPC, JSON): {label}",
               timings(lambda i=ind, a=area, g=grain: as_response(
                   page.render_spc(i, a, g, None, None)), args.repeats))
        report(f"indicator compare callback (funnel, rank, MSG, JSON): {label}",
               timings(lambda i=ind, a=area, g=grain: as_response(
                   page.compare_section(i, a, g)), args.repeats))


def _forget_baselines() -> None:
    """Drop the cached baseline rows (not the frames for every area): a first view of an area."""
    with cache._CACHE_LOCK:
        for key in [k for k in cache._CACHE if k[1] == "baseline"]:
            del cache._CACHE[key]


def baseline_callbacks(con: object, registry: object, page: object, base: Base,
                       args: argparse.Namespace) -> None:
    every = sorted({m for i in registry.indicators for m in i.measures})
    for area, grain in (("E23000002", "quarter"), ("CJA03", "fy")):
        kind = analysis.comparison_kind(con, area)
        all_kind = [*analysis.area_codes(con, kind), NATIONAL]
        label = f"{area}, {grain}"

        def data(a=area, g=grain) -> object:
            return analysis.baseline(con, registry, a, g)

        def update(a=area, g=grain) -> object:
            return as_response(page.render(a, g))

        report(f"baseline data, first view of the area: {label}",
               timings(data, args.repeats, before=_forget_baselines), base(all_kind, every))
        report(f"baseline data, viewed before: {label}", timings(data, args.repeats))
        report(f"  cold cache (first view after a load): {label}",
               timings(data, args.cold, before=analysis.clear_cache, warm=False))
        report(f"baseline callback (JSON), first view of the area: {label}",
               timings(update, args.repeats, before=_forget_baselines))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (steadier on a busy "
                             "machine; DuckDB's threads count too)")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    path = args.db
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="cjsdash-bench-")) / "demo.duckdb"
        started = time.perf_counter()
        build_demo(path, echo=lambda _: None)
        print(f"demo build: {time.perf_counter() - started:.1f} s")
    warehouse = Warehouse(path)
    registry = default_registry()
    create_app(warehouse, registry)  # sets the pages' context, as the server does
    settle()  # as every serving process does before its first request
    from layouts.pages import baseline as baseline_page
    from layouts.pages import indicator as indicator_page

    con = warehouse.reader()
    print(f"analysis callbacks ({args.repeats} warm repeats, {args.cold} cold; "
          f"{args.clock} time of the server's work, no network)\n")
    plain = ("SELECT * FROM core.area_observations WHERE list_contains($1, area_code) "
             "AND list_contains($2, measure)")

    def base(areas: list[str], measures: list[str]) -> list[float]:
        """The same rows read by plain DuckDB into a polars frame (as the gateway reads)."""
        return timings(lambda: con.sql(plain, params=[areas, measures]).pl(), args.repeats)

    indicator_callbacks(con, registry, indicator_page, base, args)
    baseline_callbacks(con, registry, baseline_page, base, args)
    warehouse.close()


if __name__ == "__main__":
    main()
