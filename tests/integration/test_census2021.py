"""Census 2021 ethnic group in the three layouts analysts download, and which census divides a rate.

The ONS wide table by sex is a real file (tests/data/ons/ethnic_pop_region.csv); every force's
population is recomputed here with the csv module from it and the ONS LAD→PFA lookup. The
Nomis bulk and ONS custom-dataset files are built from that file's real counts in their
published layouts (tests/data/ons/NOTICE.md), so all three must give the same populations.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from ingest import census2021_custom, census2021_nomis_bulk, census2021_ons_wide
from ingest.pipeline import detect_loader, ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import REPO, write_csv

ONS = REPO / "tests" / "data" / "ons"
REFERENCE = REPO / "ingest" / "reference"
WIDE = ONS / "ethnic_pop_region.csv"
BULK = ONS / "census2021-ts021-ltla-nomis-bulk.csv"
CUSTOM = ONS / "census2021-custom-ts021-sex-ltla.csv"
BROAD = {"Asian": "Asian, Asian British or Asian Welsh: ",
         "Black": "Black, Black British, Black Welsh, Caribbean or African: ",
         "Mixed": "Mixed or Multiple ethnic groups: ", "White": "White: ",
         "Other": "Other ethnic group: "}
CUMBRIA, DORSET, DEVON, MET, CITY, LONDON = ("E23000002", "E23000039", "E23000035",
                                             "E23000001", "E23000034", "CJA01")


def _districts_of_forces() -> dict[str, str]:
    """Any district code in the wide file → its force, from the lookup and the code changes
    (read here with the csv module, not through the loader)."""
    with open(REFERENCE / "lad16_csp16_pfa16.csv", encoding="utf-8-sig", newline="") as f:
        pfa = {r["LAD16CD"]: r["PFA16CD"] for r in csv.DictReader(f)}
    with open(REFERENCE / "lad_code_changes.csv", encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            pfa[r["code"]] = pfa[r["replaces"].split(";")[0]]
    return pfa


def expected_from_wide() -> dict[tuple[str, str], float]:
    """(force, group) → population: both sexes, blanks as 0, every district of the force."""
    pfa = _districts_of_forces()
    out: dict[tuple[str, str], float] = defaultdict(float)
    with open(WIDE, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            force = pfa.get(row["Geography Code"])
            if force is None:
                continue  # a region, country or England and Wales
            for column, value in row.items():
                if column in ("Geography Code", "Geography Name", "Sex"):
                    continue
                count = int(value or 0)
                out[(force, "")] += count
                group = next(g for g, prefix in BROAD.items() if column.startswith(prefix))
                out[(force, group)] += count
    return out


def ingest(con: duckdb.DuckDBPyConnection, path: Path):
    [report] = ingest_paths(con, [path])
    return report


def loaded(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    return {(a, e): p for a, e, p in con.execute(
        "SELECT area_code, ethnicity, population FROM core.populations "
        "WHERE source = 'Census 2021' AND year = 2021 AND is_current").fetchall()}


@pytest.mark.parametrize(("path", "module"), [
    (WIDE, census2021_ons_wide), (BULK, census2021_nomis_bulk), (CUSTOM, census2021_custom)],
    ids=lambda p: getattr(p, "name", ""))
def test_each_layout_is_detected_by_its_own_loader(path: Path, module) -> None:
    assert detect_loader(path, path.read_bytes()) is module.LOADER


def test_the_real_ons_wide_file_rolls_up_to_every_force_and_london(con, tmp_path) -> None:
    report = ingest(con, WIDE)
    assert report.status == "loaded", report.line()
    assert report.rows_in == 682 and report.rows_rejected == 0
    got = loaded(con)
    expected = expected_from_wide()
    areas = {a for a, _ in got}
    # the Met and the City are published as "City of London and Westminster" together: neither
    # can be told apart, so London's LCJB (both forces) is loaded instead of them
    assert len(areas) == 42 and MET not in areas and CITY not in areas and LONDON in areas
    assert {k: v for k, v in expected.items() if k[0] in areas} == {
        k: v for k, v in got.items() if k[0] != LONDON}
    for group in ("", *BROAD):
        assert got[(LONDON, group)] == expected[(MET, group)] + expected[(CITY, group)]
    assert got[(CUMBRIA, "")] == 499_725.0  # Cumbria, both sexes, 19 groups, six districts
    assert "loaded as London LCJB" in report.line()
    assert "blank (suppressed) cells read as 0" in report.line()
    # London's rate for 2024-25 is divided by Census 2021, as for any other area
    path = write_csv(tmp_path / "x.csv",
                     "area,period,measure,numerator\nLondon LCJB,2024-25,stop_search_rate,5000\n")
    [load] = ingest_paths(con, [path])
    assert load.status == "loaded", load.line()
    frame = compute_indicators(con, default_registry(), ["stop_search_rate"], [LONDON],
                               grain="fy")
    assert frame["denominator"].to_list() == [got[(LONDON, "")]]
    assert "denominator: Census 2021" in frame["note"][0]


def test_the_bulk_and_custom_layouts_give_the_same_populations(con, warehouse) -> None:
    expected = expected_from_wide()
    for path in (BULK, CUSTOM):
        con.execute("DELETE FROM core.populations")
        report = ingest(con, path)
        assert report.status == "loaded", report.line()
        got = loaded(con)
        assert {a for a, _ in got} == {CUMBRIA, DORSET, DEVON}, path.name  # Thames Valley short
        assert got == {k: v for k, v in expected.items() if k[0] in {CUMBRIA, DORSET, DEVON}}
        assert any("Thames Valley cannot be built" in r.reason for r in report.rejects)


def test_a_bulk_total_that_disagrees_with_its_groups_rejects_the_district(con, tmp_path) -> None:
    lines = BULK.read_text(encoding="utf-8").splitlines()
    fields = next(csv.reader([lines[1]]))
    fields[3] = str(int(fields[3]) + 5)  # Plymouth's total, off by 5
    lines[1] = ",".join(fields)
    path = write_csv(tmp_path / "census2021-ts021-ltla.csv", "\n".join(lines) + "\n")
    report = ingest(con, path)
    reasons = [r.describe(path.name) for r in report.rejects]
    assert any("row 2" in r and "differs from the sum of its groups" in r for r in reasons)
    assert DEVON not in {a for a, _ in loaded(con)}  # Plymouth missing: Devon & Cornwall short


def test_a_2024_25_rate_is_divided_by_census_2021_and_says_so(con, tmp_path: Path) -> None:
    ingest(con, WIDE)
    con.execute("INSERT INTO core.populations VALUES "
                "(?, 2011, '', '', '', 494400, 'Census 2011', 'v', 0, TRUE)", [CUMBRIA])
    path = write_csv(tmp_path / "x.csv", "area,period,measure,numerator\n"
                     "Cumbria,2024-25,stop_search_rate,1000\n"
                     "Cumbria,2019-20,stop_search_rate,900\n")
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded", report.line()
    frame = compute_indicators(con, default_registry(), ["stop_search_rate"], [CUMBRIA],
                               grain="fy").sort("period_start")
    assert frame["denominator"].to_list() == [494_400.0, 499_725.0]
    assert frame["value"].to_list() == pytest.approx([900 / 494_400 * 1000,
                                                      1000 / 499_725 * 1000])
    assert "denominator: Census 2011" in frame["note"][0]
    assert "denominator: Census 2021" in frame["note"][1]
