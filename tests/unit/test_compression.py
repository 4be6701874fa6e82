"""Text answers gzipped for clients that accept gzip, everything else untouched (decision
0047): :class:`cjsdash.compression.Gzipped` around small WSGI apps, driven by werkzeug's
test client."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from cjsdash import compression
from cjsdash.compression import Gzipped, StaticKept, accepts_gzip

JSON = b'{"response": {"x": {"children": "' + b"Cumbria LCJB " * 400 + b'"}}}'


def app_of(body: bytes | Iterable[bytes], *, status: str = "200 OK",
           headers: list[tuple[str, str]] | None = None, lazy: bool = False,
           closed: list[bool] | None = None) -> Callable[..., Iterable[bytes]]:
    """A WSGI app giving ``body`` (its pieces as given); ``lazy``: it starts its answer on
    the first piece; ``closed`` records that its iterable was closed."""
    pieces = [body] if isinstance(body, bytes) else list(body)
    given = headers if headers is not None else [
        ("Content-Type", "application/json"),
        ("Content-Length", str(sum(map(len, pieces))))]

    class Body:
        def __init__(self, start: Callable[..., Any]) -> None:
            self.start = start

        def __iter__(self) -> Iterator[bytes]:
            if lazy:
                self.start(status, given)
            yield from pieces

        def close(self) -> None:
            if closed is not None:
                closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        if not lazy:
            start_response(status, given)
        return Body(start_response)

    return app


def get(app: Callable[..., Any], encoding: str | None = "gzip, deflate, br",
        method: str = "GET", path: str = "/_dash-update-component") -> Any:
    headers = {"Accept-Encoding": encoding} if encoding is not None else {}
    return Client(Gzipped(app)).open(path, method=method, headers=headers)


def test_a_json_answer_is_gzipped_with_its_new_length_and_vary() -> None:
    answer = get(app_of(JSON))
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Vary"] == "Accept-Encoding"
    assert int(answer.headers["Content-Length"]) == len(answer.data) < len(JSON) // 10
    assert gzip.decompress(answer.data) == JSON


@pytest.mark.parametrize("encoding", [None, "identity", "gzip;q=0", "br", "deflate",
                                      "*;q=0", "gzip;q=0, *"])
def test_without_gzip_accepted_the_answer_is_as_given_and_still_varies(
        encoding: str | None) -> None:
    answer = get(app_of(JSON), encoding)
    if encoding == "gzip;q=0, *":  # gzip refused by name: the wildcard does not bring it back
        assert accepts_gzip(encoding) is False
    assert "Content-Encoding" not in answer.headers
    assert answer.data == JSON
    assert answer.headers["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize("header, taken", [
    ("gzip", True), ("GZIP", True), ("x-gzip", True), ("deflate, gzip;q=0.5", True),
    ("gzip;q=0.0", False), ("*", True), ("br;q=1, *;q=0.1", True), ("", False),
    ("gzip;q=nonsense", False)])
def test_accept_encoding_is_read_as_http_says(header: str, taken: bool) -> None:
    assert accepts_gzip(header) is taken


@pytest.mark.parametrize("status, headers", [
    ("200 OK", [("Content-Type", "image/png")]),
    ("200 OK", [("Content-Type", "application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet")]),
    ("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "br")]),
    ("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-transform")]),
    ("206 Partial Content", [("Content-Type", "application/javascript")]),
    ("304 Not Modified", [("Content-Type", "application/javascript")]),
    ("500 Internal Server Error", [("Content-Type", "text/html")]),
])
def test_other_answers_pass_through_untouched(status: str, headers: list[tuple[str, str]]
                                              ) -> None:
    closed: list[bool] = []
    answer = get(app_of(JSON, status=status, headers=headers, closed=closed))
    assert answer.status == status
    assert answer.headers.get("Content-Encoding") == dict(headers).get("Content-Encoding")
    assert answer.data == JSON  # as the app gave it
    answer.close()  # the server closes what it was given (WSGI)
    assert closed == [True]


def test_a_small_answer_is_not_compressed() -> None:
    small = b'{"ok": true}'
    answer = get(app_of(small, headers=[("Content-Type", "application/json")]))
    assert "Content-Encoding" not in answer.headers and answer.data == small
    assert answer.headers["Vary"] == "Accept-Encoding"


def test_a_head_request_gets_the_headers_its_get_would_and_no_body() -> None:
    """RFC 9110 9.3.2: the same header fields as the GET; the app answers it as one."""
    typed = [("Content-Type", "text/html; charset=utf-8"), ("ETag", '"abc"')]
    methods: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        methods.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [*typed, ("Content-Length", str(len(JSON)))])
        return [JSON]

    whole, head = get(app), get(app, method="HEAD")
    assert methods == ["GET", "GET"]
    assert head.data == b""
    for name in ("Content-Encoding", "Content-Length", "ETag", "Vary", "Content-Type"):
        assert head.headers[name] == whole.headers[name], name
    assert head.headers["Content-Encoding"] == "gzip"
    assert int(head.headers["Content-Length"]) == len(whole.data) < len(JSON)
    plain = get(app, encoding=None, method="HEAD")  # gzip not accepted: the app's own HEAD
    assert methods[-1] == "HEAD" and "Content-Encoding" not in plain.headers
    assert plain.headers["Content-Length"] == str(len(JSON))


@pytest.mark.parametrize("asked, etag, varies", [
    ('W/"abc"', 'W/"abc"', True),  # the compressed form, revalidated
    ('"x", W/"abc"', 'W/"abc"', True),
    ('"abc"', '"abc"', False),  # the plain form (a client without gzip before)
    ("", '"abc"', False),
])
def test_a_304_names_the_form_the_client_revalidates(asked: str, etag: str, varies: bool
                                                     ) -> None:
    """RFC 9110 15.4.5: a 304 carries the ETag (and Vary) the 200 would have."""
    app = app_of(b"", status="304 Not Modified", headers=[("ETag", '"abc"')])
    answer = Client(Gzipped(app)).open("/assets/style.css", headers={
        "Accept-Encoding": "gzip", **({"If-None-Match": asked} if asked else {})})
    assert answer.status_code == 304
    assert answer.headers["ETag"] == etag
    assert (answer.headers.get("Vary") == "Accept-Encoding") is varies


def test_a_strong_etag_becomes_weak_and_vary_joins_the_one_there() -> None:
    answer = get(app_of(JSON, headers=[("Content-Type", "text/html; charset=utf-8"),
                                       ("ETag", '"abc"'), ("Vary", "Cookie")]))
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["ETag"] == 'W/"abc"'
    assert answer.headers["Vary"] == "Cookie, Accept-Encoding"
    assert gzip.decompress(answer.data) == JSON


def test_pieces_and_a_lazy_start_are_joined_and_the_body_closed() -> None:
    closed: list[bool] = []
    pieces = [JSON[:100], b"", JSON[100:2000], JSON[2000:]]
    answer = get(app_of(pieces, headers=[("Content-Type", "application/json")], lazy=True,
                        closed=closed))
    assert gzip.decompress(answer.data) == JSON
    assert closed == [True]


def test_an_answer_without_a_length_over_the_cap_streams_as_it_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "MAX_BYTES", 3000)
    closed: list[bool] = []
    pieces = [JSON[i:i + 1000] for i in range(0, len(JSON), 1000)]
    answer = get(app_of(pieces, headers=[("Content-Type", "text/csv")], closed=closed))
    assert "Content-Encoding" not in answer.headers
    assert answer.data == JSON
    answer.close()
    assert closed == [True]


def test_static_files_are_compressed_once_by_their_bytes_and_kept() -> None:
    """Kept by their bytes, not the path asked: Dash serves a file under any fingerprint or
    query, so made-up names cost no compression each (nor push the real files out); a page
    Dash answers under those paths is compressed afresh, never kept."""
    calls: list[int] = []
    real = compression.igzip.compress

    def counted(data: bytes, level: int) -> bytes:
        calls.append(level)
        return real(data, level)

    kept = StaticKept()
    script = Client(Gzipped(app_of(JSON, headers=[
        ("Content-Type", "application/javascript"), ("Accept-Ranges", "bytes")]), kept))
    page = Client(Gzipped(app_of(JSON, headers=[("Content-Type", "text/html")]), kept))
    paths = ["/_dash-component-suites/dash/deps/plotly.min.js",
             "/_dash-component-suites/dash/deps/plotly.v9_9m1.min.js",
             "/_dash-component-suites/dash/deps/plotly.min.js?junk=1"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compression.igzip, "compress", counted)
        answers = [script.get(p, headers={"Accept-Encoding": "gzip"}) for p in paths]
        script.post("/_dash-update-component", headers={"Accept-Encoding": "gzip"})
        page.get("/assets/nothing-here", headers={"Accept-Encoding": "gzip"})
    assert all(gzip.decompress(a.data) == JSON for a in answers)
    assert {a.data for a in answers} == {answers[0].data}
    assert "Accept-Ranges" not in answers[0].headers
    assert calls == [compression.STATIC_LEVEL, compression.DYNAMIC_LEVEL,
                     compression.DYNAMIC_LEVEL]
    assert kept.size == len(answers[0].data)


def test_a_range_request_is_answered_plain() -> None:
    answer = Client(Gzipped(app_of(JSON))).get(
        "/", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert "Content-Encoding" not in answer.headers and answer.data == JSON


def test_every_vary_header_is_kept() -> None:
    answer = get(app_of(JSON, headers=[("Content-Type", "application/json"),
                                       ("Vary", "Cookie"), ("Vary", "Origin")]))
    assert answer.headers.getlist("Vary") == ["Cookie, Origin, Accept-Encoding"]


def test_a_lazy_app_failing_at_its_first_piece_is_closed() -> None:
    closed: list[bool] = []

    class Failing:
        def __iter__(self) -> Iterator[bytes]:
            raise RuntimeError("no answer")

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Failing:
        return Failing()

    with pytest.raises(RuntimeError, match="no answer"):
        get(app)
    assert closed == [True]


def test_an_error_started_while_the_body_is_read_is_the_one_sent() -> None:
    """PEP 3333: an app may call start_response again with exc_info before anything was
    sent; the error answer goes out once, not the 200 after it."""
    import sys

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        yield JSON[:10]
        try:
            raise ValueError("broke")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
        yield b"failed"

    sent: list[tuple[str, bool]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                       ) -> Callable[[bytes], None]:
        sent.append((status, exc_info is not None))  # nothing sent yet: allowed (PEP 3333)
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_ACCEPT_ENCODING": "gzip"}
    body = b"".join(Gzipped(app)(environ, start_response))
    assert sent == [("500 Internal Server Error", True)]
    assert body.endswith(b"failed")


def test_the_static_store_is_bounded_in_bytes() -> None:
    kept = StaticKept(limit=100)
    for n in range(5):
        kept.put((40, n), bytes(40))
    assert kept.size <= 100
    assert kept.get((40, 4)) is not None and kept.get((40, 0)) is None
    kept.put((101, 0), bytes(101))
    assert kept.get((101, 0)) is None
