"""File → warehouse: the board performance extract, good and bad."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from ingest import load as load_module
from ingest.pipeline import ingest_paths
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import write_csv

GOOD = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100
Cumbria,2024-25 Q2,ineffective_trial_rate_crown,15,110
Devon & Cornwall Police,2024-25 Q1,ineffective_trial_rate_crown,40,300
"""


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple:
    """Everything in core, as a comparable value."""
    out = []
    for table in ("core.observations", "core.populations", "core.targets"):
        out.append(con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} AS t").fetchone())  # noqa: S608
    return tuple(out)


def test_good_file_loads_and_query_matches_independent_wilson(con, tmp_path: Path) -> None:
    [report] = ingest_paths(con, [write_csv(tmp_path / "extract.csv", GOOD)])
    con.execute("INSERT INTO core.targets VALUES ('ineffective_trial_rate_crown', 'E23000035', "
                "NULL, NULL, 12.5, 'target', 'Devon and Cornwall LCJB plan', NULL)")
    assert report.status == "loaded"
    assert report.rows_rejected == 0
    assert report.rows_loaded == 6  # three rows, each a numerator and a denominator
    frame = compute_indicators(con, default_registry(), ["ineffective_trial_rate_crown"],
                               ["E23000035"], grain="fquarter")
    row = frame.row(0, named=True)
    x, n, z = 40, 300, 1.959963984540054
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    assert row["period_label"] == "2024-25 Q1"
    assert row["value"] == pytest.approx(100 * x / n)
    assert row["lower"] == pytest.approx(100 * (centre - half))
    assert row["upper"] == pytest.approx(100 * (centre + half))
    assert row["method"] == "wilson"
    assert row["target"] == pytest.approx(12.5)
    assert row["status"] == "not met"


def test_loading_the_same_file_twice_changes_nothing(con, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "extract.csv", GOOD)
    ingest_paths(con, [path])
    before = snapshot(con)
    runs = con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone()
    [again] = ingest_paths(con, [path])
    assert again.status == "unchanged"
    assert "already loaded" in again.line()
    assert snapshot(con) == before
    assert con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone() == runs


def test_a_revised_file_keeps_the_old_vintage(con, tmp_path: Path) -> None:
    ingest_paths(con, [write_csv(tmp_path / "v1.csv", GOOD)])
    revised = GOOD.replace("Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100",
                           "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,14,100")
    [report] = ingest_paths(con, [write_csv(tmp_path / "v2.csv", revised)])
    assert (report.rows_revised, report.rows_loaded, report.rows_unchanged) == (1, 0, 5)
    history = con.execute(
        "SELECT value, is_current FROM core.observations WHERE measure = "
        "'trials_ineffective_crown' AND area_code = 'E23000002' "
        "AND period_start = DATE '2024-04-01' ORDER BY run_id"
    ).fetchall()
    assert history == [(12.0, False), (14.0, True)]
    frame = compute_indicators(con, default_registry(), ["ineffective_trial_rate_crown"],
                               ["E23000002"], grain="quarter")
    assert frame.filter(frame["period_label"] == "Apr\u2013Jun 2024")["numerator"][0] == 14


BAD_ROWS = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100
Narnia,2024-25 Q1,ineffective_trial_rate_crown,12,100
Cumbria,2024-25 Q9,ineffective_trial_rate_crown,12,100
Cumbria,2024-25 Q2,ineffective_trial_rate_crown,abc,100
Cumbria,2024-25 Q3,ineffective_trial_rate_crown,-4,100
Cumbria,2024-25 Q4,ineffective_trial_rate_crown,120,100
Cumbria,2024-25 Q4,not_an_indicator,1,2
Cumbria,2023-24 Q4,ineffective_trial_rate_crown,7,
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,13,100
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100
"""


def test_each_bad_row_is_quarantined_with_row_column_and_reason(con, tmp_path: Path) -> None:
    # 9 of 10 rows are bad: allowed here, to see every reason (refused by default, see
    # tests/integration/test_revisions.py)
    [report] = ingest_paths(con, [write_csv(tmp_path / "mixed.csv", BAD_ROWS)],
                            max_reject_share=1.0)
    assert report.status == "loaded"
    found = {(r.row, r.column): r.reason for r in report.rejects}
    assert found[(3, "area")].startswith("unknown area")
    assert found[(4, "period")].startswith("unreadable period")
    assert found[(5, "numerator")] == "not a number"
    assert found[(6, "numerator")].startswith("negative")
    assert found[(7, "numerator")] == "numerator is above the denominator"
    assert found[(8, "measure")].startswith("unknown measure")
    assert found[(9, "denominator")].startswith("missing denominator")
    assert found[(10, "measure")].startswith("conflict")
    assert found[(11, "measure")].startswith("duplicate")
    assert len(report.rejects) == 9
    stored = con.execute(
        "SELECT row_number, column_name, value, reason FROM meta.rejects "
        "WHERE run_id = ? ORDER BY row_number", [report.run_id]).fetchall()
    assert [(r[0], r[1]) for r in stored] == sorted(found)
    assert stored[0][2] == "Narnia"
    assert con.execute("SELECT count(*) FROM core.observations").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"area,period,measure,numerator\n", "header but no data rows"),
        (b"region,when,what\nCumbria,2024,x\n", "missing column(s) area, period, measure"),
        (b"PK\x03\x04garbage that is not a workbook", "not a readable spreadsheet"),
        (b"area,period,measure,numerator\nNarnia,2024-25,obtj,5\n", "no row could be loaded"),
    ],
)
def test_a_bad_file_leaves_the_warehouse_exactly_as_it_was(con, tmp_path: Path, content: bytes,
                                                            reason: str) -> None:
    ingest_paths(con, [write_csv(tmp_path / "base.csv", GOOD)])
    before = snapshot(con)
    name = "bad.xlsx" if content.startswith(b"PK") else "bad.csv"
    path = tmp_path / name
    path.write_bytes(content)
    [report] = ingest_paths(con, [path], loader_name="board_extract")
    assert report.status == "refused"
    assert reason in report.message
    assert snapshot(con) == before
    logged = con.execute("SELECT status, message FROM meta.ingest_runs WHERE run_id = ?",
                         [report.run_id]).fetchone()
    assert logged[0] == "refused" and reason in logged[1]


def test_windows_1252_and_bom_are_read(con, tmp_path: Path) -> None:
    text = ("area,period,measure,numerator,denominator,source\n"
            "Dyfed-Powys,2024-25 Q1,ineffective_trial_rate_crown,9,90,Llys Ynad Ynys M\u00f4n \u00a3\n")
    [cp] = ingest_paths(con, [write_csv(tmp_path / "excel.csv", text, "cp1252")])
    assert cp.status == "loaded" and "Windows-1252" in cp.message
    src = con.execute("SELECT DISTINCT source FROM core.observations").fetchone()[0]
    assert src == "Llys Ynad Ynys M\u00f4n \u00a3"
    bom = "\ufeff" + GOOD
    [utf] = ingest_paths(con, [write_csv(tmp_path / "bom.csv", bom)])
    assert utf.status == "loaded" and utf.rows_rejected == 0


def test_spreadsheet_extract_loads_like_the_csv(con, tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "extract.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    for r, line in enumerate(GOOD.strip().splitlines()):
        for c, cell in enumerate(line.split(",")):
            sheet.write_number(r, c, int(cell)) if cell.isdigit() else sheet.write(r, c, cell)
    book.close()
    [report] = ingest_paths(con, [path])
    assert report.loader == "board_extract" and report.rows_loaded == 6


def test_a_failure_mid_load_rolls_back_everything(con, tmp_path: Path, monkeypatch) -> None:
    ingest_paths(con, [write_csv(tmp_path / "base.csv", GOOD)])
    before = snapshot(con)
    runs_before = con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("ingest.pipeline_writes._insert_rejects", explode)
    bad = GOOD.replace("12,100", "13,100") + "Narnia,2024-25 Q1,obtj,5,\n"
    with pytest.raises(RuntimeError):
        ingest_paths(con, [write_csv(tmp_path / "next.csv", bad)])
    assert snapshot(con) == before
    assert con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone() == runs_before
    assert load_module is not None
