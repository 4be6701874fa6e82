"""Memory given back when it is freed: glibc's thresholds fixed, DuckDB's freed pages purged.

A cjsdash process holds three allocators besides Python's own: glibc's ``malloc`` (numpy,
pandas, Arrow's conversions, Python's large objects), polars' jemalloc and DuckDB's jemalloc.
Measured on a 332,640-row upload (``benchmarks/upload_stages.py``, decision 38), most of what
the process held above its working set was memory already freed but kept by them:

- glibc's dynamic mmap threshold: after a large block is freed, glibc raises the size above
  which it maps blocks (up to 32 MiB), so later large blocks come from the heap, where freed
  ones are kept (273 MB kept, 211 MB in use, at the start of the analyses). A fixed
  threshold of 64 KiB keeps every large block mapped, so freeing it unmaps it; a trim
  threshold of 128 KiB gives back the heap's free top.
- polars' jemalloc (polars sets 500 ms dirty and 1 s "muzzy" decays, applied only as polars
  allocates again) is left as polars sets it: a background purging thread with 250 ms
  decays lowered the upload's peak (1,012-1,020 to 915-919 MB) but made page callbacks
  slower (the worst p95 of `benchmarks/page_callbacks.py` 65 ms against 45-47, paired
  runs), and so did purging on every free (`dirty_decay_ms:0`: 57-88 ms against 44-46,
  decision 39); serving is what the process does most of the time. :func:`release` purges
  it too, through its own ``mallctl`` (:mod:`cjsdash.core.polars_jemalloc`): a board
  extract's read kept 400 MB of freed pages into the write that followed.
- DuckDB's jemalloc (configured by DuckDB: 1 s decays) still held 120-150 MB of freed pages
  between the steps of a load (resident 245 MB, 94 MB of it in use), since its decay purges
  only as its threads allocate. :func:`release` purges them; the load's steps call it where
  one step's working memory is done with (:mod:`metrics.mart`, :mod:`metrics.mart_staging`,
  :mod:`metrics.mart_analyses`, and after a file's read, before its write:
  :mod:`ingest.pipeline_batch`).

While a server loads an upload, :func:`eager_return` sets both jemallocs' decays to 0, so
that each step's freed pages go back as they are freed, not at the step's end (decision 54).

:func:`apply` sets glibc's thresholds (``mallopt``); it runs when :mod:`cjsdash` is imported.
Where ``MALLOC_MMAP_THRESHOLD_`` is in the environment, glibc took its setting from there and
it is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from cjsdash.core import polars_jemalloc

MMAP_THRESHOLD = 64 * 1024
BULK_MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 128 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_applied: dict[str, bool] = {}


def apply() -> dict[str, bool]:
    """Set glibc's thresholds (once per process); says whether they were set (``glibc``:
    False where there is no glibc ``mallopt``, or the environment names its own threshold)."""
    if not _applied:
        _applied["glibc"] = "MALLOC_MMAP_THRESHOLD_" not in os.environ and _mallopt()
    return _applied


def _mallopt() -> bool:
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                                     and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


@contextmanager
def bulk_load() -> Iterator[bool]:
    """glibc's mmap threshold at its own ceiling (32 MiB) while a process that loads files
    and then exits (``cjsdash ingest``) loads them; the serving threshold back after, and
    the heap's free memory given back. Says whether it changed anything (not where
    :func:`apply` set nothing).

    The 64 KiB threshold maps every large block afresh and unmaps it when freed: a year of
    street crime (480 CSVs inflated, parsed and written) spent 4.0-4.6 s of system time
    (page faults, unmapping) against 3.8-4.0 s with 32 MiB, and took 8.5-8.6 s against
    8.7-9.2 s, peak resident memory the same (decision 40). A server keeps the 64 KiB
    threshold, uploads included: there the memory given back is what counts (decision 38).
    """
    libc = _glibc() if apply().get("glibc") else None
    if libc is None:
        yield False
        return
    libc.mallopt(_M_MMAP_THRESHOLD, BULK_MMAP_THRESHOLD)
    try:
        yield True
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.malloc_trim(0)


@cache
def _glibc() -> ctypes.CDLL | None:
    """glibc with ``mallopt`` and ``malloc_trim`` typed; None where there is none."""
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl has neither)
        return None
    return libc


def release(*, duckdb: bool = True, polars: bool = True) -> bool:
    """Give DuckDB's and polars' freed pages back to the system now (all of each jemalloc's
    arenas purged; DuckDB's left alone with ``duckdb=False``, where another thread is busy
    writing; polars' with ``polars=False``, where finding its ``mallctl`` would cost more
    than it gives back: reading its library's symbol table takes 21 ms, once a process);
    False where none could be purged (macOS, Windows, builds without jemalloc or, for
    polars, without its symbol table: :mod:`cjsdash.core.polars_jemalloc`)."""
    purged = False
    for mallctl in _mallctls(duckdb=duckdb, polars=polars).values():
        purged = (mallctl(b"arena.4096.purge", None, None, None, 0) == 0) or purged
    return purged


def _mallctls(*, duckdb: bool = True, polars: bool = True
              ) -> dict[str, ctypes._CFuncPtr]:  # type: ignore[name-defined]
    """Each jemalloc's ``mallctl`` that can be found, by allocator (DuckDB's first)."""
    found = {"duckdb": _duckdb_mallctl() if duckdb else None,
             "polars": polars_jemalloc.mallctl() if polars else None}
    return {name: call for name, call in found.items() if call is not None}


@contextmanager
def eager_return() -> Iterator[bool]:
    """Freed pages given back as they are freed (jemalloc's dirty and muzzy decays 0, in
    polars' arenas and DuckDB's) while a server loads an upload; the decays each allocator
    had back after. Says whether any was set.

    Left at polars' 500 ms and DuckDB's 1 s, an upload's steps each stood on the freed
    pages of the steps before (a 332,640-row extract's read: 133 → 634 MB resident, its
    frame 27 MB; with decays 0, 418 MB). Serving keeps the allocators' own decays: purging
    on every free made page callbacks slower (decision 39), so only the load, whose readers
    answer within a second meanwhile, pays for it (decision 54)."""
    calls = _mallctls()
    with _eager_lock:  # loads at once (or nested): the first sets, the last puts back
        for name, call in calls.items():
            if _eager[name] == 0:
                _eager_saved[name] = _decays(call)
                if _eager_saved[name] is not None:
                    _set_decays(call, (0, 0))
            _eager[name] += 1
    try:
        yield any(_eager_saved.get(name) is not None for name in calls)
    finally:
        with _eager_lock:
            for name, call in calls.items():
                _eager[name] -= 1
                saved = _eager_saved.get(name) if _eager[name] == 0 else None
                if saved is not None:
                    _set_decays(call, saved)


_eager_lock = threading.Lock()
_eager: Counter[str] = Counter()  # per allocator: the loads inside eager_return() now
_eager_saved: dict[str, tuple[int, int] | None] = {}  # the decays it had before them


_DECAYS = (b"dirty_decay_ms", b"muzzy_decay_ms")


def _decays(mallctl: ctypes._CFuncPtr) -> tuple[int, int] | None:  # type: ignore[name-defined]
    """The decays (ms) jemalloc gives new arenas; None if it will not say."""
    found = []
    for name in _DECAYS:
        value, size = ctypes.c_ssize_t(), ctypes.c_size_t(ctypes.sizeof(ctypes.c_ssize_t))
        if mallctl(b"arenas." + name, ctypes.byref(value), ctypes.byref(size), None, 0):
            return None
        found.append(value.value)
    return found[0], found[1]


def _set_decays(mallctl: ctypes._CFuncPtr, decays: tuple[int, int]) -> None:  # type: ignore[name-defined]
    """Set the decays of every arena there is and of the arenas made from now on (an arena
    not yet made, or not in use, answers EFAULT: skipped)."""
    count, size = ctypes.c_uint(), ctypes.c_size_t(ctypes.sizeof(ctypes.c_uint))
    if mallctl(b"arenas.narenas", ctypes.byref(count), ctypes.byref(size), None, 0):
        return
    for name, ms in zip(_DECAYS, decays, strict=True):
        value = ctypes.c_ssize_t(ms)
        for key in [b"arenas." + name, *(b"arena.%d." % i + name for i in range(count.value))]:
            mallctl(key, None, None, ctypes.byref(value), ctypes.sizeof(value))


@cache
def _duckdb_mallctl() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """DuckDB's ``mallctl`` (jemalloc's control call, which DuckDB's library exports)."""
    library = getattr(sys.modules.get("_duckdb"), "__file__", None)
    if not library or not sys.platform.startswith("linux"):
        return None
    try:
        mallctl = ctypes.CDLL(library).duckdb_je_mallctl  # already loaded: the same handle
    except (OSError, AttributeError):
        return None
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                        ctypes.c_size_t]
    mallctl.restype = ctypes.c_int
    return mallctl
