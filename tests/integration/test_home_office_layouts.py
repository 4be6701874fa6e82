"""Home Office open data tables in the layouts known from their published schemas: the ODS as
published (sheets ``open_data``, ``S&S_OD``, ``OD_5+1``), the snake_case columns, the
2006/07-2019/20 stop and search file and the outcomes table with subcode columns.

No real file of these layouts was available: the test files are built from the schemas
(``scripts/build_home_office_fixtures.py``). Every expected figure is recomputed
here from the file itself: ODS with zipfile and ElementTree, CSV with the csv module.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from pathlib import Path

import duckdb

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from ingest.pipeline import ingest_paths
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "home_office"
SS_ODS = DATA / "stop_search_open_data" / "stop-search-open-data-tables-mar24-mar25_FIXTURE.ods"
SS_OLD_CSV = DATA / "stop_search_open_data" / "stop-search-open-data-tables-mar07-mar20_FIXTURE.csv"
SS_OLD_ODS = DATA / "stop_search_open_data" / "stop-search-open-data-tables-mar07-mar20_FIXTURE.ods"
ARRESTS_ODS = DATA / "arrests_open_data" / "arrests-open-data-tables-mar25_FIXTURE.ods"
OUTCOMES = DATA / "crime_outcomes" / "prc-outcomes-open-data-published-names_FIXTURE.csv"
SUBCODES = DATA / "crime_outcomes" / "prc-outcomes-subcodes_FIXTURE.csv"
CODES = {"Cumbria": "E23000002", "Dyfed-Powys": "W15000004", "London, City of": "E23000034"}
NS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}


def ods_sheet(path: Path, sheet: str) -> list[dict[str, str]]:
    """A sheet of an ODS as dicts, read with the standard library only."""
    with zipfile.ZipFile(path) as ods:
        root = ET.fromstring(ods.read("content.xml"))
    table = next(t for t in root.iter(f"{{{NS['table']}}}table")
                 if t.get(f"{{{NS['table']}}}name") == sheet)
    rows = [["".join(p.itertext()) for p in row.iter(f"{{{NS['text']}}}p")]
            for row in table.iter(f"{{{NS['table']}}}table-row")]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def fy_start(label: str) -> str:
    return f"{label[:4]}-04-01"


def load(con: duckdb.DuckDBPyConnection, path: Path):
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded", report.line()
    return report


def figures(con, measure: str, breakdown: str | None = None) -> dict[tuple, float]:
    """(area, period start[, group]) → value for one measure, in total or by one breakdown."""
    conditions = [f"{b} = ''" for b in ("ethnicity", "sex", "age_group") if b != breakdown]
    if breakdown:
        conditions.append(f"{breakdown} <> ''")
    group = f", {breakdown}" if breakdown else ""
    rows = con.execute(
        f"SELECT area_code, CAST(period_start AS VARCHAR){group}, value "  # noqa: S608
        f"FROM core.observations WHERE is_current AND measure = ? AND {' AND '.join(conditions)}",
        [measure]).fetchall()
    return {tuple(r[:-1]): r[-1] for r in rows}


def test_stop_search_ods_snake_case_with_vehicle_searches_as_their_own_group(con) -> None:
    report = load(con, SS_ODS)
    assert report.rows_rejected == 0 and "sheet 'open_data'" in report.message
    rows = ods_sheet(SS_ODS, "open_data")
    total, by_group, recorded, by_age = (defaultdict(int) for _ in range(4))
    for r in rows:
        key = (CODES[r["police_force_area"]], fy_start(r["financial_year"]))
        n = int(r["number_of_searches"])
        group = r["self_defined_ethnicity_group"]
        total[key] += n
        by_group[(*key, group)] += n
        by_age[(*key, r["age_group"])] += n
        if group not in ("Not Stated", "N/A - vehicle search"):
            recorded[key] += n
    assert figures(con, "stop_searches") == total
    got = figures(con, "stop_searches", "ethnicity")
    names = {"White": "White", "Black or Black British": "Black", "Mixed": "Mixed",
             "Asian or Asian British": "Asian", "Other Ethnic Group": "Other",
             "Not Stated": "Not stated", "N/A - vehicle search": "N/A - vehicle search"}
    assert got == {(a, p, names[g]): n for (a, p, g), n in by_group.items()}
    assert figures(con, "stop_searches_ethnicity_recorded") == recorded
    ages = figures(con, "stop_searches", "age_group")
    assert ages[("E23000002", "2024-04-01", "10-17")] == by_age[("E23000002", "2024-04-01",
                                                                 "10-17")]


def test_arrests_ods_od_5_plus_1_reads_the_2019_20_onwards_labels(con) -> None:
    report = load(con, ARRESTS_ODS)
    assert report.rows_rejected == 0 and "sheet 'OD_5+1'" in report.message
    expected: dict[tuple, int] = defaultdict(int)
    total: dict[tuple, int] = defaultdict(int)
    for r in ods_sheet(ARRESTS_ODS, "OD_5+1"):
        key = (CODES[r["police_force_area"]], fy_start(r["financial_year"]))
        label = r["self_defined_ethnicity_group"].removeprefix("2019/20 onwards - ")
        group = {"Asian or Asian British": "Asian", "Black or Black British": "Black",
                 "Other Ethnic Group": "Other", "Chinese/other": "Other",
                 "Not stated": "Not stated"}.get(label, label)
        expected[(*key, group)] += int(r["number_of_arrests"])
        total[key] += int(r["number_of_arrests"])
    assert figures(con, "arrests", "ethnicity") == expected
    assert figures(con, "arrests") == total
    assert set(k[2] for k in figures(con, "arrests", "age_group")) == {"10-17", "21 and over"}


def test_the_2006_2020_table_loads_from_csv_and_from_its_ods_sheet_alike() -> None:
    rows = csv_rows(SS_OLD_CSV)
    total: dict[tuple, int] = defaultdict(int)
    for r in rows:
        total[(CODES[r["Force Name"]], fy_start(r["Financial Year"]))] += int(r["Searches"])
    results = []
    for path in (SS_OLD_CSV, SS_OLD_ODS):
        wh = Warehouse()
        with wh.writer() as con:
            prepare(con)
            report = load(con, path)
            assert report.rows_rejected == 0
            assert (path.suffix == ".ods") == ("sheet 'S&S_OD'" in report.message)
            assert figures(con, "stop_searches") == total
            assert figures(con, "stop_searches", "sex") == {}  # the layout has no sex column
            results.append(con.execute(
                "SELECT measure, area_code, period_start, ethnicity, sex, age_group, value "
                "FROM core.observations WHERE is_current ORDER BY ALL").fetchall())
        wh.close()
    assert results[0] == results[1] and len(results[0]) > len(total)


def test_outcomes_with_subcode_columns_give_the_figures_of_the_table_without_them() -> None:
    split = sum(r["Offence Subcode"] != "" for r in csv_rows(SUBCODES))
    assert split > 0  # the fixture does split offences into subcodes
    results = []
    for path in (OUTCOMES, SUBCODES):
        wh = Warehouse()
        with wh.writer() as con:
            prepare(con)
            report = load(con, path)
            assert report.rows_rejected == 0
            results.append(con.execute(
                "SELECT measure, area_code, period_start, offence_group, value "
                "FROM core.observations WHERE is_current ORDER BY ALL").fetchall())
            if path == SUBCODES:
                assert "published with subcodes" in report.message
        wh.close()
    assert results[0] == results[1] and results[0]


def test_several_rows_with_an_unknown_group_are_each_a_reject(con, tmp_path: Path) -> None:
    rows = csv_rows(SS_OLD_CSV)
    header = list(rows[0])
    rows[0]["Ethnic Group (self-defined - new style)"] = "Martian"
    rows[1]["Ethnic Group (self-defined - new style)"] = "Venusian"
    bad = tmp_path / SS_OLD_CSV.name
    with bad.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    report = load(con, bad)
    assert [(r.row, r.value) for r in report.rejects] == [(2, "Martian"), (3, "Venusian")]
    assert all("not a group cjsdash knows" in r.reason for r in report.rejects)
