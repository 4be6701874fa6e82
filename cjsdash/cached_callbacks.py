"""The WSGI layer that answers repeated Dash callbacks from :mod:`cjsdash.response_cache`, and
marks version-stamped static files as immutable (decision 0027).

It sits between :class:`cjsdash.guard.RequestGuard` and Flask: the guard's Host check, body
limit and security headers apply to every answer, cached or not; Flask's own checks (the
callback body's shape, the Content-Security-Policy) ran when the answer was first computed
and are kept with it. Each ``POST /_dash-update-component`` answer carries
``X-Cjsdash-Cache``: ``hit`` (sent from the cache), ``miss`` (computed, and kept when it was
a 200) or ``off`` (not cacheable, or the cache is off: ``CJSDASH_RESPONSE_CACHE_MB=0``).

**What is cached.** Only a 200 JSON answer, without cookies or content encoding, of a
callback that is deterministic: none of its inputs or states is an upload's (``contents``,
``filename``, ``last_modified``), a timer's (``n_intervals``) or a person's action
(``n_clicks``, ``n_submit``, … — exports and downloads, which may stamp the time), and it is
not in :data:`UNCACHED_OUTPUTS` nor for a page of :data:`UNCACHED_PAGES`. No callback reads cookies, sessions or request headers.

**The data version** (:func:`data_version`) is read before the answer is computed, so an
answer is kept under a version no newer than the data it was computed from: it can never be
sent for a later version. One ``cjsdash serve`` process holding the warehouse (``held``):
the writes it has finished (``Warehouse.generation``, as :mod:`metrics.cache` keys its
results). ``--workers N``: the published snapshot ``CURRENT`` names (one ``stat``; a new
snapshot is a new version). A plain file (``app.py``): the file's and its write-ahead log's
``stat``, read while the request holds ``Warehouse.reading()``, so no write can fall between
the version and the read. An in-memory warehouse (tests) is never cached.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from contextlib import AbstractContextManager
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs

from dash.fingerprint import check_fingerprint

from cjsdash.callback_body import CALLBACK_PATH
from cjsdash.core import snapshots
from cjsdash.core.gateway import Warehouse
from cjsdash.response_cache import Answer, ResponseCache, canonical_body, request_key

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

CACHE_HEADER = "X-Cjsdash-Cache"
MAX_CACHED_BODY = 256 * 1024
"""A callback body over this size (an upload's) is passed on unread and never cached."""
FOLLOW_WAIT_S = 60.0
"""How long a request waits for another computing the same answer before computing it."""
UNCACHED_PROPERTIES = frozenset({"contents", "filename", "last_modified", "n_intervals"})
"""Inputs that carry an upload or a timer; every ``n_*`` property (a click, a submit) too."""
UNCACHED_OUTPUTS = ("export-commentary.",)
UNCACHED_PAGES = ("/export",)
"""Outputs, and pages' layouts (by the ``pathname`` a request carries), computed from files
other than the warehouse: the export page lists the pack files and its commentary fields
read a pack's YAML, which may be added or edited while the server runs."""
PER_REQUEST_HEADERS = frozenset({"date", "server", "connection"})
"""Headers of an answer not kept with it (the server sets them for each answer)."""
IMMUTABLE = "public, max-age=31536000, immutable"
STAMPED_STATIC = ("/_dash-component-suites/", "/assets/", "/_favicon.ico")

log = logging.getLogger("cjsdash.requests")


def data_version(warehouse: Warehouse) -> Hashable | None:
    """What names the data the next read of ``warehouse`` sees (see the module); None when
    nothing may be cached (an in-memory warehouse)."""
    if warehouse.in_memory:
        return None
    if warehouse.held:
        return ("held", warehouse.path, warehouse.generation)
    if warehouse.snapshots:
        pointer = snapshots.pointer_key(warehouse.snapshot_folder)
        if pointer is not None:
            return ("snapshot", pointer)
    return ("file", warehouse.path, _stat(warehouse.path), _stat(warehouse.path + ".wal"))


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def cacheable_callback(output: str, spec: Mapping[str, Any]) -> bool:
    """Whether the callback writing ``output`` (its ``callback_map`` entry) may be cached."""
    if any(output.lstrip(".").startswith(prefix) for prefix in UNCACHED_OUTPUTS):
        return False
    for item in [*spec.get("inputs", []), *spec.get("state", [])]:
        prop = str(item.get("property", ""))
        if prop in UNCACHED_PROPERTIES or prop.startswith("n_"):
            return False
    return "callback" in spec


def on_uncached_page(body: Mapping[str, Any]) -> bool:
    """Whether a request carries a ``pathname`` of a page in :data:`UNCACHED_PAGES`."""
    items = body.get("inputs", [])
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("property") == "pathname":
            path = item.get("value")
            if isinstance(path, str) and any(path == page or path.startswith(page + "/")
                                             for page in UNCACHED_PAGES):
                return True
    return False


def stamped_static(path: str, query: str) -> bool:
    """A static file whose address names its version (Dash's fingerprinted component
    suites, ``?v=`` or ``?m=`` on assets and the favicon): the same address is always the
    same bytes."""
    if not path.startswith(STAMPED_STATIC):
        return False
    stamps = parse_qs(query)
    if stamps.get("v") or stamps.get("m"):
        return True
    if path.startswith("/_dash-component-suites/"):
        return bool(check_fingerprint(path)[1])
    return False


class CachedCallbacks:
    """WSGI middleware in front of Flask (see the module)."""

    def __init__(self, app: WsgiApp, *, cache: ResponseCache | None,
                 callbacks: Callable[[], Mapping[str, Mapping[str, Any]]],
                 version: Callable[[], Hashable | None],
                 reading: Callable[[], AbstractContextManager[Any]]) -> None:
        self.app = app
        self.cache = cache
        self.callbacks = callbacks
        self.version = version
        self.reading = reading
        self._cacheable: dict[str, bool] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if method in ("GET", "HEAD") and stamped_static(path, environ.get("QUERY_STRING", "")):
            return self.app(environ, _immutable(start_response))
        if path != CALLBACK_PATH or method != "POST":
            return self.app(environ, start_response)
        key = self._key(environ) if self.cache is not None else None
        if key is None:
            return self.app(environ, _with_header(start_response, "off"))
        with self.reading():
            return self._answer(environ, start_response, key)

    def _key(self, environ: dict[str, Any]) -> bytes | None:
        """The request's cache key, or None when it is not cacheable (the body, read here,
        is put back for Flask)."""
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if mimetype != "application/json" or environ.get("HTTP_CONTENT_ENCODING"):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= MAX_CACHED_BODY:
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        canonical = canonical_body(body)
        if canonical is None or not self._callback_cacheable(body["output"]) \
                or on_uncached_page(body):
            return None
        return request_key(environ.get("SCRIPT_NAME", "") + CALLBACK_PATH,
                           environ.get("QUERY_STRING", ""), canonical)

    def _callback_cacheable(self, output: str) -> bool:
        known = self._cacheable.get(output)
        if known is None:
            spec = self.callbacks().get(output)
            known = spec is not None and cacheable_callback(output, spec)
            if spec is not None:
                with self._lock:
                    self._cacheable[output] = known
        return known

    def _answer(self, environ: dict[str, Any], start_response: StartResponse, key: bytes
                ) -> Iterable[bytes]:
        assert self.cache is not None
        started = time.perf_counter()
        version = self.version()
        if version is None:
            return self.app(environ, _with_header(start_response, "off"))
        found = self.cache.get(version, key)
        leading = False
        if found is None:
            flight = self.cache.lead(version, key)
            leading = flight is None
            if flight is not None and flight.wait(FOLLOW_WAIT_S):
                found = self.cache.get(version, key)
        if found is not None:
            self.cache.record(hit=True)
            if log.isEnabledFor(logging.INFO):
                log.info("POST %s %s %.0f ms (cached)", CALLBACK_PATH, found.status[:3],
                         (time.perf_counter() - started) * 1000)
            return _send(found, start_response, "hit")
        self.cache.record(hit=False)
        try:
            answer, exc_info = _collect(self.app, environ)
            if exc_info is None and _keepable(answer):
                self.cache.put(version, key, Answer(answer.status, tuple(
                    (n, v) for n, v in answer.headers if n.lower() not in PER_REQUEST_HEADERS),
                    answer.body))
        finally:
            if leading:
                self.cache.landed(version, key)
        return _send(answer, start_response, "miss", exc_info)


def _collect(app: WsgiApp, environ: dict[str, Any]) -> tuple[Answer, Any]:
    """Run ``app`` to the end: its status, headers and body, and any ``exc_info`` given."""
    got: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got.update(status=status, headers=headers, exc_info=exc_info)
        return lambda _data: None  # a legacy write() Flask never uses

    result = app(environ, start)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Answer(got["status"], tuple(got["headers"]), body), got.get("exc_info")


def _keepable(answer: Answer) -> bool:
    """A 200 JSON answer that sets no cookie and is not content-encoded."""
    names = {n.lower(): v for n, v in answer.headers}
    return (answer.status.startswith("200 ")
            and names.get("content-type", "").startswith("application/json")
            and "set-cookie" not in names and "content-encoding" not in names)


def _send(answer: Answer, start_response: StartResponse, outcome: str,
          exc_info: Any = None) -> Iterable[bytes]:
    headers = [*answer.headers, (CACHE_HEADER, outcome)]
    if exc_info is not None:
        start_response(answer.status, headers, exc_info)
    else:
        start_response(answer.status, headers)
    return [answer.body]


def _with_header(start_response: StartResponse, outcome: str) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
        return start_response(status, [*headers, (CACHE_HEADER, outcome)], *exc)
    return start


def _immutable(start_response: StartResponse) -> StartResponse:
    """Mark a 200 answer for a version-stamped static address as cacheable for a year."""
    def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
        if status.startswith("200 "):
            headers = [(n, v) for n, v in headers if n.lower() != "cache-control"]
            headers.append(("Cache-Control", IMMUTABLE))
        return start_response(status, headers, *exc)
    return start


def install(app: WsgiApp, dash_app: Any, warehouse: Warehouse, cache_mb: int) -> CachedCallbacks:
    """The layer over Flask's ``app`` for ``dash_app`` over ``warehouse``; a cache of
    ``cache_mb`` MB (0: none, every callback answered ``off``)."""
    cache = ResponseCache(cache_mb * 1024 * 1024) if cache_mb > 0 else None
    return CachedCallbacks(app, cache=cache, callbacks=lambda: dash_app.callback_map,
                           version=lambda: data_version(warehouse), reading=warehouse.reading)

