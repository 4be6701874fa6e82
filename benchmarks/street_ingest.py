"""Street-level crime ingest throughput: the real pipeline vs DuckDB's own ``read_csv``.

Loads the data.police.uk 2021-06 ZIP (40 forces, 384,170 rows) through
``ingest.pipeline.ingest_paths`` into a fresh warehouse file — ZIP members inflated in
memory, hashed, validated, counted into observations, every record kept in
``raw.police_uk_street``, the ZIP's members written in one transaction (one run row each),
the area rollup refreshed once — and,
in the same run, DuckDB's ``read_csv`` of the same 40 CSVs (extracted to a temporary folder
for DuckDB only, untimed) into a table of a fresh database file. Prints rows/s for both (best
of N), the ratio (best, and the median of back-to-back runs), and where the pipeline's time
goes. Measure, don't assert: never part of the test suite.

``--year`` loads a year instead: the June ZIP replicated as twelve monthly ZIPs (July 2020 to
June 2021, each member and its Month column relabelled; 12 × 384,170 = 4,609,470 records, a
load test, not real figures for those months) through one ``ingest_paths`` call, against
DuckDB's ``CREATE TABLE AS SELECT * FROM read_csv`` of the same 480 CSVs. Each run is its own
process (so each side's peak resident memory is its own: ``wait4``'s ``ru_maxrss``); the
pipeline and DuckDB alternate. ``--profile`` adds one more in-process pipeline run with the
phase timers (and ``--cprofile FILE`` dumps a cProfile of it: the main thread's, which writes;
the next ZIP is read on another thread, decision 37, so read and write timers overlap and can
add up to more than the run). ``--sequential`` runs the pipeline with ``overlap=False`` (each
ZIP read, then written), for comparing the two on the same machine and load.

Usage: ``python benchmarks/street_ingest.py [--zip PATH] [--repeats N] [--year [--profile]]
[--sequential]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cjsdash.bootstrap import prepare  # noqa: E402
from cjsdash.core.allocators import bulk_load  # noqa: E402
from cjsdash.core.gateway import Warehouse  # noqa: E402
from ingest import (  # noqa: E402
    pipeline,
    pipeline_batch,
    pipeline_files,
    pipeline_reads,
    pipeline_writes,
    police_uk_street,
)
from ingest.base import Loader  # noqa: E402
from ingest.catalogue import LOADERS  # noqa: E402

DEFAULT_ZIP = REPO / "tests" / "data" / "police_uk_all_forces" / "2021-06-all-forces.zip"


class Phases:
    """Wall time per pipeline stage, by wrapping functions and the connection's ``execute``."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._patched: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()  # the reader thread's timers and the writer's

    def timed(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[label] += time.perf_counter() - started

        return timed

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        self._patched.append((owner, name, original))
        setattr(owner, name, self.timed(original, label))

    def wrap_loader(self, name: str) -> None:
        loader = LOADERS[name]
        self._patched.append((LOADERS, name, loader))
        read, raw = "read + validate + count (loader)", "raw.police_uk_street insert (loader)"
        LOADERS[name] = Loader(
            loader.spec, loader.detect, self.timed(loader.read, read),
            self.timed(loader.load_raw, raw),
            self.timed(loader.load_raw_runs, raw) if loader.load_raw_runs else None,
            self.timed(loader.read_batch, read) if loader.read_batch else None,
        )

    def restore(self) -> None:
        for owner, name, original in reversed(self._patched):
            if isinstance(owner, dict):
                owner[name] = original
            else:
                setattr(owner, name, original)
        self._patched.clear()


class TimedConnection:
    """A connection whose COMMITs and CHECKPOINTs are timed (everything else passes through)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, phases: Phases) -> None:
        self._con, self._phases = con, phases

    LABELS = {"COMMIT": "commit (WAL write, checkpoints)", "CHECKPOINT": "final checkpoint"}

    def execute(self, sql: str, *args: Any) -> Any:
        label = self.LABELS.get(sql.strip().upper())
        if label is None:
            return self._con.execute(sql, *args)
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args)
        finally:
            self._phases.seconds[label] += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def run_pipeline(archive: Path, folder: Path, phases: Phases | None) -> tuple[float, int]:
    return run_pipeline_paths([archive], folder, phases)


def run_pipeline_paths(paths: list[Path], folder: Path, phases: Phases | None,
                       overlap: bool = True) -> tuple[float, int]:
    wh = Warehouse(folder / "warehouse.duckdb")
    with wh.writer() as con:
        prepare(con)
        target: Any = con
        if phases is not None:
            phases.wrap_loader(police_uk_street.SPEC.name)
            phases.wrap(pipeline_writes, "upsert_versioned_runs", "core.observations upsert")
            phases.wrap(pipeline, "refresh_pending", "core.area_observations refresh (once per batch)")
            phases.wrap(pipeline_writes, "register_sources", "meta.sources insert")
            phases.wrap(pipeline_reads, "read_context", "read context (meta queries)")
            phases.wrap(pipeline_writes, "withdraw_outside_slices", "withdraw outside slices")
            phases.wrap(pipeline, "check_quality", "quality check (after the rollup)")
            phases.wrap(pipeline_batch, "loaded_runs", "sha256 lookup (idempotence)")
            phases.wrap(pipeline_files, "zip_members", "ZIP inflate")
            target = TimedConnection(con, phases)
        started = time.perf_counter()
        try:
            with bulk_load():  # as `cjsdash ingest` runs it
                reports = pipeline.ingest_paths(target, paths, overlap=overlap)
        finally:
            elapsed = time.perf_counter() - started
            if phases is not None:
                phases.restore()
    wh.close()
    bad = [r.line() for r in reports if r.status != "loaded"]
    if bad:
        raise SystemExit("pipeline did not load every member:\n" + "\n".join(bad))
    return elapsed, sum(r.rows_in for r in reports)


PLAIN_DUCKDB = """
import json, sys, time
import duckdb
csvs, path = json.loads(sys.argv[1]), sys.argv[2]
con = duckdb.connect(path)
started = time.perf_counter()
con.execute("CREATE TABLE street AS SELECT * FROM read_csv(?)", [csvs])
elapsed = time.perf_counter() - started
rows = con.execute("SELECT count(*) FROM street").fetchall()[0][0]
con.close()
print(json.dumps({"seconds": elapsed, "rows": rows}))
"""
"""DuckDB's own load, in a process that imports nothing of cjsdash: importing :mod:`cjsdash`
sets glibc's allocation thresholds (decision 38), which made DuckDB's ``read_csv`` of the
year 4.4 → 4.9 s (decision 39), and so does a ``MALLOC_*`` setting in the environment. The
baseline is plain DuckDB, as a user would run it."""


def plain_duckdb(csvs: list[str], folder: Path) -> tuple[list[str], dict[str, str]]:
    """The command and environment of :data:`PLAIN_DUCKDB` loading ``csvs`` into a database
    in ``folder``: no cjsdash on the path, no ``MALLOC_*`` settings."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("MALLOC_")}
    return [sys.executable, "-c", PLAIN_DUCKDB, json.dumps(csvs),
            str(folder / "baseline.duckdb")], env


def run_duckdb(csvs: list[str], folder: Path) -> tuple[float, int]:
    """DuckDB's ``CREATE TABLE AS SELECT * FROM read_csv`` of ``csvs``, in a plain Python
    process (:func:`plain_duckdb`): (seconds, rows)."""
    command, env = plain_duckdb(csvs, folder)
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["seconds"], result["rows"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--year", action="store_true",
                        help="twelve replicated months, each run in its own process")
    parser.add_argument("--sequential", action="store_true",
                        help="the pipeline without overlap: each ZIP read, then written")
    parser.add_argument("--profile", action="store_true",
                        help="with --year: one more in-process pipeline run, timed by phase")
    parser.add_argument("--cprofile", type=Path, help="with --profile: dump cProfile stats here")
    parser.add_argument("--child", choices=("pipeline",), help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if police_uk_street.SPEC.name not in LOADERS:  # until the catalogue lists it
        LOADERS[police_uk_street.SPEC.name] = police_uk_street.LOADER
    if args.child:
        child(args.child, args.inputs)
        return
    tmp = Path(tempfile.mkdtemp(prefix="cjsdash-street-bench-"))
    try:
        if args.year:
            bench_year(args.zip, args.repeats, tmp, args.profile, args.cprofile,
                       overlap=not args.sequential)
        else:
            bench(args.zip, args.repeats, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- a year: twelve replicated months, each run in its own process ---------------------------


def month_labels(months: int, last: str = "2021-06") -> list[str]:
    """``months`` consecutive ``YYYY-MM`` labels, oldest first, ending with ``last``
    (12 ending 2021-06: July 2020 to June 2021; 120: July 2011 to June 2021)."""
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    year, month = (int(part) for part in last.split("-"))
    index = year * 12 + month - 1 - (months - 1)
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index, index + months)]


def replicate_months(source: Path, folder: Path, months: int, last: str = "2021-06"
                     ) -> list[Path]:
    """``months`` monthly ZIPs ending with ``last`` made from the June 2021 one: each member
    renamed and its Month column relabelled (``,2021-06,`` → ``,YYYY-MM,``). A load test,
    not real figures for those months."""
    with zipfile.ZipFile(source) as real:
        members = [(m, real.read(m)) for m in real.namelist() if m.endswith("-street.csv")]
    out = []
    for label in month_labels(months, last):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
            for name, data in members:
                copy.writestr(name.replace("2021-06", label),
                              data.replace(b",2021-06,", f",{label},".encode()))
        path = folder / f"{label}-all-forces.zip"
        path.write_bytes(buffer.getvalue())
        out.append(path)
    return out


def replicate_year(source: Path, folder: Path) -> list[Path]:
    """Twelve monthly ZIPs (July 2020 to June 2021) made from the June 2021 one."""
    return replicate_months(source, folder, 12)


def child(kind: str, inputs: Path) -> None:
    """One measured run in this process: prints {"seconds", "rows"} as JSON."""
    spec = json.loads(inputs.read_text())
    folder = Path(tempfile.mkdtemp(dir=spec["tmp"]))
    seconds, rows = run_pipeline_paths([Path(p) for p in spec["zips"]], folder, None,
                                       overlap=spec["overlap"])
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"seconds": seconds, "rows": rows}))


def measured(kind: str, inputs: Path) -> tuple[float, int, float, float]:
    """(seconds, rows, peak resident MB, CPU seconds of the whole process) of one child
    run. CPU time says more than wall time when other work shares the machine."""
    command = [sys.executable, __file__, "--child", kind, "--inputs", str(inputs)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    folder = None
    if kind == "duckdb":  # plain DuckDB, nothing of cjsdash imported (PLAIN_DUCKDB)
        spec = json.loads(inputs.read_text())
        folder = Path(tempfile.mkdtemp(dir=spec["tmp"]))
        command, env = plain_duckdb(spec["csvs"], folder)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    if proc.returncode:
        raise SystemExit(f"the {kind} run failed ({proc.returncode})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return (result["seconds"], result["rows"], usage.ru_maxrss / 1024,
            usage.ru_utime + usage.ru_stime)


def bench_year(zip_path: Path, repeats: int, tmp: Path, profile: bool,
               cprofile: Path | None, overlap: bool = True) -> None:
    zips = replicate_year(zip_path, tmp)
    for path in zips:  # for DuckDB only: the pipeline reads the ZIPs themselves
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp / "csv")
    csvs = sorted(str(p) for p in (tmp / "csv").rglob("*.csv"))
    inputs = tmp / "inputs.json"
    inputs.write_text(json.dumps({"tmp": str(tmp), "zips": [str(z) for z in zips],
                                  "csvs": csvs, "overlap": overlap}))
    print(f"a year from {zip_path.name}: {len(zips)} ZIPs, {len(csvs)} CSVs, {repeats} repeats, "
          f"alternating, each run its own process"
          f"{'' if overlap else '; the pipeline without overlap (--sequential)'}\n")
    if repeats:
        compare_year(inputs, repeats)
    if profile:
        phases = Phases()
        profiler = cProfile.Profile() if cprofile else None
        if profiler:
            profiler.enable()
        total, _ = run_pipeline_paths(zips, Path(tempfile.mkdtemp(dir=tmp)), phases, overlap)
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(cprofile))
        print_phases(phases, total)


def compare_year(inputs: Path, repeats: int) -> None:
    ours: list[tuple[float, float, float]] = []
    base: list[tuple[float, float, float]] = []
    for i in range(repeats):
        seconds, rows, rss, cpu = measured("pipeline", inputs)
        ours.append((seconds, rss, cpu))
        seconds, base_rows, rss, cpu = measured("duckdb", inputs)
        base.append((seconds, rss, cpu))
        print(f"  run {i + 1}: pipeline {ours[-1][0]:.2f} s ({ours[-1][1]:,.0f} MB peak, "
              f"{ours[-1][2]:.1f} CPU s), DuckDB {base[-1][0]:.2f} s ({base[-1][1]:,.0f} MB "
              f"peak, {base[-1][2]:.1f} CPU s), ratio {base[-1][0] / ours[-1][0]:.2f}",
              flush=True)
    if rows != base_rows:
        raise SystemExit(f"row counts differ: pipeline {rows:,}, DuckDB {base_rows:,}")
    o_s, b_s = [s for s, _, _ in ours], [s for s, _, _ in base]
    print(f"\n{rows:,} rows, {repeats} runs each (best / median):")
    print(f"  cjsdash pipeline: {rows / min(o_s):>10,.0f} / {rows / statistics.median(o_s):>10,.0f}"
          f" rows/s ({min(o_s):.2f} / {statistics.median(o_s):.2f} s), "
          f"peak RSS {max(r for _, r, _ in ours):,.0f} MB")
    print(f"  DuckDB read_csv:  {rows / min(b_s):>10,.0f} / {rows / statistics.median(b_s):>10,.0f}"
          f" rows/s ({min(b_s):.2f} / {statistics.median(b_s):.2f} s), "
          f"peak RSS {max(r for _, r, _ in base):,.0f} MB")
    paired = statistics.median(b / o for o, b in zip(o_s, b_s, strict=True))
    print(f"  ratio pipeline / DuckDB: best {min(b_s) / min(o_s):.2f}, median of runs "
          f"{paired:.2f} (aim: at least 0.5)")
    o_cpu, b_cpu = (statistics.median(c for _, _, c in runs) for runs in (ours, base))
    print(f"  CPU seconds of each process (median, imports included): pipeline {o_cpu:.1f}, "
          f"DuckDB {b_cpu:.1f}, ratio {b_cpu / o_cpu:.2f}")


def bench(zip_path: Path, repeats: int, tmp: Path) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp / "csv")  # for DuckDB only: the pipeline reads the ZIP itself
    csvs = sorted(str(p) for p in (tmp / "csv").rglob("*.csv"))
    print(f"{zip_path.name}: {len(csvs)} CSVs, {repeats} repeats, alternating\n")

    ours: list[float] = []
    base: list[float] = []
    for i in range(repeats):
        seconds, rows = run_pipeline(zip_path, Path(tempfile.mkdtemp(dir=tmp)), None)
        ours.append(seconds)
        seconds, base_rows = run_duckdb(csvs, Path(tempfile.mkdtemp(dir=tmp)))
        base.append(seconds)
        print(f"  run {i + 1}: pipeline {ours[-1]:.2f} s, DuckDB read_csv {base[-1]:.2f} s, "
              f"ratio {base[-1] / ours[-1]:.2f}")
    if rows != base_rows:
        raise SystemExit(f"row counts differ: pipeline {rows:,}, DuckDB {base_rows:,}")

    # Best of N is the least disturbed by other work on the machine; each run's own ratio
    # (pipeline and DuckDB back to back) is the fairest comparison when the load changes.
    ours_rate, base_rate = rows / min(ours), rows / min(base)
    paired = statistics.median(b / o for o, b in zip(ours, base, strict=True))
    print(f"\n{rows:,} rows (best of {repeats}):")
    print(f"  cjsdash pipeline (ZIP → validated observations + raw records): "
          f"{ours_rate:>10,.0f} rows/s  ({min(ours):.2f} s)")
    print(f"  DuckDB read_csv → table (no validation, no aggregation):       "
          f"{base_rate:>10,.0f} rows/s  ({min(base):.2f} s)")
    print(f"  ratio pipeline / DuckDB: best {ours_rate / base_rate:.2f}, median of runs "
          f"{paired:.2f} (aim: at least 0.5)")

    phases = Phases()
    total, _ = run_pipeline(zip_path, Path(tempfile.mkdtemp(dir=tmp)), phases)
    print_phases(phases, total)


def print_phases(phases: Phases, total: float) -> None:
    print(f"\nwhere the pipeline's time goes (one more run, {total:.2f} s):")
    accounted = 0.0
    for label, seconds in phases.seconds.most_common():
        accounted += seconds
        print(f"  {label:<42} {seconds:6.2f} s  {100 * seconds / total:5.1f} %")
    rest = total - accounted
    if rest < 0:  # the next ZIP read while this one is written: the timers overlap
        print(f"  (read and write overlap: the timers add up to {accounted:.2f} s)")
        return
    print(f"  {'other (ZIP inflate, sha256, meta rows)':<42} {rest:6.2f} s  "
          f"{100 * rest / total:5.1f} %")


if __name__ == "__main__":
    main()
