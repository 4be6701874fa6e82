"""The response cache in the served dashboard (decision 0027): a repeated callback is answered
from it with every guard header, never across a load, never for a refusal, an error, an
upload or a download (:mod:`tests.integration.served_app`: waitress over a file warehouse;
and the one-process and ``--workers`` warehouses through Flask's test client)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cjsdash.core.config import get_settings
from tests.conftest import write_csv
from tests.integration.served_app import (
    ALLOWED,
    FIRST,
    Served,
    body_for,
    data_url,
    extract,
    served,
    upload_body,
)

__all__ = ["served"]  # the fixture, imported for pytest

CACHE = "X-Cjsdash-Cache"
GUARD_HEADERS = ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                 "Content-Security-Policy")
FILES = re.compile(r"([\d,]+) files? loaded")


def _post(served: Served, body: dict[str, Any], host: str = "127.0.0.1"
          ) -> tuple[int, dict[str, str], bytes]:
    return served.request("POST", "/_dash-update-component", json.dumps(body).encode(),
                          {"Content-Type": "application/json", "Host": host})


def _data_head(app: Any, version: int) -> dict[str, Any]:
    """The data page's summary and tables, as the page asks for them (``version``: the
    page's upload counter, chosen per test so tests do not share entries)."""
    output = next(k for k, s in app.callback_map.items()
                  if "callback" in s and k.startswith("..data-head."))
    return body_for(output, app.callback_map[output], {("inputs", 0): version,
                                                       ("state", 0): "all"})


def _files(answer: bytes) -> int:
    found = FILES.search(json.loads(answer)["response"]["data-head"]["children"]["props"]
                         ["children"][1]["props"]["children"])
    assert found, answer[:300]
    return int(found.group(1).replace(",", ""))


def test_a_repeated_callback_is_answered_from_the_cache_with_every_guard_header(
        served: Served) -> None:
    body = _data_head(served.app, 101)
    status, first_headers, first = _post(served, body)
    assert status == 200 and first_headers[CACHE] == "miss"
    status, headers, again = _post(served, body)
    assert status == 200 and headers[CACHE] == "hit"
    assert again == first
    for name in (*GUARD_HEADERS, "Content-Type"):
        assert headers.get(name) == first_headers.get(name), name
        assert headers.get(name), name
    # the same request spelt differently (keys in another order) is the same entry
    reordered = dict(reversed(list(body.items())))
    assert _post(served, reordered)[1][CACHE] == "hit"
    # another input is another entry
    status, headers, other = _post(served, _data_head(served.app, 102))
    assert status == 200 and headers[CACHE] == "miss"


def test_the_host_guard_answers_before_the_cache(served: Served) -> None:
    body = _data_head(served.app, 201)
    assert _post(served, body)[0] == 200
    assert _post(served, body)[1][CACHE] == "hit"
    status, headers, text = _post(served, body, host="evil.example")
    assert status == 400 and b"does not answer for the host" in text
    assert CACHE not in headers and headers["X-Frame-Options"] == "DENY"
    status, headers, _ = _post(served, body, host=ALLOWED)
    assert status == 200 and headers[CACHE] == "hit"


def test_refusals_and_answers_without_figures_are_never_cached(served: Served) -> None:
    output = next(k for k, s in served.app.callback_map.items()
                  if "callback" in s and k.startswith("..overview-content."))
    spec = served.app.callback_map[output]
    bad_value = body_for(output, spec, {("inputs", 0): 12345})  # an area is text
    too_few = {**body_for(output, spec, {}), "inputs": []}
    for body in (bad_value, too_few):
        for _ in range(2):
            status, headers, text = _post(served, body)
            assert status == 400 and text.startswith(b"refused"), text[:200]
            assert headers[CACHE] == "miss"  # computed (and refused) each time
    status, _, text = _post(served, too_few)
    assert b"takes 3 inputs" in text
    # a text/plain body is refused by Flask however often a JSON one was answered
    status, _, _ = served.request("POST", "/_dash-update-component",
                                  json.dumps(_data_head(served.app, 301)).encode(),
                                  {"Content-Type": "application/json"})
    assert status == 200
    status, headers, _ = served.request("POST", "/_dash-update-component",
                                        json.dumps(_data_head(served.app, 301)).encode(),
                                        {"Content-Type": "text/plain"})
    assert status == 400 and headers[CACHE] == "off"


def test_uploads_and_downloads_are_never_cached(served: Served) -> None:
    download = next(k for k, s in served.app.callback_map.items()
                    if "callback" in s and k.startswith("data-template."))
    body = body_for(download, served.app.callback_map[download], {})
    for _ in range(2):
        status, headers, _ = _post(served, body)
        assert status == 200 and headers[CACHE] == "off"
    status, headers, text = _post(served, upload_body(served, "x.txt", data_url(b"a,b\n")))
    assert headers[CACHE] == "off"


def test_after_an_upload_commits_the_next_answer_has_the_new_figures(served: Served) -> None:
    body = _data_head(served.app, 401)
    status, _, before = _post(served, body)
    assert status == 200
    status, headers, same = _post(served, body)
    assert headers[CACHE] == "hit" and same == before
    status, _, text = _post(served, upload_body(served, "extract-11.csv", data_url(extract(11))))
    assert status == 200 and b"loaded as run" in text, re.findall(rb'"children":"([^"]+)"', text)
    status, headers, after = _post(served, body)
    assert status == 200 and headers[CACHE] == "miss"
    assert _files(after) == _files(before) + 1
    assert _post(served, body)[1][CACHE] == "hit"


def test_version_stamped_static_files_are_immutable_and_guarded(served: Served) -> None:
    _, _, page = served.request("GET", "/")
    addresses = re.findall(r'(?:src|href)="(/(?:assets|_dash-component-suites)/[^"]+)"',
                           page.decode())
    assert addresses
    for address in addresses[:4]:
        status, headers, _ = served.request("GET", address)
        assert status == 200
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", address
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = served.request("GET", "/assets/style.css")
    assert status == 200 and "immutable" not in headers.get("Cache-Control", "")


@pytest.mark.parametrize("kind", ["held", "snapshots"])
def test_every_server_kind_moves_to_the_new_figures_after_a_load(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cjsdash serve`` (one process holding the warehouse) and each ``--workers``
    process (reading published snapshots): a load from elsewhere (here, the writer of the
    same process; for snapshots it could as well be ``cjsdash ingest``) is seen at once."""
    from cjsdash.bootstrap import prepare
    from cjsdash.core.gateway import Warehouse
    from cjsdash.server import create_app
    from ingest.pipeline import ingest_paths

    monkeypatch.setenv("CJSDASH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    path = tmp_path / "w.duckdb"
    warehouse = Warehouse(path, held=kind == "held", snapshots=kind == "snapshots")
    try:
        with warehouse.writer() as con:
            prepare(con)
            ingest_paths(con, [write_csv(tmp_path / "first.csv", FIRST)])
        if kind == "snapshots":  # a worker reads what the writer published
            assert warehouse.snapshot_folder.exists()
        app = create_app(warehouse)
        client = app.server.test_client()
        body = _data_head(app, 1)
        first = client.post("/_dash-update-component", json=body)
        assert first.status_code == 200 and first.headers[CACHE] == "miss"
        assert client.post("/_dash-update-component", json=body).headers[CACHE] == "hit"
        with warehouse.writer() as con:
            ingest_paths(con, [write_csv(tmp_path / "second.csv", extract(7).decode())])
        after = client.post("/_dash-update-component", json=body)
        assert after.status_code == 200 and after.headers[CACHE] == "miss"
        assert _files(after.data) == _files(first.data) + 1
    finally:
        warehouse.close()
        get_settings.cache_clear()

