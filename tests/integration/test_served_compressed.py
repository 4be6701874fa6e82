"""The served dashboard gzips its text answers for a client that takes gzip, as a browser
does, and they are the same bytes once inflated (decision 0047): the page, Dash's scripts
(compressed once, then kept), and callback answers, the kept ones included; security
headers stay on every one."""

from __future__ import annotations

import gzip
import json
import re

from tests.integration.served_app import Served, body_for, served

__all__ = ["served"]  # the fixture, imported for pytest

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def _both(served: Served, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[dict[str, str], bytes, bytes]:
    """(headers of the gzipped answer, its bytes inflated, the plain answer's bytes)."""
    status, packed_headers, packed = served.request(method, path, body,
                                                    {**(headers or {}), **GZIP})
    plain_status, plain_headers, plain = served.request(method, path, body, headers)
    assert status == plain_status == 200
    assert "Content-Encoding" not in plain_headers
    assert plain_headers["Vary"] == packed_headers["Vary"] == "Accept-Encoding"
    assert packed_headers["Content-Encoding"] == "gzip"
    assert int(packed_headers["Content-Length"]) == len(packed) < len(plain)
    for name in ("X-Frame-Options", "X-Content-Type-Options", "Content-Security-Policy"):
        assert packed_headers[name] == plain_headers[name]
    return packed_headers, gzip.decompress(packed), plain


def _same_page(page: bytes) -> bytes:
    """The page without Dash's per-load id (a signed random token for background
    callbacks, which the dashboard does not use)."""
    return re.sub(rb'"end_id":"[^"]*"', b'"end_id":""', page)


def test_the_page_and_its_scripts_are_gzipped_and_the_same_once_inflated(
        served: Served) -> None:
    _, page, plain = _both(served, "GET", "/")
    assert _same_page(page) == _same_page(plain)
    scripts = re.findall(r'src="(/_dash-component-suites/[^"]+\.js[^"]*)"', page.decode())
    renderer = next(s for s in scripts if "dash_renderer" in s)
    headers, script, plain_script = _both(served, "GET", renderer)
    assert script == plain_script and len(script) > 100_000
    assert "immutable" in headers["Cache-Control"]  # Dash's caching of fingerprinted files
    _, again, _ = _both(served, "GET", renderer)  # from the kept compressed copy
    assert again == script
    style = re.search(r'href="(/assets/style\.css[^"]*)"', page.decode())
    assert style is not None
    headers, _, _ = _both(served, "GET", style[1])
    assert headers["Etag"].startswith('W/"')  # a browser revalidates it: 304, no body
    status, revalidated, body = served.request("GET", style[1], headers={
        **GZIP, "If-None-Match": headers["Etag"]})
    assert (status, body) == (304, b"")
    assert revalidated["Etag"] == headers["Etag"]  # the validator the client holds
    assert revalidated["Vary"] == "Accept-Encoding"
    for path in (renderer, style[1]):  # a HEAD gets its GET's headers, no body
        status, head, body = served.request("HEAD", path, headers=GZIP)
        assert (status, body) == (200, b"")
        packed, _, _ = _both(served, "GET", path)
        for name in ("Content-Encoding", "Content-Length", "Etag", "Vary", "Cache-Control"):
            assert head.get(name) == packed.get(name), (path, name)


def test_a_callback_answer_is_gzipped_fresh_and_kept(served: Served) -> None:
    """The data page's coverage (its largest answer: HTML tables), computed the first time
    and answered from the kept answers the second, gzipped both times, equal once
    inflated."""
    key = served.output_of(["value", "value", "value", "value", "data"], "data-area")
    values = {("inputs", 0): "K04000001", ("inputs", 1): "quarter",
              ("inputs", 2): "lcjb", ("inputs", 3): "latest", ("inputs", 4): 0}
    body = json.dumps(body_for(key, served.app.callback_map[key], values)).encode()
    for _ in range(2):
        _, answer, plain = _both(served, "POST", "/_dash-update-component", body,
                                 {"Content-Type": "application/json"})
        assert answer == plain
        assert "data-coverage-area" in answer.decode()
