"""What the lake tests share: a warehouse loaded from the repository's real data.police.uk
files (the June 2021 street files as one ZIP, a month of stop and search, the outcomes
fixture), exported to a lake, and the warehouse's observations to compare with."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa

from cjsdash.bootstrap import prepare
from cjsdash.core.schema import BREAKDOWNS
from ingest.pipeline import ingest_paths

REPO = Path(__file__).resolve().parents[2]
POLICE = REPO / "tests" / "data" / "police_uk"
JUNE_2021 = [REPO / "data" / "real" / "police_uk_street" / "2021-06"
             / "2021-06-city-of-london-street.csv",
             *sorted((POLICE / "street" / "2021-06").glob("*.csv"))]
"""The June 2021 street files the repository holds: City of London complete, six forces
trimmed (tests/data/police_uk/NOTICE.md); the 40-force ZIP (16 MB) is not in the repo."""
OTHERS = [POLICE / "stop_and_search" / "2019-06-greater-manchester-stop-and-search.csv",
          POLICE / "outcomes" / "2026-02-city-of-london-outcomes.csv"]
NEW_MEASURES = ("stop_searches_self_defined", "stop_search_arrests", "police_uk_outcomes")
COMPARED = ("measure", "area_code", "period_start", "period_end", *BREAKDOWNS, "value",
            "source")


def june_zip(folder: Path) -> Path:
    path = folder / "2021-06.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in JUNE_2021:
            archive.writestr(f"2021-06/{file.name}", file.read_bytes())
    return path


def register_new_measures(con: duckdb.DuckDBPyConnection) -> None:
    for measure in NEW_MEASURES:
        con.execute("INSERT INTO meta.measures VALUES (?, ?, 'sum', '') ON CONFLICT DO NOTHING",
                    [measure, measure])


def loaded_warehouse(folder: Path) -> Path:
    """A warehouse file with the June ZIP, the stop-search month and the outcomes loaded."""
    db = folder / "cjsdash.duckdb"
    con = duckdb.connect(str(db))
    try:
        prepare(con)
        register_new_measures(con)
        reports = ingest_paths(con, [june_zip(folder), *OTHERS])
        assert all(r.status == "loaded" and not r.rejects for r in reports), \
            [r.line() for r in reports]
    finally:
        con.close()
    return db


def warehouse_observations(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The current observations (those the police.uk loaders made), sorted."""
    names = ", ".join(COMPARED)
    return con.execute(
        f"SELECT {names} FROM core.observations WHERE is_current "  # noqa: S608
        "AND source LIKE 'police_uk_%' ORDER BY ALL").fetchall()


def rows(table: pa.Table) -> list[tuple]:
    """A rollup's result as sorted tuples of the compared columns."""
    return sorted(zip(*(table.column(c).to_pylist() for c in COMPARED), strict=True))
