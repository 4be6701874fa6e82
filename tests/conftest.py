"""Shared fixtures: a real in-memory warehouse, prepared as the CLI prepares one."""

from __future__ import annotations

import os
from collections import Counter
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
# The tests need only files in the repository. ../shared/data/real (or CJSDASH_SHARED_DIR, whose
# data/real it reads) holds optional large extras; their absence is stated once per run.
SHARED_REAL = Path(os.environ.get("CJSDASH_SHARED_DIR", REPO.parent / "shared")) / "data" / "real"
ABSENT_EXTRA = "optional large real file absent from shared/data/real: "


def shared_extra(relative: str) -> Path:
    """The optional large real file ``relative`` (under shared/data/real); skips when absent."""
    path = SHARED_REAL / relative
    if not path.exists():
        pytest.skip(ABSENT_EXTRA + relative)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once which optional extras were absent (tests/conftest.py is also imported as a module
    by the tests, so the skips themselves are the record, not a module-level set)."""
    absent: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        if reason.startswith("Skipped: " + ABSENT_EXTRA):
            absent[reason.removeprefix("Skipped: " + ABSENT_EXTRA)] += 1
    if absent:
        terminalreporter.write_line(
            f"{sum(absent.values())} test(s) skipped: optional large real files absent from "
            f"{SHARED_REAL} (set CJSDASH_SHARED_DIR to the shared folder to run them): "
            + ", ".join(sorted(absent)))


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
