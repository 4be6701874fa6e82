"""Measure, don't assert: the time to build each board-pack format for one area.

Each timing is the whole ``cjsdash export pack`` path (compute the content from the
warehouse, draw the charts, render, write atomically), cold: in a fresh Python process, so
the PowerPoint and PDF timings include starting a headless Chromium for kaleido ("process"
adds Python's imports). A second pass, in one process, keeps one browser open, as the
dashboard's exporter does after its first download. Targets (issue 6): under 10 s for
XLSX and PPTX, under 20 s for PDF. Usage::

    python benchmarks/exports.py [--db PATH] [--area Cumbria] [--period "2024-25 Q1"]
                                 [--pack lcjb_default] [--repeats 2]

``--all-areas`` measures instead ``cjsdash export pack --area all --format xlsx,pdf`` (every
LCJB, one process; issue 14's aim: all 42 XLSX and PDF packs in under 5 minutes): the whole
run in a fresh process, its CPU seconds (the command, its PDF layout workers and Chromium),
its peak RSS, each pack's own seconds (p50/p95 by format, from the command's progress
lines), the ratio to a plain DuckDB read of the same figures from ``mart.figures``, and
where a pack's time goes (each stage timed in this process for ``--breakdown`` areas)::

    python benchmarks/exports.py --all-areas [--formats xlsx,pdf] [--jobs N] [--breakdown 3]
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
    parser.add_argument("--all-areas", action="store_true",
                        help="every LCJB in one `export pack --area all` run (issue 14)")
    parser.add_argument("--formats", default="xlsx,pdf")
    parser.add_argument("--jobs", type=int, default=None, help="PDF layout processes")
    parser.add_argument("--breakdown", type=int, default=3,
                        help="areas whose stages are timed one by one (0: none)")
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
    if args.all_areas:
        measure_all_areas(con, registry, db=Path(db), pack=pack.id, period=args.period,
                          formats=args.formats, jobs=args.jobs, breakdown=args.breakdown,
                          tmp=tmp)
        return
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


PACK_LINE = re.compile(r"^\[\d+/\d+\] (.+) (xlsx|pptx|pdf|csv): (wrote|FAILED).* \(([\d.]+) s\)$")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes (its share of pages it shares with
    others, so a tree's sum does not count Chromium's shared pages once per process)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _tree_rss(pid: int) -> int:
    """Memory of ``pid`` and every process below it: the sum of their PSS (from /proc; 0 if
    gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _pss(current)
        todo += children.get(current, [])
    return total


def run_measured(command: list[str]) -> tuple[subprocess.CompletedProcess, dict[str, float]]:
    """Run ``command``; its wall seconds, CPU seconds (it and every process it waited for:
    layout workers, Chromium), the largest single process's peak RSS (``wait4``) and the
    whole process tree's peak memory (the sum of its processes' PSS, sampled every 0.2 s)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak_tree = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_tree = max(peak_tree, _tree_rss(proc.pid))
            time.sleep(0.2)
        whole = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())
    return done, {"wall": whole, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": usage.ru_maxrss / 1024, "peak_tree_mb": peak_tree / 2**20}


def plain_read(con, registry, *, pack: str, period: str, repeats: int = 5) -> tuple[float, int]:
    """(median seconds, rows) of a plain DuckDB read of the figures every LCJB's pack shows:
    the pack's indicators at its grain for every LCJB and England and Wales, in every
    breakdown it shows, up to the period, from ``mart.figures`` into polars (as the
    gateway reads)."""
    from cjsdash.exports.pack_inputs import resolve_period
    from cjsdash.exports.packs import resolve_items
    from metrics import views

    chosen = load_pack(pack)
    choice = resolve_period(period, default_grain=chosen.grain)
    items = [i for s in chosen.sections for i in resolve_items(chosen, s, registry)]
    indicators = sorted({i.indicator for i in items})
    breakdowns = sorted({""} | {i.by for i in items if i.by})
    areas = [a.code for a in views.list_areas(con) if a.kind == "lcjb"] + [views.NATIONAL]
    sql = ("SELECT * FROM mart.figures WHERE grain = ? AND list_contains(?, indicator) "
           "AND list_contains(?, by_breakdown) AND list_contains(?, area_code) "
           "AND (CAST(? AS DATE) IS NULL OR period_end <= CAST(? AS DATE))")
    params = [choice.grain, indicators, breakdowns, areas, choice.end, choice.end]
    times, rows = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        rows = con.sql(sql, params=params).pl().height
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def measure_all_areas(con, registry, *, db: Path, pack: str, period: str, formats: str,
                      jobs: int | None, breakdown: int, tmp: Path) -> None:
    """Issue 14: `cjsdash export pack --area all` in a fresh process, against a plain DuckDB
    read of the same figures, and where a pack's time goes."""
    load = os.getloadavg()
    print(f"every LCJB, pack '{pack}', {period}, formats {formats}; {os.cpu_count()} cores, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    out = tmp / "all"
    command = [sys.executable, "-m", "cjsdash.cli", "export", "pack", "--area", "all",
               "--period", period, "--pack", pack, "--format", formats, "--out", str(out),
               "--db", str(db)] + ([] if jobs is None else ["--jobs", str(jobs)])
    done, run = run_measured(command)
    packs = [m.groups() for line in done.stdout.splitlines() if (m := PACK_LINE.match(line))]
    failed = [p for p in packs if p[2] == "FAILED"]
    summary = [line for line in done.stdout.splitlines() if " packs (" in line]
    print(f"exit {done.returncode}; {len(packs)} packs, {len(failed)} failed")
    print(summary[0] if summary else done.stderr[-2000:])
    verdict = "ok" if run["wall"] < 300 and not failed and done.returncode == 0 else "OVER"
    print(f"whole run {run['wall']:6.1f} s (target < 300 s: {verdict}); CPU {run['cpu']:6.1f} s "
          f"(the command, its layout workers and Chromium; {run['cpu'] / run['wall']:.2f} "
          f"cores busy); peak RSS {run['peak_rss_mb']:,.0f} MB (largest process), "
          f"{run['peak_tree_mb']:,.0f} MB PSS (the whole tree with Chromium and the layout "
          "workers, sampled)")
    for fmt in formats.split(","):
        times = [float(p[3]) for p in packs if p[1] == fmt and p[2] == "wrote"]
        if times:
            print(f"{fmt:<5} {len(times):3d} packs: p50 {statistics.median(times):5.2f} s, "
                  f"p95 {_percentile(times, 0.95):5.2f} s, max {max(times):5.2f} s "
                  "(each pack's own work: content, render, layout, write; PDFs include "
                  "waiting for a layout worker)")
    files = sorted(out.glob("*")) if out.exists() else []
    size = sum(f.stat().st_size for f in files)
    modes = sorted({oct(f.stat().st_mode & 0o777) for f in files})
    print(f"{len(files)} files, {size / 1e6:.1f} MB, modes {', '.join(modes) or '-'}")
    plain, rows = plain_read(con, registry, pack=pack, period=period)
    contents = _all_contents(con, registry, pack=pack, period=period)
    print(f"plain DuckDB read of the same figures (every LCJB and England and Wales, "
          f"{rows:,} rows): {plain * 1000:.1f} ms; every area's pack content in this process "
          f"{contents:.2f} s ({contents / plain:,.0f}x); the whole run {run['wall'] / plain:,.0f}x")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    if breakdown:
        _stages(con, registry, pack=pack, period=period, areas=breakdown)


def _all_contents(con, registry, *, pack: str, period: str) -> float:
    """Seconds to build every LCJB's pack content once (the figures each pack shows), after
    one area's content has warmed the caches the batch also shares."""
    from metrics import views

    chosen = load_pack(pack)
    lcjbs = [a for a in views.list_areas(con) if a.kind == "lcjb"]
    build_content(con, registry, chosen, area=lcjbs[0].code, period=period)
    started = time.perf_counter()
    for area in lcjbs:
        build_content(con, registry, chosen, area=area.code, period=period)
    return time.perf_counter() - started


def _stages(con, registry, *, pack: str, period: str, areas: int) -> None:
    """CPU seconds of each stage of a pack (this process; Chromium's own CPU not counted),
    with every area's figures computed first as the batch does."""
    from cjsdash.exports.pack_inputs import resolve_period
    from cjsdash.exports.pdf import render_html
    from cjsdash.exports.pdf_layout import layout_pdf
    from cjsdash.exports.svg_compact import compact_svg
    from cjsdash.exports.visuals import TREND_HEIGHT, TREND_WIDTH, item_figure
    from cjsdash.exports.xlsx import render_xlsx
    from metrics import views

    chosen = load_pack(pack)
    resolve_period(period, default_grain=chosen.grain)  # refuses a bad period first
    images.start_browser()
    stages: dict[str, list[float]] = {}

    def timed(name: str, fn):
        cpu, wall = time.process_time(), time.perf_counter()
        value = fn()
        stages.setdefault(name, []).append(time.perf_counter() - wall)
        stages.setdefault(name + " (CPU)", []).append(time.process_time() - cpu)
        return value

    lcjbs = [a for a in views.list_areas(con) if a.kind == "lcjb"][:areas]
    for area in lcjbs:
        content = timed("content", lambda a=area: build_content(con, registry, chosen,
                                                                 area=a.code, period=period))
        timed("xlsx render", lambda c=content: render_xlsx(c))
        figures = timed("chart figures", lambda c=content: {
            k: f for k, i in enumerate(c.items) if (f := item_figure(i, c)) is not None})
        drawn = timed("chart SVGs (kaleido)", lambda f=figures: images.render_images(
            list(f.values()), fmt="svg", width=TREND_WIDTH, height=TREND_HEIGHT))
        svgs = timed("SVG compaction", lambda f=figures, d=drawn: {
            k: compact_svg(svg) for k, svg in zip(f, d, strict=True)})
        html = timed("pdf html", lambda c=content, s=svgs: render_html(c, s))
        timed("pdf layout (WeasyPrint)", lambda h=html: layout_pdf(h))
    print(f"\nwhere a pack's time goes (median of {len(lcjbs)} areas; wall and this "
          "process's CPU):")
    for name, values in stages.items():
        if not name.endswith("(CPU)"):
            print(f"  {name:<26} {statistics.median(values):6.2f} s wall, "
                  f"{statistics.median(stages[name + ' (CPU)']):6.2f} s CPU")


if __name__ == "__main__":
    main()
