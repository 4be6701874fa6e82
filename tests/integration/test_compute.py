"""compute_indicators on a real in-memory warehouse: grains, rollup, suppression, targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import write_csv

REG = default_registry()


def load(con, tmp_path: Path, text: str, name: str = "x.csv") -> None:
    [report] = ingest_paths(con, [write_csv(tmp_path / name, text)])
    assert report.status == "loaded", report.line()
    assert not report.rejects, [r.describe(name) for r in report.rejects]


def monthly(area: str, measure: str, values: list[int], start_year: int = 2023) -> str:
    rows = []
    for i, v in enumerate(values):
        year, month = start_year + (3 + i) // 12, (3 + i) % 12 + 1
        rows.append(f"{area},{year}-{month:02d},{measure},{v}")
    return "\n".join(rows)


def test_grains_sum_complete_periods_only(con, tmp_path: Path) -> None:
    # 14 months Apr 2023 .. May 2024 of recorded crime for Kent
    values = list(range(100, 114))
    load(con, tmp_path, "area,period,measure,numerator\n" + monthly("Kent", "recorded_crime", values))
    fy = compute_indicators(con, REG, ["recorded_crime"], ["E23000032"], grain="fy")
    assert fy["period_label"].to_list() == ["2023-24"]  # 2024-25 has two months: left out
    assert fy["value"][0] == sum(values[:12])
    r12 = compute_indicators(con, REG, ["recorded_crime"], ["E23000032"], grain="r12")
    assert r12["period_label"].to_list() == [
        "year ending March 2024", "year ending April 2024", "year ending May 2024"]
    assert r12["value"].to_list() == [sum(values[i:i + 12]) for i in range(3)]
    q = compute_indicators(con, REG, ["recorded_crime"], ["E23000032"], grain="fquarter")
    assert q["period_label"][0] == "2023-24 Q1" and q["value"][0] == sum(values[:3])


def test_stocks_take_the_period_end_value(con, tmp_path: Path) -> None:
    text = "area,period,measure,numerator\n" + "\n".join(
        f"Kent,2024-25 Q{q},fta_warrants_outstanding,{v}" for q, v in zip(range(1, 5),
                                                                           [300, 280, 260, 250], strict=True))
    load(con, tmp_path, text)
    fy = compute_indicators(con, REG, ["fta_warrants_outstanding"], ["E23000032"], grain="fy")
    assert fy["value"].to_list() == [250]


def test_london_is_met_plus_city_and_partial_totals_are_never_shown(con, tmp_path: Path) -> None:
    load(con, tmp_path, "area,period,measure,numerator,denominator\n"
         "Metropolitan Police Service,2024-25 Q1,witness_attendance,800,1000\n"
         "London, City of,2024-25 Q1,witness_attendance,30,40\n".replace(
             "London, City of", '"London, City of"'))
    london = compute_indicators(con, REG, ["witness_attendance"], ["CJA01", "E12000007"])
    assert london["numerator"].to_list() == [830, 830]
    assert london["denominator"].to_list() == [1040, 1040]
    national = compute_indicators(con, REG, ["witness_attendance"], ["K04000001"])
    assert national.height == 0  # 41 other areas missing: no England & Wales figure


def test_small_cells_are_suppressed_with_a_second_cell_and_numbers_removed(con, tmp_path) -> None:
    rows = ["area,period,measure,numerator,ethnicity"]
    for group, count in [("White", 400), ("Black", 60), ("Asian", 3), ("Mixed", 20),
                         ("Other", 9)]:
        rows.append(f"Kent,2024-06,stop_search_rate,{count},{group}")
    rows.append("Kent,2024-06,stop_search_rate,492,")
    load(con, tmp_path, "\n".join(rows))
    con.execute("INSERT INTO core.populations VALUES "
                "('E23000032', 2011, '', '', '', 1700000, 'Census 2011', 'v', 0, TRUE)")
    for group, pop in [("White", 1500000), ("Black", 30000), ("Asian", 80000),
                       ("Mixed", 40000), ("Other", 50000)]:
        con.execute("INSERT INTO core.populations VALUES (?, 2011, ?, '', '', ?, "
                    "'Census 2011', 'v', 0, TRUE)", ["E23000032", group, pop])
    frame = compute_indicators(con, REG, ["stop_search_rate"], ["E23000032"], grain="month",
                               by="ethnicity")
    by_group = {r["breakdown"]: r for r in frame.iter_rows(named=True)}
    assert by_group["Asian"]["suppressed"] and by_group["Asian"]["numerator"] is None
    assert by_group["Asian"]["note"].startswith("suppressed: count below 5")
    assert by_group["Other"]["suppressed"] and by_group["Other"]["value"] is None
    assert not by_group["Black"]["suppressed"]
    assert by_group["Black"]["value"] == pytest.approx(60 / 30000 * 1000)
    assert by_group["Black"]["method"] == "byar"
    total = compute_indicators(con, REG, ["stop_search_rate"], ["E23000032"], grain="month")
    assert total["value"][0] == pytest.approx(492 / 1700000 * 1000)
    assert "denominator: Census 2011" in total["note"][0]


def test_local_target_beats_national_and_status_follows_polarity(con, tmp_path: Path) -> None:
    load(con, tmp_path, "area,period,measure,numerator,denominator\n"
         "Kent,2024-25 Q1,breach_days_mean,4000,100\n"
         "Essex,2024-25 Q1,breach_days_mean,3000,100\n")
    con.execute("INSERT INTO core.targets VALUES ('breach_days_mean', 'E23000032', NULL, NULL, "
                "45, 'target', 'Kent LCJB', NULL)")
    frame = compute_indicators(con, REG, ["breach_days_mean"], ["E23000032", "E23000028"])
    kent, essex = frame.filter(frame["area_code"] == "E23000032").row(0, named=True), \
        frame.filter(frame["area_code"] == "E23000028").row(0, named=True)
    assert (kent["value"], kent["target"], kent["status"]) == (40, 45, "met")
    assert (essex["value"], essex["target"], essex["status"]) == (30, 35, "met")
    assert kent["method"] == "none"
