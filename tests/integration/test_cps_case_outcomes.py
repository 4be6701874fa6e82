"""CPS case outcomes by principal offence category → warehouse → conviction rate.

The real monthly files (tests/data/cps, 22 months of 2016-2018) are loaded through detection;
every figure is recomputed here with the csv module from the same files.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cjsdash.cli import app
from ingest import cps_case_outcomes
from ingest.base import FileRefused
from ingest.pipeline import detect_loader, ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import REPO

REG = default_registry()
DATA = REPO / "tests" / "data" / "cps"
FY_2016_17 = [*(p for p in sorted((DATA / "2016").glob("*_2016.csv")) if "january" not in p.name),
              *sorted((DATA / "2017").glob("*_2017.csv"))]  # April 2016 to March 2017
EW = "K04000001"
LCJBS_OF_NAMES = {"Metropolitan and City": "CJA01", "GreaterManchester": "CJA06",
                  "Dyfed Powys": "CJA63", "Cumbria": "CJA03"}


def counts(path: Path) -> dict[str, tuple[int, int]]:
    """area → (convictions, convictions + unsuccessful incl. admin finalised), csv module only."""
    out = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for row in reader:
            conv = uns = 0
            for name, cell in zip(header, row, strict=True):
                if name.startswith("Number of"):
                    n = int(cell.replace(",", ""))
                    if name.endswith("Convictions"):
                        conv += n
                    else:
                        uns += n
            out[row[0]] = (conv, conv + uns)
    return out


def add(*parts: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    total: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for part in parts:
        for area, (c, n) in part.items():
            total[area][0] += c
            total[area][1] += n
    return {a: (c, n) for a, (c, n) in total.items()}


def load(con: duckdb.DuckDBPyConnection, *paths: Path):
    reports = [r for r in ingest_paths(con, list(paths)) if r.status != "skipped"]
    assert reports and all(r.status == "loaded" for r in reports), [r.line() for r in reports]
    return reports


def test_detected_by_content_and_every_real_file_loads_without_a_reject(con) -> None:
    sample = DATA / "2017" / "principal_offence_category_Aug.csv"
    assert detect_loader(sample, sample.read_bytes()) is cps_case_outcomes.LOADER
    reports = load(con, DATA)
    assert len(reports) == 22
    assert all(r.loader == "cps_case_outcomes" and r.rows_rejected == 0 and r.rows_in == 43
               for r in reports)
    assert all("the National row equals the sum of the areas" in r.message for r in reports)
    periods = con.execute(
        "SELECT DISTINCT strftime(period_start, '%Y-%m') FROM core.observations "
        "WHERE source = 'cps_case_outcomes' ORDER BY 1").fetchall()
    assert [p for (p,) in periods][:3] == ["2016-01", "2016-04", "2016-05"]
    assert ("2017-08",) in periods and ("2018-03",) in periods  # month-only names: the folder
    areas = con.execute("SELECT DISTINCT area_code FROM core.observations "
                        "WHERE source = 'cps_case_outcomes'").fetchall()
    assert len(areas) == 42 and all(a.startswith("CJA") for (a,) in areas)


def test_conviction_rate_for_every_lcjb_by_month_quarter_and_financial_year(con) -> None:
    load(con, DATA)
    lcjbs = [code for (code,) in con.execute(
        "SELECT code FROM core.areas WHERE kind = 'lcjb' ORDER BY code").fetchall()]
    assert len(lcjbs) == 42
    monthly = {p: counts(p) for p in FY_2016_17}
    year = add(*monthly.values())
    national = year.pop("National")
    q3 = [p for p in FY_2016_17 if p.stem.split("_")[-2] in ("october", "november", "december")]
    for grain, label, files in (
            ("fy", "2016-17", FY_2016_17),
            ("r12", "year ending March 2017", FY_2016_17),
            ("fquarter", "2016-17 Q3", q3),
            ("quarter", "Oct\u2013Dec 2016", q3),
            ("month", "Jan 2017", [DATA / "2017" / "principal_offence_category_january_2017.csv"])):
        frame = compute_indicators(con, REG, ["conviction_rate"], [*lcjbs, EW], grain=grain)
        frame = frame.filter(frame["period_label"] == label)
        got = {r["area_code"]: (r["numerator"], r["denominator"], r["value"])
               for r in frame.iter_rows(named=True)}
        assert set(got) == {*lcjbs, EW}, grain  # every LCJB, and England and Wales
        expected = add(*(counts(p) for p in files))
        want_ew = expected.pop("National")
        # the 42 CPS Areas map one to one onto the 42 LCJBs: the same (x, n) pairs, all of them
        assert sorted(v[:2] for a, v in got.items() if a != EW) == sorted(expected.values())
        for name, code in LCJBS_OF_NAMES.items():
            assert got[code][:2] == expected[name], (grain, name)
            assert got[code][2] == pytest.approx(100 * expected[name][0] / expected[name][1])
        assert got[EW][:2] == want_ew  # the rollup of the LCJBs equals CPS's National row
    assert national == (467_629, 561_204)


def test_offence_groups_add_up_and_admin_finalised_is_unsuccessful(con) -> None:
    path = DATA / "2017" / "principal_offence_category_january_2017.csv"
    load(con, path)
    with path.open(encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r[""] == "Metropolitan and City")
    admin = int(row["Number of Admin Finalised Unsuccessful"].replace(",", ""))
    homicide = (int(row["Number of Homicide Convictions"]),
                int(row["Number of Homicide Unsuccessful"]))
    by = compute_indicators(con, REG, ["conviction_rate"], ["CJA01"], grain="month",
                            by="offence_group")
    got = {r["breakdown"]: (r["numerator"], r["denominator"]) for r in by.iter_rows(named=True)}
    assert got["Admin finalised"] == (0, admin)
    assert got["Homicide"] == (homicide[0], sum(homicide))
    assert len(got) == 13
    total = counts(path)["Metropolitan and City"]
    assert (sum(c for c, _ in got.values()), sum(n for _, n in got.values())) == total
    [uns] = compute_indicators(con, REG, ["cps_unsuccessful"], ["CJA01"],
                               grain="month").iter_rows(named=True)
    assert uns["value"] == total[1] - total[0]


def test_query_command_gives_the_london_rate(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    runner = CliRunner()
    loaded = runner.invoke(app, ["ingest", str(DATA / "2016"), str(DATA / "2017"), "--db", str(db)])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(app, ["query", "conviction_rate", "--area", "Metropolitan and City",
                                 "--grain", "fy", "--format", "json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    [row] = [r for r in json.loads(result.output) if r["period_label"] == "2016-17"]
    x, n = add(*(counts(p) for p in FY_2016_17))["Metropolitan and City"]
    assert row["value"] == pytest.approx(100 * x / n)


def test_a_month_only_name_outside_a_year_folder_is_refused_saying_how_to_rename(
        con, tmp_path: Path) -> None:
    loose = tmp_path / "principal_offence_category_Aug.csv"
    shutil.copy(DATA / "2017" / "principal_offence_category_Aug.csv", loose)
    [report] = ingest_paths(con, [loose])
    assert report.status == "refused"
    assert "no year" in report.message and "principal_offence_category_august_<year>" in (
        report.message)
    with pytest.raises(FileRefused, match="gives none"):
        cps_case_outcomes.period_of(Path("cps_outcomes.csv"))
    assert cps_case_outcomes.period_of(Path("x/2018/principal_offence_category_Sept.csv"))[0] \
        .isoformat() == "2018-09-01"
    assert con.execute("SELECT count(*) FROM core.observations").fetchall() == [(0,)]


def test_a_row_whose_percentages_disagree_with_its_counts_is_rejected_whole(
        con, tmp_path: Path) -> None:
    src = DATA / "2016" / "principal_offence_category_may_2016.csv"
    text = src.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    kent = next(i for i, r in enumerate(rows) if r[0] == "Kent")
    column = rows[0].index("Number of Burglary Convictions")
    rows[kent][column] = str(int(rows[kent][column]) + 40)  # a mistyped count
    rows[kent + 1][0] = "Narnia"  # an unknown area
    bad = tmp_path / "2016" / src.name
    bad.parent.mkdir()
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    bad.write_text(out.getvalue(), encoding="utf-8")
    [report] = load(con, bad)
    assert report.rows_rejected == 2
    first, second = report.rejects
    assert (first.row, first.column) == (kent + 1, "Percentage of Burglary Convictions")
    assert "does not match the counts" in first.reason
    assert second.value == "Narnia" and "unknown CPS Area" in second.reason
    assert "differs from the sum of the areas" in report.message
    assert con.execute("SELECT count(DISTINCT area_code) FROM core.observations").fetchall() == [(40,)]
    # England and Wales is not shown from a partial set of areas
    frame = compute_indicators(con, REG, ["conviction_rate"], [EW], grain="month")
    assert frame.height == 0 or frame["value"].null_count() == frame.height
