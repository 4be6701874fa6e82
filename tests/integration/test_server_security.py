"""The served dashboard against hostile requests (issue 13, items 9–12): a real app over a
small file warehouse, served by waitress on a free localhost port as ``cjsdash serve``
serves it (:mod:`tests.integration.served_app`), driven over HTTP."""

from __future__ import annotations

import base64
import io
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cjsdash.core.config import get_settings
from cjsdash.guard import RequestGuard, host_name, request_body_limit
from cjsdash.uploads import check_upload, display_name, save_upload
from tests.integration.served_app import (
    ALLOWED,
    FIRST,
    UPLOAD_MAX,
    Served,
    body_for,
    data_url,
    extract,
    served,
    upload_body,
)

__all__ = ["served"]  # the fixture, imported for pytest

# --- 9: long upload names ---------------------------------------------------------------------

def test_a_long_name_keeps_its_extension_and_is_saved_only_under_uploads(tmp_path: Path
                                                                         ) -> None:
    settings = get_settings().model_copy(update={"data_dir": tmp_path})
    name = "../../" + "Quarterly board extract " * 10 + ".CSV"
    assert len(name) > 200
    assert check_upload(name, 10, settings) == ".csv"
    shown = display_name(name)
    assert len(shown) == 120 and shown.endswith("….CSV")
    path = save_upload(name, FIRST.encode(), settings)
    assert path.parent == tmp_path / "uploads" and path.suffix == ".csv"
    assert len(path.name) < 100
    with pytest.raises(ValueError, match="without an extension"):
        check_upload("a" * 300, 10, settings)


def test_a_long_name_uploads_through_the_page(served: Served) -> None:
    name = "board extract for the partnership meeting " * 4 + ".csv"
    status, text = served.post(upload_body(served, name, data_url(extract(25))))
    assert status == 200, text
    assert "loaded as run" in text.decode() and "without an extension" not in text.decode()
    saved = [p.name for p in (served.data_dir / "uploads").iterdir()]
    assert any(n.endswith("-board-extract-for-the-partnership-meeting-board.csv")
               for n in saved), saved


# --- 10: malformed callback requests ----------------------------------------------------------

BAD_VALUES: tuple[Any, ...] = (["x"], {"a": 1}, 7, 2.5, True, "zzz", "", "x" * 20_000,
                               "../../etc/passwd", "1e309", -1)


def _fuzz_bodies(served: Served) -> list[tuple[str, dict[str, Any]]]:
    bodies = []
    for output, spec in served.app.callback_map.items():
        if "callback" not in spec:
            continue
        for key in ("inputs", "state"):
            for n, item in enumerate(spec.get(key, [])):
                for bad in BAD_VALUES:
                    bodies.append((f"{output} {key}[{n}] {item['property']}={str(bad)[:20]!r}",
                                   body_for(output, spec, {(key, n): bad})))
    return bodies


def test_no_callback_answers_500_to_a_wrong_value(served: Served) -> None:
    bodies = _fuzz_bodies(served)
    assert len(bodies) > 1000
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda b: (b[0], *served.post(b[1])), bodies))
    failures = [(what, status, text[:300]) for what, status, text in answers
                if status >= 500 or (status == 400 and not text.startswith(b"refused: "))]
    assert failures == [], failures[:5]
    statuses = {status for _, status, _ in answers}
    assert statuses <= {200, 204, 400}
    assert time.monotonic() - started < 240


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json", "must be a JSON object"),
    (b"[1, 2]", "must be a JSON object"),
    ({"inputs": []}, "names no output"),
    ({"output": "nowhere.children", "inputs": []}, "no callback on this server writes"),
    ({"output": "data-upload.contents", "inputs": []}, "no callback on this server writes"),
    ({"output": "data-rejects.children", "inputs": "x"}, "'inputs' must be a list"),
    ({"output": "data-rejects.children", "inputs": []}, "takes 2 inputs, not 0"),
    ({"output": "data-rejects.children", "inputs": [1, 2]}, "must be an object"),
    ({"output": "data-rejects.children", "outputs": {"id": "data-rejects",
                                                     "property": "children"},
      "inputs": [{"id": "data-run", "property": "value", "value": "abc"},
                 {"id": "data-version", "property": "data", "value": 1}]},
     "'abc' is not a run number"),
    ({"output": "data-rejects.children", "outputs": [],
      "inputs": [{"id": "data-run", "property": "value", "value": "all"},
                 {"id": "data-version", "property": "data", "value": 1}]},
     "each of 'outputs' must be an object with id and property"),
    ({"output": "data-rejects.children", "outputs": {"id": "data-files", "property": "children"},
      "inputs": [{"id": "data-run", "property": "value", "value": "all"},
                 {"id": "data-version", "property": "data", "value": 1}]},
     "does not match the callback's output 'data-rejects.children'"),
    ({"output": "site-nav.children", "outputs": {"id": "site-nav", "property": "children"},
      "inputs": [{"id": "_pages_location", "property": "pathname", "value": ["/"]},
                 {"id": "_pages_location", "property": "search", "value": ""}]},
     "a pathname must be a path beginning with '/', not a list"),
])
def test_a_malformed_callback_request_is_refused_with_its_reason(served: Served, body: Any,
                                                                 reason: str) -> None:
    status, text = served.post(body)
    assert status == 400
    assert text.decode().startswith("refused: ") and reason in text.decode()


def test_an_upload_whose_contents_is_not_text_is_refused(served: Served) -> None:
    for contents in ({"a": 1}, ["data:,x"], 12, True):
        status, text = served.post(upload_body(served, "x.csv", contents))
        assert status == 400 and b"contents' must be text" in text
    status, text = served.post(upload_body(served, "x.csv", "data:text/csv;base64,@@@"))
    assert status == 200 and "damaged file" in text.decode()


# --- 11: the body size limit, before the body is read -----------------------------------------

class _Unreadable(io.RawIOBase):
    def read(self, *_: Any) -> bytes:  # type: ignore[override]
        raise AssertionError("the body was read")


def _guard() -> RequestGuard:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"read %d" % len(body)]
    return RequestGuard(app, hosts=frozenset({"localhost"}), max_body=1000,
                        upload_max_bytes=700)


def _call(guard: RequestGuard, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"], seen["headers"] = status, dict(headers)
    body = b"".join(guard({"REQUEST_METHOD": "POST", "HTTP_HOST": "localhost", **environ},
                          start_response))
    return seen["status"], seen["headers"], body


def test_an_oversize_body_is_refused_from_its_length_without_reading_it() -> None:
    status, headers, body = _call(_guard(), {"CONTENT_LENGTH": str(300 * 1024 * 1024),
                                             "wsgi.input": _Unreadable()})
    assert status.startswith("413")
    assert b"300.0 MB, over the 1,000 bytes limit" in body and b"cjsdash ingest" in body
    assert headers["X-Frame-Options"] == "DENY"
    status, _, body = _call(_guard(), {"CONTENT_LENGTH": "1000", "wsgi.input": io.BytesIO(
        b"x" * 1000)})
    assert status == "200 OK" and body == b"read 1000"
    assert _call(_guard(), {"CONTENT_LENGTH": "12abc", "wsgi.input": _Unreadable()}
                 )[0].startswith("400")


class _Endless(io.RawIOBase):
    def __init__(self) -> None:
        self.given = 0

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        self.given += n
        return b"x" * n


def test_a_chunked_body_is_read_only_to_one_byte_past_the_limit() -> None:
    stream = _Endless()
    status, _, body = _call(_guard(), {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": stream})
    assert status.startswith("413") and stream.given == 1001
    status, _, body = _call(_guard(), {"HTTP_TRANSFER_ENCODING": "chunked",
                                       "wsgi.input": io.BytesIO(b"y" * 999)})
    assert status == "200 OK" and body == b"read 999"


def test_the_served_app_refuses_an_oversize_upload_before_the_body_arrives(served: Served
                                                                          ) -> None:
    limit = request_body_limit(get_settings())
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
        s.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (300 * 1024 * 1024))
        answer = s.recv(4096)  # answered with no byte of the body sent
    assert answer.startswith(b"HTTP/1.1 413")
    # a chunked body over the limit is cut off as it streams
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
        s.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: localhost\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        piece = b"x" * 65536
        sent = 0
        try:
            while sent <= limit + 2 * len(piece):
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    # just under the limit goes through to the page, which refuses the file by its size
    big = data_url(b"a,b\n" + b"1,2\n" * (UPLOAD_MAX // 4 + 10))
    status, text = served.post(upload_body(served, "big.csv", big))
    assert status == 200 and "limit for uploads" in text.decode()


# --- 12: Host header and security headers -----------------------------------------------------

@pytest.mark.parametrize(("host", "allowed"), [
    ("localhost", True), ("127.0.0.1:{port}", True), ("[::1]:{port}", True),
    ("LOCALHOST.", True), (ALLOWED, True), (f"{ALLOWED}:{{port}}", True),
    ("evil.example", False), ("127.0.0.1.evil.example", False), ("localhost.evil", False),
])
def test_only_allowed_hosts_are_answered(served: Served, host: str, allowed: bool) -> None:
    status, headers, body = served.request("GET", "/", headers={
        "Host": host.format(port=served.port)})
    if allowed:
        assert status == 200
    else:
        assert status == 400 and b"does not answer for the host" in body
        assert b"CJSDASH_ALLOWED_HOSTS" in body
        assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_host_names_are_compared_without_port_case_or_brackets() -> None:
    assert host_name("LocalHost:8050") == "localhost"
    assert host_name("[::1]:8050") == "::1" and host_name("[::1]") == "::1"
    assert host_name("example.org.") == "example.org"


def test_every_response_carries_the_security_headers(served: Served) -> None:
    for path in ("/", "/data", "/_dash-layout", "/_dash-dependencies", "/assets/style.css",
                 "/no-such-page"):
        status, headers, _ = served.request("GET", path)
        assert status < 500, path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        csp = headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and "'unsafe-inline'" not in script_src.group(1)
        assert "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp
    _, headers, page = served.request("GET", "/")
    inline = re.findall(rb"<script>(.*?)</script>", page, re.S)
    assert inline  # Dash's inline scripts are each allowed by their hash
    import hashlib
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
        assert f"'sha256-{digest}'" in headers["Content-Security-Policy"]


def test_serve_listens_on_localhost_by_default() -> None:
    import inspect

    from cjsdash import cli
    assert inspect.signature(cli.serve).parameters["host"].default == "127.0.0.1"
    import app as entry
    assert "--listen=127.0.0.1" in (entry.__doc__ or "")


def test_a_comparison_without_a_national_figure_is_drawn_empty(served: Served) -> None:
    """A sparse warehouse (no England and Wales figure) once made the funnel a 500."""
    output = "indicator-compare.children"
    spec = served.app.callback_map[output]
    status, text = served.post(body_for(output, spec, {
        ("inputs", 0): "CJA03", ("inputs", 1): "fquarter",
        ("state", 0): "ineffective_trial_rate_crown"}))
    assert status == 200, text[:300]
    assert "No funnel plot: no England and Wales figure" in text.decode()
