"""A concurrent refresh (`cjsdash ingest` and `cjsdash refresh`) stores what a serial one does.

Two warehouses load the same real files (stop and search of four force-months with the 2011
census populations, so stage counts and disproportionality are staged, and two forces'
street crime) and refresh, one step after another in one and with its independent steps side
by side in the other (decision 44); then both load a revised month and refresh again (the
incremental path). Every mart table must hold the same rows.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import duckdb

from cjsdash.bootstrap import prepare, refresh_figures
from cjsdash.core.gateway import Warehouse
from ingest.pipeline import ingest_paths
from tests.conftest import REPO

POLICE = REPO / "tests" / "data" / "police_uk"
FILES = [REPO / "data" / "reference" / "census2011_force_ethnicity.csv",
         *sorted((POLICE / "stop_and_search").glob("2018-0*-*.csv")),
         *sorted((POLICE / "street" / "2021-01").glob("*.csv"))]
VOLATILE = {"state", "analysis_state", "stage_state"}
"""The stores of fingerprints and version stamps (run ids and times), compared by key."""


def _mart(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE "
                                        "schema_name = 'mart' ORDER BY 1").fetchall()]
    out = {}
    for table in tables:
        if table in VOLATILE:
            out[table] = sorted(k for (k,) in con.execute(f"SELECT key FROM mart.{table}").fetchall())  # noqa: S608
        else:
            rows = con.execute(f"SELECT * FROM mart.{table}").fetchall()  # noqa: S608
            out[table] = sorted((tuple(_comparable(v) for v in row) for row in rows), key=repr)
    return out


def _comparable(value: object) -> object:
    """NaN as a marker (two NaNs are the same stored value but never equal), and the load
    runs' times (the two warehouses loaded the same files a few seconds apart)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return "a time" if isinstance(value, datetime) else value


def _load_and_refresh(tmp: Path, concurrent: bool) -> list[dict[str, list[tuple]]]:
    states = []
    with Warehouse(tmp / f"w{int(concurrent)}.duckdb").writer() as con:
        prepare(con)
        assert all(r.status == "loaded" for r in ingest_paths(con, FILES))
        assert refresh_figures(con, concurrent=concurrent) is not None
        states.append(_mart(con))
        revised = tmp / f"rev{int(concurrent)}" / "2018-03-cheshire-stop-and-search.csv"
        revised.parent.mkdir()
        lines = (POLICE / "stop_and_search" / revised.name).read_bytes().splitlines(True)
        revised.write_bytes(b"".join(lines[:-3]))  # three searches fewer: a revision
        [report] = ingest_paths(con, [revised])
        assert report.status == "loaded"
        assert refresh_figures(con, concurrent=concurrent) is not None
        states.append(_mart(con))
    return states


def test_a_concurrent_refresh_stores_the_same_mart(tmp_path: Path) -> None:
    serial = _load_and_refresh(tmp_path, concurrent=False)
    side_by_side = _load_and_refresh(tmp_path, concurrent=True)
    assert serial[0]["stage_counts"] and serial[0]["figures"] and serial[0]["baselines"]
    for before, after in zip(serial, side_by_side, strict=True):
        assert before.keys() == after.keys()
        for table in before:
            assert before[table] == after[table], table
