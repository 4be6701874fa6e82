"""Measure, don't assert: demo build, ingest throughput and page data callbacks.

Prints p50/p95 for each timed operation and its ratio to a plain DuckDB baseline over the
same data in the same run. Never part of the test suite. Usage: ``make bench`` or
``python benchmarks/run.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from cjsdash.bootstrap import prepare
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.demo.build import build_demo
from ingest.pipeline import ingest_paths
from metrics.registry import default_registry
from metrics.views import overview, series


def timings(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, ours: list[float], base: list[float]) -> None:
    p50, p95 = pct(ours, 0.5) * 1000, pct(ours, 0.95) * 1000
    b50, b95 = pct(base, 0.5) * 1000, pct(base, 0.95) * 1000
    print(f"{name:<38} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms   | DuckDB baseline p50 {b50:7.1f}"
          f" ms p95 {b95:7.1f} ms | ratio p50 {p50 / b50:6.1f}x p95 {p95 / b95:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cjsdash-bench-"))
    print(f"cjsdash benchmarks ({args.repeats} repeats; 2-core machine figures in README)\n")

    started = time.perf_counter()
    build_demo(tmp / "demo.duckdb", echo=lambda _: None)
    print(f"demo build (reference, Census, synthetic extract): {time.perf_counter() - started:.1f} s")

    extract = get_settings().data_dir / "generated" / "synthetic_board_extract.csv"
    rows = sum(1 for _ in extract.open(encoding="utf-8")) - 1
    wh = Warehouse(tmp / "ingest.duckdb")
    with wh.writer() as con:
        prepare(con)
        started = time.perf_counter()
        [result] = ingest_paths(con, [extract])
        ours = time.perf_counter() - started
    wh.close()
    raw = duckdb.connect(str(tmp / "raw.duckdb"))
    started = time.perf_counter()
    raw.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true)", [str(extract)])
    base = time.perf_counter() - started
    raw.close()
    print(f"ingest board extract ({rows:,} rows, validated, rolled up): {rows / ours:,.0f} rows/s "
          f"({ours:.1f} s; status {result.status})")
    print(f"  DuckDB read_csv into a table, no validation: {rows / base:,.0f} rows/s "
          f"({base:.2f} s); ratio {ours / base:.1f}x slower\n")

    warehouse = Warehouse(tmp / "demo.duckdb")
    con = warehouse.reader()
    registry = default_registry()
    measures = sorted({m for i in registry.indicators for m in i.measures})
    for area, label in (("K04000001", "England & Wales"), ("E23000002", "Cumbria")):
        plain = "SELECT * FROM core.area_observations WHERE area_code = ? AND list_contains(?, measure)"
        base = timings(lambda a=area, q=plain: con.execute(q, [a, measures]).fetchall(),
                       args.repeats)
        ours = timings(lambda a=area: overview(con, registry, a), args.repeats)
        report(f"overview callback data, {label}", ours, base)
        ind = registry.get("ineffective_trial_rate_crown")
        base = timings(lambda a=area, q=plain, m=list(ind.measures): con.execute(q, [a, m])
                       .fetchall(), args.repeats)
        ours = timings(lambda a=area, i=ind.id: series(con, registry, i, [a, "K04000001"]),
                       args.repeats)
        report(f"indicator callback data, {label}", ours, base)


if __name__ == "__main__":
    main()
