"""The dashboard server as a black box: start ``cjsdash serve`` in a child process, read the
memory and CPU of it and its children from ``/proc``, and send it callback requests.

Used by :mod:`serving` (``benchmarks/serving.py``); never part of the test suite.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from isal import igzip

ROOT = Path(__file__).resolve().parents[1]
CALLBACK_PATH = "/_dash-update-component"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def serve_options() -> str:
    """The help text of ``cjsdash serve`` in the code under test (to see what it offers)."""
    out = subprocess.run([sys.executable, "-m", "cjsdash.cli", "serve", "--help"],
                         env=server_env({}), capture_output=True, text=True, timeout=120)
    return out.stdout


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment, with the source tree the benchmark sits in first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def start_server(db: Path, port: int, data_dir: Path, workers: int | None, log: Path,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m cjsdash.cli serve --db DB --port PORT --log-level warning [--workers N]``."""
    command = [sys.executable, "-m", "cjsdash.cli", "serve", "--db", str(db), "--port",
               str(port), "--log-level", "warning"]
    if workers:
        command += ["--workers", str(workers)]
    env = server_env({"CJSDASH_DB": str(db), "CJSDASH_DATA_DIR": str(data_dir),
                      **(extra_env or {})})
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT)


def stop_server(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=30)


PAGES = ("/", "/indicator", "/baseline", "/disproportionality", "/data", "/export")
"""Every page of the dashboard, as a browser first asks for it."""


def visit_pages(port: int, rounds: int = 1) -> None:
    """Every page once a round, each on a fresh connection (so that with several workers
    each is likely to serve every page: which takes a connection is the kernel's choice)."""
    for _ in range(rounds):
        for page in PAGES:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request("GET", page)
                response = conn.getresponse()
                response.read()
            finally:
                conn.close()
            if response.status != 200:
                raise RuntimeError(f"{page}: HTTP {response.status}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a server's workers), from ``/proc``."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return out


def _kb(path: Path, keys: tuple[str, ...]) -> dict[str, int]:
    found = dict.fromkeys(keys, 0)
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            if key in found:
                found[key] = int(value.split()[0])
    except OSError:
        pass
    return found


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of the server and its children, MB: the sum of VmRSS (shared pages
    counted in each process), of Pss (shared pages split between them), and of VmHWM (each
    process's own peak so far: an upper bound of the tree's peak)."""
    rss = hwm = pss = 0
    for p in process_tree(pid):
        status = _kb(Path(f"/proc/{p}/status"), ("VmRSS", "VmHWM"))
        rss, hwm = rss + status["VmRSS"], hwm + status["VmHWM"]
        pss += _kb(Path(f"/proc/{p}/smaps_rollup"), ("Pss",))["Pss"]
    return {"rss_mb": rss / 1024, "pss_mb": pss / 1024, "hwm_mb": hwm / 1024,
            "processes": len(process_tree(pid))}


def rss_mb(pid: int) -> float:
    """The sum of VmRSS of the server and its children, MB."""
    return sum(_kb(Path(f"/proc/{p}/status"), ("VmRSS",))["VmRSS"]
               for p in process_tree(pid)) / 1024


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS_PER_S


def wait_idle(pid: int, *, below: float = 0.1, for_s: float = 3.0, limit_s: float = 180.0
              ) -> float:
    """Seconds until the server used under ``below`` of a core for ``for_s`` seconds on end
    (its start-up work and first views done); ``limit_s`` at most."""
    started = time.monotonic()
    quiet_since, last = None, cpu_seconds(pid)
    while time.monotonic() - started < limit_s:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        busy, last = (now - last) / 0.5, now
        if busy < below:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= for_s:
                return quiet_since - started
        else:
            quiet_since = None
    return limit_s


@dataclass
class MemorySampler:
    """Samples the server's resident memory (sum of VmRSS) every ``every`` seconds; with
    ``pss``, the sum of Pss as well (shared pages split between the processes: what several
    workers hold together)."""

    pid: int
    every: float = 0.25
    pss: bool = False
    samples: list[tuple[float, float]] = field(default_factory=list)
    pss_samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.pss:
                now, at = memory_mb(self.pid), time.monotonic()
                self.samples.append((at, now["rss_mb"]))
                self.pss_samples.append((at, now["pss_mb"]))
            else:  # VmRSS alone: /proc/PID/status, not the page walk smaps_rollup costs
                self.samples.append((time.monotonic(), rss_mb(self.pid)))

    def peak(self, start: float, end: float, *, pss: bool = False) -> float:
        return max((mb for t, mb in (self.pss_samples if pss else self.samples)
                    if start <= t <= end), default=0.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Client:
    """One keep-alive connection sending callback bodies, as a browser tab does (taking
    gzip, as every browser does: the server's compression is in the times, decision 47;
    inflated with ISA-L, a third of zlib's time, as the readers share the server's cores)."""

    def __init__(self, port: int, timeout: float = 120.0) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last_cache: str | None = None  # the last answer's X-Cjsdash-Cache, if any

    def post(self, body: bytes | str, path: str = CALLBACK_PATH) -> tuple[int, bytes]:
        data = body.encode() if isinstance(body, str) else body
        for attempt in (1, 2):  # a kept-alive connection the server closed: open a new one
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=data, headers={
                    "Content-Type": "application/json", "Accept": "application/json",
                    "Accept-Encoding": "gzip"})
                response = self.conn.getresponse()
                self.last_cache = response.getheader("X-Cjsdash-Cache")
                payload = response.read()
                if response.getheader("Content-Encoding") == "gzip":  # ISA-L: the reader's
                    payload = igzip.decompress(payload)  # share of the 2 cores kept small
                return response.status, payload
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def failure(status: int, payload: bytes) -> str | None:
    """Why an answer is an error: not 200/204 (204: the callback chose not to update), or a
    200 that is not a Dash callback answer; ``None`` for a good answer."""
    if status == 204:
        return None
    if status != 200:
        return f"HTTP {status}"
    try:
        answer = json.loads(payload)
    except ValueError:
        return "not JSON"
    if not isinstance(answer, dict) or ("response" not in answer and "multi" not in answer):
        return "not a callback answer"
    return None


def timed_post(client: Client, body: str) -> tuple[float, str | None, bytes]:
    """(seconds, error or None, payload) of one callback request."""
    started = time.perf_counter()
    try:
        status, payload = client.post(body)
    except OSError as exc:
        client.close()
        return time.perf_counter() - started, type(exc).__name__, b""
    return time.perf_counter() - started, failure(status, payload), payload
