"""One log line per request: method, path, status and milliseconds (logger ``cjsdash.requests``).

``cjsdash serve --log-level debug|info|warning`` (or ``CJSDASH_LOG_LEVEL``) switches it: the
request lines are INFO, so ``--log-level warning`` keeps the terminal to problems only.
"""

from __future__ import annotations

import logging
import time

import flask

log = logging.getLogger("cjsdash.requests")


def configure(level: str) -> None:
    """Send cjsdash's loggers to standard error at ``level`` (once per process)."""
    root = logging.getLogger("cjsdash")
    if not any(getattr(h, "_cjsdash", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                               datefmt="%H:%M:%S"))
        handler._cjsdash = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level.upper())
    for name in ("metrics", "ingest"):  # loads and figure refreshes say how they went
        other = logging.getLogger(name)
        other.setLevel(level.upper())
        if not other.handlers:
            other.addHandler(root.handlers[0])
            other.propagate = False


def install(server: flask.Flask) -> None:
    """Time every request the Flask server answers and log it when the response is sent."""

    @server.before_request
    def _started() -> None:
        flask.g.cjsdash_started = time.perf_counter()

    @server.after_request
    def _answered(response: flask.Response) -> flask.Response:
        started = flask.g.get("cjsdash_started")
        if started is not None and log.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.0f ms", flask.request.method, flask.request.path,
                     response.status_code, ms)
        return response
