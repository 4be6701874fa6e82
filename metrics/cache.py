"""Small results kept per data version: computed once, reused until the next load.

A page's figures depend only on what is in the warehouse (and on the registry and options),
so a result computed for one *data version* can be reused by every request until a load,
a target or a peer-group file changes it. :func:`data_version` names that state; an
in-memory warehouse has none (tests build many) and is never cached.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.gateway import held_version

T = TypeVar("T")

_CACHE: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64
MAX_BYTES = 96 * 1024 * 1024
"""What the cache may hold: the server's memory stays bounded whatever is asked."""
_BYTES = 0


def _peer_count(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return int(con.execute("SELECT count(*) FROM core.area_peers").fetchall()[0][0])
    except duckdb.CatalogException:  # a warehouse made before core.area_peers existed
        return 0


# A read-only connection's data cannot change while it is open: DuckDB lets no process write
# a file another holds open, and ``Warehouse.writer()`` closes the readers before it opens.
# So its version is read once per connection (a page request asks up to ~20 times).
_READ_ONLY_VERSIONS: weakref.WeakKeyDictionary[Any, tuple[Any, ...] | None] = (
    weakref.WeakKeyDictionary())


# A connection pinned by :func:`pinned`: the version read once while a refresh writes only
# what the version does not cover.
_PINNED: weakref.WeakKeyDictionary[Any, tuple[Any, ...] | None] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def pinned(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While inside, ``con``'s data version is the one read on entering, not read again on
    each :func:`cached` call. For the figure refresh, which writes ``mart.*`` alone (none of
    what the version is made of: ingest runs, targets, peers) and asked for the version on
    every area's peer group and kind: about a fifth of a fresh year's refresh (decision 40)."""
    try:
        _PINNED[con] = data_version(con)
    except TypeError:  # no weak reference: read it each time
        yield
        return
    try:
        yield
    finally:
        _PINNED.pop(con, None)


def on_own_cursor(con: duckdb.DuckDBPyConnection, compute: Callable[..., T], *args: Any,
                  **kwargs: Any) -> T:
    """``compute(cursor, *args, **kwargs)`` on a cursor of ``con``'s own (another thread's,
    reading the committed warehouse), its data version pinned as a refresh pins ``con``'s."""
    cursor = con.cursor()
    try:
        with pinned(cursor):
            return compute(cursor, *args, **kwargs)
    finally:
        cursor.close()


def data_version(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """(warehouse file, latest ingest run, runs, targets, peers) — None for an in-memory
    warehouse, which is never cached. Read once per read-only connection, and once while a
    connection is :func:`pinned`."""
    held = held_version(con)
    if held is not None:
        return held
    for kept in (_PINNED, _READ_ONLY_VERSIONS):
        try:
            return kept[con]
        except (KeyError, TypeError):
            pass
    rows = con.execute(  # fetchall, never fetchone: a half-read result blocks the cursor
        "SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()),"
        " (SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()),"
        " (SELECT coalesce(max(run_id), 0) FROM meta.ingest_runs),"
        " (SELECT count(*) FROM meta.ingest_runs),"
        " (SELECT concat(count(*), ':', coalesce(sum(value), 0)) FROM core.targets)"
    ).fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        return None
    path, read_only, *state = row
    version = (path, *state, _peer_count(con))
    if read_only:
        with contextlib.suppress(TypeError):  # no weak reference: read it each time
            _READ_ONLY_VERSIONS[con] = version
    return version


def _size(value: Any) -> int:
    """Roughly how many bytes a cached value holds (frames dominate)."""
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size())
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, str):  # a page's text kept whole (the data page's coverage table)
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values()) + 64 * len(value)
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value) + 8 * len(value)
    return 1024


def cached(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...], build: Callable[[], Any]
           ) -> Any:
    """``build()``'s value for ``key`` at this data version, computed once and kept in a
    small least-recently-used cache bounded in entries and bytes (:data:`MAX_BYTES`): what
    the figure mart does not hold (a page's small derived results)."""
    version = data_version(con)
    if version is None:
        return build()
    full = (version, *key)
    with _CACHE_LOCK:
        if full in _CACHE:
            _CACHE.move_to_end(full)
            return _CACHE[full][0]
    value = build()
    size = _size(value)
    with _CACHE_LOCK:
        global _BYTES
        if full not in _CACHE:
            _CACHE[full] = (value, size)
            _BYTES += size
        while _CACHE and (len(_CACHE) > _CACHE_SIZE or _BYTES > MAX_BYTES):
            _, (_, dropped) = _CACHE.popitem(last=False)
            _BYTES -= dropped
    return value


def peek(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...]) -> Any | None:
    """The value cached for ``key`` at this data version, or None (nothing is computed)."""
    version = data_version(con)
    if version is None:
        return None
    with _CACHE_LOCK:
        found = _CACHE.get((version, *key))
        return None if found is None else found[0]


def clear_cache() -> None:
    global _BYTES
    with _CACHE_LOCK:
        _CACHE.clear()
        _BYTES = 0

