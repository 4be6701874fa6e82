"""The response cache (decision 0027): keys, data versions, the bound, what is cacheable."""

from __future__ import annotations

import threading
from pathlib import Path

from cjsdash.cached_callbacks import (
    cacheable_callback,
    data_version,
    on_uncached_page,
    stamped_static,
)
from cjsdash.core import snapshots
from cjsdash.core.gateway import Warehouse
from cjsdash.response_cache import Answer, ResponseCache, canonical_body, request_key

OUTPUT = "..overview-content.children...overview-url.search.."
HEADERS = (("Content-Type", "application/json"),)


def _body(area: str, grain: str = "quarter", changed: str = "overview-area.value") -> dict:
    return {"output": OUTPUT,
            "outputs": [{"id": "overview-content", "property": "children"},
                        {"id": "overview-url", "property": "search"}],
            "inputs": [{"id": "overview-area", "property": "value", "value": area},
                       {"id": "overview-grain", "property": "value", "value": grain}],
            "changedPropIds": [changed]}


def _key(body: dict) -> bytes:
    canonical = canonical_body(body)
    assert canonical is not None
    return request_key("/_dash-update-component", "", canonical)


def _answer(text: str, size: int = 0) -> Answer:
    return Answer("200 OK", HEADERS, (text + " " * size).encode())


def test_equal_requests_share_a_key_whatever_their_spelling() -> None:
    body = _body("E23000002")
    reordered = dict(reversed(list(body.items())))
    assert _key(body) == _key(reordered)
    assert canonical_body({**body, "unread": 1}) == canonical_body(body)


def test_different_inputs_never_share_an_entry() -> None:
    bodies = [_body("E23000002"), _body("K04000001"), _body("E23000002", "fy"),
              _body("E23000002", changed="overview-grain.value"),
              {**_body("E23000002"), "state": [{"id": "s", "property": "value", "value": 1}]}]
    keys = [_key(b) for b in bodies]
    assert len(set(keys)) == len(keys)
    cache = ResponseCache(1024 * 1024)
    for n, key in enumerate(keys):
        assert cache.get("v1", key) is None
        assert cache.put("v1", key, _answer(f"answer {n}"))
    for n, key in enumerate(keys):
        found = cache.get("v1", key)
        assert found is not None and found.body == f"answer {n}".encode()
    # the same body on another path or query is another request
    canonical = canonical_body(bodies[0])
    assert canonical is not None
    assert cache.get("v1", request_key("/prefix/_dash-update-component", "", canonical)) is None
    assert cache.get("v1", request_key("/_dash-update-component", "x=1", canonical)) is None


def test_what_is_not_a_callback_request_has_no_key() -> None:
    assert canonical_body([1, 2]) is None
    assert canonical_body({"inputs": []}) is None
    assert canonical_body({**_body("E23000002"), "state": [float("nan")]}) is None


def test_an_answer_is_never_given_for_another_data_version() -> None:
    cache = ResponseCache(1024 * 1024)
    key = _key(_body("E23000002"))
    assert cache.put("v1", key, _answer("old figures"))
    assert cache.get("v2", key) is None  # a newer version: nothing of the old one is kept
    assert len(cache) == 0 and cache.bytes == 0
    # a request that read the old version before the swap can neither store nor read
    assert not cache.put("v1", key, _answer("old figures"))
    assert cache.get("v1", key) is None
    assert cache.get("v2", key) is None
    assert cache.put("v2", key, _answer("new figures"))
    found = cache.get("v2", key)
    assert found is not None and found.body == b"new figures"


def test_memory_stays_within_the_bound_and_the_least_recently_used_go_first() -> None:
    bound = 64 * 1024
    cache = ResponseCache(bound)
    keys = [_key(_body(f"E{n:08d}")) for n in range(200)]
    for n, key in enumerate(keys):
        cache.put("v", key, _answer(f"answer {n}", size=3000))
        assert cache.bytes <= bound
        if n >= 5:
            assert cache.get("v", keys[0]) is not None  # used again and again: kept
    assert 10 <= len(cache) < 200
    assert cache.get("v", keys[1]) is None  # used once, long ago: gone
    assert cache.get("v", keys[-1]) is not None
    assert cache.counts.evicted == 200 - len(cache)
    sizes = sum(cache.get("v", k).size(k) for k in keys if cache.get("v", k) is not None)
    assert sizes == cache.bytes
    assert not cache.put("v", _key(_body("huge")), _answer("x", size=bound))
    assert cache.counts.too_big == 1 and cache.bytes <= bound


def test_threads_share_one_consistent_store() -> None:
    cache = ResponseCache(256 * 1024)
    keys = [_key(_body(f"E{n:08d}")) for n in range(100)]

    def work(k: int) -> None:
        for n in range(300):
            key = keys[(n * 7 + k) % len(keys)]
            found = cache.get("v", key)
            if found is None:
                cache.put("v", key, _answer(key.decode()[-30:], size=1000))
            else:
                assert found.body.startswith(key.decode()[-30:].encode())

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.bytes <= 256 * 1024
    assert cache.bytes == sum(a.size(k) for k in keys if (a := cache.get("v", k)) is not None)


def test_one_request_computes_while_the_others_with_the_same_key_wait() -> None:
    cache = ResponseCache(1024 * 1024)
    key = _key(_body("E23000002"))
    assert cache.lead("v", key) is None  # the first computes
    waiting = cache.lead("v", key)
    assert waiting is not None and not waiting.is_set()
    assert cache.lead("v", _key(_body("K04000001"))) is None  # another key: its own
    cache.put("v", key, _answer("figures"))
    cache.landed("v", key)
    assert waiting.is_set()
    assert cache.lead("v", key) is None  # the next computation leads again


SPEC = {"inputs": [{"id": "overview-area", "property": "value"}], "state": [],
        "callback": object()}


def test_uploads_clicks_timers_and_pack_files_are_not_cached() -> None:
    assert cacheable_callback(OUTPUT, SPEC)
    for prop in ("contents", "filename", "last_modified", "n_intervals", "n_clicks",
                 "n_submit"):
        spec = {**SPEC, "state": [{"id": "x", "property": prop}]}
        assert not cacheable_callback(OUTPUT, spec), prop
    assert not cacheable_callback("export-commentary.children", SPEC)
    page = {"output": "site-nav.children", "inputs": [
        {"id": "_pages_location", "property": "pathname", "value": "/export"}]}
    assert on_uncached_page(page)  # the export page lists the pack files
    page["inputs"][0]["value"] = "/exports-elsewhere"
    assert not on_uncached_page(page)
    page["inputs"][0]["value"] = "/indicator/x"
    assert not on_uncached_page(page)
    assert not cacheable_callback(OUTPUT, {"inputs": [], "state": []})  # clientside


def test_only_version_stamped_static_files_are_immutable() -> None:
    assert stamped_static("/assets/style.css", "m=1796373804.79")
    assert stamped_static("/_favicon.ico", "v=4.4.1")
    assert stamped_static("/_dash-component-suites/dash/deps/react@18.v4_4_1m1796307997.3.1"
                          ".min.js", "")
    assert not stamped_static("/_dash-component-suites/dash/deps/react@18.3.1.min.js", "")
    assert not stamped_static("/assets/style.css", "")
    assert not stamped_static("/", "v=1")


def test_the_data_version_changes_with_every_write(tmp_path: Path) -> None:
    assert data_version(Warehouse()) is None  # in memory: never cached
    for kind in ("file", "held", "snapshots"):
        path = tmp_path / kind / "w.duckdb"
        wh = Warehouse(path, held=kind == "held", snapshots=kind == "snapshots")
        with wh.writer() as con:
            con.execute("CREATE TABLE core.t AS SELECT 1 AS x")
        before = data_version(wh)
        assert before is not None and before[0] == ("snapshot" if kind == "snapshots" else kind)
        assert data_version(wh) == before
        wh.reader().execute("SELECT count(*) FROM core.t").fetchall()
        assert data_version(wh) == before  # reading changes nothing
        with wh.writer() as con:
            con.execute("INSERT INTO core.t VALUES (2)")
            if kind == "snapshots":  # the stamp names loads, not a test's table: publish
                snapshots.publish(con, wh.snapshot_folder, force=True)
        # what a reader sees changed, and so did the version
        assert wh.reader().execute("SELECT count(*) FROM core.t").fetchall() == [(2,)], kind
        assert data_version(wh) != before, kind
        wh.close()
