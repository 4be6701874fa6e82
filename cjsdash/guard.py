"""The WSGI layer in front of the dashboard: which hosts it answers, how big a request may
be, and the security headers every response carries.

:class:`RequestGuard` wraps the Flask app (``server.wsgi_app``), so ``cjsdash serve``,
``python app.py`` and ``waitress-serve app:server`` all go through it:

- **Host** (DNS rebinding): a page on another site whose name is made to resolve to this
  machine would send ``Host: that-site``; only ``localhost``, ``127.0.0.1``, ``[::1]``, the
  address the server was started on and ``CJSDASH_ALLOWED_HOSTS`` are answered (400 else).
- **Body size**: a request whose ``Content-Length`` is over the limit is refused with 413
  before the application reads a byte of it; a body without a length (chunked) is read at
  most one byte past the limit, then refused. The limit is :func:`request_body_limit`: an
  upload of ``upload_max_bytes`` travels base64-encoded (4/3) inside a JSON callback body.
  ``cjsdash serve`` also gives waitress the same ``max_request_body_size``, so waitress
  refuses such a body before spooling it.
- **Headers**: ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin`` and a ``Content-Security-Policy`` on every response
  (the app's own, see :mod:`cjsdash.server`, or a deny-all one on the guard's refusals).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from cjsdash.core.config import Settings

LOCAL_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_ADDRESS: frozenset[str] = frozenset({"", "0.0.0.0", "::"})
BASE64_ENVELOPE = 1024 * 1024  # the JSON around an upload's data URL, and the other fields
READ_PIECE = 64 * 1024
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
REFUSAL_CSP = "default-src 'none'; frame-ancestors 'none'"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def request_body_limit(settings: Settings) -> int:
    """The largest request body taken: an upload at the limit, base64-encoded, in its JSON."""
    return -(-settings.upload_max_bytes * 4 // 3) + BASE64_ENVELOPE


def host_name(host_header: str) -> str:
    """``Host`` without its port, lower case, without a trailing dot; ``[::1]`` → ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


def allowed_hosts(settings: Settings, bound: Iterable[str] = ()) -> frozenset[str] | None:
    """The host names answered: local ones, the addresses bound and the configured ones;
    None (any host) when ``CJSDASH_ALLOWED_HOSTS`` is ``*``."""
    configured = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    if "*" in configured:
        return None
    names = {host_name(h) for h in [*configured, *bound]}
    return frozenset((names - ANY_ADDRESS) | LOCAL_HOSTS)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def _printable(text: str, limit: int = 100) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:limit]


class RequestGuard:
    """WSGI middleware: Host allow-list, body-size limit, security headers (see module)."""

    def __init__(self, app: WsgiApp, *, hosts: frozenset[str] | None, max_body: int,
                 upload_max_bytes: int) -> None:
        self.app = app
        self.hosts = hosts
        self.max_body = max_body
        self.upload_max_bytes = upload_max_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        refusal = self._refusal(environ)
        if refusal is not None:
            status, text = refusal
            return self._refuse(environ, start_response, status, text)

        def with_headers(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            extra = [(n, v) for n, v in SECURITY_HEADERS if n.lower() not in present]
            return start_response(status, [*headers, *extra], *exc)

        return self.app(environ, with_headers)

    def _refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        host = environ.get("HTTP_HOST")
        if self.hosts is not None and host is not None and host_name(host) not in self.hosts:
            return ("400 Bad Request",
                    f"refused: this server does not answer for the host "
                    f"'{_printable(host)}'. It answers for {', '.join(sorted(self.hosts))}; "
                    "add a name to CJSDASH_ALLOWED_HOSTS to serve it under that name.")
        length = environ.get("CONTENT_LENGTH") or ""
        if length.strip():
            try:
                size = int(length)
            except ValueError:
                return "400 Bad Request", "refused: the request's Content-Length is not a number"
            if size < 0:
                return "400 Bad Request", "refused: the request's Content-Length is negative"
            if size > self.max_body:
                return "413 Content Too Large", self._too_large(f"{_size(size)}")
        elif environ.get("HTTP_TRANSFER_ENCODING", "").lower().strip().endswith("chunked"):
            return self._read_unsized(environ)
        return None

    def _read_unsized(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        """Read a body sent without a length, at most one byte past the limit."""
        stream = environ["wsgi.input"]
        pieces: list[bytes] = []
        total = 0
        while total <= self.max_body:
            piece = stream.read(min(READ_PIECE, self.max_body + 1 - total))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
        if total > self.max_body:
            return "413 Content Too Large", self._too_large(f"over {_size(self.max_body)}")
        environ["wsgi.input"] = io.BytesIO(b"".join(pieces))
        environ["CONTENT_LENGTH"] = str(total)
        return None

    def _too_large(self, size: str) -> str:
        return (f"refused: the request is {size}, over the {_size(self.max_body)} limit of this "
                f"server (files up to {_size(self.upload_max_bytes)} can be uploaded); load "
                "a bigger file with `cjsdash ingest` instead")

    def _refuse(self, environ: dict[str, Any], start_response: StartResponse, status: str,
                text: str) -> Iterable[bytes]:
        body = (text + "\n").encode("utf-8")
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(body))),
                   ("Content-Security-Policy", REFUSAL_CSP), *SECURITY_HEADERS]
        start_response(status, headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
