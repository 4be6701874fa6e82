"""Home Office open data tables → warehouse: crime outcomes, stop and search, arrests.

Every figure checked against compute_indicators is recomputed here independently, with the
csv module or DuckDB SQL over the sample file itself.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from cjsdash.core.schema import BREAKDOWNS
from ingest import board_extract, catalogue, home_office_outcomes, home_office_stop_search
from ingest.pipeline import ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import REPO

REG = default_registry()
DATA = REPO / "tests" / "data" / "home_office"
OUTCOMES_SAMPLE = DATA / "crime_outcomes" / "detection-rates-sample_DERIVED.csv.gz"
OUTCOMES_PUBLISHED = DATA / "crime_outcomes" / "prc-outcomes-open-data-published-names_FIXTURE.csv"
TOTALS = DATA / "stop_search_totals" / "blackthrive-searchlight-ppap-totals.csv"
SS_CURRENT = DATA / "stop_search_open_data" / "stop-search-open-data-tables-current_FIXTURE.csv"
SS_PRE2021 = DATA / "stop_search_open_data" / "stop-search-open-data-tables-pre2021_FIXTURE.csv"
ARRESTS_CURRENT = DATA / "arrests_open_data" / "arrests-open-data-tables-current_FIXTURE.csv"
ARRESTS_PRE2021 = DATA / "arrests_open_data" / "arrests-open-data-tables-pre2021_FIXTURE.csv"
# The whole published file, already in the repository for the demo warehouse (data/real/NOTICE.md).
FULL_OUTCOMES = REPO / "data" / "real" / "home_office" / "detection-rates-data_DERIVED.csv.gz"

LOADERS = {
    home_office_outcomes.SPEC.name: home_office_outcomes.LOADER,
    **{loader.spec.name: loader for loader in home_office_stop_search.LOADERS},
}
SAMPLES = {
    OUTCOMES_SAMPLE: "home_office_crime_outcomes",
    OUTCOMES_PUBLISHED: "home_office_crime_outcomes",
    TOTALS: "home_office_stop_search_totals",
    SS_CURRENT: "home_office_stop_search",
    SS_PRE2021: "home_office_stop_search",
    ARRESTS_CURRENT: "home_office_arrests",
    ARRESTS_PRE2021: "home_office_arrests",
    # built from the published schemas (see test_home_office_layouts.py)
    DATA / "crime_outcomes" / "prc-outcomes-subcodes_FIXTURE.csv": "home_office_crime_outcomes",
    DATA / "stop_search_open_data" / "stop-search-open-data-tables-mar24-mar25_FIXTURE.ods":
        "home_office_stop_search",
    DATA / "stop_search_open_data" / "stop-search-open-data-tables-mar07-mar20_FIXTURE.csv":
        "home_office_stop_search",
    DATA / "stop_search_open_data" / "stop-search-open-data-tables-mar07-mar20_FIXTURE.ods":
        "home_office_stop_search",
    DATA / "arrests_open_data" / "arrests-open-data-tables-mar25_FIXTURE.ods":
        "home_office_arrests",
}
CUMBRIA, DYFED, CITY, GWENT, EW = "E23000002", "W15000004", "E23000034", "W15000002", "K04000001"


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """These loaders are not in the catalogue yet: register them for detection."""
    for name, loader in LOADERS.items():
        monkeypatch.setitem(catalogue.LOADERS, name, loader)


def ingest(con: duckdb.DuckDBPyConnection, path: Path, **kwargs: object):
    [report] = ingest_paths(con, [path], **kwargs)  # type: ignore[arg-type]
    assert report.status == "loaded", report.line()
    return report


def csv_rows(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def observation(con, measure: str, area: str, start: str, source: str, **breakdown: str):
    """The one current figure for a measure, area, period start and breakdown ('' elsewhere)."""
    rows = con.execute(
        "SELECT value FROM core.observations WHERE is_current AND measure = ? AND area_code = ? "
        "AND period_start = CAST(? AS DATE) AND source = ? AND ethnicity = ? AND sex = ? "
        "AND age_group = ? AND offence_group = ? AND court_type = ? AND outcome = ?",
        [measure, area, start, source, *(breakdown.get(b, "") for b in BREAKDOWNS)],
    ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def add_populations(con, year: int, groups: tuple[str, ...] = ("",)) -> None:
    """1,000 residents per group in every England and Wales force (rates need a population)."""
    forces = [c for (c,) in con.execute(
        "SELECT code FROM core.areas WHERE kind = 'force' AND in_england_wales").fetchall()]
    con.executemany(
        "INSERT INTO core.populations VALUES (?, ?, ?, '', '', 1000, 'test', 'test', 0, TRUE)",
        [[f, year, g] for f in forces for g in groups],
    )


# --- detection ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", list(SAMPLES), ids=lambda p: p.name)
def test_each_sample_is_recognised_by_its_own_loader_only(path: Path) -> None:
    data = path.read_bytes()
    found = [name for name, loader in LOADERS.items() if loader.detect(path, data)]
    assert found == [SAMPLES[path]]
    assert not board_extract.detect(path, data)


@pytest.mark.parametrize("path", list(SAMPLES), ids=lambda p: p.name)
def test_every_sample_loads_through_the_pipeline(con, path: Path) -> None:
    report = ingest(con, path)
    assert report.loader == SAMPLES[path]
    assert report.rows_loaded > 0
    sources = con.execute("SELECT DISTINCT source FROM core.observations").fetchall()
    assert sources == [(SAMPLES[path],)]
    spec = con.execute("SELECT kind, priority, licence FROM meta.sources WHERE source = ?",
                       [SAMPLES[path]]).fetchone()
    # The compiled totals yield to the open data table when both carry a figure.
    priority = 31 if SAMPLES[path] == "home_office_stop_search_totals" else 30
    assert spec == ("published", priority, "Open Government Licence v3.0")
    assert ingest_paths(con, [path])[0].status == "unchanged"


SUBSETS = {"arrests-open-data-tables-mar25_FIXTURE.ods",
           "prc-outcomes-open-data-published-names_FIXTURE.csv",
           "prc-outcomes-subcodes_FIXTURE.csv",
           "stop-search-open-data-tables-mar24-mar25_FIXTURE.ods"}
"""Fixtures built from the published schemas with a few of the samples' rows: loaded after
the samples, each would cut figures the samples supplied (decision 43)."""


def test_the_whole_sample_folder_loads_in_one_call(con) -> None:
    reports = ingest_paths(con, [DATA])
    assert {r.file_name for r in reports if r.status == "skipped"} == {"NOTICE.md"}
    refused = {r.file_name: r.message for r in reports if r.status == "refused"}
    assert refused.keys() == SUBSETS
    assert all("far fewer" in why and "--accept-shrink" in why for why in refused.values())
    # accepted as a drop the analyst knows of, they load: every file has its loader
    reports += ingest_paths(con, [DATA], shrink_floor=0.0)
    loaded = sorted((r.file_name, r.loader) for r in reports if r.status == "loaded")
    assert loaded == sorted((p.name, name) for p, name in SAMPLES.items())


# --- crime outcomes -----------------------------------------------------------------------------

def outcome_sums(rows: list[dict[str, str]], force: str, quarters: set[str],
                 group: str | None = None) -> dict[str, int]:
    """Outcomes recorded in the quarter(s) by the registry's outcome type sets (plain Python)."""
    sets = {"assigned": set(range(1, 23)), "charged": {1}, "withdrawal": {14, 16},
            "no_suspect": {18}, "oocr": {2, 3, 6, 7, 8, 22}}
    out = dict.fromkeys(sets, 0)
    for r in rows:
        if r["force_name"] != force or r["financial_quarter"] not in quarters:
            continue
        if group is not None and r["offence_group"] != group:
            continue
        for name, types in sets.items():
            if int(r["outcome_type"]) in types:
                out[name] += int(r["force_outcomes_recorded_in_quarter"])
    return out


def test_outcomes_sample_rates_match_sums_over_the_file(con) -> None:
    report = ingest(con, OUTCOMES_SAMPLE)
    assert report.rows_in == 3025
    assert report.rows_loaded == 4 * 4 * 10 * 5  # forces × quarters × (total + 9 groups) × measures
    [reject] = report.rejects
    assert (reject.row, reject.reason) == (3026, "an empty row (every field is blank or NA)")
    logged = con.execute("SELECT row_number, reason FROM meta.rejects").fetchall()
    assert logged == [(3026, "an empty row (every field is blank or NA)")]
    assert "3 rows have a negative count" in report.message

    rows = [r for r in csv_rows(OUTCOMES_SAMPLE) if r["force_name"] != "NA"]
    year = outcome_sums(rows, "Cumbria", {"1", "2", "3", "4"})
    ids = ["charge_rate", "victim_withdrawal_rate", "no_suspect_rate", "oocr_rate"]
    fy = compute_indicators(con, REG, ids, [CUMBRIA], grain="fy")
    got = {r["indicator"]: r for r in fy.iter_rows(named=True)}
    for ind, key in zip(ids, ["charged", "withdrawal", "no_suspect", "oocr"], strict=True):
        assert got[ind]["period_label"] == "2017-18"
        assert got[ind]["numerator"] == year[key]
        assert got[ind]["denominator"] == year["assigned"]
        assert got[ind]["value"] == pytest.approx(100 * year[key] / year["assigned"])

    q3 = outcome_sums(rows, "Dyfed-Powys", {"3"})
    quarters = compute_indicators(con, REG, ["charge_rate"], [DYFED], grain="fquarter")
    row = quarters.filter(quarters["period_label"] == "2017-18 Q3").row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (q3["charged"], q3["assigned"])


def test_outcomes_by_offence_group_add_up_and_btp_is_outside_england_and_wales(con) -> None:
    ingest(con, OUTCOMES_SAMPLE)
    rows = [r for r in csv_rows(OUTCOMES_SAMPLE) if r["force_name"] != "NA"]
    theft = outcome_sums(rows, "London, City of", {"2"}, group="Theft offences")
    assert observation(con, "crime_outcomes_assigned", CITY, "2017-07-01",
                       "home_office_crime_outcomes",
                       offence_group="Theft offences") == theft["assigned"]
    mismatched = con.execute("""
        SELECT t.measure, t.area_code, t.period_start, t.value, sum(g.value)
        FROM core.observations t JOIN core.observations g USING (measure, area_code, period_start)
        WHERE t.offence_group = '' AND g.offence_group <> ''
        GROUP BY ALL HAVING t.value <> sum(g.value)""").fetchall()
    assert mismatched == []
    areas = {a for (a,) in con.execute("SELECT DISTINCT area_code FROM core.observations")
             .fetchall()}
    assert areas == {CITY, CUMBRIA, DYFED, "BTP"}
    btp = outcome_sums(rows, "British Transport Police", {"1"})
    assert observation(con, "crime_outcomes_charged", "BTP", "2017-04-01",
                       "home_office_crime_outcomes") == btp["charged"]


def test_outcomes_published_column_names_give_the_same_figures(con) -> None:
    report = ingest(con, OUTCOMES_PUBLISHED)
    assert "published layout" in report.message and not report.rejects
    rows = csv_rows(OUTCOMES_PUBLISHED)
    charged = sum(int(r["Force outcomes recorded in quarter"]) for r in rows
                  if r["Force Name"] == "Cumbria" and r["Financial Quarter"] == "4"
                  and r["Outcome Type"] == "1")
    assert observation(con, "crime_outcomes_charged", CUMBRIA, "2018-01-01",
                       "home_office_crime_outcomes") == charged
    # the same slice read from the snake_case copy
    snake = [r for r in csv_rows(OUTCOMES_SAMPLE)
             if r["force_name"] == "Cumbria" and r["offence_code"] in ("49", "105A")]
    assert outcome_sums(snake, "Cumbria", {"4"})["charged"] == charged


PUBLISHED_HEADER = ",".join(home_office_outcomes.PUBLISHED_COLUMNS)


def published(*rows: str) -> str:
    return PUBLISHED_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n"


def good_row(force: str = "Cumbria", type_: str = "1", count: str = "12", quarter: str = "1",
             description: str = "Charged/Summonsed") -> str:
    return (f"2017/18,{quarter},{force},Other theft,Theft offences,Other theft offences,49,"
            f"{description},{description},{type_},{count},{count}")


def test_outcomes_bad_rows_are_rejects_and_markers_are_withheld(con, tmp_path: Path) -> None:
    text = published(
        good_row(),
        good_row(force="Gotham"),                     # unknown force
        good_row(type_="23"),                         # not an outcome type
        good_row(quarter="5"),                        # not a quarter
        good_row(type_="18", count="lots"),           # not a number
        good_row(type_="3", count="[x]", description="Caution – adults"),  # withheld
        good_row(type_="0", count="", description="Not yet assigned an outcome"),
    )
    path = tmp_path / "outcomes.csv"
    path.write_bytes(text.encode("utf-8"))
    report = ingest(con, path, max_reject_share=1.0)
    reasons = {(r.row, r.column, r.value): r.reason for r in report.rejects}
    assert reasons[(3, "force_name", "Gotham")].startswith("unknown area")
    assert reasons[(4, "outcome_type", "23")] == "not an outcome type 0-22"
    assert (5, "financial_quarter", "2017/18 Q5") in reasons
    assert reasons[(6, COUNT, "lots")] == "not a number"
    assert len(report.rejects) == 4
    assert observation(con, "crime_outcomes_charged", CUMBRIA, "2017-04-01",
                       "home_office_crime_outcomes") == 12
    withheld = con.execute(
        "SELECT value, value_note FROM core.observations WHERE measure IN "
        "('crime_outcomes_oocr', 'crime_outcomes_assigned') AND offence_group = ''").fetchall()
    assert withheld == [(None, "publisher marker '[x]'")] * 2


COUNT = "force_outcomes_recorded_in_quarter"


def test_outcomes_whole_file_problems_are_refused(con, tmp_path: Path) -> None:
    good = published(good_row(), good_row(type_="3", description="Caution – adults"))
    cases = {
        "header.csv": good.replace("Force Name", "Force").encode("utf-8"),
        "cp1252.csv": good.encode("cp1252"),
        "truncated.csv": good.encode("utf-8")[:-30],
        "truncated.csv.gz": gzip.compress(good.encode("utf-8"))[:-12],
    }
    expected = {
        "header.csv": "not a Home Office crime outcomes open data table",
        "cp1252.csv": "not UTF-8",
        "truncated.csv": "looks truncated",
        "truncated.csv.gz": "gzip file is truncated",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        [report] = ingest_paths(con, [path], loader_name="home_office_crime_outcomes")
        assert report.status == "refused", name
        assert expected[name] in report.message, (name, report.message)
    assert con.execute("SELECT count(*) FROM core.observations").fetchone() == (0,)


@pytest.mark.slow
def test_full_outcomes_file_england_and_wales_charge_rate_matches_sql(con) -> None:
    report = ingest(con, FULL_OUTCOMES)
    assert report.rows_in == 450_913
    assert [r.row for r in report.rejects] == [450_914]  # the all-NA last line
    assert report.rows_loaded == 44 * 4 * 10 * 5
    charged, assigned = duckdb.connect().execute("""
        WITH t AS (
            SELECT TRY_CAST(outcome_type AS INTEGER) AS type,
                   TRY_CAST(force_outcomes_recorded_in_quarter AS BIGINT) AS n
            FROM read_csv(?, all_varchar = true, header = true)
            WHERE force_name <> 'British Transport Police' AND financial_year = '2017/18')
        SELECT sum(n) FILTER (WHERE type = 1), sum(n) FILTER (WHERE type BETWEEN 1 AND 22)
        FROM t""", [str(FULL_OUTCOMES)]).fetchone()
    frame = compute_indicators(con, REG, ["charge_rate"], [EW], grain="fy")
    [row] = frame.iter_rows(named=True)
    assert row["period_label"] == "2017-18"
    assert (row["numerator"], row["denominator"]) == (charged, assigned)
    assert row["value"] == pytest.approx(100 * charged / assigned)
    assert 10.0 < row["value"] < 10.5


# --- stop and search published totals -----------------------------------------------------------

def test_published_totals_add_up_and_england_and_wales_leaves_out_btp(con) -> None:
    report = ingest(con, TOTALS)
    assert (report.rows_in, report.rows_loaded, report.rows_rejected) == (44, 44, 0)
    rows = csv_rows(TOTALS)
    assert sum(int(r["published_total"]) for r in rows) == 528_582
    btp = sum(int(r["published_total"]) for r in rows if r["pfa_code"] == "")
    stored = con.execute("SELECT sum(value), count(*) FROM core.observations WHERE "
                         "measure = 'stop_searches' AND period_start = DATE '2024-04-01' "
                         "AND period_end = DATE '2025-03-31'").fetchone()
    assert stored == (528_582, 44)
    add_populations(con, 2021)
    frame = compute_indicators(con, REG, ["stop_search_rate"], [EW], grain="fy")
    [row] = frame.iter_rows(named=True)
    assert row["period_label"] == "2024-25"
    assert row["numerator"] == 528_582 - btp
    assert row["source"] == "home_office_stop_search_totals"


TOTALS_HEADER = "force_id,pfa_code,year_end,published_total,scope,retrieved,source\n"


def test_published_totals_bad_rows_and_files(con, tmp_path: Path) -> None:
    text = TOTALS_HEADER + (
        "cumbria,E23000002,2025,9996,s,2026-09-16,u\n"
        "kent,E23000002,2025,15468,s,2026-09-16,u\n"          # code and slug disagree
        "gotham,,2025,10,s,2026-09-16,u\n"                    # unknown force
        "durham,E23000008,twenty,2699,s,2026-09-16,u\n"       # not a year
        "lancashire,E23000003,2025,..,s,2026-09-16,u\n"       # withheld
        "cumbria,E23000002,2025,9000,s,2026-09-16,u\n"        # duplicate
    )
    path = tmp_path / "totals.csv"
    path.write_text(text, encoding="utf-8")
    report = ingest(con, path, max_reject_share=1.0)
    reasons = {(r.row, r.column): r.reason for r in report.rejects}
    assert reasons[(3, "pfa_code")].startswith("the code names a different area")
    assert reasons[(4, "force_id")].startswith("unknown area")
    assert reasons[(5, "year_end")].startswith("not a year")
    assert reasons[(7, "force_id")] == "duplicate: the same force and year as line 2"
    assert len(report.rejects) == 4
    assert con.execute("SELECT area_code, value, value_note FROM core.observations "
                       "ORDER BY area_code").fetchall() == [
        ("E23000002", 9996.0, None), ("E23000003", None, "publisher marker '..'")]
    for name, data, why in [
        ("header.csv", text.replace("published_total", "total").encode(), "expected columns"),
        ("cp1252.csv", (TOTALS_HEADER + "cumbria,E23000002,2025,1,s–é,r,u\n").encode("cp1252"),
         "not UTF-8"),
        ("cut.csv", text.encode()[:-40], "looks truncated"),
    ]:
        (tmp_path / name).write_bytes(data)
        [bad] = ingest_paths(con, [tmp_path / name],
                             loader_name="home_office_stop_search_totals")
        assert bad.status == "refused" and why in bad.message, (name, bad.message)


# --- stop and search and arrests open data tables ------------------------------------------------

ETHNICITY = {  # the conformed group of each label used in the fixtures
    "White": "White", "Black or Black British": "Black", "Black (or Black British)": "Black",
    "Asian or Asian British": "Asian", "Asian (or Asian British)": "Asian", "Mixed": "Mixed",
    "Mixed or multiple ethnic groups": "Mixed", "Other ethnic group": "Other",
    "Other Ethnic Group": "Other", "Chinese or other": "Other", "Chinese or Other": "Other",
    "Not stated": "Not stated", "Not Stated": "Not stated",
}


def table_sums(path: Path, force: str, year: str, eth_col: str, count_col: str,
               year_col: str = "Financial Year") -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in csv_rows(path):
        if r["Force Name"] == force and r[year_col] == year:
            out[""] += int(r[count_col])
            out[ETHNICITY[r[eth_col]]] += int(r[count_col])
            out["sex:" + {"Unknown": "Not stated"}.get(r["Gender"], r["Gender"])] += int(
                r[count_col])
    return out


@pytest.mark.parametrize(("path", "year_col", "eth_col", "count_col", "fy", "start"), [
    (SS_CURRENT, "Financial year", "Self-defined ethnic group", "Searches", "2023/24",
     "2023-04-01"),
    (SS_PRE2021, "Financial Year", "Ethnicity (self-defined)", "Number of searches", "2019/20",
     "2019-04-01"),
], ids=["current", "pre2021"])
def test_stop_search_table_figures_match_the_file(con, path, year_col, eth_col, count_col,
                                                  fy, start) -> None:
    report = ingest(con, path)
    assert report.rows_rejected == 0
    sums = table_sums(path, "Cumbria", fy, eth_col, count_col, year_col)
    recorded = sums[""] - sums["Not stated"]
    frame = compute_indicators(con, REG, ["ethnicity_recorded"], [CUMBRIA], grain="fy")
    row = frame.filter(frame["period_label"] == f"{fy[:4]}-{fy[5:]}").row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (recorded, sums[""])
    add_populations(con, 2021, ("", "White", "Black", "Asian", "Mixed", "Other"))
    by = compute_indicators(con, REG, ["stop_search_rate"], [CUMBRIA], grain="fy",
                            by="ethnicity")
    got = {r["breakdown"]: r["numerator"] for r in by.iter_rows(named=True)
           if r["period_start"].isoformat() == start}
    for group in ("White", "Black", "Asian", "Mixed", "Other"):
        assert got[group] == sums[group], group
    for sex in ("Male", "Female", "Not stated"):
        assert observation(con, "stop_searches", CUMBRIA, start, "home_office_stop_search",
                           sex=sex) == sums["sex:" + sex]


def test_stop_search_btp_and_not_stated_groups(con) -> None:
    ingest(con, SS_CURRENT)
    btp = table_sums(SS_CURRENT, "British Transport Police", "2022/23",
                     "Self-defined ethnic group", "Searches", "Financial year")
    assert observation(con, "stop_searches", "BTP", "2022-04-01",
                       "home_office_stop_search") == btp[""]
    assert observation(con, "stop_searches", "BTP", "2022-04-01", "home_office_stop_search",
                       ethnicity="Not stated") == btp["Not stated"]
    groups = {g for (g,) in con.execute(
        "SELECT DISTINCT ethnicity FROM core.observations WHERE ethnicity <> ''").fetchall()}
    assert groups == {"White", "Mixed", "Asian", "Black", "Other", "Not stated"}
    ages = {g for (g,) in con.execute(
        "SELECT DISTINCT age_group FROM core.observations WHERE age_group <> ''").fetchall()}
    assert ages == {"10-17", "18-24", "25-34", "Over 34", "Not stated"}


@pytest.mark.parametrize(("path", "force", "code", "fy", "start"), [
    (ARRESTS_CURRENT, "Gwent", GWENT, "2022/23", "2022-04-01"),
    (ARRESTS_PRE2021, "Dyfed-Powys", DYFED, "2018/19", "2018-04-01"),
], ids=["current", "pre2021"])
def test_arrest_figures_match_the_file(con, path, force, code, fy, start) -> None:
    report = ingest(con, path)
    assert report.rows_rejected == 0
    eth_col = next(c for c in csv_rows(path)[0] if "self-defined" in c)
    sums = table_sums(path, force, fy, eth_col, "Arrests")
    add_populations(con, 2021, ("", "White", "Black", "Asian", "Mixed", "Other"))
    total = compute_indicators(con, REG, ["arrest_rate"], [code], grain="fy")
    row = total.filter(total["period_start"].cast(str) == start).row(0, named=True)
    assert row["numerator"] == sums[""]
    assert row["value"] == pytest.approx(1000 * sums[""] / 1000)
    by = compute_indicators(con, REG, ["arrest_rate"], [code], grain="fy", by="ethnicity")
    got = {r["breakdown"]: r["numerator"] for r in by.iter_rows(named=True)
           if r["period_start"].isoformat() == start}
    assert got["Black"] == sums["Black"] and got["White"] == sums["White"]
    assert observation(con, "arrests", code, start, "home_office_arrests",
                       ethnicity="Not stated") == sums["Not stated"]


SS_HEADER = SS_CURRENT.read_text(encoding="utf-8").splitlines()[0]


def ss_row(force: str = "Cumbria", code: str = "E23000002", eth: str = "White",
           sex: str = "Male", count: str = "10") -> str:
    return (f"2023/24,{code},{force},North West,Section 1 (PACE),Drugs,{eth},{eth} - detail,"
            f"White,{sex},18 - 24,Arrest,Yes,{count}")


def test_stop_search_table_bad_rows_and_files(con, tmp_path: Path) -> None:
    text = "\r\n".join([
        SS_HEADER, ss_row(), ss_row(eth="Martian"), ss_row(sex="Robot"),
        ss_row(force="Kent"),                  # geocode says Cumbria
        ss_row(force="Gotham", code=""),       # unknown force
        ss_row(eth="Black or Black British", count="[c]"),
    ]) + "\r\n"
    path = tmp_path / "ss.csv"
    path.write_text(text, encoding="utf-8")
    report = ingest(con, path, max_reject_share=1.0)
    reasons = {(r.row, r.column, r.value): r.reason for r in report.rejects}
    assert reasons[(3, "self_defined_ethnic_group", "Martian")].startswith("not a group")
    assert reasons[(4, "gender", "Robot")].startswith("not a group")
    assert reasons[(5, "geocode", "E23000002")].startswith("the code names a different area")
    assert reasons[(6, "force_name", "Gotham")].startswith("unknown area")
    assert len(report.rejects) == 4
    src = "home_office_stop_search"
    assert observation(con, "stop_searches", CUMBRIA, "2023-04-01", src, ethnicity="White") == 10
    withheld = con.execute(
        "SELECT measure, ethnicity, sex, age_group, value_note FROM core.observations "
        "WHERE value IS NULL ORDER BY ALL").fetchall()
    note = "publisher marker '[c]'"
    assert withheld == [  # the [c] row is in every total it belongs to
        ("stop_searches", "", "", "", note), ("stop_searches", "", "", "18-24", note),
        ("stop_searches", "", "Male", "", note), ("stop_searches", "Black", "", "", note),
        ("stop_searches_ethnicity_recorded", "", "", "", note)]
    for name, data, why in [
        ("header.csv", text.replace("Searches", "Count").encode(), "expected columns"),
        ("cp1252.csv", text.replace("Drugs", "Drugs – misuse").encode("cp1252"), "not UTF-8"),
        ("cut.csv", text.encode()[:-25], "looks truncated"),
    ]:
        (tmp_path / name).write_bytes(data)
        [bad] = ingest_paths(con, [tmp_path / name], loader_name="home_office_stop_search")
        assert bad.status == "refused" and why in bad.message, (name, bad.message)


def test_arrests_table_bad_file_is_refused(con, tmp_path: Path) -> None:
    text = ARRESTS_CURRENT.read_text(encoding="utf-8")
    for name, data, why in [
        ("header.csv", text.replace("Arrests", "Count", 1).encode(), "expected columns"),
        ("cp1252.csv", text.replace("Drug offences", "Drug offences – supply").encode("cp1252"),
         "not UTF-8"),
        ("cut.csv", text.encode()[:-10], "looks truncated"),
    ]:
        (tmp_path / name).write_bytes(data)
        [bad] = ingest_paths(con, [tmp_path / name], loader_name="home_office_arrests")
        assert bad.status == "refused" and why in bad.message, (name, bad.message)


def test_a_line_with_an_extra_field_is_one_rejected_row_not_a_refused_file(
        con, tmp_path: Path) -> None:
    """Issue 13, item 8, for the Home Office tables: the rest of the file loads."""
    source = (REPO / "tests/data/home_office/arrests_open_data"
              / "arrests-open-data-tables-pre2021_FIXTURE.csv")
    lines = source.read_bytes().splitlines()
    lines[30] = lines[30] + b",7"  # line 31 of the file
    path = tmp_path / "arrests-open-data-tables-ppp-2e.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    report = ingest(con, path)
    assert report.status == "loaded", report.line()
    assert [(r.row, r.reason.split(":")[0]) for r in report.rejects] == [
        (31, "the line has 9 fields, more than the header's 8")]
    assert report.rows_in == len([ln for ln in lines[1:] if ln.strip()])  # read, one rejected
