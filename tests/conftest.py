"""Shared fixtures: a real in-memory warehouse, prepared as the CLI prepares one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse

# Apps made by tests do not compute every area's figures in the background (metrics.store)
# unless a test asks for it: the browser tests' server does, and waits for it.
os.environ.setdefault("CJSDASH_WARM_FIGURES", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


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
