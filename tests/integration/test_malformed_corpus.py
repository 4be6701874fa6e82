"""The malformed-input corpus (tests/data/malformed): every file refused with its reason or
loaded with its named rejects; never a traceback, never a partial load, each under 5 s."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.cli import _ingest_summary
from cjsdash.core.gateway import Warehouse
from ingest.base import MAX_REJECT_ROWS, MAX_VALUE_CHARS
from ingest.pipeline import ingest_paths
from tests.integration.hostile_helpers import checksums, non_finite_values

pytestmark = pytest.mark.usefixtures("quarantine_every_bad_row")  # row-level tests


CORPUS = Path(__file__).resolve().parents[1] / "data" / "malformed"
EXPECTED = list(csv.DictReader((CORPUS / "expected.csv").open(encoding="utf-8")))
WORST_SECONDS = 5.0


@pytest.fixture(scope="module")
def shared() -> Iterator[duckdb.DuckDBPyConnection]:
    """One warehouse for the corpus (preparing one per file would cost a minute)."""
    warehouse = Warehouse()
    with warehouse.writer() as con:
        prepare(con)
        yield con
    warehouse.close()


def test_the_corpus_is_large_and_committed() -> None:
    assert len(EXPECTED) >= 60
    for row in EXPECTED:
        assert (CORPUS / "files" / row["file"]).is_file(), row["file"]
    assert len(list((CORPUS / "files").iterdir())) == len(EXPECTED)


@pytest.mark.parametrize("case", EXPECTED, ids=[row["file"] for row in EXPECTED])
def test_malformed_file(shared: duckdb.DuckDBPyConnection, case: dict[str, str]) -> None:
    con = shared
    path = CORPUS / "files" / case["file"]
    before = checksums(con)
    runs_before = con.execute("SELECT coalesce(max(run_id), 0) FROM meta.ingest_runs").fetchone()[0]
    started = time.perf_counter()
    reports = ingest_paths(con, [path])
    seconds = time.perf_counter() - started
    assert seconds < WORST_SECONDS, f"{case['file']} took {seconds:.1f} s"
    statuses = [r.status for r in reports]
    text = " | ".join(r.line() for r in reports)
    reasons = [j.reason for r in reports for j in r.rejects]
    assert case["outcome"] in statuses, text
    assert "internal error" not in text, text
    assert non_finite_values(con) == 0
    _, code = _ingest_summary(reports)
    if case["outcome"] == "refused":
        assert case["reason"] in reports[0].message, text
        assert code == 2
        assert checksums(con) == before, "a refused file changed the warehouse"
        logged = con.execute(
            "SELECT status, message FROM meta.ingest_runs WHERE run_id > ? ORDER BY run_id",
            [runs_before]).fetchall()
        assert logged and logged[0][0] == "refused" and case["reason"] in logged[0][1]
    elif case["outcome"] == "loaded":
        rejected = sum(r.rows_rejected for r in reports)
        assert rejected == int(case["rejects"]), text
        if case["reason"]:
            assert any(case["reason"] in reason for reason in reasons), reasons[:5]
        assert code == (3 if "skipped" in statuses else 0)
    else:
        assert case["reason"] in text and code == 3
    stored = con.execute(
        "SELECT count(*), coalesce(max(length(value)), 0) FROM meta.rejects WHERE run_id > ?",
        [runs_before]).fetchone()
    assert stored[0] <= MAX_REJECT_ROWS + 101 * max(1, len(reports))
    assert stored[1] <= MAX_VALUE_CHARS + 40
