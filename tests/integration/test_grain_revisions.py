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
    # The months the quarter replaced no longer show: they would not add up to it.
    monthly = figures(con, "month")
    assert "Dec 2025" in monthly
    assert not {"Jan 2026", "Feb 2026", "Mar 2026"} & set(monthly)


def test_a_month_loaded_after_its_quarter_brings_the_months_back(con, tmp_path):
    load(con, tmp_path / "months.csv", months_text())
    load(con, tmp_path / "quarter.csv", f"Cumbria,2025-26 Q4,{IND},100,400\n")
    load(con, tmp_path / "february.csv", f"Cumbria,2026-02,{IND},5,40\n")
    q4 = figures(con, "fquarter")["2025-26 Q4"]
    assert q4 == (3 + 5 + 3, 35 + 40 + 35, "3 months")  # the quarter is superseded in part
    assert figures(con, "fy")["2025-26"] == (39 - 3 + 5, 411 - 34 + 40, "12 months")


def test_a_year_loaded_after_its_months_is_the_year_and_hides_its_quarters(con, tmp_path):
    load(con, tmp_path / "months.csv", months_text())
    load(con, tmp_path / "year.csv", f"Cumbria,2025-26,{IND},50,420\n")
    assert figures(con, "fy")["2025-26"] == (50, 420, "1 year")
    assert figures(con, "r12")["year ending March 2026"] == (50, 420, "1 year")
    assert not any(label.startswith("2025-26") for label in figures(con, "fquarter"))


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
