"""Every indicator for every area at a grain, computed once per data version.

A page asks for one area (the overview), one indicator (its trend) or one kind of area (the
comparison), but :func:`metrics.compute.compute_indicators` treats every area on its own —
source choice, targets and the previous year are worked out within an area, and which
counts are withheld is decided once for the whole published set (:mod:`metrics.disclosure`)
— so the figures of all areas computed together, filtered to one area, are exactly that
area's figures computed alone (``tests/integration/test_store.py``
checks it for every indicator). Computing them together is 30 to 50 times cheaper per area.

:func:`warm` computes the whole frame for each grain in a background thread (the server calls
it at start and after an upload); until a grain is ready :func:`lookup` answers None and the
views compute the one area they need, as before. Figures by breakdown (``by=``) are not kept.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import polars as pl

from cjsdash.core.gateway import Warehouse
from metrics import cache
from metrics.compute import compute_indicators
from metrics.options import Options
from metrics.registry import Registry

WARM_GRAINS = ("quarter", "fy", "fquarter", "month", "year", "r12")
"""Warmed in this order: the pages' default grains first."""

log = logging.getLogger(__name__)
_warming = threading.Lock()


def _key(registry: Registry, grain: str, options: Options) -> tuple[Any, ...]:
    return ("store", id(registry), grain, options)


def lookup(con: duckdb.DuckDBPyConnection, registry: Registry, grain: str,
           options: Options | None = None) -> pl.DataFrame | None:
    """The whole frame (every indicator, area and period; no breakdowns) if it is ready."""
    return cache.peek(con, _key(registry, grain, options or Options()))


def build(con: duckdb.DuckDBPyConnection, registry: Registry, grain: str,
          options: Options | None = None) -> pl.DataFrame:
    """Compute (or fetch) the whole frame for ``grain`` and keep it for this data version
    (:func:`metrics.cache.kept`: never evicted by small results, only by a newer version)."""
    options = options or Options()

    def compute() -> pl.DataFrame:
        areas = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code")
                 .fetchall()]
        return compute_indicators(con, registry, [i.id for i in registry.indicators], areas,
                                  grain=grain, options=options)

    return cache.kept(con, _key(registry, grain, options), compute)


def clear() -> None:
    cache.forget("store")


def warm(warehouse: Warehouse, registry: Registry, grains: Sequence[str] = WARM_GRAINS, *,
         then: Callable[[duckdb.DuckDBPyConnection, str], object] | None = None
         ) -> threading.Thread:
    """Build every grain's frame in a background thread, one at a time, holding off writers
    only while each grain is computed; ``then(con, grain)`` after each (the server warms the
    comparisons built on the frame). Returns the (daemon) thread."""

    def run() -> None:
        with _warming:  # one warm-up at a time; a later one finds the earlier's frames
            started = time.perf_counter()
            log.info("computing every area's figures in the background (%s)…", ", ".join(grains))
            for grain in grains:
                try:
                    with warehouse.reading():
                        build(warehouse.reader(), registry, grain)
                        if then is not None:
                            then(warehouse.reader(), grain)
                except Exception:  # the pages compute what they need without the store
                    log.exception("warming the figures for grain %s failed", grain)
                    return
            # The collector's first full pass over all the warm-up made takes ~0.1 s with
            # the interpreter held: run it here, once, rather than inside a page request.
            gc.collect()
            log.info("figures ready: every area and grain computed in %.1f s",
                     time.perf_counter() - started)

    thread = threading.Thread(target=run, name="cjsdash-warm", daemon=True)
    thread.start()
    return thread
