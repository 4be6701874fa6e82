"""Measure, don't assert: the dashboard server through HTTP, as browsers use it (issue 14).

A black box: it builds (or copies, ``--db``) the demo warehouse in a temporary folder, starts
``python -m cjsdash.cli serve`` in a child process (with ``--workers N`` when ``serve``
offers it) and measures only what a browser sees, so it measures today's server and a
rebuilt one alike:

- cold start: from the process's start until the overview's callback answers with figures;
  then the first call of every callback against the same call warm (ratio; aim ≤ 2×);
- real browser callbacks, recorded by loading every page in headless Chromium for England
  and Wales, LCJBs, a force and a region, by quarter and financial year (saved to, or reused
  from, ``--bodies``), called one at a time (first views, then warm) and replayed by 20 and 50
  concurrent readers (``--readers``) for ``--seconds`` each: p50/p95/p99, errors, throughput;
- an upload of 332,640 rows through the data page's callback while readers replay: their
  p95 during the upload, and the time from the upload's answer until the pages show the new
  figures;
- the server's resident memory (its processes summed) after start, after the first views,
  once idle, and at its peak during the upload;
- for each callback, a plain DuckDB read of the same areas' rows of
  ``core.area_observations`` into polars, in the same run (ratio).

Usage: ``python benchmarks/serving.py [--db PATH] [--workers N] [--seconds 30]
[--readers 20,50] [--bodies bodies.json] [--out serving.json] [--start-only]``
(``--start-only``: the start, memory and first-against-warm calls alone, about a minute). Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

import duckdb
import serving_capture as capture
from serving_process import (
    Client,
    MemorySampler,
    memory_mb,
    serve_options,
    server_env,
    start_server,
    stop_server,
    timed_post,
    wait_idle,
)
from serving_replay import replay, stable_probes, stats, summarise, time_to_visible
from serving_report import markdown
from serving_upload import EXTRACT, revised_extract, send_upload, upload_body
from upload_body_memory import _free_port as free_port

PLAIN = "SELECT * FROM core.area_observations WHERE list_contains($1, area_code)"


def build_warehouse(folder: Path, db: Path | None) -> tuple[Path, float | None]:
    """A copy of ``db``, or the demo warehouse built by ``cjsdash demo --force``."""
    path = folder / "demo.duckdb"
    if db:
        shutil.copy(db, path)
        return path, None
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cjsdash.cli", "demo", "--force"], check=True,
                   env=server_env({"CJSDASH_DB": str(path), "CJSDASH_DATA_DIR": str(folder)}),
                   stdout=subprocess.DEVNULL, timeout=900)
    return path, time.perf_counter() - started


def wait_listening(port: int, child: subprocess.Popen[bytes], limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30):
                return
        except OSError:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start (see its log)") from None
            time.sleep(0.2)


def record_bodies(db: Path, folder: Path, workers: int | None) -> list[dict[str, Any]]:
    port = free_port()
    child = start_server(db, port, folder, workers, folder / "capture-server.log", {})
    try:
        wait_listening(port, child)
        return capture.capture(f"http://127.0.0.1:{port}", capture.page_plan())
    finally:
        stop_server(child)


def plain_reads(db: Path, records: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    """p50 ms of the plain read of each area set the recorded callbacks read."""
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for areas in sorted({tuple(capture.areas_of(r)) for r in records}):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            con.sql(PLAIN, params=[list(areas)]).pl()
            times.append(time.perf_counter() - started)
        out[",".join(areas)] = stats(times)["p50_ms"]
    con.close()
    return out


def cold_start(port: int, child: subprocess.Popen[bytes], body: str, started: float,
               limit_s: float = 300) -> dict[str, float]:
    """Seconds from the process's start until it listens, and until ``body`` (the overview
    with figures) is answered."""
    client, listening = Client(port), None
    while time.monotonic() - started < limit_s and child.poll() is None:
        took, error, _ = timed_post(client, body)
        if error not in ("ConnectionRefusedError",):
            listening = listening or time.monotonic() - started - took
        if error is None:
            client.close()
            return {"listening_s": listening or 0.0, "first_figures_s": time.monotonic() - started,
                    "first_call_ms": took * 1000}
        time.sleep(0.05)
    raise RuntimeError("no figures from the server (see its log)")


def one_at_a_time(port: int, records: list[dict[str, Any]], repeats: int
                  ) -> dict[str, list[float]]:
    """Every recorded body sent ``repeats`` times, one request at a time: seconds per callback."""
    client, out = Client(port), {}
    for _ in range(repeats):
        for record in records:
            took, error, _ = timed_post(client, record["body"])
            out.setdefault(capture.label(record), []).append(took)
            if error:
                print(f"  error {error}: {capture.label(record)} ({record['url']})")
    client.close()
    return out


def upload_phase(port: int, records: list[dict[str, Any]], readers: int, extract: Path,
                 sampler: MemorySampler, folder: Path, visible_s: float) -> dict[str, Any]:
    """Readers replay while the revised extract is uploaded; then poll until it shows."""
    revised = folder / "revised_board_extract.csv"
    rows = revised_extract(extract, revised, vintage=f"serving-bench-{int(time.time())}")
    body = upload_body(port, revised)
    probes = stable_probes(port, records)
    stop, samples = threading.Event(), []
    worker = threading.Thread(target=lambda: samples.extend(
        replay(port, records, readers, seconds=1800, stop=stop)), daemon=True)
    worker.start()
    time.sleep(3)
    sent = time.monotonic()
    status, line = send_upload(port, body)
    answered = time.monotonic()
    visible = time_to_visible(port, probes, answered, visible_s)
    done = time.monotonic()
    time.sleep(2)
    stop.set()
    worker.join()
    seen = [v for v in visible.values() if v is not None]
    return {
        "rows": rows, "bytes": revised.stat().st_size, "readers": readers, "status": status,
        "outcome": line, "upload_s": answered - sent,
        "during_upload": summarise(samples, sent, answered),
        "after_upload": summarise(samples, answered, done),
        "visible_s": visible, "all_visible_s": max(seen) if len(seen) == len(visible) else None,
        "probes": len(probes), "peak_rss_mb": sampler.peak(sent, done),
        "peak_pss_mb": sampler.peak(sent, done, pss=True) if sampler.pss else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a warehouse to copy (default: build the demo)")
    parser.add_argument("--extract", type=Path, help="the 332,640-row board extract to revise "
                        "and upload (default: generated/ beside the warehouse)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes, when `serve --workers` exists (default: one, "
                        "as `serve` runs; decision 55)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--readers", default="20,50")
    parser.add_argument("--upload-readers", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="warm calls of each body")
    parser.add_argument("--bodies", type=Path, help="recorded callbacks: reused if the file "
                        "exists, else recorded into it")
    parser.add_argument("--visible-timeout", type=float, default=120,
                        help="seconds to wait for the upload's figures to show")
    parser.add_argument("--start-only", action="store_true",
                        help="stop after the start, first calls and warm calls (about 1 "
                        "minute): no replay, no upload")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir())
                        / "cjsdash-serving.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cjsdash-serving-"))
    try:
        result = run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print("\n" + markdown(result))
    print(f"\nJSON: {args.out}")


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    db, build_s = build_warehouse(folder, args.db)
    extract = args.extract or (args.db or db).parent / EXTRACT
    workers = args.workers if "--workers" in serve_options() else None
    made = f"built in {build_s:.1f} s" if build_s else f"copied from {args.db}"
    print(f"warehouse {db} ({made}); serve --workers: "
          f"{workers or 'not offered, one process'}", flush=True)
    if args.bodies and args.bodies.exists():
        records = capture.load(args.bodies)
    else:
        print("recording the browser's callbacks:", flush=True)
        records = record_bodies(db, folder, workers)
        capture.save(records, args.bodies or args.out.with_suffix(".bodies.json"))
    print(f"{len(records)} callback requests, "
          f"{len({capture.label(r) for r in records})} callbacks", flush=True)
    plain = plain_reads(db, records, repeats=7)
    labels = list(dict.fromkeys(capture.label(r) for r in records))
    first = {name: next(r for r in records if capture.label(r) == name) for name in labels}
    overview = max((r for r in records if r["page"] == "/" and "area=K04000001" in r["url"]),
                   key=lambda r: r.get("answer_bytes", 0))

    port = free_port()
    started = time.monotonic()
    child = start_server(db, port, folder, workers, folder / "server.log")
    sampler = MemorySampler(child.pid, pss=bool(workers and workers > 1))  # Pss: shared once
    result: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "build_s": build_s, "workers": workers or 1,
                              "requests_recorded": len(records), "callbacks": labels,
                              "load_average_at_start": os.getloadavg()[0]}
    try:
        result["cold_start"] = cold_start(port, child, overview["body"], started)
        result["memory_after_start"] = memory_mb(child.pid)
        print(f"cold start: {result['cold_start']}", flush=True)
        cold = one_at_a_time(port, list(first.values()), 1)
        views = one_at_a_time(port, records, 1)
        result["memory_after_first_views"] = memory_mb(child.pid)
        result["idle_after_s"] = wait_idle(child.pid)
        result["memory_idle"] = memory_mb(child.pid)
        print("first views done; measuring warm calls", flush=True)
        warm_first = one_at_a_time(port, list(first.values()), args.repeats)
        warm = one_at_a_time(port, records, args.repeats)
        result["per_callback"] = {name: {
            "cold_ms": cold[name][0] * 1000,
            "warm_same_call_ms": stats(warm_first[name])["p50_ms"],
            "first_views": stats(views[name]), "warm": stats(warm[name]),
            "plain_duckdb_p50_ms": median(plain[",".join(capture.areas_of(r))] for r in records
                                          if capture.label(r) == name),
        } for name in labels}
        if not args.start_only:
            result["replay"] = {}
            for readers in (int(n) for n in args.readers.split(",")):
                print(f"replaying with {readers} readers for {args.seconds:.0f} s", flush=True)
                samples = replay(port, records, readers, seconds=args.seconds)
                result["replay"][str(readers)] = summarise(samples)
            result["memory_before_upload"] = memory_mb(child.pid)
            print("upload with readers replaying", flush=True)
            result["upload"] = upload_phase(port, records, args.upload_readers, extract, sampler,
                                            folder, args.visible_timeout)
            result["memory_end"] = memory_mb(child.pid)
        result["peak_rss_sampled_mb"] = sampler.peak(started, time.monotonic())
    finally:
        sampler.stop()
        stop_server(child)
    result["plain_duckdb_p50_ms"] = plain
    result["load_average_at_end"] = os.getloadavg()[0]
    return result


if __name__ == "__main__":
    main()
