"""MoJ layouts as published now: the long trial effectiveness CSV, the Crown Court timeliness
tool (LJAs, annual/quarterly switch) and the CJS dashboard's rolling annual figures.

Only schemas exist for these (tests/data/moj/NOTICE.md), so the files are built from them;
every figure checked is recomputed here with DuckDB SQL on the raw file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest import cjs_dashboard, moj_timeliness_tool, moj_trials_long
from ingest.pipeline import detect_loader, ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import REPO, write_csv

REG = default_registry()
MOJ = REPO / "tests" / "data" / "moj"
TRIALS_NATIONAL = MOJ / "trial_2020Q4-sample.csv"
TRIALS_LCJB = MOJ / "trial-lcjb-quarterly-sample.csv"
TOOL = MOJ / "timeliness-tool-crown-court-sample.csv"
ROLLING = MOJ / "cjs-delivery-dashboard-rolling-annual-sample.csv"
LONDON, CUMBRIA, KENT, DYFED, EW = "CJA01", "CJA03", "CJA46", "CJA63", "K04000001"


def ingest(con: duckdb.DuckDBPyConnection, path: Path):
    [report] = ingest_paths(con, [path])
    return report


def raw(path: Path) -> duckdb.DuckDBPyConnection:
    """The raw file as a DuckDB table ``f`` of strings (the independent reading)."""
    db = duckdb.connect()
    db.execute("CREATE TABLE f AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                [str(path)])
    return db


@pytest.mark.parametrize(("path", "module"), [
    (TRIALS_NATIONAL, moj_trials_long), (TRIALS_LCJB, moj_trials_long),
    (TOOL, moj_timeliness_tool), (ROLLING, cjs_dashboard)], ids=lambda p: getattr(p, "name", ""))
def test_detected_by_its_own_loader(path: Path, module) -> None:
    assert detect_loader(path, path.read_bytes()) is module.LOADER


# --- trial effectiveness, long layout -----------------------------------------------------------


def test_long_trials_rates_match_sql_on_the_raw_file(con) -> None:
    report = ingest(con, TRIALS_LCJB)
    assert report.status == "loaded", report.line()
    assert report.rows_in == 168 and report.rows_rejected == 0
    db = raw(TRIALS_LCJB)
    expected = dict(db.execute("""
        SELECT lcjb_area || ' ' || quarter,
               sum(coalesce(try_cast(value AS INT), 0)) FILTER (WHERE trial_effectiveness LIKE '3%')
               / sum(coalesce(try_cast(value AS INT), 0)) FILTER (WHERE trial_effectiveness NOT LIKE '4%')
        FROM f GROUP BY ALL""").fetchall())
    frame = compute_indicators(con, REG, ["ineffective_trial_rate_crown"], [CUMBRIA, KENT, DYFED],
                               grain="quarter")
    names = {CUMBRIA: "Cumbria", KENT: "Kent", DYFED: "Dyfed Powys"}
    got = {f"{names[r['area_code']]} {r['period_start'].month // 3 + 1}": r["value"]
           for r in frame.iter_rows(named=True)}
    assert got == pytest.approx({k: v * 100 for k, v in expected.items()})


def test_long_trials_reasons_witness_absent_and_offence_groups(con) -> None:
    ingest(con, TRIALS_NATIONAL)
    db = raw(TRIALS_NATIONAL)
    witness = db.execute("""
        SELECT year, sum(coalesce(try_cast(value AS INT), 0)) FROM f
        WHERE reason ILIKE '%Ineffective reason: Prosecution witness absent%' GROUP BY ALL
        ORDER BY 1""").fetchall()
    got = con.execute("""
        SELECT year(period_start)::VARCHAR, value FROM core.observations
        WHERE measure = 'trials_ineffective_witness_absent' AND area_code = ?
          AND offence_group = '' AND court_type = 'Crown Court' ORDER BY 1""", [EW]).fetchall()
    assert got == [(y, float(v)) for y, v in witness]
    # a reason is the outcome breakdown of its measure, its number dropped
    police = db.execute("""
        SELECT sum(coalesce(try_cast(value AS INT), 0)) FROM f WHERE year = '2019'
          AND reason = '04. Ineffective reason: Prosecution witness absent - police'""").fetchone()
    assert con.execute("""
        SELECT value FROM core.observations WHERE measure = 'trials_ineffective_crown'
          AND outcome = 'Prosecution witness absent - police' AND offence_group = ''
          AND period_start = DATE '2019-01-01'""").fetchone() == (float(police[0]),)
    # "13: Not known" counts in the total but is not an offence group of its own
    groups = {g for (g,) in con.execute(
        "SELECT DISTINCT offence_group FROM core.observations").fetchall()}
    assert groups == {"", "Violence against the person", "Sexual offences"}


def test_long_trials_reject_a_reason_of_another_outcome(con, tmp_path: Path) -> None:
    text = ("year,offence_group,trial_effectiveness,reason,value\n"
            "2019,02: Sexual offences,1: Effective trials,NA,10\n"
            "2019,02: Sexual offences,2: Cracked trials,"
            "04. Ineffective reason: Prosecution witness absent - police,3\n"
            "2019,02: Sexual offences,9: Postponed,NA,3\n")
    report = ingest(con, write_csv(tmp_path / "trial_2019.csv", text))
    reasons = [r.describe("trial_2019.csv") for r in report.rejects]
    assert any("row 3" in r and "a ineffective reason on a row of cracked trials" in r
               for r in reasons)
    assert any("row 4" in r and "unknown trial outcome" in r for r in reasons)


# --- Crown Court timeliness tool ----------------------------------------------------------------


def test_timeliness_tool_builds_lcjbs_from_ljas(con) -> None:
    report = ingest(con, TOOL)
    assert report.status == "loaded", report.line()
    db = raw(TOOL)
    london = db.execute("""
        SELECT sum(try_cast("Number of valid defendants" AS INT)),
               sum(try_cast("Mean offence to charge (days)" AS INT)
                   * try_cast("Number of valid defendants" AS INT))
        FROM f WHERE "Annual or quarterly" = 'Quarterly' AND Quarter = 'Q1'
          AND "Geographic area" LIKE '%London' AND "Geographic area" <> 'London'
          AND "Offence group" = '00: All offences'
          AND "Receipt type" = 'All receipt types'""").fetchone()
    frame = compute_indicators(con, REG, ["offence_to_charge_days"], [LONDON], grain="quarter",
                               by="court_type")
    assert set(frame["breakdown"]) == {"Crown Court"}  # the tool counts Crown Court cases
    q1 = frame.filter(frame["period_label"] == "Jan\u2013Mar 2024").row(0, named=True)
    assert q1["denominator"] == london[0]
    assert q1["value"] == pytest.approx(london[1] / london[0])
    # 2024 Q2 lacks West London: London is not built for it, and says why
    assert frame.filter(frame["period_label"] == "Apr\u2013Jun 2024").height == 0
    reasons = {r.reason for r in report.rejects}
    assert any("lacks its local justice area(s) West London" in r for r in reasons)
    assert any("one of several in West Midlands LCJB" in r for r in reasons)
    assert any("unknown local justice area" in r for r in reasons)
    assert any("Annual rows have Quarter All" in r for r in reasons)
    # the annual row is the calendar year, at its own grain
    annual = con.execute("""
        SELECT value FROM core.observations WHERE measure = 'defendants_timeliness'
          AND area_code = ? AND period_start = DATE '2024-01-01'
          AND period_end = DATE '2024-12-31'""", [CUMBRIA]).fetchone()
    assert annual == (float(db.execute("""
        SELECT "Number of valid defendants" FROM f WHERE "Geographic area" = 'Cumbria'
          AND Quarter = 'All' AND "Annual or quarterly" = 'Annual'
          AND "Offence group" = '00: All offences'""").fetchone()[0]),)
    # no region, national or breakdown row was loaded
    areas = {a for (a,) in con.execute(
        "SELECT DISTINCT area_code FROM core.observations").fetchall()}
    assert areas == {LONDON, CUMBRIA}


# --- CJS dashboard, rolling annual ----------------------------------------------------------------


def test_rolling_annual_loads_financial_and_calendar_years(con) -> None:
    report = ingest(con, ROLLING)
    assert report.status == "loaded", report.line()
    db = raw(ROLLING)
    fy = db.execute("""SELECT value FROM f WHERE geographic_area_name = 'National'
        AND date_granularity = 'Rolling annual' AND time_period = 'Apr 2015 - Mar 2016'
        """).fetchone()
    got = dict(((s.isoformat(), e.isoformat()), v) for s, e, v in con.execute("""
        SELECT period_start, period_end, value FROM core.observations
        WHERE area_code = ? AND measure = 'recorded_crimes'""", [EW]).fetchall())
    assert got[("2015-04-01", "2016-03-31")] == float(fy[0])
    assert ("2015-01-01", "2015-12-31") in got and ("2015-04-01", "2015-06-30") in got
    rejected = {r.value: r.reason for r in report.rejects}
    assert rejected["Jul 2015 - Jun 2016"].startswith("a rolling year ending in a month other")


def test_timeliness_tool_every_lja_placed_and_lcjbs_equal_a_csv_sum(con) -> None:
    """Every LJA of the tool file is placed in its LCJB or refused with its reason, and every
    LCJB figure loaded equals a sum over the raw file read with the csv module.

    The file is built from the published schema with invented figures (tests/data/moj/
    NOTICE.md): no real tool file has been available, so its LJA names are the ones the
    lookup's London set and an LCJB-named LJA (Cumbria) cover, plus one LJA of a
    several-LJA LCJB whose list is not complete (Birmingham) and an unknown one.
    """
    import csv
    from datetime import date

    report = ingest(con, TOOL)
    assert report.status == "loaded", report.line()
    with open(TOOL, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(moj_timeliness_tool.LOOKUP_FILE, encoding="utf-8-sig", newline="") as f:
        london = {r["lja"] for r in csv.DictReader(f) if r["lja_set"] == "london-2012"}
    assert len(london) == 9
    lcjb_of = {**dict.fromkeys(london, LONDON), "Cumbria": CUMBRIA}
    regions = {"England and Wales", "London"}

    # every area named in the file: a region (built by rollup, not loaded), an LJA placed in
    # its LCJB, or refused with the reason a person would give
    reasons = {r.value: r.reason for r in report.rejects if r.column == "Geographic area"}
    for area in {r["Geographic area"] for r in rows} - regions:
        if area in lcjb_of:
            continue
        assert area in reasons, area
    assert "one of several in West Midlands LCJB" in reasons["Birmingham"]
    assert "unknown local justice area" in reasons["Atlantis"]

    # the independent sum: all receipts, all offences; a quarter's LCJB only when all of its
    # LJAs are in the file for that quarter; "Annual" rows only with Quarter "All"
    headline = [r for r in rows if r["Receipt type"] == "All receipt types"
                and r["Offence group"] == "00: All offences" and r["Geographic area"] in lcjb_of
                and (r["Annual or quarterly"] == "Quarterly") == (r["Quarter"] != "All")]
    present: dict[tuple[str, str, str], set[str]] = {}
    for r in headline:
        key = (lcjb_of[r["Geographic area"]], r["Year"], r["Quarter"])
        present.setdefault(key, set()).add(r["Geographic area"])
    members = {LONDON: london, CUMBRIA: {"Cumbria"}}
    stages = {"days_offence_to_charge": "Mean offence to charge (days)",
              "days_charge_to_first_listing": "Mean charge to first listing (days)",
              "days_offence_to_completion": "Mean offence to completion (days)"}
    expected: dict[tuple[str, str, date, date], float | None] = {}
    for r in headline:
        area = lcjb_of[r["Geographic area"]]
        if present[(area, r["Year"], r["Quarter"])] != members[area]:
            continue  # London 2024 Q2 lacks West London
        year = int(r["Year"])
        if r["Quarter"] == "All":
            start, end = date(year, 1, 1), date(year, 12, 31)
        else:
            q = int(r["Quarter"][1])
            start = date(year, 3 * q - 2, 1)
            end = date(year + (q == 4), (3 * q) % 12 + 1, 1).replace(day=1)
            end = date.fromordinal(end.toordinal() - 1)
        n = float(r["Number of valid defendants"])
        values = {"defendants_timeliness": n}
        for measure, column in stages.items():
            mean = r[column]
            values[measure] = None if mean == "-" else float(mean) * n
        for measure, value in values.items():
            key = (measure, area, start, end)
            so_far = expected.get(key, 0.0)
            expected[key] = None if value is None or so_far is None else so_far + value
    loaded = {(m, a, s, e): v for m, a, s, e, v in con.execute(
        "SELECT measure, area_code, period_start, period_end, value FROM core.observations "
        "WHERE source = 'moj_timeliness_tool' AND is_current").fetchall()}
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert loaded[key] == (pytest.approx(value) if value is not None else None), key
    assert (LONDON, "2024", "Q2") in present  # the skipped quarter was in the file


def test_every_lja_of_the_lookup_is_in_an_lcjb_cjsdash_knows(con) -> None:
    """Each row of ingest/reference/lja_lcjb.csv names an LCJB that resolves, a source, and
    a set only where the set's members all share that LCJB."""
    import csv

    from ingest.lcjb_areas import resolve_lcjb
    from ingest.pipeline import read_context

    context = read_context(con, "test")
    with open(moj_timeliness_tool.LOOKUP_FILE, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["source"].strip() for r in rows)
    codes = {r["lja"]: resolve_lcjb(r["lcjb"], context) for r in rows}
    assert None not in codes.values(), [k for k, v in codes.items() if v is None]
    assert len({r["lja"].casefold() for r in rows}) == len(rows)  # no LJA twice
    sets: dict[str, set[str]] = {}
    for r in rows:
        if r["lja_set"]:
            sets.setdefault(r["lja_set"], set()).add(codes[r["lja"]])
    assert all(len(lcjbs) == 1 for lcjbs in sets.values()), sets
    assert codes["West London"] == LONDON
