"""Where an upload's memory and seconds go, stage by stage (issue 14: peak under 1 GB).

Runs the data page's upload path (:func:`layouts.data_upload.receive`, then
:mod:`cjsdash.uploads`) in a child process over a copy of a warehouse, as ``cjsdash serve``
holds it (``Warehouse(path, held=True)`` under ``create_app``), with the body a browser sends
(a base64 data URL of the file). A thread samples the process's resident memory every 5 ms;
each stage (decode, save, read and validate, write, rollup, quality checks, figure refresh)
is timed and its peak resident memory recorded, and the process's ``VmHWM`` is read at the
end. Measure, don't assert: never part of the test suite.

Usage: ``PYTHONPATH=. python benchmarks/upload_stages.py WAREHOUSE FILE [--keep]``
(the warehouse is copied first unless ``--keep``; ``FILE`` is the extract to upload, e.g.
``serving_upload.revised_extract``'s output).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import base64, functools, json, os, sys, threading, time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
samples = []
stop = threading.Event()

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE // 1048576

def sample():
    while not stop.is_set():
        samples.append((time.perf_counter(), rss()))
        time.sleep(0.005)

stages = []

def staged(module, name, label):
    original = getattr(module, name)
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        before = rss()
        try:
            return original(*args, **kwargs)
        finally:
            stages.append((label, start, time.perf_counter(), before, time.process_time() - cpu))
    setattr(module, name, wrapper)

db, upload = Path(sys.argv[1]), Path(sys.argv[2])
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.server import create_app
import cjsdash.uploads as uploads
import ingest.pipeline as pipeline
import ingest.pipeline_batch as pipeline_batch
import ingest.pipeline_overlap as pipeline_overlap
import ingest.pipeline_reads as reads
import layouts.data_upload as data_upload

app = create_app(Warehouse(db, held=True, memory_mb=get_settings().serve_duckdb_memory_mb))
staged(data_upload, "decode_upload", "decode the data URL")
staged(uploads, "save_upload", "save under uploads/")
staged(uploads, "prepare", "prepare")
staged(pipeline_overlap, "classify_batch", "hash and detect")
staged(reads, "_read_one", "read and validate")
staged(pipeline_batch, "write_batch", "write (one transaction)")
staged(pipeline, "refresh_pending", "area rollup")
staged(pipeline, "check_quality", "quality checks")
staged(uploads, "refresh_figures", "figure mart refresh")
import metrics.mart_analyses as mart_analyses
import metrics.mart_figures as mart_figures
import metrics.mart_stages as mart_stages
import metrics.mart_baselines as mart_baselines
import metrics.mart_comparisons as mart_comparisons
import metrics.mart_matrices as mart_matrices
import metrics.mart_withheld as mart_withheld
staged(mart_withheld, "refresh_plan", "  of which: disclosure plan")
staged(mart_figures, "stage", "  of which: figures staged")
staged(mart_stages, "stage", "  of which: stage tables staged")
staged(mart_analyses, "refresh", "  of which: analyses")
staged(mart_baselines, "compute", "    of which: baselines")
staged(mart_comparisons, "compute", "    of which: comparisons")
staged(mart_matrices, "compute", "    of which: stage matrices")
if os.environ.get("UPLOAD_STAGES_NO_MATRICES"):  # what the stored matrices cost, by their absence
    mart_matrices.refresh = lambda con, now, before, held: (None, None)
threading.Thread(target=sample, daemon=True).start()
time.sleep(0.05)
contents = "data:text/csv;base64," + base64.b64encode(upload.read_bytes()).decode("ascii")
base = rss()
started, cpu = time.perf_counter(), time.process_time()
result = data_upload.receive(contents, upload.name)
ended, cpu = time.perf_counter(), time.process_time() - cpu
time.sleep(0.05)
stop.set()
def peak(a, b):
    return max((m for t, m in samples if a <= t <= b), default=0)
with open("/proc/self/status") as f:
    hwm = next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmHWM"))
print(json.dumps({
    "outcome": result.line, "seconds": ended - started, "cpu_s": cpu, "rss_before_mb": base,
    "peak_mb": peak(started, ended), "vmhwm_mb": hwm,
    "stages": [{"stage": label, "seconds": round(b - a, 2), "cpu_s": round(c, 2),
                "rss_before_mb": before, "peak_mb": peak(a, b)}
               for label, a, b, before, c in stages]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--keep", action="store_true", help="upload into WAREHOUSE itself")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = args.warehouse
        if not args.keep:
            db = Path(folder) / "w.duckdb"
            shutil.copy(args.warehouse, db)
        env = {**os.environ, "CJSDASH_DATA_DIR": folder, "CJSDASH_DB": str(db)}
        out = subprocess.run([sys.executable, "-c", CHILD, str(db), str(args.file)], env=env,
                             capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{result['outcome']}\nupload {result['seconds']:.1f} s ({result['cpu_s']:.1f} CPU s); RSS before "
          f"{result['rss_before_mb']} MB, peak sampled {result['peak_mb']} MB, VmHWM "
          f"{result['vmhwm_mb']} MB; load average {os.getloadavg()[0]:.1f}")
    for s in result["stages"]:
        print(f"  {s['stage']:<26} {s['seconds']:>7.2f} s {s['cpu_s']:>7.2f} CPU s  "
              f"RSS before {s['rss_before_mb']:>5} MB"
              f"  peak {s['peak_mb']:>5} MB")


if __name__ == "__main__":
    main()
