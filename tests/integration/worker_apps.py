"""Small WSGI apps for the pre-fork server's tests (tests/integration/test_workers.py),
built by ``python -m cjsdash.workers tests.integration.worker_apps:NAME`` in each worker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any


def hello() -> Callable[..., Iterable[bytes]]:
    """Answers every request with the worker's pid."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"hello from {os.getpid()}\n".encode()]
    return app


def broken() -> Callable[..., Iterable[bytes]]:
    """Never starts: building the app fails, as a worker whose warehouse is unreadable."""
    raise RuntimeError("this app cannot be built (a test of the crash loop)")


def stuck() -> Callable[[], Iterable[bytes]]:
    """Never finishes building, as a worker stuck opening its warehouse."""
    import time

    time.sleep(3600)
    raise AssertionError("unreachable")
