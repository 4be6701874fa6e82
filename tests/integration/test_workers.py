"""``cjsdash serve --workers N`` (cjsdash.workers), with real processes on a free port: the
dashboard answers pages and callbacks from distinct workers, a killed worker is replaced,
SIGTERM stops everything, and a worker that cannot start stops the server with an error."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from cjsdash.workers import WORKER_HEADER, Supervisor, WorkersFailed, bind
from ingest.pipeline import ingest_paths
from tests.conftest import write_csv
from tests.integration.served_app import FIRST, _free_port, body_for, parallel_first_requests

ROOT = Path(__file__).resolve().parents[2]
START_S = 240  # workers import the whole app after the fork, on a busy 2-core machine


class Server:
    """A server process started by the test, with its output in files."""

    def __init__(self, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.log = tmp / f"server-{self.port}.log"
        full_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *[a.replace("{port}", str(self.port)) for a in args]],
                stdout=out, stderr=subprocess.STDOUT, env=full_env, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_answering(self, timeout: float = START_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"the server exited:\n{self.output()[-3000:]}"
            try:
                if self.get("/")[0] == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer:\n{self.output()[-3000:]}"
            time.sleep(0.2)

    def workers(self) -> set[int]:
        """The pids of the server's children (its workers)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return {int(p) for p in path.read_text().split()}

    def answering_pids(self, want: Callable[[set[int]], bool], timeout: float = 60,
                       call: Callable[[], tuple[int, dict[str, str], bytes]] | None = None
                       ) -> set[int]:
        """Worker pids seen answering (concurrently, on fresh connections) until ``want``."""
        seen: set[int] = set()
        deadline = time.monotonic() + timeout
        lock = threading.Lock()

        def one() -> None:
            status, headers, body = (call or (lambda: self.get("/")))()
            assert status == 200, body[:300]
            with lock:
                seen.add(int(headers[WORKER_HEADER]))

        while not want(seen) and time.monotonic() < deadline:
            threads = [threading.Thread(target=one) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
        return seen

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


@pytest.fixture
def hello(tmp_path: Path) -> Iterator[Server]:
    server = Server(["-m", "cjsdash.workers", "--port", "{port}", "--workers", "2",
                     "tests.integration.worker_apps:hello"], tmp_path)
    try:
        server.wait_answering(60)
        yield server
    finally:
        server.stop()


def test_two_workers_answer_and_a_killed_one_is_replaced(hello: Server) -> None:
    first = hello.workers()
    assert len(first) == 2
    assert hello.answering_pids(lambda seen: seen == first) == first
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while len(now := hello.workers()) < 2 or victim in now:
        assert time.monotonic() < deadline, hello.output()
        time.sleep(0.1)
    replacement = (now - first).pop()
    assert hello.answering_pids(lambda seen: replacement in seen) >= {replacement}
    assert victim not in hello.answering_pids(lambda seen: seen == now, timeout=10)
    assert f"(pid {victim}) was killed by SIGKILL" in hello.output()


def test_sigterm_stops_every_worker_within_seconds(hello: Server) -> None:
    workers = hello.workers()
    started = time.monotonic()
    hello.proc.send_signal(signal.SIGTERM)
    assert hello.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 8
    assert all(_gone(pid) for pid in workers)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", hello.port), timeout=5)
    assert "SIGTERM: stopping the workers" in hello.output()


def test_workers_stop_when_their_parent_is_killed(hello: Server) -> None:
    workers = hello.workers()
    os.kill(hello.proc.pid, signal.SIGKILL)
    hello.proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while not all(_gone(pid) for pid in workers):
        assert time.monotonic() < deadline, "the workers of a killed parent still run"
        time.sleep(0.1)


def test_workers_that_cannot_start_stop_the_server_with_an_error(tmp_path: Path) -> None:
    server = Server(["-m", "cjsdash.workers", "--port", "{port}", "--workers", "2",
                     "tests.integration.worker_apps:broken"], tmp_path)
    try:
        assert server.proc.wait(timeout=60) == 1
    finally:
        server.stop()
    output = server.output()
    assert "RuntimeError: this app cannot be built" in output
    assert "exited with status 1 before it was ready" in output
    assert "5 workers in a row died within 30 s of starting, so the workers are stopped" \
        in output


def test_workers_that_never_get_ready_are_killed_then_the_server_stops(tmp_path: Path) -> None:
    server = Server(["-m", "cjsdash.workers", "--port", "{port}", "--workers", "2",
                     "--start-timeout", "0.5", "tests.integration.worker_apps:stuck"], tmp_path)
    try:
        assert server.proc.wait(timeout=90) == 1
    finally:
        server.stop()
    output = server.output()
    assert output.count("did not start within 0.5 s: killing it") >= 5
    assert "was killed by SIGKILL before it was ready" in output
    assert "5 workers in a row died" in output


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server(["-m", "cjsdash.workers", "--port", str(port),
                         "tests.integration.worker_apps:hello"], tmp_path)
        assert server.proc.wait(timeout=60) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in server.output()


def test_the_parent_refuses_to_fork_once_it_runs_threads() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    sock = bind("127.0.0.1", 0)
    try:
        with pytest.raises(WorkersFailed, match=r"already runs \d+ threads"):
            Supervisor(lambda: None, sock, workers=2, threads=1,
                       max_request_body_size=1024).run()
    finally:
        stop.set()
        thread.join()
        sock.close()


# The dashboard itself, served by `cjsdash serve --workers 2` over a small warehouse.

@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("workers")
    db = root / "cjsdash.duckdb"
    warehouse = Warehouse(db)
    with warehouse.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(root / "first.csv", FIRST)])
    warehouse.close()
    server = Server(["-m", "cjsdash.cli", "serve", "--db", str(db), "--port", "{port}",
                     "--workers", "2", "--threads", "4", "--log-level", "warning"], root,
                    env={"CJSDASH_DATA_DIR": str(root / "data")})
    try:
        server.wait_answering()
        yield server
    finally:
        server.stop()


def test_a_worker_app_answers_concurrent_first_callbacks(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight callbacks at once as a fresh worker's first requests: none is refused."""
    import dash
    from dash import _callback as dash_callback

    from cjsdash.core.config import get_settings
    from cjsdash.worker_app import dashboard

    db = tmp_path / "cjsdash.duckdb"
    warehouse = Warehouse(db)
    with warehouse.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp_path / "first.csv", FIRST)])
    warehouse.close()
    monkeypatch.setenv("CJSDASH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        app = dashboard(str(db), "127.0.0.1", "warning")
        # the data page's tables: a page's callback, which Dash adds to the app on setup
        known = {**dash_callback.GLOBAL_CALLBACK_MAP, **dash.get_app().callback_map}
        output, spec = next((k, v) for k, v in known.items()
                            if v["inputs"] and v["inputs"][0]["id"] == "data-version")
        body = body_for(output, spec, {("inputs", 0): 1, ("state", 0): "all"})
        answers = parallel_first_requests(app, body)
        assert [a for a in answers if a[0] != 200] == [] and len(answers) == 8
    finally:
        get_settings.cache_clear()


def _callback(server: Server, first_input: str) -> tuple[str, dict[str, Any]]:
    """A server callback from the app's own callback map (``/_dash-dependencies``)."""
    status, _, text = server.get("/_dash-dependencies")
    assert status == 200
    for spec in json.loads(text):
        if spec["inputs"] and spec["inputs"][0]["id"] == first_input:
            return spec["output"], spec
    raise LookupError(first_input)


def test_the_dashboards_parent_stays_lean(dashboard: Server) -> None:
    """The parent forks from a fresh interpreter: one thread, no polars, no warehouse open."""
    parent = dashboard.proc.pid
    assert len(os.listdir(f"/proc/{parent}/task")) == 1
    assert "polars" not in Path(f"/proc/{parent}/maps").read_text()
    opened = {os.readlink(f"/proc/{parent}/fd/{fd}") for fd in os.listdir(f"/proc/{parent}/fd")}
    assert not any("duckdb" in path for path in opened), opened


def test_dashboard_pages_and_callbacks_come_from_two_workers(dashboard: Server) -> None:
    workers = dashboard.workers()
    assert len(workers) == 2
    assert dashboard.answering_pids(lambda seen: seen == workers) == workers
    output, spec = _callback(dashboard, "data-version")  # the data page's tables
    body = json.dumps(body_for(output, spec, {("inputs", 0): 1, ("state", 0): "all"})).encode()
    texts: list[bytes] = []

    def refresh() -> tuple[int, dict[str, str], bytes]:
        answer = dashboard.get("/_dash-update-component", "POST", body,
                               {"Content-Type": "application/json"})
        texts.append(answer[2])
        return answer

    assert dashboard.answering_pids(lambda seen: seen == workers, call=refresh) == workers
    assert all(b"1 file loaded (0 refused)" in t for t in texts), texts[0][:500]


def test_a_killed_dashboard_worker_is_replaced(dashboard: Server) -> None:
    workers = dashboard.workers()
    victim = max(workers)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + START_S
    while True:
        now = dashboard.workers()
        if len(now) == 2 and victim not in now and dashboard.answering_pids(
                lambda seen, now=now: seen == now, timeout=5) == now:
            break
        assert time.monotonic() < deadline, dashboard.output()
        time.sleep(0.5)


def test_sigterm_stops_the_dashboard_within_seconds(dashboard: Server) -> None:
    workers = dashboard.workers()
    started = time.monotonic()
    dashboard.proc.send_signal(signal.SIGTERM)
    assert dashboard.proc.wait(timeout=20) == 0
    assert time.monotonic() - started < 8
    assert all(_gone(pid) for pid in workers)
    output = dashboard.output()
    assert "2 workers ready" in output and "Traceback" not in output
