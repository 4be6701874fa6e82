"""The warehouse's inter-process writer lock (cjsdash.core.file_lock), with real processes:
a second writer waits for the first, gives up after its timeout naming the holder's pid, and
takes the lock at once when its holder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cjsdash.core.file_lock import (
    FileLock,
    LockTimeout,
    read_holder,
    warehouse_lock_path,
    writer_lock,
)

ROOT = Path(__file__).resolve().parents[2]


def _holder(lock: Path, hold_s: float) -> subprocess.Popen[str]:
    """Another process that takes the lock, says so on its stdout, holds it ``hold_s``
    seconds (for ever when negative) and releases it."""
    script = textwrap.dedent(f"""
        import sys, time
        from cjsdash.core.file_lock import FileLock
        with FileLock({str(lock)!r}, timeout=10, purpose="ingest of test.csv"):
            print("held", flush=True)
            time.sleep({hold_s} if {hold_s} >= 0 else 3600)
        print("released", flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_the_lock_file_sits_next_to_the_warehouse(tmp_path: Path) -> None:
    assert warehouse_lock_path(tmp_path / "cjsdash.duckdb") == tmp_path / "cjsdash.duckdb.lock"
    with writer_lock(tmp_path / "cjsdash.duckdb", purpose="upload of a.csv") as lock:
        assert lock.path == tmp_path / "cjsdash.duckdb.lock"
        holder = read_holder(lock.path)
        assert holder is not None
        assert (holder.pid, holder.purpose) == (os.getpid(), "upload of a.csv")


def test_a_second_process_waits_for_the_holder_then_proceeds(tmp_path: Path) -> None:
    lock_path = tmp_path / "w.duckdb.lock"
    other = _holder(lock_path, hold_s=1.5)
    started = time.monotonic()
    with FileLock(lock_path, timeout=20, purpose="second"):
        waited = time.monotonic() - started
        assert other.poll() is None or other.returncode == 0
        holder = read_holder(lock_path)
        assert holder is not None and holder.pid == os.getpid()
    assert other.stdout is not None
    assert other.stdout.readline().strip() == "released"
    assert other.wait(timeout=10) == 0
    assert 1.0 < waited < 15, waited


def test_a_timeout_names_the_holder(tmp_path: Path) -> None:
    lock_path = tmp_path / "w.duckdb.lock"
    other = _holder(lock_path, hold_s=-1)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as raised, FileLock(lock_path, timeout=0.4):
            pytest.fail("the lock was taken while another process held it")
        assert 0.4 <= time.monotonic() - started < 5
        message = str(raised.value)
        assert f"pid {other.pid} (ingest of test.csv)" in message
        assert str(lock_path) in message and "waited 0.4 s" in message
        assert raised.value.holder is not None and raised.value.holder.pid == other.pid
    finally:
        other.kill()
        other.wait(timeout=10)


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    lock_path = tmp_path / "w.duckdb.lock"
    other = _holder(lock_path, hold_s=-1)
    with pytest.raises(LockTimeout):
        FileLock(lock_path, timeout=0).acquire()
    os.kill(other.pid, signal.SIGKILL)
    other.wait(timeout=10)
    stale = read_holder(lock_path)
    assert stale is not None and stale.pid == other.pid  # its note stays; the lock does not
    started = time.monotonic()
    with FileLock(lock_path, timeout=5):
        assert time.monotonic() - started < 1
        holder = read_holder(lock_path)
        assert holder is not None and holder.pid == os.getpid()


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    lock_path = tmp_path / "w.lock"
    order: list[str] = []
    first = FileLock(lock_path, timeout=5)
    first.acquire()

    def second() -> None:
        with FileLock(lock_path, timeout=5):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    order.append("first releases")
    first.release()
    thread.join(timeout=10)
    assert order == ["first releases", "second"]
    with pytest.raises(RuntimeError, match="already locked"), first, first:
        pass


def test_a_forked_child_does_not_hold_or_release_its_parents_lock(tmp_path: Path) -> None:
    lock_path = tmp_path / "w.lock"
    with FileLock(lock_path, timeout=5) as lock:
        pid = os.fork()
        if pid == 0:  # the child: its copy is forgotten, and it cannot take the lock
            code = 0 if not lock.held else 1
            try:
                FileLock(lock_path, timeout=0).acquire()
                code = 2
            except LockTimeout:
                pass
            os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
        with pytest.raises(LockTimeout):  # the parent still holds it
            FileLock(lock_path, timeout=0).acquire()
