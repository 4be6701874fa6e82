"""One writer at a time across processes: an exclusive ``flock`` on a lock file.

The warehouse's lock file sits next to it (``cjsdash.duckdb`` → ``cjsdash.duckdb.lock``,
:func:`warehouse_lock_path`). Whoever writes (an upload in any ``cjsdash serve`` worker,
``cjsdash ingest`` from a shell) holds :class:`FileLock` around the write; another writer
waits for it, up to a timeout, then gives up with :class:`LockTimeout`, whose message names
the holder's pid and what it is doing (written into the lock file by the holder).

The kernel releases a ``flock`` when its holder's last descriptor closes, including when the
holder is killed (``kill -9``): a crashed writer never leaves the warehouse locked. The lock
file itself is never deleted (deleting it would let two processes lock two different files);
its text is only a note for the message and is not trusted for the locking.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

DEFAULT_TIMEOUT_S = 30.0
_POLL_FIRST_S = 0.01
_POLL_MAX_S = 0.2


def warehouse_lock_path(warehouse: str | Path) -> Path:
    """The lock file of a warehouse file: the same path with ``.lock`` added."""
    path = Path(warehouse)
    return path.with_name(path.name + ".lock")


@dataclass(frozen=True)
class LockHolder:
    """What the holder wrote into the lock file when it took the lock."""

    pid: int
    purpose: str
    since: str

    def describe(self) -> str:
        doing = f" ({self.purpose})" if self.purpose else ""
        return f"pid {self.pid}{doing}, since {self.since}"


def read_holder(lock_path: str | Path) -> LockHolder | None:
    """The holder's note in the lock file, or None when there is none (or it is not ours).

    The note stays after its writer releases the lock or dies: only the lock itself says
    whether anyone holds it now."""
    try:
        text = Path(lock_path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    pid, _, rest = text.partition(" ")
    since, _, purpose = rest.partition(" ")
    if not pid.isdigit():
        return None
    return LockHolder(int(pid), purpose, since)


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than we would wait."""

    def __init__(self, lock_path: Path, waited: float, holder: LockHolder | None) -> None:
        self.lock_path = lock_path
        self.waited = waited
        self.holder = holder
        who = holder.describe() if holder else "a process that has not yet written its pid"
        super().__init__(
            f"another process is writing: {lock_path} is locked by {who}; waited "
            f"{waited:.1f} s. Wait for it to finish (or stop that process) and try again.")


_held: weakref.WeakSet[FileLock] = weakref.WeakSet()


def _forget_in_child() -> None:
    """A forked child inherits the descriptors of the locks its parent holds, not the locks'
    ownership: close its copies (the parent's lock stays held) so it never unlocks them."""
    for lock in list(_held):
        lock._forget()


os.register_at_fork(after_in_child=_forget_in_child)


class FileLock:
    """An exclusive inter-process lock on ``path``, as a context manager.

    ``timeout``: seconds to wait for another holder (``None`` waits for ever, ``0`` tries
    once). ``purpose``: a few words written with the pid for the messages of the processes
    that wait. Not re-entrant: a second ``acquire`` on the same object is an error; two
    objects on one file, even in one process, exclude each other.
    """

    def __init__(self, path: str | Path, *, timeout: float | None = DEFAULT_TIMEOUT_S,
                 purpose: str = "") -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.purpose = " ".join(purpose.split())
        self._fd: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        with self._guard:
            if self._fd is not None:
                raise RuntimeError(f"{self.path} is already locked by this FileLock")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                self._wait_for(fd)
                self._write_note(fd)
            except BaseException:
                os.close(fd)  # closing releases the lock if we had it
                raise
            self._fd = fd
            _held.add(self)

    def _wait_for(self, fd: int) -> None:
        started = time.monotonic()
        pause = _POLL_FIRST_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                waited = time.monotonic() - started
                if self.timeout is not None and waited >= self.timeout:
                    raise LockTimeout(self.path, waited, read_holder(self.path)) from None
                if self.timeout is not None:
                    pause = min(pause, max(self.timeout - waited, 0.001))
                time.sleep(pause)
                pause = min(pause * 2, _POLL_MAX_S)

    def _write_note(self, fd: int) -> None:
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        note = f"{os.getpid()} {since} {self.purpose}".rstrip() + "\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode("utf-8"), 0)

    def release(self) -> None:
        with self._guard:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            _held.discard(self)
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _forget(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._guard = threading.Lock()  # a forked copy of a lock some thread held is stuck

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def writer_lock(warehouse: str | Path, *, timeout: float | None = DEFAULT_TIMEOUT_S,
                purpose: str = "") -> FileLock:
    """The lock a process holds while it writes to ``warehouse`` (see the module's note)."""
    return FileLock(warehouse_lock_path(warehouse), timeout=timeout, purpose=purpose)
