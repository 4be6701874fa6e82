"""Measure, don't assert: the time to build each board-pack format for one area.

Each timing is the whole ``cjsdash export pack`` path (compute the content from the
warehouse, draw the charts, render, write atomically), cold: in a fresh Python process, so
the PowerPoint and PDF timings include starting a headless Chromium for kaleido ("process"
adds Python's imports). A second pass, in one process, keeps one browser open, as the
dashboard's exporter does after its first download. Targets (issue 6): under 10 s for
XLSX and PPTX, under 20 s for PDF. Usage::

    python benchmarks/exports.py [--db PATH] [--area Cumbria] [--period "2024-25 Q1"]
                                 [--pack lcjb_default] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.demo.build import build_demo
from cjsdash.exports import images
from cjsdash.exports.content import build_content
from cjsdash.exports.packs import load_pack
from cjsdash.exports.render import FORMATS, export_pack
from metrics.registry import default_registry

TARGETS = {"xlsx": 10.0, "pptx": 10.0, "pdf": 20.0, "csv": 10.0}


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--area", default="Cumbria")
    parser.add_argument("--period", default="2024-25 Q1")
    parser.add_argument("--pack", default="lcjb_default")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cjsdash-bench-exports-"))
    db = args.db or get_settings().db
    if not Path(db).exists():
        db = tmp / "demo.duckdb"
        print(f"building the demo warehouse at {db}…")
        build_demo(db, echo=lambda _: None)
    con, registry = Warehouse(db).reader(), default_registry()
    pack = load_pack(args.pack)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"board pack '{pack.id}' for {args.area}, {args.period}; {os.cpu_count()} cores, "
          f"load average {load:.1f}\n")

    seconds = _time(lambda: build_content(con, registry, pack, area=args.area,
                                          period=args.period))
    content = build_content(con, registry, pack, area=args.area, period=args.period)
    charts = sum(1 for i in content.items if i.item.chart == "trend" and i.has_figures)
    print(f"content (figures, England and Wales, MSG): {seconds:5.2f} s — "
          f"{len(content.items)} indicators, {content.figures.height} figures, "
          f"{charts} trend charts\n")

    def run(fmt: str, i: int) -> tuple[float, int]:
        out = tmp / f"{pack.id}-{i}.{fmt}"
        result = export_pack(con, registry, pack=pack.id, area=args.area, period=args.period,
                             fmt=fmt, out=out)
        return result.seconds, sum(p.stat().st_size for p in result.paths)

    def cold(fmt: str, i: int) -> tuple[float, float, float, int]:
        """(export seconds, whole process seconds, CPU seconds, bytes) of `cjsdash export
        pack` in a fresh process, Chromium's start-up included (the command starts the
        browser first, so it overlaps Python's imports and the figures' computation). CPU
        seconds (user + system, Python and Chromium together) do not grow when other jobs
        share the machine, so they tell a busy run from a slow one."""
        out = tmp / f"{pack.id}-cold-{i}.{fmt}"
        command = [sys.executable, "-c", "from cjsdash.exports.cli import export_app; "
                   "export_app()", "pack", "--area", args.area, "--period", args.period,
                   "--pack", pack.id, "--format", fmt, "--out", str(out), "--db", str(db)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        whole = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        size = sum(p.stat().st_size for p in tmp.glob(f"{out.name}*"))
        seconds = re.search(r"figures in ([\d.]+) s", done.stdout)
        return float(seconds[1]) if seconds else float("nan"), whole, cpu, size

    print(f"{'format':<7} {'export':>9} {'max':>7} {'process':>9} {'CPU':>9} {'size':>9}"
          "   target (export, cold: a fresh process, Chromium's start-up included)")
    for fmt in FORMATS:
        runs = [cold(fmt, i) for i in range(args.repeats)]
        took = [r[0] for r in runs]
        verdict = "ok" if max(took) < TARGETS[fmt] else "OVER"
        print(f"{fmt:<7} {statistics.median(took):7.2f} s {max(took):5.2f} s "
              f"{statistics.median(r[1] for r in runs):7.2f} s "
              f"{statistics.median(r[2] for r in runs):7.2f} s {runs[-1][3] / 1024:7,.0f} KB"
              f"   < {TARGETS[fmt]:.0f} s {verdict}")

    images.start_browser()
    run("pptx", 99)  # the browser is up
    print("\nwarm, in one process with the browser kept open (the dashboard after its first "
          "download):")
    for fmt in FORMATS:
        timings = [run(fmt, 100 + i)[0] for i in range(args.repeats)]
        print(f"{fmt:<7} {statistics.median(timings):7.2f} s {max(timings):5.2f} s")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average at the end: {load:.1f}")


if __name__ == "__main__":
    main()
