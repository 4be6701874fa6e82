"""Decision 0012: every grain is built from the same tiles, so revisions at month, quarter and
year grain change every period that contains them (the financial year, the rolling year)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import write_csv

REG = default_registry()
CUMBRIA = "E23000002"
IND = "ineffective_trial_rate_crown"
HEADER = "area,period,measure,numerator,denominator\n"
# Apr 2025 .. Mar 2026: 39 ineffective trials of 411 listed, as the old months read.
MONTHS = [(3, 34), (4, 35), (3, 33), (4, 36), (3, 34), (3, 33),
          (4, 35), (3, 34), (3, 33), (3, 35), (3, 34), (3, 35)]
MONTH_LABELS = [f"{2025 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(12)]


def load(con, path: Path, text: str) -> None:
    [report] = ingest_paths(con, [write_csv(path, HEADER + text)])
    assert report.status == "loaded" and not report.rejects, report.line()


def months_text(values=MONTHS) -> str:
    return "".join(f"Cumbria,{p},{IND},{x},{n}\n" for p, (x, n) in zip(MONTH_LABELS, values,
                                                                       strict=True))


def figures(con, grain: str) -> dict[str, tuple[float, float, str]]:
    frame = compute_indicators(con, REG, [IND], [CUMBRIA], grain=grain)
    return {r["period_label"]: (r["numerator"], r["denominator"], r["built_from"])
            for r in frame.iter_rows(named=True)}


def test_the_old_months_make_every_grain(con, tmp_path: Path) -> None:
    load(con, tmp_path / "months.csv", months_text())
    assert sum(x for x, _ in MONTHS) == 39 and sum(n for _, n in MONTHS) == 411
    assert figures(con, "fy")["2025-26"] == (39, 411, "12 months")
    assert figures(con, "fquarter")["2025-26 Q4"] == (9, 104, "3 months")


def test_a_quarter_loaded_after_its_months_changes_the_year_and_rolling_year(con, tmp_path):
    load(con, tmp_path / "months.csv", months_text())
    load(con, tmp_path / "quarter.csv", f"Cumbria,2025-26 Q4,{IND},100,400\n")
    quarter = figures(con, "fquarter")
    assert quarter["2025-26 Q4"] == (100, 400, "1 quarter")
    assert quarter["2025-26 Q3"] == (10, 102, "3 months")  # untouched
    fy = figures(con, "fy")["2025-26"]
    assert fy == (39 - 9 + 100, 411 - 104 + 400, "9 months + 1 quarter")
    r12 = figures(con, "r12")
    assert r12["year ending March 2026"] == fy
    frame = compute_indicators(con, REG, [IND], [CUMBRIA], grain="fy")
    assert frame["value"][0] == pytest.approx(100 * 130 / 707)
    # A month cannot be made from a quarter: at month grain the months stay as loaded (the
    # only figures for them at that grain), and every coarser grain uses the quarter.
    monthly = compute_indicators(con, REG, [IND], [CUMBRIA], grain="month")
    january = monthly.filter(monthly["period_label"] == "Jan 2026").row(0, named=True)
    assert january["built_from"] == "1 month" and january["suppressed"]  # 3 of 35: small


def test_a_month_loaded_after_its_quarter_brings_the_months_back(con, tmp_path):
    load(con, tmp_path / "months.csv", months_text())
    load(con, tmp_path / "quarter.csv", f"Cumbria,2025-26 Q4,{IND},100,400\n")
    load(con, tmp_path / "february.csv", f"Cumbria,2026-02,{IND},5,40\n")
    q4 = figures(con, "fquarter")["2025-26 Q4"]
    assert q4 == (3 + 5 + 3, 35 + 40 + 35, "3 months")  # the quarter is superseded in part
    assert figures(con, "fy")["2025-26"] == (39 - 3 + 5, 411 - 34 + 40, "12 months")


def test_a_year_loaded_after_its_months_is_the_year_and_its_rolling_year(con, tmp_path):
    load(con, tmp_path / "months.csv", months_text())
    load(con, tmp_path / "year.csv", f"Cumbria,2025-26,{IND},50,420\n")
    assert figures(con, "fy")["2025-26"] == (50, 420, "1 year")
    assert figures(con, "r12")["year ending March 2026"] == (50, 420, "1 year")
    # rolling years that cut through 2025-26 cannot be made from it
    assert "year ending February 2026" not in figures(con, "r12")
    # quarters are finer than the year: they stay as their months make them
    assert figures(con, "fquarter")["2025-26 Q4"] == (9, 104, "3 months")


def test_one_file_with_months_and_their_quarter_uses_the_months(con, tmp_path):
    text = months_text() + f"Cumbria,2025-26 Q4,{IND},9,104\n"
    load(con, tmp_path / "both.csv", text)
    assert figures(con, "fquarter")["2025-26 Q4"] == (9, 104, "3 months")
    assert figures(con, "fy")["2025-26"] == (39, 411, "12 months")


def test_a_revised_month_revises_its_quarter_year_and_rolling_years(con, tmp_path):
    load(con, tmp_path / "months.csv", months_text())
    revised = list(MONTHS)
    revised[9] = (13, 35)  # January 2026
    load(con, tmp_path / "revised.csv", months_text(revised))
    assert figures(con, "month")["Jan 2026"] == (13, 35, "1 month")
    assert figures(con, "fquarter")["2025-26 Q4"] == (19, 104, "3 months")
    assert figures(con, "fy")["2025-26"] == (49, 411, "12 months")
    assert figures(con, "r12")["year ending March 2026"] == (49, 411, "12 months")


def test_stocks_take_the_latest_tile_at_the_period_end(con, tmp_path):
    text = "".join(f"Kent,{p},fta_warrants_outstanding,{300 - i}\n"
                   for i, p in enumerate(MONTH_LABELS))
    [report] = ingest_paths(con, [write_csv(tmp_path / "stock.csv",
                                            "area,period,measure,numerator\n" + text)])
    assert report.status == "loaded"
    [again] = ingest_paths(con, [write_csv(tmp_path / "q.csv", "area,period,measure,numerator\n"
                                           "Kent,2025-26 Q4,fta_warrants_outstanding,250\n")])
    assert again.status == "loaded"
    frame = compute_indicators(con, REG, ["fta_warrants_outstanding"], ["E23000032"], grain="fy")
    assert frame["value"].to_list() == [250] and frame["built_from"][0] == "1 quarter"


def test_a_better_source_revises_part_of_another_sources_year(con, tmp_path):
    """The issue's case: the months (or quarters) came from one source, the revised quarter
    from a more authoritative one (a board extract over the synthetic demo)."""
    text = "area,period,measure,numerator,denominator,source\n" + "".join(
        f"Cumbria,{p},{IND},{x},{n},synthetic_demo\n"
        for p, (x, n) in zip(MONTH_LABELS, MONTHS, strict=True))
    [report] = ingest_paths(con, [write_csv(tmp_path / "demo.csv", text)])
    assert report.status == "loaded"
    load(con, tmp_path / "quarter.csv", f"Cumbria,2025-26 Q4,{IND},100,400\n")
    frame = compute_indicators(con, REG, [IND], [CUMBRIA], grain="fy")
    year = frame.row(0, named=True)
    assert (year["numerator"], year["denominator"]) == (130, 707)
    assert year["source"] == "board_extract + synthetic_demo" and year["synthetic"]
    assert year["built_from"] == "9 months (synthetic_demo) + 1 quarter (board_extract)"
    quarter = compute_indicators(con, REG, [IND], [CUMBRIA], grain="fquarter")
    q4 = quarter.filter(quarter["period_label"] == "2025-26 Q4").row(0, named=True)
    assert (q4["numerator"], q4["source"], q4["synthetic"]) == (100, "board_extract", False)


def test_a_coarse_figure_partly_covered_by_a_better_source_falls_back_to_its_own(con, tmp_path):
    # A board extract month (priority 10) inside a published year (another source, 30):
    # the year cannot be made from tiles, so the published year is shown as it was.
    text = ("area,period,measure,numerator,source\n"
            "Kent,2024-25,recorded_crime,120000,Home Office recorded crime\n")
    [published] = ingest_paths(con, [write_csv(tmp_path / "year.csv", text)])
    assert published.status == "loaded"
    load_kent = ("area,period,measure,numerator\nKent,2024-06,recorded_crime,9800\n")
    [month] = ingest_paths(con, [write_csv(tmp_path / "month.csv", load_kent)])
    assert month.status == "loaded"
    fy = compute_indicators(con, REG, ["recorded_crime"], ["E23000032"], grain="fy")
    assert fy["value"].to_list() == [120000] and fy["source"][0] == "Home Office recorded crime"
    monthly = compute_indicators(con, REG, ["recorded_crime"], ["E23000032"], grain="month")
    assert monthly["value"].to_list() == [9800]
