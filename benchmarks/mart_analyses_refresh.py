"""Measure, don't assert: what the mart's analyses (decision 0029) add to a refresh.

On a copy of a warehouse (``--db``; without it a demo warehouse is built in a temporary
folder), :func:`metrics.mart_analyses.refresh` is run whole, inside a transaction as
:func:`metrics.mart.refresh` runs it, then once more with nothing changed, and each part's CPU
seconds (peer groups, baselines, comparisons, the data page's tables) are printed with the rows
written, the wall time and the load average. Never part of the test suite.

Usage: ``python benchmarks/mart_analyses_refresh.py [--db PATH]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from cjsdash.demo.build import build_demo
from metrics import mart, mart_analyses
from metrics.options import Options
from metrics.registry import default_registry


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cjsdash-analyses-"))
    path = tmp / "w.duckdb"
    if args.db:
        shutil.copy(args.db, path)
    else:
        build_demo(path, echo=lambda _: None)
    registry = default_registry()
    con = duckdb.connect(str(path))
    try:
        now = mart.fingerprints(con, registry, Options())
        for full in (True, False):
            con.execute("BEGIN TRANSACTION")
            started, cpu = time.perf_counter(), time.process_time()
            report = mart_analyses.refresh(con, registry, now, full=full)
            con.execute("COMMIT")
            print(f"{'whole' if full else 'nothing changed'}: {report.line()}; "
                  f"{time.process_time() - cpu:.1f} CPU s, {time.perf_counter() - started:.1f} s "
                  f"wall; load average {load_average()}", flush=True)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
