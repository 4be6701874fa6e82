"""Reference geography: the area list, alias resolution against real publishers' spellings,
and the four warehouse tables load_reference_areas writes."""

from __future__ import annotations

import csv
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cjsdash.core.areas import AreaIndex, load_reference_areas, normalise_area_name
from cjsdash.core.schema import ensure_schema
from tests.conftest import ALL_FORCES_ZIP, REPO

# Verbatim copies of files in shared/data/real (each NOTICE.md gives the source and sha256).
DATA = REPO / "tests" / "data"


@pytest.fixture(scope="module")
def index() -> AreaIndex:
    return AreaIndex.from_reference()


def real_csv(relative: str, encoding: str = "utf-8") -> list[dict[str, str]]:
    with open(DATA / relative, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


# --- the area list ---------------------------------------------------------------------------


def test_counts_by_kind(index: AreaIndex) -> None:
    kinds = Counter(a.kind for a in index.areas)
    assert kinds == {"force": 43, "lcjb": 42, "region": 9, "country": 2, "national": 1, "other": 2}
    forces = {a.code for a in index.areas if a.kind == "force"}
    expected = {f"E230000{i:02d}" for i in range(1, 40)} | {f"W1500000{i}" for i in range(1, 5)}
    assert forces == expected
    assert {a.code for a in index.areas if a.kind == "region"} == {
        f"E1200000{i}" for i in range(1, 10)
    }


def test_sort_order_and_flags(index: AreaIndex) -> None:
    order = ["national", "country", "region", "lcjb", "force", "other"]
    kinds = [a.kind for a in index.areas]
    assert kinds == sorted(kinds, key=order.index)
    assert [a.sort_key for a in index.areas] == sorted({a.sort_key for a in index.areas})
    for kind in ("lcjb", "force"):
        names = [a.name for a in index.areas if a.kind == kind]
        assert names == sorted(names)
    assert {a.code for a in index.areas if not a.in_england_wales} == {"BTP", "N23000001"}


def test_footprints(index: AreaIndex) -> None:
    assert len(index.get("K04000001").force_codes) == 43
    assert len(index.get("W92000004").force_codes) == 4
    assert len(index.get("E92000001").force_codes) == 39
    assert index.get("CJA01").force_codes == ("E23000001", "E23000034")
    assert index.get("E12000001").force_codes == ("E23000007", "E23000008", "E23000013")
    assert index.get("E23000002").force_codes == ("E23000002",)
    assert index.get("BTP").force_codes == ()
    lcjb_forces = [f for a in index.areas if a.kind == "lcjb" for f in a.force_codes]
    assert sorted(lcjb_forces) == sorted(index.get("K04000001").force_codes)


def test_force_attributes(index: AreaIndex) -> None:
    city, met = index.get("E23000034"), index.get("E23000001")
    assert (city.cjs_ff_code, city.lcjb_code, city.region_code) == ("48", "CJA01", "E12000007")
    assert (met.cjs_ff_code, met.lcjb_code) == ("01", "CJA01")
    assert index.get("W15000004").country_code == "W92000004"
    for area in index.areas:
        if area.kind == "force" and area.code != "E23000034":
            assert area.lcjb_code == f"CJA{area.cjs_ff_code}"
            assert index.get(area.lcjb_code).region_code == area.region_code


def test_twins(index: AreaIndex) -> None:
    assert [a.code for a in index.twins("E23000002")] == ["CJA03"]
    assert [a.code for a in index.twins("E12000007")] == ["CJA01"]
    assert index.twins("E23000001") == ()
    assert index.twins("BTP") == ()


def test_get_unknown_code_is_helpful(index: AreaIndex) -> None:
    with pytest.raises(KeyError, match="E23000002"):
        index.get("Cumbria")
    with pytest.raises(KeyError, match="unknown area code"):
        index.get("XYZ")


# --- names and resolution --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Devon & Cornwall Police",
        "devon-and-cornwall",
        "Devon and Cornwall",
        "\ufeffDevon & Cornwall ",
    ],
)
def test_normalise_devon(text: str) -> None:
    assert normalise_area_name(text) == "devon and cornwall"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Metropolitan Police Service", "metropolitan"),
        ("Metropolitan Police", "metropolitan"),
        ("The Metropolitan Police", "metropolitan"),
        ("London, City of", "london city of"),
        ("Cumbria Constabulary", "cumbria"),
        ("Police Service of Northern Ireland", "police service of northern ireland"),
        ("E&W", "e and w"),
        ("Police", "police"),
    ],
)
def test_normalise(text: str, key: str) -> None:
    assert normalise_area_name(text) == key


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Avon & Somerset", "E23000036"),
        ("Devon and Cornwall Police", "E23000035"),
        ("devon-and-cornwall", "E23000035"),
        ("Metropolitan Police Service", "E23000001"),
        ("Met", "E23000001"),
        ("London, City of", "E23000034"),
        ("City of London Police", "E23000034"),
        ("e23000001", "E23000001"),
        ("cja03", "CJA03"),
        ("Cumbria", "E23000002"),
        ("Cumbria LCJB", "CJA03"),
        ("Cumbria CJA", "CJA03"),
        ("cumbria criminal justice area", "CJA03"),
        ("London", "CJA01"),
        ("London LCJB", "CJA01"),
        ("Metropolitan Police LCJB", "CJA01"),
        ("West Midlands", "E23000014"),
        ("Yorkshire and the Humber", "E12000003"),
        ("Wales", "W92000004"),
        ("England", "E92000001"),
        ("England and Wales", "K04000001"),
        ("England & Wales", "K04000001"),
        ("E&W", "K04000001"),
        ("National", "K04000001"),
        ("btp", "BTP"),
        ("british-transport-police", "BTP"),
        ("northern-ireland", "N23000001"),
    ],
)
def test_resolve(index: AreaIndex, text: str, code: str) -> None:
    assert index.resolve(text) == code


@pytest.mark.parametrize("text", ["", "   ", "Atlantis", "Atlantis LCJB", "Scotland", "NA"])
def test_resolve_unknown(index: AreaIndex, text: str) -> None:
    assert index.resolve(text) is None


def test_every_force_and_other_alias_resolves_to_its_area(index: AreaIndex) -> None:
    aliases = index.alias_frame()
    assert aliases.select("alias_key", "code").is_duplicated().sum() == 0
    kinds = {a.code: a.kind for a in index.areas}
    for row in aliases.iter_rows(named=True):
        if kinds[row["code"]] in ("force", "other"):
            assert index.resolve(row["alias"]) == row["code"], row


# --- real publishers' spellings --------------------------------------------------------------


def test_streetlamp_forces(index: AreaIndex) -> None:
    rows = real_csv("known/blackthrive-streetlamp-forces.csv")
    special = {"btp": "BTP", "northern-ireland": "N23000001"}
    assert len(rows) == 45
    for r in rows:
        code = special.get(r["force_id"], r["pfa_code"])
        for spelling in (r["force_id"], r["name"], r["pfa_name"] or r["name"]):
            assert index.resolve(spelling) == code, spelling


def test_ons_pfa_lookup(index: AreaIndex) -> None:
    rows = real_csv("ons/lad16-csp16-pfa16-lookup.csv", encoding="utf-8")  # BOM kept on purpose
    pairs = {(r["PFA16CD"], r["PFA16NM"]) for r in rows}
    assert len(pairs) == 43
    for code, name in pairs:
        assert index.resolve(name) == code, name
        assert index.resolve(code) == code


def test_census_derived_force_names(index: AreaIndex) -> None:
    for relative, column in [
        ("known/police-defined-demographics_DERIVED.csv", "Police force"),
        ("ons/force-demographics_DERIVED.csv", "PFA16NM"),
    ]:
        codes = [index.resolve(r[column]) for r in real_csv(relative)]
        assert None not in codes
        assert len(set(codes)) == 43
        assert {index.get(c).kind for c in codes} == {"force"}


def test_census_regions(index: AreaIndex) -> None:
    rows = real_csv("known/census2011_pop_ests_by_ethn_region.csv")
    codes = {index.resolve(r["Region"]) for r in rows}
    assert None not in codes and len(codes) == 10
    assert codes - {"E23000014", "CJA01"} <= {a.code for a in index.areas if a.kind != "force"}


def test_ppap_totals(index: AreaIndex) -> None:
    rows = real_csv("home_office/stop_search_totals/blackthrive-searchlight-ppap-totals.csv")
    assert len(rows) == 44
    for r in rows:
        assert index.resolve(r["force_id"]) == (r["pfa_code"] or "BTP"), r["force_id"]
        if r["pfa_code"]:
            assert index.resolve(r["pfa_code"]) == r["pfa_code"]


def test_datahub_labels(index: AreaIndex) -> None:
    for r in real_csv("known/datahub-crime-uk-forces.csv"):
        assert index.resolve(r["Label"]) == index.resolve(r["id"]) is not None, r


def test_crime_outcomes_force_names(index: AreaIndex) -> None:
    # The whole published file, in the repository for the demo warehouse (data/real/NOTICE.md).
    path = REPO / "data" / "real" / "home_office" / "detection-rates-data_DERIVED.csv.gz"
    frame = pl.read_csv(path, columns=["force_name"], infer_schema=False)
    names = set(frame["force_name"].drop_nulls()) - {"NA"}
    codes = {name: index.resolve(name) for name in names}
    assert None not in codes.values(), codes
    assert len(set(codes.values())) == 44
    assert codes["London, City of"] == "E23000034"


STREET_COLUMNS = ["Reported by", "Falls within"]


def assert_street_files_name_their_force(index: AreaIndex,
                                          files: list[tuple[str, pl.DataFrame]]) -> None:
    assert files
    for file_name, frame in files:
        slug = file_name[len("YYYY-MM-") : -len("-street.csv")]
        code = index.resolve(slug)
        assert code is not None, slug
        names = set(frame["Reported by"]) | set(frame["Falls within"])
        assert {index.resolve(n) for n in names} == {code}, (file_name, names)


def test_street_reported_by(index: AreaIndex) -> None:
    """The loose files of shared/data/real/police_uk_street (in the repository for the demo) and
    the trimmed samples of tests/data/police_uk/street (BTP, Northern Ireland, Wales)."""
    folders = [REPO / "data" / "real" / "police_uk_street", DATA / "police_uk" / "street"]
    files = [(path.name, pl.read_csv(path, columns=STREET_COLUMNS, infer_schema=False))
             for folder in folders for path in sorted(folder.glob("*/*-street.csv"))]
    assert len(files) >= 21 + 8
    assert_street_files_name_their_force(index, files)


def test_street_reported_by_in_the_all_forces_zip(index: AreaIndex) -> None:
    archive = ALL_FORCES_ZIP
    with zipfile.ZipFile(archive) as z:
        files = [(Path(member).name,
                  pl.read_csv(z.read(member), columns=STREET_COLUMNS, infer_schema=False))
                 for member in z.namelist() if member.endswith("-street.csv")]
    assert_street_files_name_their_force(index, files)


# --- warehouse load --------------------------------------------------------------------------


def test_load_reference_areas(index: AreaIndex) -> None:
    con = duckdb.connect()
    ensure_schema(con)
    for _ in range(2):  # a reload replaces, never duplicates
        load_reference_areas(con, index)

    def count(sql: str) -> int:
        return con.execute(sql).fetchone()[0]

    assert count("SELECT count(*) FROM core.areas") == 99
    assert count("SELECT count(*) FROM core.areas WHERE kind = 'force'") == 43
    assert count("SELECT count(*) FROM core.area_footprints") == 43 + 43 + 39 + 4 + 39 + 43
    assert count("SELECT count(*) FROM core.area_aliases") == index.alias_frame().height
    assert (
        count("SELECT count(*) FROM core.area_aliases WHERE alias_key = 'devon and cornwall'") == 2
    )  # the force and its twin LCJB
    # 0: every area; 1: 41 force<->LCJB pairs and London region<->CJA01, both ways;
    # 2: forces of multi-force areas; 3: K04 42 + England 38 + Wales 4 + 8 regions 37.
    by_strategy = dict(
        con.execute("SELECT strategy, count(*) FROM core.area_sources GROUP BY strategy").fetchall()
    )
    assert by_strategy == {0: 99, 1: 84, 2: 127, 3: 121}
    sources = dict(
        con.execute(
            "SELECT strategy, count(*) FROM core.area_sources"
            " WHERE area_code = 'K04000001' GROUP BY strategy"
        ).fetchall()
    )
    assert sources == {0: 1, 2: 43, 3: 42}
    assert (
        count(
            "SELECT count(DISTINCT set_size) FROM core.area_sources"
            " WHERE area_code = 'K04000001' AND strategy = 3 AND set_size = 42"
        )
        == 1
    )
    rows = set(
        con.execute(
            "SELECT area_code, strategy, source_area_code, set_size FROM core.area_sources"
            " WHERE area_code IN ('E12000007', 'CJA01', 'E23000002', 'BTP', 'E12000001')"
        ).fetchall()
    )
    assert {
        ("E12000007", 1, "CJA01", 1),
        ("CJA01", 1, "E12000007", 1),
        ("CJA01", 2, "E23000034", 2),
        ("E23000002", 1, "CJA03", 1),
        ("BTP", 0, "BTP", 1),
        ("E12000001", 3, "CJA17", 3),
    } <= rows
    assert not {r for r in rows if r[0] == "BTP" and r[1] != 0}
    assert not {r for r in rows if r[0] in ("E12000007", "CJA01") and r[1] == 3}
    in_sql = con.execute(
        "SELECT in_england_wales, sort_key FROM core.areas WHERE code = 'K04000001'"
    ).fetchone()
    assert in_sql == (True, 1)


def test_resolve_area_by_code_answers_as_the_query_does(tmp_path: Path) -> None:
    """A code is found in the areas kept per data version (a file's warehouse has one), any
    other spelling by the query: the same area either way, forces before their LCJB twin."""
    from cjsdash.bootstrap import prepare
    from cjsdash.core.gateway import Warehouse
    from metrics import views

    warehouse = Warehouse(tmp_path / "areas.duckdb")
    with warehouse.writer() as con:
        prepare(con)
        areas = views.list_areas(con)
        assert len(areas) > 80
        for area in areas:
            for spelling in (area.code, f" {area.code.lower()} ", area.name):
                assert views.resolve_area(con, spelling) == views.resolved_by_query(
                    con, spelling), spelling
            assert views.resolve_area(con, area.code) == area
        assert views.resolve_area(con, "Cumbria").kind == "force"  # not the LCJB
        assert views.resolve_area(con, "Narnia") is None
    warehouse.close()
