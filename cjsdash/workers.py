"""``cjsdash serve --workers N``: N processes answering on one listening socket (pre-fork).

The parent binds the socket, then forks the workers; each builds its app (``make_app()``)
after the fork, so no DuckDB connection, thread or cache crosses a fork, and serves it with
waitress on the inherited socket (the kernel hands each connection to one of them). The
parent only supervises: it starts a worker again when one dies (after a back-off; a crash
loop, ``max_quick_deaths`` deaths in a row of workers younger than ``healthy_after_s``,
stops everything with an error and a non-zero exit), passes SIGTERM and SIGINT (Ctrl-C) on
to the workers as SIGTERM, waits for them and exits. A worker whose parent is gone (killed
with SIGKILL) stops by itself within a second.

The parent must fork while it runs a single thread: polars and numpy start thread pools
when imported, and a forked child of a process that has them can deadlock. So the parent
imports nothing but the standard library: ``cjsdash serve`` prepares the warehouse, then
replaces itself with a fresh interpreter running this module (:func:`exec_workers`), whose
workers import the app (``module:function``) after the fork. No dependency beyond waitress.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

WSGIApp = Callable[..., Any]
WORKER_HEADER = "X-Cjsdash-Worker"
"""The response header naming the pid of the worker that answered (only with workers)."""


@dataclass(frozen=True)
class Supervision:
    """How the parent looks after its workers."""

    start_timeout_s: float = 180.0  # a worker must have built its app within this
    healthy_after_s: float = 30.0  # a worker that dies younger counts toward a crash loop
    max_quick_deaths: int = 5  # in a row: stop every worker, exit non-zero
    first_backoff_s: float = 0.5  # doubled for each quick death in a row
    max_backoff_s: float = 10.0
    stop_timeout_s: float = 10.0  # after SIGTERM, what still runs gets SIGKILL


class WorkersFailed(RuntimeError):
    """The workers could not be started (or kept running)."""


def _say(line: str) -> None:
    print(f"cjsdash workers: {line}", file=sys.stderr, flush=True)


def threads_in_this_process() -> int:
    """Operating-system threads of this process (Python's and native ones alike)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening socket the workers share (IPv4 or IPv6 as ``host`` resolves)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def tag_worker(app: WSGIApp) -> WSGIApp:
    """``app`` with the ``X-Cjsdash-Worker: <pid>`` header on every response."""
    header = (WORKER_HEADER, str(os.getpid()))

    def tagged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, header], exc_info)
        return app(environ, start)

    return tagged


def _stop_on_term(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)  # waitress's loop ends on it, letting its threads finish (5 s)


def _stop_when_orphaned(parent: int, every_s: float = 1.0) -> None:
    """SIGTERM this worker once its parent is gone (killed with SIGKILL, say), so no worker
    serves on unsupervised."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="cjsdash-parent-watch", daemon=True).start()


def _run_worker(sock: socket.socket, make_app: Callable[[], WSGIApp], threads: int,
                max_request_body_size: int, ready: int, inherited: Iterable[int]) -> NoReturn:
    """A forked worker: build the app, say ready, serve until SIGTERM; never returns."""
    code = 1
    parent = os.getppid()
    try:
        signal.set_wakeup_fd(-1)
        for fd in inherited:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, _stop_on_term)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent sends SIGTERM
        _stop_when_orphaned(parent)
        from waitress import create_server

        server = create_server(tag_worker(make_app()), sockets=[sock], threads=threads,
                               max_request_body_size=max_request_body_size)
        os.write(ready, b"1")
        os.close(ready)
        server.run()  # returns after SIGTERM once its request threads have finished
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code in (None, 0) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


@dataclass
class _Worker:
    slot: int
    pid: int
    started: float
    ready_fd: int | None
    ready: bool = False
    killed: bool = False  # for not starting in time


def _how_it_ended(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class Supervisor:
    """The parent of the workers (see the module's note); :meth:`run` returns the exit code."""

    def __init__(self, make_app: Callable[[], WSGIApp], sock: socket.socket, *, workers: int,
                 threads: int, max_request_body_size: int,
                 supervision: Supervision = Supervision(),
                 say: Callable[[str], None] = _say) -> None:
        if workers < 1 or threads < 1:
            raise ValueError("workers and threads must be at least 1")
        self.make_app, self.sock, self.workers, self.threads = make_app, sock, workers, threads
        self.max_request_body_size = max_request_body_size
        self.policy, self.say = supervision, say
        self.children: dict[int, _Worker] = {}
        self.due: dict[int, float] = {}  # slot → when to start its worker
        self.quick_deaths = 0
        self.stop_signal: int | None = None
        self.failure: str | None = None
        self._wake: tuple[int, int] = (-1, -1)

    def run(self) -> int:
        if (running := threads_in_this_process()) > 1:
            raise WorkersFailed(
                f"cannot fork workers safely: this process already runs {running} threads "
                "(polars and numpy start theirs when imported); start the workers from a "
                "fresh process: python -m cjsdash.workers")
        self._wake = os.pipe()
        for fd in self._wake:
            os.set_blocking(fd, False)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        before = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        previous_wakeup = signal.set_wakeup_fd(self._wake[1], warn_on_full_buffer=False)
        try:
            for slot in range(self.workers):
                self._spawn(slot)
            self._supervise()
        finally:
            self._stop_all()
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in before.items():
                signal.signal(sig, handler)
            for fd in self._wake:
                os.close(fd)
        if self.failure:
            self.say(self.failure)
            return 1
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD and self.stop_signal is None:
            self.stop_signal = signum

    def _supervise(self) -> None:
        announced = False
        while self.stop_signal is None and self.failure is None:
            self._wait_for_news()
            self._reap()
            self._start_due()
            if not announced and len(self.children) == self.workers and all(
                    w.ready for w in self.children.values()):
                pids = ", ".join(str(w.pid) for w in self.children.values())
                self.say(f"{self.workers} workers ready (pids {pids}; parent {os.getpid()})")
                announced = True
        if self.stop_signal is not None:
            self.say(f"{signal.Signals(self.stop_signal).name}: stopping the workers")

    def _wait_for_news(self) -> None:
        now = time.monotonic()
        deadlines = [*self.due.values(), *(w.started + self.policy.start_timeout_s
                                           for w in self.children.values() if not w.ready)]
        timeout = max(0.0, min([now + 1.0, *deadlines]) - now)
        pending = [w.ready_fd for w in self.children.values() if w.ready_fd is not None]
        readable, _, _ = select.select([self._wake[0], *pending], [], [], timeout)
        if self._wake[0] in readable:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake[0], 512):
                    pass
        for worker in list(self.children.values()):
            if worker.ready_fd is not None and worker.ready_fd in readable:
                worker.ready = os.read(worker.ready_fd, 1) == b"1"  # b"": it died first
                os.close(worker.ready_fd)
                worker.ready_fd = None
            elif not worker.ready and not worker.killed and time.monotonic() - \
                    worker.started > self.policy.start_timeout_s:
                worker.killed = True
                self.say(f"worker {worker.slot} (pid {worker.pid}) did not start within "
                         f"{self.policy.start_timeout_s:g} s: killing it")
                self._kill(worker.pid, signal.SIGKILL)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.children.pop(pid, None)
            if worker is not None:
                if worker.ready_fd is not None:
                    os.close(worker.ready_fd)
                self._died(worker, status)

    def _died(self, worker: _Worker, status: int) -> None:
        if self.stop_signal is not None:
            return
        lived = time.monotonic() - worker.started
        when = f"after {lived:.1f} s" if worker.ready else "before it was ready"
        what = f"worker {worker.slot} (pid {worker.pid}) {_how_it_ended(status)} {when}"
        if worker.ready and lived >= self.policy.healthy_after_s:
            self.quick_deaths = 0
        else:
            self.quick_deaths += 1
        if self.quick_deaths >= self.policy.max_quick_deaths:
            self.failure = (
                f"{what}: {self.quick_deaths} workers in a row died within "
                f"{self.policy.healthy_after_s:.0f} s of starting, so the workers are stopped "
                "(their errors are above)")
            return
        delay = min(self.policy.first_backoff_s * 2 ** max(self.quick_deaths - 1, 0),
                    self.policy.max_backoff_s)
        self.say(f"{what}; starting another in {delay:.1f} s")
        self.due[worker.slot] = time.monotonic() + delay

    def _start_due(self) -> None:
        now = time.monotonic()
        for slot, when in sorted(self.due.items()):
            if when <= now and self.stop_signal is None and self.failure is None:
                del self.due[slot]
                self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        ready_r, ready_w = os.pipe()
        inherited = [*self._wake, ready_r, *(w.ready_fd for w in self.children.values()
                                             if w.ready_fd is not None)]
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # or the child would print the parent's buffered text again
        pid = os.fork()
        if pid == 0:
            _run_worker(self.sock, self.make_app, self.threads, self.max_request_body_size,
                        ready_w, inherited)
        os.close(ready_w)
        self.children[pid] = _Worker(slot, pid, time.monotonic(), ready_r)

    @staticmethod
    def _kill(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _stop_all(self) -> None:
        """SIGTERM to every worker; SIGKILL to those still running after the stop timeout."""
        for pid in self.children:
            self._kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.policy.stop_timeout_s
        while self.children and time.monotonic() < deadline:
            for pid in list(self.children):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    worker = self.children.pop(pid)
                    if worker.ready_fd is not None:
                        os.close(worker.ready_fd)
            time.sleep(0.02)
        for pid, worker in list(self.children.items()):
            self.say(f"worker {worker.slot} (pid {pid}) did not stop within "
                     f"{self.policy.stop_timeout_s:.0f} s: killing it")
            self._kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if worker.ready_fd is not None:
                os.close(worker.ready_fd)
        self.children.clear()
        self.sock.close()


def app_factory(target: str, args: Sequence[str] = ()) -> Callable[[], WSGIApp]:
    """``make_app`` for ``module:function``: imports and calls it with ``args`` when called
    (in the worker, after the fork)."""
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"expected module:function, got {target!r}")

    def make_app() -> WSGIApp:
        return getattr(importlib.import_module(module), name)(*args)  # type: ignore[no-any-return]

    return make_app


def exec_workers(target: str, args: Sequence[str], *, host: str, port: int, workers: int,
                 threads: int, max_request_body_size: int) -> NoReturn:
    """Replace this process with a fresh interpreter that serves ``target`` with ``workers``
    processes (:func:`main`), importing cjsdash from where this process imported it."""
    here = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
    argv = [sys.executable, "-m", "cjsdash.workers", "--host", host, "--port", str(port),
            "--workers", str(workers), "--threads", str(threads),
            "--max-request-body-size", str(max_request_body_size), target, *args]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execve(sys.executable, argv, env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cjsdash.workers",
        description="Serve a WSGI app from several pre-forked processes on one socket.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-request-body-size", type=int, default=1024 ** 3)
    parser.add_argument("--start-timeout", type=float, default=Supervision.start_timeout_s,
                        help="seconds a worker may take to build its app")
    parser.add_argument("target", help="module:function returning the WSGI app")
    parser.add_argument("args", nargs="*", help="strings passed to the function")
    opts = parser.parse_args(argv)
    try:
        make_app = app_factory(opts.target, opts.args)
        sock = bind(opts.host, opts.port)
    except (ValueError, OSError) as exc:
        _say(f"error: cannot listen on {opts.host}:{opts.port}: {exc}"
             if isinstance(exc, OSError) else f"error: {exc}")
        return 2
    try:
        return Supervisor(make_app, sock, workers=opts.workers, threads=opts.threads,
                          max_request_body_size=opts.max_request_body_size,
                          supervision=Supervision(start_timeout_s=opts.start_timeout)).run()
    except WorkersFailed as exc:
        _say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
