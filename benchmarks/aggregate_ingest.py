"""Census and MoJ aggregate-table loaders: rows/s through the real pipeline vs DuckDB's read_csv.

For each file, in the same run: ``ingest.pipeline.ingest_paths`` into a fresh in-memory
warehouse (detection, validation, rollup, quarantine, the load's transaction), and DuckDB's
``read_csv`` of the same file into a table of a fresh in-memory database. Each is repeated N
times; p50 and p95 (the slow tail: the 5th percentile of rows/s) are printed for the pipeline,
for the loader's read alone (without the warehouse write and the area rollup refresh that
follow it), and for DuckDB, with the pipeline's p50 as a share of DuckDB's.

Files: the real ONS Census 2021 wide table (tests/data/ons/ethnic_pop_region.csv), the
schema-built test files of the other layouts, and, because those are small (fixed costs
dominate), a larger long trial-effectiveness file and timeliness-tool file made here by
repeating the test files' rows over more years (untimed). Measure, don't assert: never part of
the test suite.

Usage: ``python benchmarks/aggregate_ingest.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cjsdash.bootstrap import prepare  # noqa: E402
from cjsdash.core.gateway import Warehouse  # noqa: E402
from ingest.pipeline import detect_loader, ingest_paths, read_context  # noqa: E402

DATA = REPO / "tests" / "data"
FILES = [
    DATA / "ons" / "ethnic_pop_region.csv",
    DATA / "ons" / "census2021-ts021-ltla-nomis-bulk.csv",
    DATA / "ons" / "census2021-custom-ts021-sex-ltla.csv",
    DATA / "moj" / "trial-lcjb-quarterly-sample.csv",
    DATA / "moj" / "timeliness-tool-crown-court-sample.csv",
    DATA / "moj" / "cjs-delivery-dashboard-rolling-annual-sample.csv",
]


def scaled(source: Path, folder: Path, years: range, year_column: str) -> Path:
    """The file's rows repeated once per year of ``years`` (the year column rewritten)."""
    with open(source, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        rows, header = list(reader), reader.fieldnames or []
    out = folder / f"scaled-{source.name}"
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        for year in years:
            for row in rows:
                writer.writerow(row | {year_column: str(year)})
    return out


def rows_of(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def pipeline_seconds(path: Path) -> tuple[float, str]:
    wh = Warehouse()
    with wh.writer() as con:
        prepare(con)
        started = time.perf_counter()
        [report] = ingest_paths(con, [path])
        seconds = time.perf_counter() - started
    wh.close()
    return seconds, report.status


def read_seconds(path: Path) -> float:
    """The loader's own read (detection, validation, reshaping) without the warehouse write
    and the area rollup that follow it in the pipeline."""
    data = path.read_bytes()
    loader = detect_loader(path, data)
    assert loader is not None, path
    wh = Warehouse()
    with wh.writer() as con:
        prepare(con)
        context = read_context(con, "benchmark")
        started = time.perf_counter()
        loader.read(path, data, context)
        seconds = time.perf_counter() - started
    wh.close()
    return seconds


def duckdb_seconds(path: Path) -> float:
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header = true)", [str(path)])
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [*FILES,
                 scaled(DATA / "moj" / "trial-lcjb-quarterly-sample.csv", folder,
                        range(1900, 2025), "year"),
                 scaled(DATA / "moj" / "timeliness-tool-crown-court-sample.csv", folder,
                        range(1900, 2025), "Year")]
        print(f"{'file':46} {'rows':>7} {'status':>7} {'pipeline p50':>13} {'p95':>7}"
              f" {'read p50':>9} {'p95':>7} {'duckdb p50':>11} {'p95':>8} {'share':>6}")
        for path in files:
            n = rows_of(path)
            runs = [pipeline_seconds(path) for _ in range(args.repeats)]
            ours = [n / s for s, _ in runs]
            reads = [n / read_seconds(path) for _ in range(args.repeats)]
            theirs = [n / duckdb_seconds(path) for _ in range(args.repeats)]
            # rows/s; p95 of a rate is its slow tail: the 5th percentile of rows/s
            print(f"{path.name[:46]:46} {n:>7,} {runs[0][1]:>7} "
                  f"{statistics.median(ours):>13,.0f} {percentile(ours, 0.05):>7,.0f} "
                  f"{statistics.median(reads):>9,.0f} {percentile(reads, 0.05):>7,.0f} "
                  f"{statistics.median(theirs):>11,.0f} {percentile(theirs, 0.05):>8,.0f} "
                  f"{statistics.median(ours) / statistics.median(theirs):>6.1%}")


if __name__ == "__main__":
    main()
