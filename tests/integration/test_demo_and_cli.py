"""The demo warehouse and the CLI, checked against figures computed here from the raw file."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cjsdash.cli import app
from cjsdash.demo.build import build_demo

runner = CliRunner()
EXTRACT = Path("generated") / "synthetic_board_extract.csv"
"""Beside the warehouse the demo was built into (never in the repository)."""
Z = 1.959963984540054


def sums_from_extract(demo_db: Path, measure: str, areas: set[str] | None, periods: set[str]
                      ) -> tuple[int, int]:
    """Numerator and denominator summed straight from the synthetic CSV (plain csv module)."""
    x = n = 0
    with (demo_db.parent / EXTRACT).open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (row["measure"] == measure and row["period"] in periods and row["ethnicity"] == ""
                    and (areas is None or row["area"] in areas)):
                x += int(float(row["numerator"]))
                n += int(float(row["denominator"]))
    return x, n


def query_json(db: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["query", *args, "--format", "json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_query_matches_an_independent_computation_for_one_area(demo_db: Path) -> None:
    quarters = {f"2024-25 Q{q}" for q in range(1, 5)}
    x, n = sums_from_extract(demo_db, "ineffective_trial_rate_crown", {"Cumbria"}, quarters)
    rows = query_json(demo_db, "ineffective_trial_rate_crown", "--area", "Cumbria", "--grain", "fy")
    [row] = [r for r in rows if r["period_label"] == "2024-25"]
    assert (row["numerator"], row["denominator"]) == (x, n)
    assert row["value"] == pytest.approx(100 * x / n)
    centre = (x + Z * Z / 2) / (n + Z * Z)
    half = Z * math.sqrt(x * (n - x) / n + Z * Z / 4) / (n + Z * Z)
    assert row["lower"] == pytest.approx(100 * (centre - half))
    assert row["synthetic"] is True


def test_england_and_wales_is_the_sum_of_the_42_areas(demo_db: Path) -> None:
    x, n = sums_from_extract(demo_db, "charge_rate", None, {"2025-26 Q3"})
    rows = query_json(demo_db, "charge_rate", "--area", "England & Wales", "--grain", "fquarter")
    [row] = [r for r in rows if r["period_label"] == "2025-26 Q3"]
    assert (row["numerator"], row["denominator"]) == (x, n)
    assert row["area_code"] == "K04000001"


def test_query_by_ethnicity_and_disparity_ratio(demo_db: Path) -> None:
    rows = query_json(demo_db, "stop_search_rate", "--area", "London", "--grain", "fy",
                      "--by", "ethnicity")
    latest = {r["breakdown"]: r for r in rows if r["period_label"] == "2024-25"}
    assert {"White", "Black", "Asian", "Mixed", "Other"} <= set(latest)
    ratio = query_json(demo_db, "disparity_ratio", "--area", "London", "--grain", "fy")
    [headline] = [r for r in ratio if r["period_label"] == "2024-25"]
    black, white = latest["Black"], latest["White"]
    expected = (black["numerator"] / black["denominator"]) / (
        white["numerator"] / white["denominator"])
    assert headline["value"] == pytest.approx(expected)
    se = math.sqrt(1 / black["numerator"] + 1 / white["numerator"])
    assert headline["lower"] == pytest.approx(expected * math.exp(-Z * se))


def test_every_figure_from_the_demo_extract_is_marked_synthetic(demo_db: Path) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    kinds = dict(((kind, synthetic), n) for kind, synthetic, n in con.execute(
        "SELECT s.kind, s.is_synthetic, count(*) FROM core.observations o "
        "JOIN meta.sources s USING (source) GROUP BY ALL").fetchall())
    sources = {r[0]: r[1] for r in con.execute(
        "SELECT DISTINCT o.source, s.kind FROM core.observations o JOIN meta.sources s "
        "USING (source)").fetchall()}
    con.close()
    # The synthetic extract, and the real published files of data/real beside it: nothing else.
    assert set(kinds) == {("synthetic", True), ("published", False)}
    assert sources["synthetic_demo"] == "synthetic"
    assert {s for s, k in sources.items() if k == "published"} == {
        "police_uk_street", "police_uk_stop_search", "home_office_crime_outcomes",
        "home_office_stop_search_totals"}
    rows = query_json(demo_db, "obtj", "--area", "Kent")
    assert rows and all(r["synthetic"] for r in rows)
    real = query_json(demo_db, "recorded_crime", "--area", "Cumbria", "--grain", "month")
    jan = next(r for r in real if r["period_label"] == "Jan 2021")
    assert jan["source"] == "police_uk_street" and jan["synthetic"] is False


def test_demo_build_is_reused_and_the_cli_reports_errors(demo_db: Path, tmp_path: Path) -> None:
    assert "already built" in build_demo(demo_db, echo=lambda _: None)
    bad_area = runner.invoke(app, ["query", "obtj", "--area", "Narnia", "--db", str(demo_db)])
    assert bad_area.exit_code == 1 and "unknown area 'Narnia'" in bad_area.output
    bad_ind = runner.invoke(app, ["query", "nope", "--db", str(demo_db)])
    assert bad_ind.exit_code == 1 and "no indicator 'nope'" in bad_ind.output
    missing = runner.invoke(app, ["query", "obtj", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "cjsdash demo" in missing.output


def test_ingest_command_loads_refuses_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    good = tmp_path / "extract.csv"
    good.write_text("area,period,measure,numerator,denominator\n"
                    "Kent,2024-25 Q1,witness_attendance,800,1000\n", encoding="utf-8")
    first = runner.invoke(app, ["ingest", str(good), "--db", str(db)])
    assert first.exit_code == 0 and "1 row read, 0 rejected; 2 figures loaded" in first.output
    again = runner.invoke(app, ["ingest", str(good), "--db", str(db)])
    assert again.exit_code == 0 and "already loaded" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("who,when\nKent,2024\n", encoding="utf-8")
    refused = runner.invoke(app, ["ingest", str(bad), "--db", str(db), "--source", "board_extract"])
    assert refused.exit_code == 2 and "bad.csv: refused: missing column(s)" in refused.output
    with duckdb.connect(str(db), read_only=True) as con:  # the logged refusal is in the mart
        from metrics import mart

        assert mart.ready(con)
    rows = query_json(db, "witness_attendance", "--area", "Kent")
    assert rows[0]["value"] == pytest.approx(80.0)


def test_refresh_command_keeps_or_remakes_the_plan(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    extract = tmp_path / "trials.csv"
    extract.write_text("area,period,measure,numerator,denominator\n"
                       "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,3,40\n"
                       "Lancashire,2024-25 Q1,ineffective_trial_rate_crown,12,80\n"
                       "Merseyside,2024-25 Q1,ineffective_trial_rate_crown,15,90\n",
                       encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(extract), "--db", str(db)]).exit_code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        plan = con.execute("SELECT * FROM mart.withheld ORDER BY ALL").fetchall()
    assert any(row[-1] for row in plan)  # Cumbria's 3 is withheld, with complements
    kept = runner.invoke(app, ["refresh", "--db", str(db)])
    assert kept.exit_code == 0 and "figures up to date" in kept.output
    remade = runner.invoke(app, ["refresh", "--replan", "--db", str(db)])
    assert remade.exit_code == 0, remade.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM mart.withheld ORDER BY ALL").fetchall() == plan
    missing = runner.invoke(app, ["refresh", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "cjsdash demo" in missing.output
    assert not (tmp_path / "none.duckdb").exists()


def test_validate_and_indicators_commands() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0 and "0 problem(s)" in result.output
    listed = runner.invoke(app, ["indicators", "--format", "json"])
    ids = {row["id"] for row in json.loads(listed.output)}
    assert {"obtj", "charge_rate", "disparity_ratio", "ineffective_trial_rate_mags"} <= ids


def test_loaded_counts_are_per_theme_complete(demo_db: Path) -> None:
    """Every registry indicator has figures for every LCJB area in the demo."""
    counts: dict[str, set[str]] = defaultdict(set)
    con = duckdb.connect(str(demo_db), read_only=True)
    for measure, area in con.execute(
        "SELECT DISTINCT measure, area_code FROM core.area_observations "
        "WHERE area_code LIKE 'CJA%'").fetchall():
        counts[measure].add(area)
    con.close()
    from cjsdash.demo.synthetic import load_calibration
    from metrics.registry import default_registry

    published_only = set(load_calibration()["published_only"])  # fed by real files only
    for ind in default_registry().indicators:
        if ind.id not in published_only:
            assert len(counts[ind.numerator.measure]) == 42, ind.id


def test_serve_asks_whether_the_mart_is_current_without_importing_it(demo_db: Path,
                                                                      tmp_path: Path) -> None:
    """``cjsdash serve``'s parent prepares the warehouse before its workers start: on a
    current mart it neither refreshes nor imports the mart's machinery (decision 35)."""
    import shutil
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    probe = ("import sys; from pathlib import Path; from cjsdash.cli import prepare_to_serve; "
             f"print(prepare_to_serve(Path({str(path)!r}))[1], "
             "sorted(m for m in ('metrics.mart', 'metrics.compute', 'cjsdash.bootstrap') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.splitlines()[0] == "None []", done.stdout + done.stderr
