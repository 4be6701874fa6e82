"""Published-file ingest throughput: the real pipeline vs DuckDB's own ``read_csv``.

For each family of real published files in ``shared/data/real`` — the 45 monthly CPS case
outcomes files (one folder) and the Home Office crime outcomes open data table for 2017-18
(450,913 rows, gzip CSV) — each repeat loads the files through ``ingest.pipeline.ingest_paths``
into a fresh warehouse file (detection, hashing, validation, observations, the rollup
refreshed once) and, in the same run, DuckDB's ``read_csv`` of the same files into a table of
a fresh database file (every column as text, as the loaders read them). Preparing the warehouse is not timed. Prints rows/s for both (p50 and
p95 of the repeats' times) and their ratio. Measure, don't assert: never part of the test
suite.

Usage: ``python benchmarks/published_ingest.py [--repeats N] [--only cps|ho_outcomes]``
"""

from __future__ import annotations

import argparse
import shutil
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

REAL = REPO.parent / "shared" / "data" / "real"
FAMILIES = {
    "cps": ("CPS case outcomes, 45 monthly files", REAL / "cps_case_outcomes"),
    "ho_outcomes": ("Home Office crime outcomes 2017-18 (gzip CSV)",
                    REAL / "home_office_crime_outcomes" / "detection-rates-data_DERIVED.csv.gz"),
}


def data_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.csv") if p.is_file())


def run_pipeline(path: Path, folder: Path) -> tuple[float, int]:
    wh = Warehouse(folder / "warehouse.duckdb")
    with wh.writer() as con:
        prepare(con)
        started = time.perf_counter()
        reports = ingest_paths(con, [path])
        elapsed = time.perf_counter() - started
    wh.close()
    loaded = [r for r in reports if r.status == "loaded"]
    if not loaded or any(r.status == "refused" for r in reports):
        raise SystemExit("the pipeline did not load every file:\n"
                         + "\n".join(r.line() for r in reports))
    return elapsed, sum(r.rows_in for r in loaded)


def run_reader(files: list[Path], folder: Path) -> float:
    """The loaders' read alone (parse, validate, shape; no warehouse writes), for where the
    time goes."""
    wh = Warehouse(folder / "reader.duckdb")
    with wh.writer() as con:
        prepare(con)
        context = read_context(con, default_vintage="benchmark")
    wh.close()
    started = time.perf_counter()
    for f in files:
        data = f.read_bytes()
        detect_loader(f, data).read(f, data, context)
    return time.perf_counter() - started


def run_duckdb(files: list[Path], folder: Path) -> tuple[float, int]:
    con = duckdb.connect(str(folder / "baseline.duckdb"))
    started = time.perf_counter()
    con.execute("CREATE TABLE published AS SELECT * FROM read_csv(?, union_by_name = true, all_varchar = true)",
                [[str(f) for f in files]])
    elapsed = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM published").fetchall()[0][0]
    con.close()
    return elapsed, rows


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench(name: str, repeats: int) -> None:
    title, path = FAMILIES[name]
    files = data_files(path)
    pipeline_times, duckdb_times, reader_times = [], [], []
    rows = base_rows = 0
    for _ in range(repeats):
        tmp = Path(tempfile.mkdtemp(prefix=f"cjsdash-{name}-bench-"))
        try:
            elapsed, rows = run_pipeline(path, tmp)
            pipeline_times.append(elapsed)
            elapsed, base_rows = run_duckdb(files, tmp)
            duckdb_times.append(elapsed)
            reader_times.append(run_reader(files, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    p50_pipe, p50_db = statistics.median(pipeline_times), statistics.median(duckdb_times)
    print(f"\n{title}: {len(files)} file(s), {rows:,} rows read by the pipeline, "
          f"{base_rows:,} by DuckDB; {repeats} repeats")
    print(f"  pipeline  p50 {p50_pipe:7.3f} s ({rows / p50_pipe:>10,.0f} rows/s)   "
          f"p95 {p95(pipeline_times):7.3f} s ({rows / p95(pipeline_times):>10,.0f} rows/s)")
    p50_read = statistics.median(reader_times)
    print(f"  (of which the loaders' read alone: p50 {p50_read:7.3f} s, "
          f"{rows / p50_read:,.0f} rows/s)")
    print(f"  read_csv  p50 {p50_db:7.3f} s ({base_rows / p50_db:>10,.0f} rows/s)   "
          f"p95 {p95(duckdb_times):7.3f} s ({base_rows / p95(duckdb_times):>10,.0f} rows/s)")
    print(f"  ratio of rows/s (pipeline / DuckDB) at p50: "
          f"{(rows / p50_pipe) / (base_rows / p50_db):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=sorted(FAMILIES))
    args = parser.parse_args()
    for name in [args.only] if args.only else list(FAMILIES):
        bench(name, args.repeats)


if __name__ == "__main__":
    main()
