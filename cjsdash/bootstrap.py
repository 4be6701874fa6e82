"""Prepare a warehouse: schema, reference geography, the registry's catalogue and targets."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import duckdb

from cjsdash.core.areas import AreaIndex, load_reference_areas
from cjsdash.core.gateway import transaction
from cjsdash.core.rollup import refresh_pending
from cjsdash.core.schema import ensure_schema
from metrics.registry import Registry, default_registry
from metrics.sync import sync_registry

if TYPE_CHECKING:
    from metrics.mart import RefreshReport

log = logging.getLogger(__name__)


def prepare(con: duckdb.DuckDBPyConnection, registry: Registry | None = None) -> None:
    """Idempotent: safe before every ingest and at every start."""
    ensure_schema(con)
    with transaction(con):
        load_reference_areas(con, AreaIndex.from_reference())
    sync_registry(con, registry or default_registry())
    refresh_pending(con)  # finish a batch of loads that was interrupted


def refresh_figures(con: duckdb.DuckDBPyConnection, registry: Registry | None = None, *,
                    concurrent: bool = False) -> RefreshReport | None:
    """Bring the figure mart up to date after loads have committed (:mod:`metrics.mart`;
    ``concurrent``: its independent steps side by side, for a command that loads and exits).

    A failure is logged and leaves the mart as it was, marked stale by its version stamp: the
    loads stand, and the pages compute their figures until the next refresh succeeds."""
    from metrics.mart import refresh  # scipy and the disclosure planner: 0.3 s, after a load

    try:
        return refresh(con, registry or default_registry(), concurrent=concurrent)
    except Exception:
        log.exception("refreshing the figure mart failed; pages compute figures until the "
                      "next load refreshes it")
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        return None
