"""Prepare a warehouse: schema, reference geography, the registry's catalogue and targets."""

from __future__ import annotations

import duckdb

from cjsdash.core.areas import AreaIndex, load_reference_areas
from cjsdash.core.gateway import transaction
from cjsdash.core.rollup import refresh_pending
from cjsdash.core.schema import ensure_schema
from metrics.registry import Registry, default_registry
from metrics.sync import sync_registry


def prepare(con: duckdb.DuckDBPyConnection, registry: Registry | None = None) -> None:
    """Idempotent: safe before every ingest and at every start."""
    ensure_schema(con)
    with transaction(con):
        load_reference_areas(con, AreaIndex.from_reference())
    sync_registry(con, registry or default_registry())
    refresh_pending(con)  # finish a batch of loads that was interrupted
