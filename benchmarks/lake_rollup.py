"""The lake rollup at national scale: DuckDB and local Spark over ~46 million records.

Builds a lake by replicating the data.police.uk 2021-06 ZIP (40 forces, 384,170 records) over
``--months`` consecutive months (120 by default, ending June 2021: 46.1 million records),
exactly as ``cjsdash lake export`` lays one out (``raw_police_uk_street/year_month=…/``,
zstd): the ZIP goes through ``cjsdash ingest``'s pipeline once, then each month's copy is its
records with ``month`` (and ``run_id``) moved. Then ``cjsdash lake rollup`` runs on each
engine, each in its own process: wall time, records/s and the peak resident memory of the
process tree (the JVM included for Spark, sampled every 0.1 s). Checks that both engines
give the same observations. Measure, don't assert: never part of the test suite.

Usage: ``python benchmarks/lake_rollup.py [--zip PATH] [--months N] [--work DIR]
[--engines duckdb,spark] [--keep]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cjsdash.bootstrap import prepare  # noqa: E402
from cjsdash.lake.export import export  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402

DEFAULT_ZIP = REPO / "tests" / "data" / "police_uk_all_forces" / "2021-06-all-forces.zip"
PAGE = os.sysconf("SC_PAGE_SIZE")


def build_lake(zip_path: Path, months: int, work: Path) -> tuple[Path, int]:
    """(lake folder, records): the ZIP ingested once, its records copied to ``months``
    months ending with the ZIP's month."""
    db = work / "june.duckdb"
    con = duckdb.connect(str(db))
    prepare(con)
    reports = ingest_paths(con, [zip_path])
    assert all(r.status == "loaded" for r in reports), [r.line() for r in reports]
    lake = work / "lake"
    export(con, lake)  # the real export of the real month, then replicated beside it
    target = lake / "raw_police_uk_street"
    shutil.rmtree(target)
    records = con.table("raw.police_uk_street").to_arrow_table()  # one month: 384,170 rows
    con.close()
    [june] = set(records.column("month").to_pylist())
    started = time.perf_counter()
    for shift in range(months):  # a month at a time: memory stays at one month's records
        month = _months_before(june, shift)
        copy = records.set_column(records.schema.get_field_index("month"), "month",
                                  pa.array([month] * records.num_rows, pa.date32()))
        run_ids = pc.add(pc.multiply(records.column("run_id"), 100_000), shift)
        copy = copy.set_column(copy.schema.get_field_index("run_id"), "run_id", run_ids)
        folder = target / f"year_month={month:%Y-%m}"
        folder.mkdir(parents=True)
        pq.write_table(copy, folder / "data_0.parquet", compression="zstd")
    total = records.num_rows * months
    size = sum(p.stat().st_size for p in target.rglob("*.parquet"))
    print(f"lake: {total:,} records in {months} months, {size / 1e6:,.0f} MB of Parquet "
          f"(written in {time.perf_counter() - started:.0f} s)", flush=True)
    return lake, total


def _months_before(month: date, shift: int) -> date:
    index = month.year * 12 + month.month - 1 - shift
    return date(index // 12, index % 12 + 1, 1)


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * PAGE
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run_engine(engine: str, lake: Path, out: Path) -> dict:
    """``cjsdash lake rollup`` in a child process: seconds and peak tree memory."""
    command = [sys.executable, "-m", "cjsdash.cli", "lake", "rollup", "--engine", engine,
               "--lake", str(lake), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1"}
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"{engine} rollup failed ({child.returncode}): {output}")
    rollup_seconds = float(re.search(r" in ([0-9.]+) s ", output)[1])  # type: ignore[index]
    return {"engine": engine, "process_s": round(seconds, 1), "rollup_s": rollup_seconds,
            "peak_mb": round(peak / 1e6), "output": output.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--work", type=Path, default=None, help="folder for the lake")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--keep", action="store_true", help="keep the lake afterwards")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="cjsdash-lake-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        lake, records = build_lake(args.zip, args.months, work)
        results = []
        for engine in args.engines.split(","):
            result = run_engine(engine, lake, work / f"out-{engine}")
            result["records_per_s"] = round(records / result["rollup_s"])
            results.append(result)
            print(json.dumps(result), flush=True)
        outs = [duckdb.sql("SELECT * EXCLUDE (run_id) FROM read_parquet(?) ORDER BY ALL",
                           params=[str(work / f"out-{r['engine']}" / "police_uk_observations.parquet")]
                           ).fetchall() for r in results]
        same = all(o == outs[0] for o in outs)
        print(f"records: {records:,}; observations: {len(outs[0]):,}; engines agree: {same}; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        print("| engine | rollup | process (with start-up) | records/s | peak memory |")
        for r in results:
            print(f"| {r['engine']} | {r['rollup_s']} s | {r['process_s']} s | "
                  f"{r['records_per_s'] / 1e6:.2f} M | {r['peak_mb']:,} MB |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
