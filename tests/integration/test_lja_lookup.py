"""The local justice area (LJA) → LCJB lookup of the Crown Court timeliness tool loader.

``ingest/reference/lja_lcjb.csv`` places each LJA the sources name in its LCJB. The invariant
these tests hold it to: **an LJA lies within one police force area**, so it belongs to one LCJB
(LCJBs are police force areas, London being the Metropolitan and City forces together), and
an LCJB is built from a set of LJAs only when the whole set is present for the period.

What the tool shows: MoJ's Crown Court tools of the 2025 Q4 release name their finest areas
"<LCJB> LCJB" ("Avon and Somerset LCJB", "Central London LCJB": the pivot caches profiled by
``YusufIsmailayo/moj-crown-court-statistics-pipeline``, notebooks/02_silver.ipynb, whose
``geo_level`` calls every area ending in "LCJB" an LJA), with the series restated from 2016.
The files here are built in the tests, with invented figures.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from ingest import moj_timeliness_tool as tool
from ingest.lcjb_areas import resolve_lcjb
from ingest.pipeline import ingest_paths, read_context
from tests.conftest import REPO, write_csv

AREAS = REPO / "cjsdash" / "core" / "reference" / "areas.csv"
LAD_PFA = REPO / "tests" / "data" / "ons" / "lad16-csp16-pfa16-lookup.csv"
LONDON_PARTS = ("Central", "East", "North East", "North", "North West", "South East", "South",
                "South West", "West")
HEADER = ("Annual or quarterly,Year,Quarter,Geographic area,Receipt type,Offence group,"
          "Number of defendants,Number of valid defendants,Mean offence to charge (days),"
          "Median offence to charge (days)\n")


def lookup_rows() -> list[dict[str, str]]:
    with open(tool.LOOKUP_FILE, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def lcjbs() -> dict[str, str]:
    """LCJB name → code, as the repository's area table spells them (England and Wales)."""
    with open(AREAS, encoding="utf-8", newline="") as f:
        return {r["name"]: r["code"] for r in csv.DictReader(f)
                if r["kind"] == "lcjb" and r["in_england_wales"] == "true"}


def test_every_row_is_sourced_dated_and_in_one_lcjb(con) -> None:
    context = read_context(con, "test")
    rows = lookup_rows()
    assert len(rows) == 47
    assert all(re.search(r"Order|Wikipedia", r["source"]) for r in rows), rows
    # one row per LJA: an LJA maps to one LCJB and one set
    assert len({tool.lja_key(r["lja"]) for r in rows}) == len(rows)
    codes = {r["lja"]: resolve_lcjb(r["lcjb"], context) for r in rows}
    assert None not in codes.values(), [k for k, v in codes.items() if v is None]
    sets: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        for day in (r["valid_from"], r["valid_to"]):
            assert not day or date.fromisoformat(day), r
        if r["valid_from"] and r["valid_to"]:
            assert r["valid_from"] <= r["valid_to"], r
        if r["lja_set"]:
            sets.setdefault(r["lja_set"], []).append(r)
    for name, members in sets.items():
        assert len({codes[m["lja"]] for m in members}) == 1, name  # a set is in one LCJB
        # a set is one structure: its LJAs start and end together
        assert len({(m["valid_from"], m["valid_to"]) for m in members}) == 1, name


def test_an_lja_lies_in_the_force_area_of_the_districts_it_is_named_after(con) -> None:
    """The invariant checked against ONS: every local authority district (December 2016)
    whose name is a whole phrase of an LJA's name ("Preston", "High Peak", "Bristol") lies in
    the police force area of the LCJB the lookup gives that LJA."""
    context = read_context(con, "test")
    with open(LAD_PFA, encoding="utf-8-sig", newline="") as f:
        districts = {re.sub(r", City of$", "", r["LAD16NM"]): r["PFA16NM"]
                     for r in csv.DictReader(f)}
    checked = set()
    for r in lookup_rows():
        for district, force in districts.items():
            if re.search(rf"(?<![\w-]){re.escape(district)}(?![\w-])", r["lja"]):
                assert resolve_lcjb(force, context) == resolve_lcjb(r["lcjb"], context), (
                    r["lja"], district, force)
                checked.add(r["lja"])
    assert len(checked) >= 20, sorted(checked)


def test_every_lcjb_area_the_tool_shows_resolves_and_equals_a_csv_sum(con, tmp_path: Path
                                                                       ) -> None:
    """One quarter with every LCJB area as the tool spells it ("<LCJB> LCJB"; London in its
    nine LJAs): every LCJB of England and Wales loads, each equal to the file's own sum."""
    names = {n: c for n, c in lcjbs().items() if n != "London"}
    areas = [f"{n} LCJB" for n in names] + [f"{p} London LCJB" for p in LONDON_PARTS]
    lines = [f"Quarterly,2024,Q3,{a},All receipt types,00: All offences,{40 + i},{30 + i},"
             f"{10 + i},{8 + i}" for i, a in enumerate(areas)]
    path = write_csv(tmp_path / "timeliness-every-lcjb.csv", HEADER + "\n".join(lines) + "\n")
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded", report.line()
    assert report.rows_rejected == 0, [r.reason for r in report.rejects]
    with open(path, encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f))
    expected: dict[str, float] = {}
    for r in raw:
        name = r["Geographic area"].removesuffix(" LCJB")
        code = lcjbs()["London"] if name.endswith(" London") else names[name]
        expected[code] = expected.get(code, 0.0) + float(r["Number of valid defendants"])
    got = dict(con.execute(
        "SELECT area_code, value FROM core.observations WHERE source = 'moj_timeliness_tool' "
        "AND measure = 'defendants_timeliness'").fetchall())
    assert set(got) == set(lcjbs().values())  # all 42 LCJBs have an area the tool shows
    assert got == pytest.approx(expected)


# The LJAs of each set, written out from the Orders (not read from the lookup), so that the
# expected sums below are independent of the file under test.
BEFORE_2017 = {  # SI 2016/941 art. 3(1), 3(3), 3(4): the existing areas each new area combines
    "CJA52": {"Bristol", "North Avon", "Somerset"},
    "CJA07": {"North Cheshire", "South and East Cheshire", "West Cheshire"},
    "CJA17": {"Hartlepool", "Teesside"},
}
FROM_2017 = {"CJA52": {"Avon and Somerset"}, "CJA07": {"Cheshire"}, "CJA17": {"Cleveland"}}
LONDON = {f"{p} London" for p in LONDON_PARTS}  # SI 2011/1168 art. 3 Table 1


def tool_file(tmp_path: Path) -> Path:
    rows = []
    n = 0

    def add(period: tuple[str, str, str], area: str) -> None:
        nonlocal n
        n += 1
        rows.append(f"{period[0]},{period[1]},{period[2]},{area},All receipt types,"
                    f"00: All offences,{100 + 7 * n},{90 + 5 * n},{20 + n % 9},{15 + n % 7}")

    q4_2016, q2_2017, q3_2017 = ("Quarterly", "2016", "Q4"), ("Quarterly", "2017", "Q2"), (
        "Quarterly", "2017", "Q3")
    for members in BEFORE_2017.values():  # the old structure, whole, in 2016 Q4
        for lja in sorted(members):
            add(q4_2016, lja)
    for members in FROM_2017.values():  # the new one in 2017 Q2 (one spelled with " LCJB")
        for lja in sorted(members):
            add(q2_2017, lja + (" LCJB" if lja == "Cheshire" else ""))
    for lja in sorted(LONDON):  # London as the tool spells its LJAs
        add(q2_2017, f"{lja} LCJB")
    for quarter in ("Q1", "Q2"):  # 2018: the new structures, enough rows that the
        for lja in sorted(set().union(*FROM_2017.values(), LONDON)):  # rejects stay few
            add(("Quarterly", "2018", quarter), lja)
    add(q3_2017, "Hartlepool")  # Cleveland in 2017 Q3: the old structure whole ...
    add(q3_2017, "Teesside")
    add(q3_2017, "Cleveland")  # ... beside the new: refused, not summed
    add(q3_2017, "Bristol")  # Avon and Somerset 2017 Q3 lacks North Avon and Somerset
    add(q3_2017, "Cheshire")
    add(q3_2017, "Cheshire LCJB")  # the same LJA twice in one period
    add(q3_2017, "Preston and South Ribble")  # one of several Lancashire LJAs, list not sourced
    return write_csv(tmp_path / "timeliness-ljas.csv", HEADER + "\n".join(rows) + "\n")


def test_ljas_of_several_forces_build_lcjbs_equal_to_a_csv_sum(con, tmp_path: Path) -> None:
    path = tool_file(tmp_path)
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded", report.line()
    with open(path, encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f))
    structures = [*BEFORE_2017.items(), *FROM_2017.items(), ("CJA01", LONDON)]
    by_period: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in raw:
        by_period.setdefault((r["Year"], r["Quarter"]), []).append(r)
    expected: dict[tuple[str, date], float] = {}
    for (year, quarter), rows in by_period.items():
        first: dict[str, dict[str, str]] = {}  # an LJA twice in a period: its first row
        for r in rows:
            first.setdefault(r["Geographic area"].removesuffix(" LCJB"), r)
        start = date(int(year), 3 * int(quarter[1]) - 2, 1)
        for code in {c for c, _ in structures}:
            whole = [m for c, m in structures if c == code and m <= set(first)]
            if len(whole) == 1:  # built from a whole structure, and only from one
                expected[(code, start)] = sum(
                    float(first[lja]["Number of valid defendants"]) for lja in whole[0])
    got = {(a, s): v for a, s, v in con.execute(
        "SELECT area_code, period_start, value FROM core.observations "
        "WHERE source = 'moj_timeliness_tool' AND measure = 'defendants_timeliness'").fetchall()}
    assert got == pytest.approx(expected)
    assert {k for k in got if k[1].year < 2018} == {("CJA52", date(2016, 10, 1)), ("CJA07", date(2016, 10, 1)),
                        ("CJA17", date(2016, 10, 1)), ("CJA52", date(2017, 4, 1)),
                        ("CJA07", date(2017, 4, 1)), ("CJA17", date(2017, 4, 1)),
                        ("CJA01", date(2017, 4, 1)), ("CJA07", date(2017, 7, 1))}
    reasons = {(r.value, r.reason) for r in report.rejects}
    assert {v for v, why in reasons if "from two structures" in why} == {
        "Hartlepool", "Teesside", "Cleveland"}
    assert any(v == "Bristol" and "lacks its local justice area(s) North Avon, Somerset" in why
               for v, why in reasons)
    assert any(v == "Cheshire LCJB" and why.startswith("duplicate") for v, why in reasons)
    assert any(v == "Preston and South Ribble" and "one of several in Lancashire" in why
               for v, why in reasons)


def test_the_pivot_cache_spelling_loads(con, tmp_path: Path) -> None:
    """The tool's own column and label spellings, as the 2025 Q4 pivot cache has them
    ("Number of valid defendants whose cases have completed", "Offence to charge (Mean)",
    receipt type "All cases closed", areas "<LCJB> LCJB", "Unknown region"), load: means
    become totals over the valid defendants, as in the other spelling."""
    text = (
        "Annual or quarterly,Year,Quarter,Geographic area,Receipt type,Offence group,"
        "Number of defendants whose cases have completed,"
        "Number of valid defendants whose cases have completed,"
        "Offence to charge (Mean),Offence to charge (Median),"
        "Offence to completion (Mean),Offence to completion (Median)\n"
        "Quarterly,2024,Q1,England and Wales,01: All cases closed,00: All offences,900,800,"
        "30,20,400,300\n"
        "Quarterly,2024,Q1,Unknown region,01: All cases closed,00: All offences,9,8,30,20,"
        "400,300\n"
        "Quarterly,2024,Q1,Cumbria LCJB,01: All cases closed,00: All offences,120,100,"
        "31.5,20,410,300\n"
        "Quarterly,2024,Q1,Avon and Somerset LCJB,01: All cases closed,00: All offences,"
        "220,200,28,20,390,300\n"
        "Quarterly,2024,Q1,Cumbria LCJB,02: Guilty plea,00: All offences,50,40,20,10,300,"
        "200\n")
    path = write_csv(tmp_path / "timeliness_tool_Crown_Court.csv", text)
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded", report.line()
    assert report.rows_rejected == 0, [r.reason for r in report.rejects]
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Geographic area"].endswith(" LCJB")
                and r["Receipt type"] == "01: All cases closed"]
    valid = "Number of valid defendants whose cases have completed"
    expected = {}
    for r in rows:
        code = lcjbs()[r["Geographic area"].removesuffix(" LCJB")]
        n = float(r[valid])
        expected[(code, "defendants_timeliness")] = n
        expected[(code, "days_offence_to_charge")] = float(r["Offence to charge (Mean)"]) * n
        expected[(code, "days_offence_to_completion")] = (
            float(r["Offence to completion (Mean)"]) * n)
    got = {(a, m): v for a, m, v in con.execute(
        "SELECT area_code, measure, value FROM core.observations "
        "WHERE source = 'moj_timeliness_tool'").fetchall()}
    assert got == pytest.approx(expected)
