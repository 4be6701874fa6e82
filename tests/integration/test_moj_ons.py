"""MoJ and ONS sources → warehouse: trials, timeliness, the CJS dashboard, Census 2011 and 2021.

Every figure compared with compute_indicators (or the population tables) is recomputed here
independently from the sample file, with the csv module or DuckDB SQL.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cjsdash.core.areas import AreaIndex
from ingest import (
    catalogue,
    census2011_la_ethnicity,
    census2021_nomis,
    cjs_dashboard,
    moj_timeliness,
    moj_trials,
)
from ingest.pipeline import detect_loader, ingest_paths
from metrics import sql
from metrics.compute import compute_indicators
from metrics.options import Options
from metrics.registry import default_registry
from tests.conftest import REPO, write_csv

REG = default_registry()
MOJ = REPO / "tests" / "data" / "moj"
ONS = REPO / "tests" / "data" / "ons"
TIMELINESS = MOJ / "timeliness-transparency-sample.csv"
TRIALS = MOJ / "trial-effectiveness-lcjb-sample.csv"
DASHBOARD = MOJ / "cjs-delivery-dashboard-sample.csv"
CENSUS2011 = ONS / "la-ethnic-groups.csv"
DERIVED2011 = ONS / "force-demographics_DERIVED.csv"
NOMIS_LAD = ONS / "nomis-ts021-lad-sample.csv"
NOMIS_MSOA = ONS / "nomis-ts021-msoa-searchlight.csv"
MODULES = (moj_trials, moj_timeliness, cjs_dashboard, census2011_la_ethnicity, census2021_nomis)
SAMPLES = {
    TIMELINESS: moj_timeliness, TRIALS: moj_trials, DASHBOARD: cjs_dashboard,
    CENSUS2011: census2011_la_ethnicity, NOMIS_LAD: census2021_nomis,
    NOMIS_MSOA: census2021_nomis,
}
LONDON, CUMBRIA_LCJB, CUMBRIA, DORSET, EW = "CJA01", "CJA03", "E23000002", "E23000039", "K04000001"
LONDON_PARTS = ("Central", "East", "North East", "North", "North West", "South East", "South",
                "South West", "West")


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """These loaders are not in the catalogue yet: register them for detection and sources."""
    for module in MODULES:
        monkeypatch.setitem(catalogue.LOADERS, module.SPEC.name, module.LOADER)
        monkeypatch.setitem(catalogue.SOURCES, module.SPEC.name, module.SPEC)


def ingest(con: duckdb.DuckDBPyConnection, path: Path, **kwargs: object):
    [report] = ingest_paths(con, [path], **kwargs)  # type: ignore[arg-type]
    return report


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def one(frame: pl.DataFrame, **where: object) -> dict[str, object]:
    for column, value in where.items():
        frame = frame.filter(frame[column] == value)
    assert frame.height == 1, frame
    return frame.row(0, named=True)


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(SAMPLES), ids=lambda p: p.name)
def test_every_sample_is_detected_by_its_own_loader_only(path: Path) -> None:
    data = path.read_bytes()
    assert detect_loader(path, data) is SAMPLES[path].LOADER
    claims = [m.SPEC.name for m in MODULES if m.detect(path, data)]
    assert claims == [SAMPLES[path].SPEC.name]


# --- MoJ timeliness -------------------------------------------------------------------------


def test_timeliness_sums_london_and_weights_means_by_defendants(con) -> None:
    report = ingest(con, TIMELINESS)
    assert report.status == "loaded", report.line()
    assert report.loader == "moj_court_timeliness"
    assert report.rows_in == 26 and report.rows_rejected == 0
    # independently: London = the nine LCJB sub-areas (All courts, 2010 Q2)
    london = [r for r in rows_of(TIMELINESS) if r["Region"] == "London"
              and r["LCJB area"].endswith(" London LCJB") and r["Court type"] == "All courts"]
    assert sorted(r["LCJB area"] for r in london) == sorted(f"{p} London LCJB"
                                                             for p in LONDON_PARTS)
    defendants = sum(int(r["Defendants"]) for r in london)
    assert defendants == 69928  # the published London region figure
    expected = {
        "offence_to_charge_days": "Mean offence to charge",
        "offence_to_completion_days": "Mean offence to completion",
        "charge_to_first_listing_days": "Mean charge to first list",
        "first_listing_to_completion_days": "Mean first list to completion",
    }
    frame = compute_indicators(con, REG, list(expected), [LONDON, "E12000007"], grain="quarter")
    for indicator, column in expected.items():
        mean = sum(int(r[column]) * int(r["Defendants"]) for r in london) / defendants
        for area in (LONDON, "E12000007"):  # London LCJB and its twin, the region
            row = one(frame, indicator=indicator, area_code=area)
            assert row["denominator"] == defendants
            assert row["value"] == pytest.approx(mean)
    # the published London mean offence to charge is 99 days (rounded)
    assert round(one(frame, indicator="offence_to_charge_days", area_code=LONDON)["value"]) == 99


def test_timeliness_loads_lcjb_rows_only_with_court_types_as_breakdown(con) -> None:
    ingest(con, TIMELINESS)
    got = con.execute(
        "SELECT court_type, value FROM core.observations WHERE measure = 'defendants_timeliness' "
        "AND area_code = ? AND period_start = DATE '2010-04-01' ORDER BY court_type",
        [CUMBRIA_LCJB],
    ).fetchall()
    # All courts 3,412 (not the LJA rows North/South Cumbria again), then the two court types
    assert got == [("", 3412.0), ("Crown Court", 307.0), ("Magistrates' courts", 3105.0)]
    areas = {a for (a,) in con.execute(
        "SELECT DISTINCT area_code FROM core.observations WHERE source = 'moj_court_timeliness'"
    ).fetchall()}
    assert areas == {LONDON, CUMBRIA_LCJB, "CJA44", "CJA63"}  # Hampshire and Isle of Wight: CJA44
    # the national figure is not the published row: it needs all 42 LCJBs, so it is absent
    frame = compute_indicators(con, REG, ["offence_to_charge_days"], [EW], grain="quarter")
    assert frame.height == 0
    # a Crown Court quarter with no defendants: zero days, not a withheld figure
    assert con.execute(
        "SELECT value, value_note FROM core.observations WHERE area_code = 'CJA63' "
        "AND court_type = 'Crown Court' AND measure = 'days_offence_to_charge'"
    ).fetchall() == [(0.0, None)]


def test_timeliness_bad_rows_are_rejected_with_reasons(con, tmp_path: Path) -> None:
    header = ",".join(moj_timeliness.HEADER)
    body = [
        "2011,2011 Q1 (Jan-Mar),All courts,-,North West,Cumbria LCJB,-,3000,80,30,30,140,1,1,1,1",
        "2011,2011 Q1 (Jan-Mar),All courts,-,North West,Unknownshire LCJB,-,10,1,1,1,3,1,1,1,1",
        "2011,2011 Q9,All courts,-,North West,Cumbria LCJB,-,10,1,1,1,3,1,1,1,1",
        "2012,2011 Q2 (Apr-Jun),All courts,-,North West,Cumbria LCJB,-,10,1,1,1,3,1,1,1,1",
        "2011,2011 Q1 (Jan-Mar),Youth court,-,North West,Cumbria LCJB,-,10,1,1,1,3,1,1,1,1",
        "2011,2011 Q1 (Jan-Mar),All courts,-,North West,Cumbria LCJB,-,3001,80,30,30,140,1,1,1,1",
        "2011,2011 Q1 (Jan-Mar),All courts,-,London,Central London LCJB,-,7000,80,30,30,140,1,1,1,1",
        "2011,2011 Q1 (Jan-Mar),All courts,-,Wales,Gwent LCJB,-,abc,80,30,30,140,1,1,1,1",
        "2011,2011 Q1 (Jan-Mar),All courts,-,Wales,North Wales LCJB,-,2000,..,30,30,140,1,1,1,1",
    ]
    report = ingest(con, write_csv(tmp_path / "t.csv", "\n".join([header, *body]) + "\n"),
                    max_reject_share=1.0)  # many bad rows on purpose: see every reason
    assert report.status == "loaded"
    reasons = {(r.row, r.column): r.reason for r in report.rejects}
    assert reasons[(3, "LCJB area")].startswith("unknown LCJB area")
    assert reasons[(4, "Period")].startswith("unreadable period")
    assert reasons[(5, "Year")].startswith("the Year does not match")
    assert reasons[(6, "Court type")].startswith("unknown court type")
    assert reasons[(7, "LCJB area")].startswith("duplicate: the same LCJB area, period and court "
                                                "type as row 2")
    assert "London incomplete" in reasons[(8, "LCJB area")]
    assert reasons[(9, "Defendants")] == "not a number"
    assert len(report.rejects) == 7
    # a publisher marker in a mean: the total is withheld, with the marker as its note
    assert con.execute(
        "SELECT value, value_note FROM core.observations WHERE area_code = 'CJA60' "
        "AND measure = 'days_offence_to_charge'"
    ).fetchall() == [(None, "publisher marker '..'")]


# --- MoJ trial effectiveness ----------------------------------------------------------------


def _trials(court: str, period: str, lcjbs: tuple[str, ...]) -> list[dict[str, str]]:
    return [r for r in rows_of(TRIALS) if r["Court type"] == court
            and f"{r['Year']} {r['Quarter']}" == period and r["LCJB area"] in lcjbs]


def test_trial_rates_match_an_independent_count(con) -> None:
    report = ingest(con, TRIALS)
    assert report.status == "loaded", report.line()
    assert report.rows_rejected == 0 and report.rows_in == 36
    london_mags = tuple(f"{p} London LCJB" for p in LONDON_PARTS)
    cases = [
        ("ineffective_trial_rate_crown", "Crown Court", CUMBRIA_LCJB, ("Cumbria LCJB",),
         "Ineffective"),
        ("ineffective_trial_rate_mags", "Magistrates' courts", LONDON, london_mags, "Ineffective"),
        ("cracked_trial_rate_mags", "Magistrates' courts", "W15000004", ("Dyfed Powys LCJB",),
         "Cracked"),
    ]
    for indicator, court, area, lcjbs, outcome in cases:
        rows = _trials(court, "2019 Q1", lcjbs)
        assert len(rows) == len(lcjbs)
        listed = sum(int(r["Effective"]) + int(r["Cracked"]) + int(r["Ineffective"]) for r in rows)
        count = sum(int(r[outcome]) for r in rows)
        frame = compute_indicators(con, REG, [indicator], [area], grain="quarter")
        row = one(frame, period_label="Jan\u2013Mar 2019")
        assert (row["numerator"], row["denominator"]) == (count, listed), indicator
        assert row["value"] == pytest.approx(100 * count / listed)


def test_witness_absence_adds_both_courts_and_reasons_are_outcomes(con) -> None:
    ingest(con, TRIALS)
    london = (*(f"{p} London LCJB" for p in LONDON_PARTS), "London Crown Courts LCJB")
    witness = [c for c in rows_of(TRIALS)[0] if c.startswith("Ineffective reason: Prosecution "
                                                              "witness absent")]
    assert len(witness) == 3
    rows = [r for r in rows_of(TRIALS) if r["Quarter"] == "Q2" and r["LCJB area"] in london]
    expected = sum(int(r[c]) for r in rows for c in witness)
    frame = compute_indicators(con, REG, ["witness_absence_ineffective"], [LONDON],
                               grain="quarter")
    assert one(frame, period_label="Apr\u2013Jun 2019")["value"] == expected
    reasons = con.execute(
        "SELECT outcome, value FROM core.observations WHERE measure = 'trials_cracked_crown' "
        "AND area_code = ? AND period_start = DATE '2019-01-01' AND outcome <> '' ORDER BY 1",
        [CUMBRIA_LCJB],
    ).fetchall()
    [cumbria] = _trials("Crown Court", "2019 Q1", ("Cumbria LCJB",))
    assert reasons == sorted((c.removeprefix("Cracked reason: "), float(v))
                             for c, v in cumbria.items() if c.startswith("Cracked reason: "))
    # the court is in the measure name: no court_type breakdown on the trial counts
    assert con.execute("SELECT count(*) FROM core.observations WHERE measure LIKE 'trials_listed%'"
                       " AND court_type <> ''").fetchone() == (0,)


def test_trial_bad_rows_are_rejected_with_reasons(con, tmp_path: Path) -> None:
    header = ",".join(moj_trials.BASE) + ",Ineffective reason: Prosecution witness absent - police"
    body = [
        "2020,Q1,Crown Court,North West,Cumbria LCJB,10,5,3,2,20,1",
        "2020,Q1,Crown Court,South West,Devon and Cornwall LCJB,10,5,3,2,21,1",
        "2020,Q1,All courts,North West,Lancashire LCJB,10,5,3,2,20,1",
        "2020,Q1,Magistrates' courts,London,East London LCJB,10,5,3,2,20,1",
        "2020,Q1,Magistrates' courts,Nowhere,Atlantis LCJB,10,5,3,2,20,1",
        "2020,Q1,Magistrates' courts,North West,Cumbria LCJB,[c],5,3,2,,1",
    ]
    report = ingest(con, write_csv(tmp_path / "trials.csv", "\n".join([header, *body]) + "\n"),
                    max_reject_share=1.0)  # many bad rows on purpose: see every reason
    assert report.status == "loaded"
    reasons = {(r.row, r.column): r.reason for r in report.rejects}
    assert reasons[(3, "Total")].startswith("Total is not Effective + Cracked")
    assert "per court type" in reasons[(4, "Court type")]
    assert "London incomplete" in reasons[(5, "LCJB area")]
    assert reasons[(6, "LCJB area")].startswith("unknown LCJB area")
    assert len(report.rejects) == 4
    # a suppressed effective count: trials listed withheld, ineffective still known
    got = dict(con.execute(
        "SELECT measure, value FROM core.observations WHERE area_code = 'CJA03' AND outcome = '' "
        "AND measure IN ('trials_listed_mags', 'trials_ineffective_mags')").fetchall())
    assert got == {"trials_listed_mags": None, "trials_ineffective_mags": 3.0}


# --- CJS delivery data dashboard ------------------------------------------------------------


def test_dashboard_maps_counts_and_rejects_the_rest_with_reasons(con) -> None:
    report = ingest(con, DASHBOARD)
    assert report.status == "loaded", report.line()
    assert report.rows_in == 18
    reasons = {r.row: r.reason for r in report.rejects}
    assert set(reasons) == {9, 16, 17}
    assert reasons[9].startswith("a rate or percentage")
    assert reasons[17].startswith("a median cannot be summed")
    # the rolling 12 months to March 2023 (row 15) is the financial year 2022-23
    assert con.execute(
        "SELECT value FROM core.observations WHERE area_code = 'E23000035' AND "
        "period_start = DATE '2022-04-01' AND period_end = DATE '2023-03-31'").fetchall() == [
        (101877.0,)]
    assert "mapped: " in report.message and "recorded_crimes" in report.message
    # independently: charge rate Cumbria 2023 Q1 = 702 / 8870
    source = {(r["metric_name"], r["time_period"], r["offence_type"]): r["value"]
              for r in rows_of(DASHBOARD) if r["geographic_area_name"] == "Cumbria"}
    frame = compute_indicators(con, REG, ["charge_rate"], [CUMBRIA], grain="quarter")
    row = one(frame, period_label="Jan\u2013Mar 2023")
    assert row["numerator"] == int(source[("Number of charge/summons outcomes", "2023 Q1",
                                           "All crime")])
    assert row["denominator"] == int(source[("Number of crime outcomes assigned", "2023 Q1",
                                             "All crime")])
    # monthly figures add up to the quarter
    months = [int(r["value"]) for r in rows_of(DASHBOARD)
              if r["geographic_area_name"] == "Devon and Cornwall"
              and r["date_granularity"] == "Monthly"]
    frame = compute_indicators(con, REG, ["recorded_crime"], ["E23000035"], grain="quarter")
    assert one(frame, period_label="Jan\u2013Mar 2023")["value"] == sum(months) == 24867
    # the offence type is a breakdown, and the [c] marker is a withheld value with its note
    assert con.execute(
        "SELECT measure, value, value_note FROM core.observations WHERE offence_group = "
        "'Adult rape' ORDER BY measure").fetchall() == [
        ("crime_outcomes_charged", None, "publisher marker '[c]'"),
        ("recorded_crimes", 61.0, None),
    ]


def test_dashboard_with_nothing_mappable_is_refused(con, tmp_path: Path) -> None:
    text = (",".join(cjs_dashboard.HEADER) + "\n"
            "All crime,Cumbria,CPS,Conviction rate (%),Quarterly,2023 Q1,84.2\n"
            "All crime,Cumbria,Courts,Median days from charge to completion,Quarterly,2023 Q1,90\n")
    report = ingest(con, write_csv(tmp_path / "dash.csv", text))
    assert report.status == "refused"
    assert "no metric in this file maps to a cjsdash measure" in report.message
    assert len(report.rejects) == 2 and all(r.reason for r in report.rejects)
    assert con.execute("SELECT count(*) FROM core.observations").fetchone() == (0,)


# --- Census 2011 by local authority ---------------------------------------------------------


def test_census2011_rollup_equals_the_derived_force_file_and_the_national_total(con) -> None:
    report = ingest(con, CENSUS2011)
    assert report.status == "loaded", report.line()
    assert (report.rows_in, report.rows_loaded, report.rows_rejected) == (348, 43 * 6, 0)
    got = {(a, e): p for a, e, p in con.execute(
        "SELECT area_code, ethnicity, population FROM core.populations "
        "WHERE source = 'Census 2011 (LA rollup)' AND year = 2011").fetchall()}
    index = AreaIndex.from_reference()
    derived = rows_of(DERIVED2011)
    assert len(derived) == 43
    for row in derived:
        code = index.resolve(row["PFA16NM"])
        assert code is not None, row["PFA16NM"]
        for group, column in census2011_la_ethnicity.GROUPS.items():
            assert got[(code, group)] == int(row[column]), (row["PFA16NM"], group)
    assert sum(p for (_, e), p in got.items() if e == "") == 56_075_912
    # England and Wales, summed from its forces at query time
    pops = con.execute(sql.populations_sql(None), [[EW]]).fetchall()
    assert [(a, y, p) for a, y, _, s, p in pops if s == "Census 2011 (LA rollup)"] == [
        (EW, 2011, 56_075_912)]


def test_census2011_population_is_the_stop_search_rate_denominator(con, tmp_path: Path) -> None:
    ingest(con, CENSUS2011)
    extract = "area,period,measure,value\nCumbria,2024-06,stop_searches,250\n"
    assert ingest(con, write_csv(tmp_path / "ss.csv", extract)).status == "loaded"
    options = Options(population_source="Census 2011 (LA rollup)")
    frame = compute_indicators(con, REG, ["stop_search_rate"], [CUMBRIA], grain="month",
                               options=options)
    row = one(frame, period_label="Jun 2024")
    cumbria = [r for r in rows_of(CENSUS2011) if r["geography code"] in
               {"E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031"}]
    population = sum(int(r[census2011_la_ethnicity.GROUPS[""]]) for r in cumbria)
    assert row["denominator"] == population == 499_858
    assert row["value"] == pytest.approx(250 / population * 1000)


def test_census2011_old_codes_are_mapped_and_incomplete_forces_rejected(con,
                                                                         tmp_path: Path) -> None:
    text = CENSUS2011.read_text(encoding="utf-8")
    lines = text.splitlines()
    # Northumberland under its 2011-era code; Cumbria's Eden dropped; a made-up district added
    lines = [line.replace('"E06000057"', '"E06000048"') for line in lines
             if '"E07000030"' not in line]
    lines.append(lines[1].replace('"E06000005"', '"E07000999"'))
    report = ingest(con, write_csv(tmp_path / "la.csv", "\n".join(lines) + "\n"))
    assert report.status == "loaded"
    reasons = [r.reason for r in report.rejects]
    assert any(r.startswith("unknown geography code") for r in reasons)
    assert sum("Cumbria cannot be built from its districts: missing E07000030 Eden" in r
               for r in reasons) == 5  # each of Cumbria's five remaining districts
    assert "E06000048" in report.message  # read through lad_code_changes.csv
    areas = {a for (a,) in con.execute("SELECT DISTINCT area_code FROM core.populations")
             .fetchall()}
    assert CUMBRIA not in areas and "E23000007" in areas and len(areas) == 42


# --- Census 2021 from Nomis -----------------------------------------------------------------


def test_nomis_mapping_is_the_reference_mapping() -> None:
    reference = rows_of(REPO / "tests" / "data" / "reference"
                        / "blackthrive-searchlight-nomis-ethnicity.csv")
    assert {r["source_label"]: r["ethnicity_5"] for r in reference} == census2021_nomis.CATEGORIES
    codes = {r["C2021_ETH_20_NAME"]: r["C2021_ETH_20_CODE"] for r in rows_of(NOMIS_MSOA)}
    assert codes == {r["source_label"]: r["nomis_code"] for r in reference}


def test_census2021_lad_rollup(con) -> None:
    report = ingest(con, NOMIS_LAD)
    assert report.status == "loaded", report.line()
    assert report.rows_loaded == 2 * 6
    [reject] = report.rejects
    assert reject.reason.startswith("Thames Valley cannot be built from its districts: missing")
    expected: dict[tuple[str, str], int] = defaultdict(int)
    forces = {"E07000026": CUMBRIA, "E07000027": CUMBRIA, "E07000028": CUMBRIA,
              "E07000029": CUMBRIA, "E07000030": CUMBRIA, "E07000031": CUMBRIA,
              "E06000058": DORSET, "E06000059": DORSET}
    for r in rows_of(NOMIS_LAD):
        force = forces.get(r["GEOGRAPHY_CODE"])
        group = census2021_nomis.CATEGORIES.get(r["C2021_ETH_20_NAME"])
        if force and group:
            expected[(force, group)] += int(r["OBS_VALUE"])
            expected[(force, "")] += int(r["OBS_VALUE"])
    got = {(a, e): p for a, e, p in con.execute(
        "SELECT area_code, ethnicity, population FROM core.populations "
        "WHERE source = 'Census 2021' AND year = 2021").fetchall()}
    assert got == expected
    white = sum(int(r["OBS_VALUE"]) for r in rows_of(NOMIS_LAD)
                if r["GEOGRAPHY_CODE"] in forces and r["C2021_ETH_20_NAME"].startswith("White:"))
    assert got[(CUMBRIA, "White")] + got[(DORSET, "White")] == white


def test_census2021_msoa_file_is_refused_not_guessed(con) -> None:
    report = ingest(con, NOMIS_MSOA)
    assert report.status == "refused"
    assert "unknown geography code" in report.message and "E02002330" in report.message


def test_census2021_aggregate_that_disagrees_rejects_its_district(con, tmp_path: Path) -> None:
    text = NOMIS_LAD.read_text(encoding="utf-8")
    first = text.splitlines()[1]  # Allerdale's "Total: All usual residents"
    report = ingest(con, write_csv(tmp_path / "n.csv", text.replace(first, first[:-1] + "7", 1)))
    assert report.status == "loaded"
    reasons = [r.reason for r in report.rejects]
    assert any(r.startswith("the published total differs") for r in reasons)
    assert any("Cumbria cannot be built from its districts: missing E07000026" in r
               for r in reasons)
    assert {a for (a,) in con.execute("SELECT DISTINCT area_code FROM core.populations")
            .fetchall()} == {DORSET}


# --- bad files, every source ----------------------------------------------------------------

BAD_INPUT_SAMPLES = [TIMELINESS, TRIALS, DASHBOARD, CENSUS2011, NOMIS_LAD]


def _wrong_header(data: bytes) -> bytes:
    head, _, rest = data.partition(b"\n")
    fields = head.split(b",")
    return b",".join(fields[:2] + [b"Unexpected"] + fields[3:]) + b"\n" + rest


@pytest.mark.parametrize("path", BAD_INPUT_SAMPLES, ids=lambda p: p.name)
def test_wrong_header_is_refused(con, tmp_path: Path, path: Path) -> None:
    bad = tmp_path / path.name
    bad.write_bytes(_wrong_header(path.read_bytes()))
    assert SAMPLES[path].detect(bad, bad.read_bytes()) is False
    report = ingest(con, bad, loader_name=SAMPLES[path].SPEC.name)
    assert report.status == "refused"
    assert "Unexpected" in report.message or "header" in report.message


@pytest.mark.parametrize("path", BAD_INPUT_SAMPLES, ids=lambda p: p.name)
def test_wrong_encoding_is_refused(con, tmp_path: Path, path: Path) -> None:
    bad = tmp_path / path.name
    bad.write_bytes(path.read_text(encoding="utf-8-sig").encode("utf-16-le"))  # no BOM
    report = ingest(con, bad, loader_name=SAMPLES[path].SPEC.name)
    assert report.status == "refused"
    assert "not text" in report.message


@pytest.mark.parametrize("path", BAD_INPUT_SAMPLES, ids=lambda p: p.name)
def test_truncated_file_is_refused(con, tmp_path: Path, path: Path) -> None:
    data = path.read_bytes().rstrip(b"\r\n")
    last = data.rsplit(b"\n", 1)[1]
    bad = tmp_path / path.name
    bad.write_bytes(data[: len(data) - len(last) // 2])  # the download stopped mid-line
    report = ingest(con, bad, loader_name=SAMPLES[path].SPEC.name)
    assert report.status == "refused"
    assert "looks truncated" in report.message
    assert con.execute("SELECT count(*) FROM core.observations").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM core.populations").fetchone() == (0,)


@pytest.mark.parametrize("path", [TIMELINESS, TRIALS, DASHBOARD, CENSUS2011, NOMIS_LAD],
                         ids=lambda p: p.name)
def test_loading_a_sample_twice_changes_nothing(con, path: Path) -> None:
    first = ingest(con, path)
    assert first.status == "loaded"
    assert ingest(con, path).status == "unchanged"
