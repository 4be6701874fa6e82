"""Results kept per data version: computed once after a load, reused until the next one.

A page's figures depend only on what is in the warehouse (and on the registry and options),
so a result computed for one *data version* can be reused by every request until a load,
a target or a peer-group file changes it. :func:`data_version` names that state; an
in-memory warehouse has none (tests build many) and is never cached.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import duckdb

_CACHE: OrderedDict[Hashable, Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 96
_KEPT: dict[Hashable, Any] = {}  # see kept()


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


def data_version(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """(warehouse file, latest ingest run, runs, targets, peers) — None for an in-memory
    warehouse, which is never cached. Read once per read-only connection."""
    try:
        return _READ_ONLY_VERSIONS[con]
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


def cached(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...], build: Callable[[], Any]
           ) -> Any:
    """``build()``'s value for ``key`` at this data version, computed once (kept in a small
    LRU: a view's result)."""
    return _remember(con, key, build, lru=True)


def kept(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...], build: Callable[[], Any]
         ) -> Any:
    """As :func:`cached`, for what every area's views share (whole-warehouse frames, a few
    per grain): held until the data version changes, never pushed out by the views' own
    results; an older version of the same warehouse file is let go on the next insert
    (other warehouses open in this process — tests, a second app — keep theirs)."""
    return _remember(con, key, build, lru=False)


def _remember(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...], build: Callable[[], Any],
              *, lru: bool) -> Any:
    version = data_version(con)
    if version is None:
        return build()
    full = (version, *key)
    table = _CACHE if lru else _KEPT
    with _CACHE_LOCK:
        if full in table:
            if lru:
                _CACHE.move_to_end(full)
            return table[full]
    value = build()
    with _CACHE_LOCK:
        if not lru:
            for old in [k for k in _KEPT if k[0][0] == version[0] and k[0] != version]:
                del _KEPT[old]
        table[full] = value
        while lru and len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def peek(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...]) -> Any | None:
    """The value kept for ``key`` at this data version, or None (nothing is computed)."""
    version = data_version(con)
    if version is None:
        return None
    with _CACHE_LOCK:
        found = _KEPT.get((version, *key))
        return found if found is not None else _CACHE.get((version, *key))


def forget(name: str) -> None:
    """Let go of every kept value whose key starts with ``name``, at every data version."""
    with _CACHE_LOCK:
        for key in [k for k in _KEPT if k[1] == name]:
            del _KEPT[key]


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _KEPT.clear()
