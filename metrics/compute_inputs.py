"""What :func:`metrics.compute.compute_indicators` reads from the warehouse, read once.

A page computes a few indicators once, and reads its inputs as it goes (:class:`Inputs`
with ``shared=False``: each read is the query it always was). A figure refresh computes the
same indicators for every grain and breakdown (:mod:`metrics.mart_figures`): the sources,
the targets, each breakdown's observations and populations, and the tiles the observations
make (:func:`metrics.timeseries.choose`) are the same for all of them. On a small load,
reading and choosing them again took longer than the figures themselves (a query or a
polars call costs milliseconds however few its rows). A shared :class:`Inputs` makes each
once, in whichever thread asks first, and hands the same object to every task; polars
frames are never modified in place, so the figures are those of separate reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from metrics import sql, timeseries

T = TypeVar("T")


class Inputs:
    """The warehouse's rows an indicator's figures are computed from.

    ``shared``: keep what was read for the next task that asks (a refresh's scope: its
    areas, indicators and registry fixed, the warehouse unchanged while it computes);
    ``indicators``: when shared, the ids whose targets are read once (a task's are then
    picked from them).
    """

    def __init__(self, *, shared: bool = False, indicators: Sequence[str] = ()) -> None:
        self.shared = shared
        self.indicators = sorted(indicators)
        self._made: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def _once(self, key: Hashable, make: Callable[[], T]) -> T:
        if not self.shared:
            return make()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # another thread making the same: wait for it, then share it
            if key not in self._made:
                self._made[key] = make()
            made: T = self._made[key]
            return made

    def sources(self, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        return self._once("sources", lambda: fetch(con, sql.sources_sql()))

    def observations(self, con: duckdb.DuckDBPyConnection, by: str | None,
                     areas: Sequence[str], measures: Sequence[str],
                     sources: pl.DataFrame) -> pl.DataFrame:
        """The native observations of ``measures`` in ``areas`` at breakdown ``by``, with
        their source's priority and synthetic mark (``sources``: :meth:`sources`' frame;
        :func:`metrics.timeseries.to_grain`)."""
        def read() -> pl.DataFrame:
            native = fetch(con, sql.observations_sql(by), [list(areas), list(measures)])
            return native.with_columns(pl.col("value").cast(pl.Float64)).join(
                sources.select("source", "priority", pl.col("is_synthetic").alias("synthetic")),
                on="source", how="left",
            ).with_columns(pl.col("priority").fill_null(50), pl.col("synthetic").fill_null(False))

        return self._once(("observations", by, tuple(areas), tuple(measures)), read)

    def periods(self, con: duckdb.DuckDBPyConnection, by: str | None, areas: Sequence[str],
                measures: Sequence[str], sources: pl.DataFrame, grain: str,
                aggregation: dict[str, str]) -> pl.DataFrame:
        """:meth:`observations` at ``grain`` (:func:`metrics.timeseries.to_grain`). Shared,
        their tiles are chosen once for every grain they all fit in (``aggregation``, the
        registry's, is the same for every task of a refresh)."""
        native = self.observations(con, by, areas, measures, sources)
        if not self.shared or native.height == 0:
            return timeseries.to_grain(native, grain, aggregation)
        key = (by, tuple(areas), tuple(measures))
        longest = self._once(("longest", *key), lambda: timeseries.longest(native))
        months = min(timeseries.GRAIN_MONTHS[grain], longest)
        tiles = self._once(("tiles", months, *key),
                           lambda: timeseries.choose(native, months, aggregation))
        return timeseries.from_tiles(tiles, grain)

    def populations(self, con: duckdb.DuckDBPyConnection, by: str | None,
                    areas: Sequence[str]) -> pl.DataFrame:
        return self._once(("populations", by, tuple(areas)),
                          lambda: fetch(con, sql.populations_sql(by), [list(areas)]))

    def targets(self, con: duckdb.DuckDBPyConnection, ids: Sequence[str],
                areas: Sequence[str]) -> pl.DataFrame:
        """The targets of indicators ``ids`` at ``areas`` (:func:`metrics.sql.targets_sql`):
        shared, those of every indicator of the scope, read once, then ``ids``' picked."""
        if not self.shared or not set(ids) <= set(self.indicators):
            return fetch(con, sql.targets_sql(), [list(ids), list(areas)])
        every = self._once(("targets", tuple(areas)), lambda: fetch(
            con, sql.targets_sql(), [self.indicators, list(areas)]))
        return every.filter(pl.col("indicator").is_in(list(ids)))
