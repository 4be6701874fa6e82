"""Memory of ``cjsdash serve --workers N``: the parent's and every worker's, after start.

For each N, starts ``cjsdash serve --workers N`` over ``--db`` (the demo warehouse) on a free
port, waits until ``/`` answers (and, with N > 1, until every worker is ready), and reads the
resident memory (VmRSS) and the proportional set size (Pss: shared pages divided among the
processes that share them, so the sum is what the machine really gives) of the server's
process and of every process under it; then again after every page has been asked for
``--rounds`` times on fresh connections (by default as many rounds as workers, so that each
worker likely serves every page's HTML: which worker takes a connection is the kernel's choice).
There is no warm-up to wait for: a worker reads the figure mart and computes nothing at
start (issue 14). Measure, don't assert: never part of the test suite.

Usage: ``PYTHONPATH=. python benchmarks/workers_memory.py --db data/cjsdash.duckdb
[--workers 1 2 4] [--rounds N]``
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from serving_process import visit_pages

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _kb(path: str, key: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


def _memory(pid: int) -> list[tuple[int, int, int]]:
    """(pid, RSS MB, PSS MB) of each process of the tree."""
    return [(p, _kb(f"/proc/{p}/status", "VmRSS") // 1024,
             _kb(f"/proc/{p}/smaps_rollup", "Pss") // 1024) for p in _tree(pid)]


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _report(label: str, rows: list[tuple[int, int, int]]) -> None:
    each = ", ".join(f"{rss}/{pss}" for _, rss, pss in rows)
    print(f"  {label}: {len(rows)} processes, RSS {sum(r[1] for r in rows)} MB, "
          f"PSS {sum(r[2] for r in rows)} MB  (RSS/PSS MB each, parent first: {each})",
          flush=True)


def measure(db: Path, workers: int, rounds: int | None, timeout: float) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [
               os.environ.get("PYTHONPATH")])])}
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cjsdash.cli", "serve", "--db", str(db), "--port", str(port),
             "--workers", str(workers), "--log-level", "info"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            def text() -> str:
                return Path(log.name).read_text(errors="replace")

            def until(done: object, what: str) -> None:
                while not done():  # type: ignore[operator]
                    if proc.poll() is not None or time.monotonic() - started > timeout:
                        raise SystemExit(f"{what} not reached:\n{text()[-3000:]}")
                    time.sleep(0.25)

            until(lambda: _answers(port) and (workers == 1 or "workers ready" in text()),
                  "answering")
            print(f"--workers {workers}: answering after "
                  f"{time.monotonic() - started:.1f} s", flush=True)
            _report("after start", _memory(proc.pid))
            visit_pages(port, rounds or workers)
            _report("after the pages", _memory(proc.pid))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, help="rounds of every page (default: workers)")
    parser.add_argument("--timeout", type=float, default=600)
    opts = parser.parse_args()
    for n in opts.workers:
        measure(opts.db, n, opts.rounds, opts.timeout)


if __name__ == "__main__":
    main()
