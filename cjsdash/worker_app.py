"""The dashboard as one ``cjsdash serve --workers N`` worker builds it, after the fork
(:mod:`cjsdash.workers` calls ``cjsdash.worker_app:dashboard`` with these strings)."""

from __future__ import annotations

from typing import Any


def dashboard(db: str, host: str, log_level: str) -> Any:
    """The WSGI app of ``create_app(Warehouse(db, snapshots=True, memory_mb=...),
    bound_hosts=(host,))`` (DuckDB limited as in one-worker ``cjsdash serve``),
    with this process's log lines at ``log_level``: its own connections, caches and threads.
    It reads the published snapshots (decision 0017), so an upload in any worker (or a
    ``cjsdash ingest`` from a shell) loads while every worker goes on reading.

    :func:`create_app` lets Dash finish setting up with one request of its own before the
    worker takes any (a fresh worker's parallel first requests would otherwise race it)."""
    from cjsdash import request_log
    from cjsdash.core.config import get_settings
    from cjsdash.core.gateway import Warehouse
    from cjsdash.server import create_app, settle

    request_log.configure(log_level)
    warehouse = Warehouse(db, snapshots=True, memory_mb=get_settings().serve_duckdb_memory_mb)
    app = create_app(warehouse, bound_hosts=(host,)).server
    settle()  # the overview laid out once, start-up objects frozen (decisions 33, 39)
    return app
