"""data.police.uk street, stop and search and outcomes files → warehouse, good and bad.

Figures are recomputed here with the csv module, independently of the loaders, and compared
with what ``compute_indicators`` returns.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest import catalogue, police_uk_outcomes, police_uk_stop_search, police_uk_street
from ingest.pipeline import ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import ALL_FORCES_ZIP, REPO

DATA = Path(__file__).resolve().parents[1] / "data" / "police_uk"
STREET = DATA / "street"
STOP_SEARCH = DATA / "stop_and_search" / "2019-06-greater-manchester-stop-and-search.csv"
OUTCOMES = DATA / "outcomes" / "2026-02-city-of-london-outcomes.csv"
REG = default_registry()
LOADERS = (police_uk_street, police_uk_stop_search, police_uk_outcomes)
NEW_MEASURES = ("stop_searches_self_defined", "stop_search_arrests", "police_uk_outcomes")
WELSH_FORCES = ("dyfed-powys", "gwent", "north-wales", "south-wales")


@pytest.fixture(autouse=True)
def police_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the three loaders for these tests only (the catalogue is not ours to edit)."""
    for module in LOADERS:
        monkeypatch.setitem(catalogue.LOADERS, module.SPEC.name, module.LOADER)


def register_new_measures(con: duckdb.DuckDBPyConnection) -> None:
    """What the registry change asked for in the report would do: list the new measures
    (those already catalogued are left as they are)."""
    for measure in NEW_MEASURES:
        con.execute("INSERT INTO meta.measures VALUES (?, ?, 'sum', '') ON CONFLICT DO NOTHING",
                    [measure, measure])


def rows(path: Path | bytes) -> list[dict[str, str]]:
    data = path.read_bytes() if isinstance(path, Path) else path
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def loaded(reports: list) -> None:
    for report in reports:
        assert report.status == "loaded", report.line()
        assert not report.rejects, [r.describe(report.file_name) for r in report.rejects]


def value(con: duckdb.DuckDBPyConnection, measure: str, area: str, **breakdown: str) -> float:
    where = " AND ".join(f"{k} = ?" for k in breakdown) or "TRUE"
    [(total,)] = con.execute(
        f"SELECT sum(value) FROM core.observations WHERE is_current AND measure = ? "  # noqa: S608
        f"AND area_code = ? AND {where}", [measure, area, *breakdown.values()],
    ).fetchall()
    return total


# --- street-level crime -------------------------------------------------------------------------


def test_every_street_sample_loads_every_row(con) -> None:
    reports = ingest_paths(con, [STREET])
    assert len(reports) == 8
    loaded(reports)
    assert {r.loader for r in reports} == {"police_uk_street"}
    samples = sorted(STREET.rglob("*.csv"))
    expected = sum(len(rows(p)) for p in samples)
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == expected
    for path in samples:
        records = rows(path)
        area = {"2021-01-cumbria-street.csv": "E23000002",
                "2021-01-city-of-london-street.csv": "E23000034",
                "2021-06-btp-street.csv": "BTP",
                "2021-06-northern-ireland-street.csv": "N23000001"}.get(path.name)
        if area is None:
            continue
        asb = sum(r["Crime type"] == "Anti-social behaviour" for r in records)
        no_location = sum(r["Longitude"] == "" for r in records)
        assert (value(con, "asb_incidents", area) or 0) == asb  # BTP publishes no ASB
        assert value(con, "recorded_crimes", area, offence_group="", outcome="") == len(records) - asb
        assert con.execute(
            "SELECT count(*) FROM raw.police_uk_street WHERE area_code = ? AND longitude IS NULL",
            [area]).fetchone()[0] == no_location
        assert con.execute(
            "SELECT count(*) FROM raw.police_uk_street WHERE area_code = ? AND crime_id IS NULL "
            "AND crime_type = 'Anti-social behaviour'", [area]).fetchone()[0] == asb


def test_recorded_crime_and_asb_match_an_independent_count(con) -> None:
    path = STREET / "2021-01" / "2021-01-cumbria-street.csv"
    loaded(ingest_paths(con, [path]))
    types = Counter(r["Crime type"] for r in rows(path))
    asb = types.pop("Anti-social behaviour")
    frame = compute_indicators(con, REG, ["recorded_crime", "asb_incidents"], ["E23000002"],
                               grain="month")
    got = {r["indicator"]: r for r in frame.iter_rows(named=True)}
    assert got["recorded_crime"]["numerator"] == sum(types.values())
    assert got["recorded_crime"]["period_label"] == "Jan 2021"
    assert got["asb_incidents"]["numerator"] == asb
    # The twin LCJB (Cumbria CJA03) shows the same figure.
    lcjb = compute_indicators(con, REG, ["recorded_crime"], ["CJA03"], grain="month")
    assert lcjb["numerator"].to_list() == [sum(types.values())]
    for crime_type, n in types.items():
        assert value(con, "recorded_crimes", "E23000002", offence_group=crime_type) == n


def test_outcome_and_crime_type_breakdowns_add_up_to_the_total(con) -> None:
    loaded(ingest_paths(con, [STREET]))
    check = con.execute("""
        SELECT area_code,
               sum(value) FILTER (WHERE offence_group = '' AND outcome = '') AS total,
               sum(value) FILTER (WHERE offence_group <> '') AS by_type,
               sum(value) FILTER (WHERE outcome <> '') AS by_outcome
        FROM core.observations WHERE measure = 'recorded_crimes' GROUP BY area_code
    """).fetchall()
    assert len(check) == 8
    for area, total, by_type, by_outcome in check:
        assert total == by_type == by_outcome, area
    # Crimes with no last outcome (BTP, PSNI publish none) are outcome "Not stated".
    btp = rows(STREET / "2021-06" / "2021-06-btp-street.csv")
    assert value(con, "recorded_crimes", "BTP", outcome="Not stated") == len(btp)
    cumbria = rows(STREET / "2021-01" / "2021-01-cumbria-street.csv")
    outcomes = Counter(r["Last outcome category"] for r in cumbria if r["Last outcome category"])
    for outcome, n in outcomes.items():
        assert value(con, "recorded_crimes", "E23000002", outcome=outcome) == n


def test_wales_is_its_four_forces_and_btp_and_psni_stay_outside(con) -> None:
    reports = ingest_paths(con, [STREET / "2021-06"])
    loaded(reports)
    notes = " ".join(r.message for r in reports)
    assert "British Transport Police (BTP) is not an England and Wales police force area" in notes
    assert "Police Service of Northern Ireland (N23000001) is not" in notes
    welsh = 0
    for force in WELSH_FORCES:
        records = rows(STREET / "2021-06" / f"2021-06-{force}-street.csv")
        welsh += sum(r["Crime type"] != "Anti-social behaviour" for r in records)
    wales = compute_indicators(con, REG, ["recorded_crime"], ["W92000004"], grain="month")
    assert wales["numerator"].to_list() == [welsh]
    btp = compute_indicators(con, REG, ["recorded_crime"], ["BTP"], grain="month")
    assert btp["numerator"].to_list() == [75]
    # No England and Wales total: most forces are missing, and BTP/PSNI never count in it.
    assert compute_indicators(con, REG, ["recorded_crime"], ["K04000001"], grain="month").height == 0
    outside = con.execute("SELECT count(*) FROM core.area_footprints WHERE force_code IN "
                          "('BTP', 'N23000001')").fetchone()[0]
    assert outside == 0


def test_zip_members_load_like_loose_files(con, tmp_path: Path) -> None:
    archive = tmp_path / "2021-06.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((STREET / "2021-06").glob("*.csv")):
            z.write(path, f"2021-06/{path.name}")
    reports = ingest_paths(con, [archive])
    loaded(reports)
    assert all(r.file_name.startswith("2021-06.zip!2021-06/") for r in reports)
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 6 * 75
    again = ingest_paths(con, [STREET / "2021-06"])
    assert {r.status for r in again} == {"unchanged"}


def test_a_revised_month_replaces_its_raw_slice_and_keeps_the_old_vintage(con, tmp_path) -> None:
    path = STREET / "2021-01" / "2021-01-cumbria-street.csv"
    loaded(ingest_paths(con, [path]))
    lines = path.read_bytes().split(b"\r\n")
    revised = b"\r\n".join(lines[:-6] + [b""])  # five rows fewer
    loaded(ingest_paths(con, [_write(tmp_path / path.name, revised)]))
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 70
    history = con.execute(
        "SELECT is_current FROM core.observations WHERE measure = 'recorded_crimes' "
        "AND area_code = 'E23000002' AND offence_group = '' AND outcome = '' ORDER BY run_id"
    ).fetchall()
    before = sum(r["Crime type"] != "Anti-social behaviour" for r in rows(path))
    after = sum(r["Crime type"] != "Anti-social behaviour" for r in rows(revised))
    assert after < before
    assert value(con, "recorded_crimes", "E23000002", offence_group="", outcome="") == after
    assert history == [(False,), (True,)]


def test_an_unknown_force_is_a_rejected_row_not_a_silent_drop(con, tmp_path: Path) -> None:
    path = STREET / "2021-01" / "2021-01-cumbria-street.csv"
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    lines[3] = lines[3].replace("Cumbria Constabulary,Cumbria Constabulary",
                                "Cumbria Constabulary,Atlantis Police")
    [report] = ingest_paths(con, [_write(tmp_path / path.name, "\r\n".join(lines).encode())])
    assert report.status == "loaded"
    [reject] = report.rejects
    assert (reject.row, reject.column, reject.value) == (4, "Falls within", "Atlantis Police")
    assert "unknown police force" in reject.reason
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 74
    logged = con.execute("SELECT row_number, column_name, value FROM meta.rejects").fetchall()
    assert logged == [(4, "Falls within", "Atlantis Police")]


# --- bad input, every source --------------------------------------------------------------------


SAMPLES = {
    "police_uk_street": STREET / "2021-01" / "2021-01-cumbria-street.csv",
    "police_uk_stop_search": STOP_SEARCH,
    "police_uk_outcomes": OUTCOMES,
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("loader", sorted(SAMPLES))
def test_wrong_header_is_refused(con, tmp_path: Path, loader: str) -> None:
    register_new_measures(con)
    sample = SAMPLES[loader]
    data = sample.read_bytes().replace(b",Latitude,", b",Lat,", 1)
    [report] = ingest_paths(con, [_write(tmp_path / sample.name, data)], loader_name=loader)
    assert report.status == "refused"
    assert "wrong header for a data.police.uk" in report.message
    assert "found '" in report.message
    # ... and detection does not claim it at all: named, it is refused as unrecognised.
    [unknown] = ingest_paths(con, [_write(tmp_path / ("x-" + sample.name), data)])
    assert unknown.status == "refused" and unknown.loader == "unrecognised"


@pytest.mark.parametrize("loader", sorted(SAMPLES))
def test_wrong_encoding_is_refused(con, tmp_path: Path, loader: str) -> None:
    register_new_measures(con)
    sample = SAMPLES[loader]
    lines = sample.read_bytes().split(b"\r\n")
    lines[2] = lines[2].replace(b"On or near", "Caf\u00e9 near".encode("cp1252"), 1)
    lines[2] = lines[2].replace(b"Person search", "Person s\u00e9arch".encode("cp1252"), 1)
    data = b"\r\n".join(lines)
    assert data != sample.read_bytes()
    [report] = ingest_paths(con, [_write(tmp_path / sample.name, data)])
    assert report.status == "refused", report.line()
    assert report.loader == loader
    assert "not UTF-8" in report.message
    assert con.execute("SELECT count(*) FROM core.observations").fetchone()[0] == 0


@pytest.mark.parametrize("loader", sorted(SAMPLES))
def test_truncated_file_is_refused(con, tmp_path: Path, loader: str) -> None:
    register_new_measures(con)
    sample = SAMPLES[loader]
    data = sample.read_bytes()
    cut = data[: data.rfind(b",", 0, len(data) - 40)]  # mid-way through the last line
    [report] = ingest_paths(con, [_write(tmp_path / sample.name, cut)])
    assert report.status == "refused", report.line()
    assert "looks truncated" in report.message
    assert con.execute("SELECT count(*) FROM core.observations").fetchone()[0] == 0


# --- stop and search ------------------------------------------------------------------------------


def test_stop_and_search_counts_match_the_published_file(con) -> None:
    [report] = ingest_paths(con, [STOP_SEARCH])
    loaded([report])
    assert report.loader == "police_uk_stop_search"
    gm = "E23000005"
    records = rows(STOP_SEARCH)
    assert len(records) == 907
    officer = Counter(r["Officer-defined ethnicity"] for r in records)
    assert officer == {"White": 531, "Asian": 161, "Black": 145, "": 51, "Other": 19}
    assert value(con, "stop_searches", gm, ethnicity="", sex="", age_group="", outcome="") == 907
    for group, n in officer.items():
        assert value(con, "stop_searches", gm, ethnicity=group or "Not stated") == n
    for column, breakdown in (("Gender", "sex"), ("Age range", "age_group"),
                              ("Outcome", "outcome")):
        for label, n in Counter(r[column] for r in records).items():
            assert value(con, "stop_searches", gm, **{breakdown: label or "Not stated"}) == n
    assert con.execute("SELECT count(*), min(month), max(month) FROM raw.police_uk_stop_search"
                       ).fetchone() == (907, date(2019, 6, 1), date(2019, 6, 1))


def test_ethnicity_recorded_matches_an_independent_share(con) -> None:
    loaded(ingest_paths(con, [STOP_SEARCH]))
    records = rows(STOP_SEARCH)
    known = sum(r["Officer-defined ethnicity"] != "" for r in records)
    frame = compute_indicators(con, REG, ["ethnicity_recorded"], ["E23000005"], grain="month")
    row = frame.row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (known, len(records)) == (856, 907)
    assert row["value"] == pytest.approx(100 * known / len(records))
    assert row["period_label"] == "Jun 2019"


def test_self_defined_groups_and_search_arrests_once_registered(con) -> None:
    register_new_measures(con)
    [report] = ingest_paths(con, [STOP_SEARCH])
    loaded([report])
    assert "not in the registry's measure catalogue" not in report.message
    groups: Counter[str] = Counter()
    for r in rows(STOP_SEARCH):
        label = r["Self-defined ethnicity"]
        prefix = label.split(" - ")[0]
        groups[
            "Not stated" if label in ("", "Other ethnic group - Not stated") else
            {"White": "White", "Black/African/Caribbean/Black British": "Black",
             "Asian/Asian British": "Asian", "Mixed/Multiple ethnic groups": "Mixed",
             "Other ethnic group": "Other"}[prefix]
        ] += 1
    for group, n in groups.items():
        assert value(con, "stop_searches_self_defined", "E23000005", ethnicity=group) == n
    arrests = sum(r["Outcome"] == "Arrest" for r in rows(STOP_SEARCH))
    assert value(con, "stop_search_arrests", "E23000005", ethnicity="") == arrests == 98


def test_measures_the_registry_does_not_list_are_left_out_with_a_note(con) -> None:
    con.execute("DELETE FROM meta.measures WHERE measure IN "
                "('stop_searches_self_defined', 'stop_search_arrests')")
    [report] = ingest_paths(con, [STOP_SEARCH])
    loaded([report])
    for measure in ("stop_search_arrests", "stop_searches_self_defined"):
        assert f"measure '{measure}' is not in the registry's measure catalogue" in report.message
        assert value(con, measure, "E23000005") is None
    assert con.execute("SELECT count(*) FROM raw.police_uk_stop_search").fetchone()[0] == 907


def _stop_search_file(tmp_path: Path, name: str, dates: list[str]) -> Path:
    header, first = STOP_SEARCH.read_bytes().decode("utf-8").split("\r\n")[:2]
    fields = first.split(",")
    lines = [header] + [",".join([fields[0], d, *fields[2:]]) for d in dates]
    return _write(tmp_path / name, ("\r\n".join(lines) + "\r\n").encode("utf-8"))


def test_searches_are_counted_in_their_uk_local_month(con, tmp_path: Path) -> None:
    path = _stop_search_file(tmp_path, "2019-06-greater-manchester-stop-and-search.csv", [
        "2019-05-31T23:01:00+00:00",  # 00:01 BST on 1 June: June
        "2019-06-15T12:00:00+00:00",
        "2019-06-30T22:59:00+00:00",  # 23:59 BST: still June
        "2019-06-30T23:30:00+00:00",  # 00:30 BST on 1 July: not this file's month
        "not a date",
    ])
    [report] = ingest_paths(con, [path], max_reject_share=1.0)  # many bad rows on purpose: see every reason (not refused)
    assert report.status == "loaded"
    assert value(con, "stop_searches", "E23000005", ethnicity="", sex="", age_group="",
                 outcome="") == 3
    assert [(r.row, r.column) for r in report.rejects] == [(5, "Date"), (6, "Date")]
    assert "not in June 2019 (Europe/London time)" in report.rejects[0].reason
    winter = _stop_search_file(tmp_path, "2019-11-greater-manchester-stop-and-search.csv",
                               ["2019-10-31T23:30:00+00:00", "2019-11-30T23:30:00+00:00"])
    [report] = ingest_paths(con, [winter], max_reject_share=1.0)  # GMT: 23:30 is 23:30 local
    assert [r.row for r in report.rejects] == [2]


@pytest.mark.parametrize(("name", "reason"), [
    ("stop-and-search.csv", "not 'YYYY-MM-<force>-stop-and-search.csv'"),
    ("2019-06-atlantis-stop-and-search.csv", "('atlantis') is not a police force"),
])
def test_a_stop_search_file_without_its_force_in_the_name_is_refused(
    con, tmp_path: Path, name: str, reason: str,
) -> None:
    [report] = ingest_paths(con, [_write(tmp_path / name, STOP_SEARCH.read_bytes())])
    assert report.status == "refused"
    assert reason in report.message


# --- outcomes (fixture) ---------------------------------------------------------------------------


def test_outcomes_fixture_loads_by_outcome_type(con) -> None:
    register_new_measures(con)
    [report] = ingest_paths(con, [OUTCOMES])
    loaded([report])
    assert report.loader == "police_uk_outcomes"
    records = rows(OUTCOMES)
    assert value(con, "police_uk_outcomes", "E23000034", outcome="") == len(records) == 23
    for outcome, n in Counter(r["Outcome type"] for r in records).items():
        assert value(con, "police_uk_outcomes", "E23000034", outcome=outcome) == n
    raw = con.execute("SELECT count(*), count(longitude), min(month) FROM raw.police_uk_outcomes"
                      ).fetchone()
    assert raw[:2] == (23, 21)
    assert str(raw[2]) == "2026-02-01"


def test_outcomes_are_refused_until_the_registry_lists_the_measure(con) -> None:
    con.execute("DELETE FROM meta.measures WHERE measure = 'police_uk_outcomes'")
    [report] = ingest_paths(con, [OUTCOMES])
    assert report.status == "refused"
    assert "measure 'police_uk_outcomes' is not in the registry" in report.message


# --- the real files (row counts from shared/data/real/PROVENANCE.md) -------------------------------

# The 21 loose files of shared/data/real/police_uk_street, in the repository for the demo warehouse
# (same bytes; data/real/NOTICE.md); the 16 MB all-forces ZIP stays an optional extra in shared/.
REAL_STREET = REPO / "data" / "real" / "police_uk_street"


def test_the_real_loose_street_files_load_every_row(con) -> None:
    folders = sorted(p for p in REAL_STREET.iterdir() if p.is_dir())
    reports = ingest_paths(con, folders)
    loaded(reports)
    assert len(reports) == 21
    counts = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE crime_type = 'Anti-social behaviour'),
               count(*) FILTER (WHERE longitude IS NULL AND location = 'No Location')
        FROM raw.police_uk_street""").fetchone()
    assert counts == (36_049, 8_653, 695)
    totals = dict(con.execute(
        "SELECT measure, sum(value) FROM core.observations WHERE offence_group = '' "
        "AND outcome = '' GROUP BY measure").fetchall())
    assert totals == {"recorded_crimes": 36_049 - 8_653, "asb_incidents": 8_653}


@pytest.mark.slow
def test_the_real_2021_06_zip_loads_every_member(con) -> None:
    reports = ingest_paths(con, [ALL_FORCES_ZIP])
    loaded(reports)
    assert len(reports) == 40
    assert sum(r.rows_in for r in reports) == 384_170
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 384_170
    areas = con.execute("SELECT count(DISTINCT area_code) FROM core.observations").fetchone()[0]
    assert areas == 40


# --- a ZIP is one load: its members in one transaction, one run row each ------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _june() -> dict[str, bytes]:
    return {f"2021-06/{p.name}": p.read_bytes() for p in sorted((STREET / "2021-06").glob("*.csv"))}


def test_a_zip_with_bad_members_loads_the_others_and_logs_each_problem(con, tmp_path) -> None:
    members = _june()
    gwent = "2021-06/2021-06-gwent-street.csv"
    wales = "2021-06/2021-06-north-wales-street.csv"
    members[gwent] = members[gwent][: members[gwent].rfind(b",", 0, len(members[gwent]) - 40)]
    lines = members[wales].split(b"\r\n")
    lines[3] = lines[3].replace(b"North Wales Police,North Wales Police",
                                b"North Wales Police,Atlantis Police")
    members[wales] = b"\r\n".join(lines)
    reports = ingest_paths(con, [_zip(tmp_path / "june.zip", members)])
    by_name = {r.file_name.split("!")[1]: r for r in reports}
    assert len(reports) == 6
    refused = by_name[gwent]
    assert refused.status == "refused" and "looks truncated" in refused.message
    partly = by_name[wales]
    assert partly.status == "loaded"
    assert [(r.row, r.column, r.value) for r in partly.rejects] == [
        (4, "Falls within", "Atlantis Police")]
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 5 * 75 - 1
    assert con.execute("SELECT count(*) FROM raw.police_uk_street WHERE falls_within = "
                       "'Gwent Police'").fetchone()[0] == 0  # nothing of Gwent reached raw
    assert con.execute("SELECT count(DISTINCT area_code) FROM core.observations"
                       ).fetchone()[0] == 5  # ... or core
    logged = con.execute(
        "SELECT file_name, row_number, column_name, value FROM meta.rejects ORDER BY file_name"
    ).fetchall()
    assert logged == [(f"june.zip!{gwent}", None, None, None),
                      (f"june.zip!{wales}", 4, "Falls within", "Atlantis Police")]
    runs = con.execute("SELECT file_name, status, rows_in, rows_rejected, rows_loaded > 0 "
                       "FROM meta.ingest_runs ORDER BY file_name").fetchall()
    assert len(runs) == 6 and len({r[0] for r in runs}) == 6
    assert (f"june.zip!{gwent}", "refused", 0, 0, False) in runs
    assert (f"june.zip!{wales}", "loaded", 75, 1, True) in runs
    run_ids = {run_id for (run_id,) in con.execute("SELECT run_id FROM meta.ingest_runs").fetchall()}
    assert {r.run_id for r in reports} == run_ids


def test_a_zip_offered_again_or_a_member_alone_is_unchanged(con, tmp_path) -> None:
    archive = _zip(tmp_path / "june.zip", _june())
    first = ingest_paths(con, [archive])
    loaded(first)
    again = ingest_paths(con, [archive])
    assert [r.status for r in again] == ["unchanged"] * 6
    assert [r.run_id for r in again] == [r.run_id for r in first]
    [alone] = ingest_paths(con, [STREET / "2021-06" / "2021-06-gwent-street.csv"])
    assert alone.status == "unchanged"
    assert con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone()[0] == 6
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 6 * 75


def test_a_zip_member_revising_an_earlier_one_loads_as_if_one_after_the_other(
    con, tmp_path,
) -> None:
    path = STREET / "2021-01" / "2021-01-cumbria-street.csv"
    lines = path.read_bytes().split(b"\r\n")
    revised = b"\r\n".join(lines[:-6] + [b""])  # five rows fewer, same force and month
    archive = _zip(tmp_path / "two.zip", {"a/cumbria.csv": path.read_bytes(),
                                          "b/cumbria.csv": revised,
                                          "c/cumbria-copy.csv": revised})
    first, second, copy = ingest_paths(con, [archive])
    assert (first.status, second.status, copy.status) == ("loaded", "loaded", "unchanged")
    assert second.rows_revised > 0 and second.rows_loaded + second.rows_revised > 0
    assert copy.run_id == second.run_id and "already loaded as run" in copy.message
    assert con.execute("SELECT count(*) FROM raw.police_uk_street").fetchone()[0] == 70
    assert con.execute("SELECT DISTINCT run_id FROM raw.police_uk_street").fetchall() == [
        (second.run_id,)]
    after = sum(r["Crime type"] != "Anti-social behaviour" for r in rows(revised))
    assert value(con, "recorded_crimes", "E23000002", offence_group="", outcome="") == after
    history = con.execute(
        "SELECT run_id, is_current FROM core.observations WHERE measure = 'recorded_crimes' "
        "AND area_code = 'E23000002' AND offence_group = '' AND outcome = '' ORDER BY run_id"
    ).fetchall()
    assert history == [(first.run_id, False), (second.run_id, True)]


def test_reading_files_together_gives_what_reading_each_gives(con) -> None:
    from dataclasses import replace

    from ingest.base import FileRefused
    from ingest.pipeline import read_context

    context = read_context(con, default_vintage="")
    files = [(p, p.read_bytes(), replace(context, default_vintage=p.name))
             for p in sorted(STREET.rglob("*.csv"))]
    data = files[0][1]
    lines = data.split(b"\r\n")
    lines[3] = lines[3].replace(b",2021-", b",2021-13-", 1)
    files.append((Path("bad-row.csv"), b"\r\n".join(lines), context))
    files.append((Path("truncated.csv"), data[: len(data) - 30], context))
    together = police_uk_street.read_batch(files)
    assert len(together) == len(files)
    key = ["measure", "area_code", "offence_group", "outcome"]
    for (path, data, file_context), got in zip(files, together, strict=True):
        try:
            alone = police_uk_street.read(path, data, file_context)
        except FileRefused as refused:
            assert isinstance(got, FileRefused) and got.reason == refused.reason
            continue
        assert not isinstance(got, FileRefused)
        assert got.frame.sort(key).equals(alone.frame.sort(key)), path
        assert (got.rejects, got.rows_in, got.notes, got.vintage) == (
            alone.rejects, alone.rows_in, alone.notes, alone.vintage)
        assert got.raw[police_uk_street.RAW_TABLE].equals(alone.raw[police_uk_street.RAW_TABLE])
    assert [r.row for r in together[-2].rejects] == [4]
