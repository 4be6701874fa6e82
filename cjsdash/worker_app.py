"""The dashboard as one ``cjsdash serve --workers N`` worker builds it, after the fork
(:mod:`cjsdash.workers` calls ``cjsdash.worker_app:dashboard`` with these strings)."""

from __future__ import annotations

from typing import Any


def dashboard(db: str, host: str, log_level: str) -> Any:
    """The WSGI app of ``create_app(Warehouse(db, snapshots=True), bound_hosts=(host,))``,
    with this process's log lines at ``log_level``: its own connections, caches and threads.
    It reads the published snapshots (decision 0017), so an upload in any worker (or a
    ``cjsdash ingest`` from a shell) loads while every worker goes on reading.

    Dash finishes setting up (the pages' callbacks joining the app's callback map) on its
    first request, and a request that arrives while another is doing so sees the map still
    empty: a callback sent to a fresh worker together with others would be refused ("no
    callback on this server writes …"). So one request is made here, before the worker
    takes any."""
    from cjsdash import request_log
    from cjsdash.core.gateway import Warehouse
    from cjsdash.server import create_app

    request_log.configure(log_level)
    server = create_app(Warehouse(db, snapshots=True), bound_hosts=(host,)).server
    answer = server.test_client().get("/_dash-dependencies")
    if answer.status_code != 200:
        raise RuntimeError(f"the dashboard did not set up: /_dash-dependencies answered "
                           f"{answer.status_code}: {answer.get_data(as_text=True)[:300]}")
    return server
