"""The whole `cjsdash ingest` of a year of street crime, start to exit, against plain DuckDB.

Issue 14's aim is a year of record-level street crime loaded at least 0.5× as fast as DuckDB
loads the same CSV files into a table, *with* the figure mart's materialisation: so this
times the command a user runs, `python -m cjsdash.cli ingest ZIP... --db NEW`, from process
start to exit (interpreter, imports, the load, the figure refresh, the final checkpoint),
against plain DuckDB's whole process (:data:`street_ingest.PLAIN_DUCKDB`: a Python that
imports nothing of cjsdash, ``CREATE TABLE AS SELECT * FROM read_csv`` of the same 480 CSVs,
extracted for it beforehand, untimed). The year is the real June 2021 ZIP replicated as
twelve months (:func:`street_ingest.replicate_year`; 4,610,040 records).

The runs alternate, each its own process, so that a machine whose speed drifts (this one's
does, by 20% within minutes) slows both sides of a round alike; each round's ratio is
DuckDB's seconds over the command's, and the median of the rounds is reported. ``--against
TREE`` adds the same command from another checkout (the code before a change) to each
round, so a change is measured against its predecessor in the same minutes.

Usage: ``python benchmarks/ingest_command.py [--rounds 6] [--against /path/to/checkout]
[--out result.json]``. Measure, don't assert: never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.street_ingest import DEFAULT_ZIP, plain_duckdb, replicate_year  # noqa: E402


def timed(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Wall seconds from spawn to exit, and the child's own CPU seconds and peak RSS (MB,
    ``wait4``'s, this child's alone)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{command[:4]} failed ({proc.returncode}):\n"
                             f"{err.read().decode(errors='replace')[-2000:]}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024}


def ingest(tree: Path, zips: list[Path], folder: Path) -> dict[str, float]:
    """The command from checkout ``tree`` into a fresh warehouse in ``folder``."""
    db = folder / "year.duckdb"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("CJSDASH_DB", None)
    try:
        return timed([sys.executable, "-m", "cjsdash.cli", "ingest", *map(str, zips),
                      "--db", str(db)], env, tree)
    finally:
        for path in folder.glob("year.duckdb*"):
            path.unlink()


def duckdb_whole(csvs: list[str], folder: Path) -> dict[str, float]:
    command, env = plain_duckdb(csvs, folder)
    try:
        return timed(command, env, folder)
    finally:
        for path in folder.glob("baseline.duckdb*"):
            path.unlink()


def summary(name: str, runs: list[dict[str, float]]) -> str:
    seconds = [r["seconds"] for r in runs]
    return (f"  {name:<10} {min(seconds):6.2f}–{max(seconds):6.2f} s, median "
            f"{statistics.median(seconds):6.2f}; CPU {statistics.median(r['cpu'] for r in runs):5.1f}"
            f" s; peak {max(r['peak_mb'] for r in runs):,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--against", type=Path, help="another checkout's command, each round")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cjsdash-ingest-command-"))
    try:
        zips = replicate_year(args.zip, tmp)
        for path in zips:  # for DuckDB only: the command reads the ZIPs themselves
            with zipfile.ZipFile(path) as archive:
                archive.extractall(tmp / "csv")
        csvs = sorted(str(p) for p in (tmp / "csv").rglob("*.csv"))
        sides = {"ingest": REPO, **({"against": args.against.resolve()} if args.against else {})}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in (*sides, "duckdb")}
        print(f"a year of street crime: {len(zips)} ZIPs, {len(csvs)} CSVs; {args.rounds} "
              f"rounds of {', '.join(runs)}, each its own process", flush=True)
        for i in range(args.rounds):
            for name, tree in sides.items():
                runs[name].append(ingest(tree, zips, tmp))
            runs["duckdb"].append(duckdb_whole(csvs, tmp))
            line = ", ".join(f"{name} {r[-1]['seconds']:.2f} s" for name, r in runs.items())
            ratios = ", ".join(f"{name} {runs['duckdb'][-1]['seconds'] / runs[name][-1]['seconds']:.2f}"
                               for name in sides)
            print(f"  round {i + 1}: {line}; ratio {ratios}", flush=True)
        print("\nstart to exit:")
        for name, measured in runs.items():
            print(summary(name, measured))
        result = {"rounds": args.rounds, "runs": runs, "ratio": {}}
        for name in sides:
            ratio = statistics.median(d["seconds"] / o["seconds"]
                                      for o, d in zip(runs[name], runs["duckdb"], strict=True))
            result["ratio"][name] = ratio
            print(f"  ratio DuckDB / {name}: median of rounds {ratio:.2f} (aim: at least 0.5)")
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
