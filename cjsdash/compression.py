"""Responses gzipped for browsers that accept it (decision 0047).

Nothing compressed the server's answers: a first visit fetched 5.5 MB of scripts (plotly.js
alone 4.7 MB), and every change of the data page's area fetched its coverage answer, 1 MB of
HTML tables inside JSON. Gzipped (ISA-L, the library the loaders already inflate ZIPs with)
those are 1.6 MB and 36 KB: what a board's analyst on a slow office link waits for, not the
server. :class:`Gzipped` wraps the whole WSGI app (the guard and the callback answers kept
per data version inside it), so kept answers are compressed on their way out too.

Compressed: a 200 answer of a text type (HTML, JSON, JavaScript, CSS, CSV, SVG) of at least
:data:`MIN_BYTES`, not already encoded, not marked ``no-transform``, to a request whose
``Accept-Encoding`` takes gzip; its length is set anew, its ``ETag`` made weak (the bytes
differ, the content does not). Every answer of such a type says ``Vary: Accept-Encoding``,
compressed or not, so that no cache hands one form to a client that asked for the other.
Anything else passes through untouched, streamed as the app gives it (a download over
:data:`MAX_BYTES` too: it is not held in memory to be compressed).

Dynamic answers are compressed at ISA-L's level 1 (a 1 MB answer in about a millisecond);
the scripts and styles Dash serves from files are compressed once at level 3 and kept
(:class:`StaticKept`, bounded in bytes), keyed by their bytes (length and CRC-32), not by
the path asked: Dash serves the same file under any fingerprint or query, so a stream of
made-up names costs one compression, not one each, and evicts nothing. A request with a
``Range`` is answered as it is (ranges are of the plain bytes), and a compressed answer
drops ``Accept-Ranges``. A ``HEAD`` is answered with the headers its ``GET`` would get
(the app answers it as a ``GET``; the body is not sent), and a 304 to a client revalidating
the compressed form names it as that client holds it (``W/"…"``, with ``Vary``): RFC 9110
asks both of a server, and a cache updates the stored answer the validator names.

Compression's length side channel (BREACH) needs a secret in an answer that also carries
text an attacker chose: Dash's page does repeat the request's URL (its meta tags), but the
dashboard has no sessions, cookies or credentials to find, and the page's one per-load
token (Dash's signed id for background callbacks) guards nothing here, as the dashboard has
no background callbacks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from isal import igzip, isal_zlib

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Headers = list[tuple[str, str]]

MIN_BYTES = 1024
"""Smaller answers go as they are (gzip's header and the work are not worth it)."""
MAX_BYTES = 32 * 1024 * 1024
"""Larger answers go as they are, streamed: never held whole in memory to be compressed."""
DYNAMIC_LEVEL = 1
STATIC_LEVEL = 3
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
"""Paths whose scripts and styles are files: compressed once (:data:`FILE_TYPES`)."""
FILE_TYPES = frozenset({"application/javascript", "text/javascript", "text/css"})
"""What is kept compressed: a page under those paths (Dash answers unknown ones with the
page, which differs by request) is compressed afresh."""
STATIC_KEPT_BYTES = 16 * 1024 * 1024
TEXT_TYPES = frozenset({
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript", "text/xml",
    "application/javascript", "application/json", "application/xml", "image/svg+xml"})


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value takes gzip (``gzip`` or ``*``, with q > 0)."""
    wildcard = None
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip() in ("gzip", "x-gzip"):
            return quality > 0
        if coding.strip() == "*":
            wildcard = quality > 0
    return bool(wildcard)


def _header(headers: Headers, name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers if key.lower() == lowered), None)


def _without(headers: Headers, *names: str) -> Headers:
    lowered = {n.lower() for n in names}
    return [(k, v) for k, v in headers if k.lower() not in lowered]


def _type(headers: Headers) -> str:
    return (_header(headers, "Content-Type") or "").split(";")[0].strip().lower()


def is_text(headers: Headers) -> bool:
    return _type(headers) in TEXT_TYPES


def with_vary(headers: Headers) -> Headers:
    """``headers`` saying ``Vary: Accept-Encoding`` (added to a ``Vary`` already there)."""
    varies = [value for key, value in headers if key.lower() == "vary"]
    if not varies:
        return [*headers, ("Vary", "Accept-Encoding")]
    names = {v.strip().lower() for value in varies for v in value.split(",")}
    if "accept-encoding" in names or "*" in names:
        return headers
    return [*_without(headers, "Vary"), ("Vary", ", ".join([*varies, "Accept-Encoding"]))]


def _varied(headers: Headers) -> Headers:
    """``headers`` as sent uncompressed: a text answer still says it varies."""
    return with_vary(headers) if is_text(headers) else headers


def _compressible(status: str, headers: Headers) -> bool:
    if not status.startswith("200") or _header(headers, "Content-Encoding"):
        return False
    if "no-transform" in (_header(headers, "Cache-Control") or "").lower():
        return False
    length = _header(headers, "Content-Length")
    if length is not None:
        try:
            if not MIN_BYTES <= int(length) <= MAX_BYTES:
                return False
        except ValueError:
            return False
    return is_text(headers)


def gzipped_headers(headers: Headers, length: int) -> Headers:
    """The headers of a gzipped answer: its new length, its encoding, a weak ``ETag``, no
    ``Accept-Ranges`` (a range would be of the plain bytes)."""
    etag = _header(headers, "ETag")
    kept = _without(headers, "Content-Length", "ETag", "Accept-Ranges")
    if etag is not None:
        kept.append(("ETag", etag if etag.startswith("W/") else f"W/{etag}"))
    return [*kept, ("Content-Encoding", "gzip"), ("Content-Length", str(length))]


def _wanted(environ: dict[str, Any]) -> bool:
    """Whether the request may be answered gzipped (a range is of the plain bytes)."""
    return (environ.get("REQUEST_METHOD") in ("GET", "POST", "HEAD")
            and "HTTP_RANGE" not in environ
            and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")))


def _revalidated(environ: dict[str, Any], headers: Headers) -> Headers:
    """A 304's headers: when the client revalidates the compressed form (its
    ``If-None-Match`` names ``W/`` and the app's strong ``ETag``), that weak ``ETag`` and
    ``Vary: Accept-Encoding``, as the compressed 200 said; otherwise as
    :func:`_varied` makes them (an error answer, say)."""
    etag = _header(headers, "ETag")
    if etag is None or etag.startswith("W/"):
        return _varied(headers)
    asked = {t.strip() for t in environ.get("HTTP_IF_NONE_MATCH", "").split(",")}
    if f"W/{etag}" not in asked:
        return _varied(headers)
    return with_vary([*_without(headers, "ETag"), ("ETag", f"W/{etag}")])


class StaticKept:
    """Compressed static files by (length, CRC-32) of their bytes, least recently used
    dropped first, bounded in bytes."""

    def __init__(self, limit: int = STATIC_KEPT_BYTES) -> None:
        self.limit = limit
        self._held: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> bytes | None:
        with self._lock:
            found = self._held.get(key)
            if found is not None:
                self._held.move_to_end(key)
            return found

    def put(self, key: tuple[int, int], packed: bytes) -> None:
        if len(packed) > self.limit:
            return
        with self._lock:
            old = self._held.pop(key, None)
            self._bytes += len(packed) - (len(old) if old is not None else 0)
            self._held[key] = packed
            while self._bytes > self.limit:
                _, dropped = self._held.popitem(last=False)
                self._bytes -= len(dropped)

    @property
    def size(self) -> int:
        return self._bytes


class Gzipped:
    """WSGI middleware: the app's text answers gzipped for clients that accept gzip."""

    def __init__(self, app: WSGIApp, kept: StaticKept | None = None) -> None:
        self.app = app
        self.kept = kept if kept is not None else StaticKept()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "HEAD" and _wanted(environ):
            return self._head(environ, start_response)
        return self._answer(environ, start_response)

    def _answer(self, environ: dict[str, Any], start_response: StartResponse
                ) -> Iterable[bytes]:
        wanted = _wanted(environ)
        captured: list[tuple[str, Headers]] = []
        written: list[bytes] = []

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable:
            if exc_info is not None or not wanted or status.startswith("304"):
                # errors and plain answers go as they are; a 304 names what was revalidated
                captured.append(("", []))
                return start_response(status, _revalidated(environ, headers) if wanted
                                      else _varied(headers), exc_info)
            captured.append((status, list(headers)))
            return written.append

        body = self.app(environ, capture)
        pieces = list(written)
        try:
            chunks: Iterator[bytes] = iter(body)
            if not captured:  # an app that starts its answer lazily: its first piece does
                pieces.append(next(chunks, b""))
        except BaseException:
            _close(body)
            raise
        status, headers = captured[-1] if captured else ("", [])
        if not status:  # already started, untouched
            return _chained(pieces, chunks, body)
        if not _compressible(status, headers):
            start_response(status, _varied(headers))
            return _chained(pieces, chunks, body)
        size = sum(map(len, pieces))
        try:
            for chunk in chunks:  # an answer without a length is read up to MAX_BYTES only
                pieces.append(chunk)
                size += len(chunk)
                if size > MAX_BYTES:
                    start_response(status, with_vary(headers))
                    return _chained(pieces, chunks, body)
        except BaseException:
            _close(body)
            raise
        _close(body)
        if not captured[-1][0]:  # the app started an error answer of its own meanwhile
            return pieces
        data = b"".join(pieces)
        if len(data) < MIN_BYTES:
            start_response(status, with_vary(headers))
            return [data]
        packed = self._packed(environ, headers, data)
        start_response(status, with_vary(gzipped_headers(headers, len(packed))))
        return [packed]

    def _head(self, environ: dict[str, Any], start_response: StartResponse
              ) -> Iterable[bytes]:
        """A ``HEAD``: the headers of the ``GET`` (compressed as it would be), no body."""
        answered: list[tuple[str, Headers]] = []

        def keep(status: str, headers: Headers, exc_info: Any = None) -> Callable:
            answered.append((status, headers))
            return lambda _data: None

        _close(self._answer({**environ, "REQUEST_METHOD": "GET"}, keep))
        if not answered:  # nothing started: the app answers the HEAD itself
            return self.app(environ, start_response)
        status, headers = answered[-1]
        start_response(status, headers)
        return []

    def _packed(self, environ: dict[str, Any], headers: Headers, data: bytes) -> bytes:
        if (environ.get("REQUEST_METHOD") != "GET" or _type(headers) not in FILE_TYPES
                or not environ.get("PATH_INFO", "").startswith(STATIC_PREFIXES)):
            return igzip.compress(data, DYNAMIC_LEVEL)
        key = (len(data), isal_zlib.crc32(data))
        packed = self.kept.get(key)
        if packed is None:
            packed = igzip.compress(data, STATIC_LEVEL)
            self.kept.put(key, packed)
        return packed


def _close(body: Iterable[bytes]) -> None:
    if hasattr(body, "close"):
        body.close()


def _chained(head: list[bytes], rest: Iterator[bytes], body: Iterable[bytes]
             ) -> Iterable[bytes]:
    """``head`` then ``rest``, closing the app's ``body`` when done (as WSGI asks)."""
    if not head:
        return body
    return _Closing(head, rest, body)


class _Closing:
    def __init__(self, head: list[bytes], rest: Iterator[bytes], body: Iterable[bytes]
                 ) -> None:
        self._head, self._rest, self._body = head, rest, body

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        yield from self._rest

    def close(self) -> None:
        _close(self._body)
