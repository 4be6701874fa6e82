"""A serving process lays the overview out once before its first request (decision 39)."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import dash
import pytest

from cjsdash.core.gateway import Warehouse
from cjsdash.server import create_app, prime


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
    overview = _landing_module()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the mart is being rebuilt")

    monkeypatch.setattr(overview, "render", broken)
    with caplog.at_level(logging.WARNING, logger="cjsdash.server"):
        assert prime() is False
    assert "could not lay out the overview before the first request (RuntimeError: the " \
           "mart is being rebuilt); serving on" in caplog.text
