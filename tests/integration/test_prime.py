"""A serving process lays the overview out once before its first request (decision 39), and
reads what every page's first view reads whatever its inputs (decision 41)."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import pytest

from cjsdash.core.gateway import Warehouse
from cjsdash.server import create_app, prime
from metrics import cache, lookups

NATIONAL, TRIAL = "K04000001", "ineffective_trial_rate_crown"
FIRST_VIEWS: dict[str, Callable[[Any], object]] = {
    # each page (by its path or path template) at its default settings: its layout, and the
    # callbacks Dash runs as it loads (those without prevent_initial_call that read data)
    "/": lambda page: page.layout(),
    "/indicator/<indicator_id>": lambda page: (page.layout(indicator_id=TRIAL),
                                               page.update_compare(NATIONAL, "quarter", TRIAL)),
    "/baseline/<area>": lambda page: page.layout(area="CJA03"),
    "/disproportionality": lambda page: page.layout(),
    "/data": lambda page: page.layout(),
    "/export": lambda page: page.layout(),
}
LEFT_TO_THE_FIRST_VIEW = {"/data": ["coverage-group", "coverage-periods"],
                          "/indicator/<indicator_id>": ["mart-comparison"],
                          "/disproportionality": ["stored-matrices", "stored-matrices"]}
"""Kept per data version, not read before the first request: the data page's coverage
periods (a scan of mart.coverage: 5–7 ms, and 4 MB of DuckDB's buffers in every process)
and its matrix of every area at one period (0.7 MB of HTML, made by the first view that
shows it and then shared by every area's view, decision 0045); one indicator's stored
comparisons at one grain (4–8 ms, read by the first view of that indicator and grain,
then shared by every area's: reading every indicator's at every grain would be 300 reads
at each start); the stored stage matrices of the areas a view shows at its period (the
area's, and the forest's areas), both definitions in one read."""


@pytest.fixture
def served(demo_db: Path, tmp_path: Path) -> Iterator[Warehouse]:
    path = tmp_path / "served.duckdb"
    shutil.copy(demo_db, path)
    warehouse = Warehouse(path, held=True)
    create_app(warehouse)
    yield warehouse
    warehouse.close()


def _landing_module() -> object:
    """The overview's module as Dash registered it (under its own module name)."""
    return sys.modules[next(p["module"] for p in dash.page_registry.values()
                            if p["path"] == "/")]


def test_prime_lays_the_overview_out_and_reads_the_mart(served: Warehouse,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    overview = _landing_module()
    laid_out: list[str] = []
    real = overview.render  # type: ignore[attr-defined]

    def render(area_code: str, grain: str, period: str | None):  # type: ignore[no-untyped-def]
        answer = real(area_code, grain, period)
        laid_out.append(f"{area_code} {grain}")
        return answer

    monkeypatch.setattr(overview, "render", render)
    assert prime() is True
    assert laid_out == ["K04000001 quarter"]  # the default view: England and Wales
    assert "pyarrow" in sys.modules  # imported before the first request, not in it


def test_a_page_that_cannot_be_laid_out_is_logged_and_the_start_goes_on(
        served: Warehouse, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _broken_then_primed(monkeypatch, caplog, _landing_module(), "render",
                        "could not lay out the overview before the first request")


def _broken_then_primed(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                        owner: object, name: str, said: str) -> None:
    """``owner.name`` fails: prime() says so in the log, returns False and the start goes on."""
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the mart is being rebuilt")

    monkeypatch.setattr(owner, name, broken)
    with caplog.at_level(logging.WARNING, logger="cjsdash.server"):
        assert prime() is False
    assert f"{said} (RuntimeError: the mart is being rebuilt); serving on" in caplog.text


def test_after_prime_no_first_view_computes_a_result_every_view_shares(served: Warehouse
                                                                       ) -> None:
    """After prime(), each page's first view finds the results kept per data version
    (metrics.cache) that it reads already there, and imports nothing: without the pages'
    lookups the data page's first view was 1.8× its warm one at p50, 2.15× at worst
    (decision 41). A page added without a first view here fails too."""
    assert prime() is True
    pages = {p.get("path_template") or p["path"]: sys.modules[p["module"]]
             for p in dash.page_registry.values()}
    assert set(pages) == set(FIRST_VIEWS)
    kept, imported = set(cache._CACHE), set(sys.modules)
    computed: dict[str, list[str]] = {}
    with served.reading():
        for path, view in FIRST_VIEWS.items():
            view(pages[path])
            computed[path] = sorted(str(key[1]) for key in set(cache._CACHE) - kept)
            kept = set(cache._CACHE)
    assert computed == {path: LEFT_TO_THE_FIRST_VIEW.get(path, []) for path in FIRST_VIEWS}
    assert sorted(set(sys.modules) - imported) == []


def test_lookups_that_cannot_be_read_are_logged_and_the_start_goes_on(
        served: Warehouse, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _broken_then_primed(monkeypatch, caplog, lookups, "prime",
                        "could not read the pages' lookups before the first request")


def test_every_first_view_is_sent_as_plotly_would_write_it(served: Warehouse) -> None:
    """The server's serialiser (decision 0045) gives each page's first view, the demo's real
    components and figures, the same bytes as plotly's own function."""
    from plotly.io.json import to_json_plotly

    from cjsdash import response_json

    assert response_json.installed()
    pages = {p.get("path_template") or p["path"]: sys.modules[p["module"]]
             for p in dash.page_registry.values()}
    with served.reading():
        for path, view in FIRST_VIEWS.items():
            answer = view(pages[path])
            assert response_json.to_json(answer) == to_json_plotly(answer), path
