"""Readers of a served warehouse read published snapshots: they never wait for a load, and a
load's figures appear all at once (cjsdash.core.snapshots, decision 0017)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from cjsdash.bootstrap import prepare, refresh_figures
from cjsdash.core import snapshots
from cjsdash.core.gateway import Warehouse
from ingest.pipeline import ingest_paths
from metrics import mart, views
from metrics.registry import default_registry
from tests.conftest import write_csv

HEADER = "area,period,measure,numerator,denominator\n"


def _extract(folder: Path, name: str, numerator: int) -> Path:
    rows = "".join(f"{area},2024-25 Q{q},ineffective_trial_rate_crown,{numerator},400\n"
                   for area in ("Cumbria", "Lancashire", "Merseyside") for q in (1, 2, 3, 4))
    return write_csv(folder / name, HEADER + rows)


@pytest.fixture
def served(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "w.duckdb", snapshots=True)
    with warehouse.writer() as con:
        prepare(con)
        ingest_paths(con, [_extract(tmp_path, "first.csv", 100)])
        refresh_figures(con)
    return warehouse


def _year_numerators(con: duckdb.DuckDBPyConnection) -> tuple[float, ...]:
    """Every area's 2024-25 numerator, as the pages read it (one query: one snapshot)."""
    rows = con.execute(
        "SELECT numerator FROM mart.figures WHERE grain = 'fy' AND by_breakdown = '' "
        "AND indicator = 'ineffective_trial_rate_crown' AND period_label = '2024-25' "
        "AND list_contains(['CJA03', 'CJA04', 'CJA05'], area_code) ORDER BY area_code"
    ).fetchall()
    return tuple(r[0] for r in rows)


def test_a_write_publishes_a_snapshot_that_readers_move_to(served: Warehouse,
                                                           tmp_path: Path) -> None:
    first = snapshots.current(served.snapshot_folder)
    assert first is not None and first.path.exists()
    reader = served.reader()
    assert mart.ready(reader)
    assert _year_numerators(reader) == (400.0, 400.0, 400.0)
    with served.writer():  # nothing changed: nothing published
        pass
    assert snapshots.current(served.snapshot_folder) == first
    with served.writer() as con:
        ingest_paths(con, [_extract(tmp_path, "second.csv", 150)])
        refresh_figures(con)
    second = snapshots.current(served.snapshot_folder)
    assert second is not None and second.path != first.path
    assert _year_numerators(served.reader()) == (600.0, 600.0, 600.0)
    # what the views show comes from the snapshot too
    frame = views.series(served.reader(), default_registry(), "ineffective_trial_rate_crown",
                         ["CJA03"], grain="fy")
    assert frame["numerator"].to_list() == [600.0]


@pytest.fixture(params=["snapshots", "held"])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """A warehouse as ``cjsdash serve`` holds it: several workers read snapshots; one worker
    holds one read-write instance whose readers use their own cursors."""
    path = tmp_path / "w.duckdb"
    with Warehouse(path).writer() as con:
        prepare(con)
        ingest_paths(con, [_extract(tmp_path, "first.csv", 100)])
        refresh_figures(con)
    if request.param == "held":
        return Warehouse(path, held=True)
    warehouse = Warehouse(path, snapshots=True)
    with warehouse.writer():  # publishes the first snapshot, as `cjsdash serve` does at start
        pass
    return warehouse


def test_readers_see_all_old_or_all_new_and_never_wait(serving: Warehouse,
                                                        tmp_path: Path) -> None:
    served = serving
    seen: list[tuple[float, ...]] = []
    waits: list[float] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            seen.append(_year_numerators(served.reader()))
            waits.append(time.perf_counter() - started)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        time.sleep(0.2)
        with served.writer() as con:
            ingest_paths(con, [_extract(tmp_path, "revised.csv", 150)])
            refresh_figures(con)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert set(seen) == {(400.0, 400.0, 400.0), (600.0, 600.0, 600.0)}
    assert seen[-1] == (600.0, 600.0, 600.0)
    assert max(waits) < 1.0  # a load takes seconds; no read waited for it
    served.close()


def test_only_the_newest_snapshots_are_kept(served: Warehouse, tmp_path: Path) -> None:
    for n in range(5):
        with served.writer() as con:
            ingest_paths(con, [_extract(tmp_path, f"v{n}.csv", 10 + n)])
    files = list(served.snapshot_folder.glob("snapshot-*.duckdb"))
    assert len(files) == snapshots.KEEP
    assert snapshots.current(served.snapshot_folder).path in files


def _contents(path: Path) -> dict[str, list[object]]:
    """Every table of the snapshot's core, meta and mart schemas, rows sorted; and which
    schemas it holds at all."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "ORDER BY ALL").fetchall()
        out: dict[str, list[tuple]] = {"schemas": sorted({(s,) for s, _ in tables})}
        for schema, table in tables:
            if schema in snapshots.SCHEMAS:
                out[f"{schema}.{table}"] = sorted(  # as text: a NaN equals a NaN
                    map(repr, con.execute(f"SELECT * FROM {schema}.{table}").fetchall()))  # noqa: S608
        return out
    finally:
        con.close()


def test_a_whole_file_snapshot_holds_what_a_table_by_table_one_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse(path).writer() as con:
        prepare(con)
        ingest_paths(con, [_extract(tmp_path, "first.csv", 100)])
        refresh_figures(con)
        con.execute("CREATE TABLE raw.records AS SELECT range AS id FROM range(10)")
        whole = snapshots.publish(con, tmp_path / "whole", force=True)
        monkeypatch.setattr(snapshots, "WHOLE_FILE_RAW_ROWS", 9)  # raw now counts as large
        tables = snapshots.publish(con, tmp_path / "tables", force=True)
    assert whole is not None and tables is not None and whole.stamp == tables.stamp
    by_file, by_table = _contents(whole.path), _contents(tables.path)
    assert ("raw",) in by_file.pop("schemas") and ("raw",) not in by_table.pop("schemas")
    assert by_file == by_table and by_file["mart.figures"]
    reader = duckdb.connect(str(whole.path), read_only=True)  # opens with nothing to replay
    assert mart.ready(reader)
    reader.close()
