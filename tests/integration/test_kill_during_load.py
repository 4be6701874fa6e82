"""kill -9 during a ZIP load, at several points: the warehouse opens and holds all of the ZIP
or none of it; a rollup the kill left pending is finished at the next start."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.cli import prepare_to_serve
from cjsdash.core.gateway import Warehouse

pytestmark = pytest.mark.usefixtures("quarantine_every_bad_row")  # row-level tests


REPO = Path(__file__).resolve().parents[2]
STREET = REPO / "tests" / "data" / "police_uk" / "street"
FRACTIONS = (0.15, 0.35, 0.55, 0.7, 0.8, 0.9, 0.97)


def _big_zip(path: Path) -> Path:
    """The street files, each record repeated 60 times (a few seconds of work to load)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for csv_path in sorted(STREET.rglob("*.csv")):
            header, *rows = csv_path.read_bytes().splitlines(keepends=True)
            archive.writestr(csv_path.name, header + b"".join(rows * 60))
    path.write_bytes(buffer.getvalue())
    return path


def _ingest(db: Path, zip_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cjsdash.cli", "ingest", str(zip_path), "--db", str(db)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _state(db: Path) -> tuple[int, int, int]:
    """(observations, raw street records, run log rows) — opening the file must work."""
    with duckdb.connect(str(db)) as con:
        raw = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' "
                          "AND table_name = 'police_uk_street'").fetchone()[0]
        return (con.execute("SELECT count(*) FROM core.observations").fetchone()[0],
                con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0]
                if raw else 0,
                con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone()[0])


def _area_sums(db: Path) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*), sum(hash(t)) FROM core.area_observations AS t"
                           ).fetchone()


@pytest.mark.slow
def test_kill_9_at_several_points_of_a_zip_load_is_all_or_nothing(tmp_path: Path) -> None:
    zip_path = _big_zip(tmp_path / "2021-street.zip")
    base = tmp_path / "base.duckdb"
    warehouse = Warehouse(base)
    with warehouse.writer() as con:
        prepare(con)
    warehouse.close()
    empty = _state(base)

    reference = tmp_path / "reference.duckdb"
    shutil.copy(base, reference)
    started = time.perf_counter()
    assert _ingest(reference, zip_path).wait(timeout=300) == 0
    full_seconds = time.perf_counter() - started
    full = _state(reference)
    assert full[0] > empty[0] and full[1] > 0
    expected_sums = _area_sums(reference)

    outcomes = []
    for fraction in FRACTIONS:
        db = tmp_path / f"killed-{fraction}.duckdb"
        shutil.copy(base, db)
        process = _ingest(db, zip_path)
        time.sleep(full_seconds * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        state = _state(db)
        assert state in (empty, full), f"partial load after a kill at {fraction:.0%}: {state}"
        outcomes.append(state == full)
        prepare_to_serve(db)[0]  # what `cjsdash serve` and `cjsdash ingest` do first
        if state == full:
            assert _area_sums(db) == expected_sums
    assert not outcomes[0], "the earliest kill (before the commit) left nothing loaded"
