"""Words a board member reads (issue 16) and the server's request log."""

from __future__ import annotations

import logging

import flask
import pytest

from cjsdash import request_log
from cjsdash.core.safe_text import count_of
from layouts.analysis_components import quartile_words


@pytest.mark.parametrize(("n", "word", "want"), [
    (1, "row", "1 row"), (0, "row", "0 rows"), (2, "row", "2 rows"),
    (1015, "figure", "1,015 figures"), (3, "file", "3 files"),
    (1, "rejected row", "1 rejected row"), (2, "figure", "2 figures")])
def test_counts_take_their_noun_in_the_right_number(n: int, word: str, want: str) -> None:
    assert count_of(n, word) == want
    assert count_of(2, "search", "searches") == "2 searches"


def test_a_quartile_reads_as_a_position_not_a_period() -> None:
    assert quartile_words(3, 41) == "3rd quartile (of 41 areas)"
    assert quartile_words(1, 1) == "1st quartile (best) (of 1 area)"
    assert "quarter" not in quartile_words(4, 43).replace("quartile", "")


def test_each_request_is_logged_with_method_path_status_and_time(caplog, monkeypatch) -> None:
    # a served app in this process (request_log.configure) stops cjsdash's records at its own
    # handler; let them reach pytest's as well
    monkeypatch.setattr(logging.getLogger("cjsdash"), "propagate", True)
    app = flask.Flask("t")

    @app.route("/ok")
    def ok() -> str:
        return "ok"

    request_log.install(app)
    with caplog.at_level(logging.INFO, logger="cjsdash.requests"):
        assert app.test_client().get("/ok").status_code == 200
        assert app.test_client().get("/missing").status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "cjsdash.requests"]
    assert lines[0].startswith("GET /ok 200 ") and lines[0].endswith(" ms")
    assert lines[1].startswith("GET /missing 404 ")
    with caplog.at_level(logging.WARNING, logger="cjsdash.requests"):
        caplog.clear()
        app.test_client().get("/ok")
    assert not [r for r in caplog.records if r.name == "cjsdash.requests"]
