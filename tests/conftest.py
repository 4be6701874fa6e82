"""Shared fixtures: a real in-memory warehouse, prepared as the CLI prepares one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse

# Apps made by tests do not compute every area's figures in the background (metrics.store)
# unless a test asks for it: the browser tests' server does, and waits for it.

REPO = Path(__file__).resolve().parents[1]
ALL_FORCES_ZIP = REPO / "tests" / "data" / "police_uk_all_forces" / "2021-06-all-forces.zip"
"""The real June 2021 street download, 40 forces (16 MB; its NOTICE.md gives the source)."""


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    wh = Warehouse()
    with wh.writer() as con:
        prepare(con)
    yield wh
    wh.close()


@pytest.fixture
def con(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    with warehouse.writer() as connection:
        yield connection


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo warehouse, built once per test session through the real build path."""
    from cjsdash.demo.build import build_demo

    path = tmp_path_factory.mktemp("demo") / "cjsdash.duckdb"
    build_demo(path, echo=lambda _: None)
    return path


@pytest.fixture
def quarantine_every_bad_row(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For tests of row-level quarantine: no file is refused for being mostly bad (issue 11's
    --max-reject-share, tested on its own in test_revisions.py)."""
    from cjsdash.core.config import get_settings

    monkeypatch.setenv("CJSDASH_MAX_REJECT_SHARE", "1.0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
