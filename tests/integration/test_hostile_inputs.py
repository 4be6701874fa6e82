"""Issue 13, items 1-8 and 13-15: each hostile input reproduces no more."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cjsdash.cli import app, prepare_to_serve
from cjsdash.core.gateway import Warehouse
from cjsdash.core.periods import LAST_YEAR, PeriodError, parse_period
from ingest import spreadsheets
from ingest.base import MAX_REJECT_ROWS, MAX_VALUE_CHARS
from ingest.pipeline import ingest_batch, ingest_paths
from tests.integration.hostile_helpers import checksums, non_finite_values

pytestmark = pytest.mark.usefixtures("quarantine_every_bad_row")  # row-level tests


CORPUS = Path(__file__).resolve().parents[1] / "data" / "malformed" / "files"
REPO = Path(__file__).resolve().parents[2]
HEADER = "area,period,measure,numerator,denominator\n"
ROW = "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100\n"
runner = CliRunner()


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# 1 -------------------------------------------------------------------------------------------
def test_1_a_cell_at_XFD1048576_is_refused_without_reading_the_grid(con, tmp_path) -> None:
    started = time.perf_counter()
    [report] = ingest_paths(con, [CORPUS / "cell_at_XFD1048576.xlsx"])
    assert time.perf_counter() - started < 5
    assert report.status == "refused"
    assert "reaches cell XFD1048576 (1,048,576 rows × 16,384 columns)" in report.message


def test_1_a_workbook_is_parsed_once_for_detection_and_reading(con, tmp_path, monkeypatch
                                                               ) -> None:
    calls = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        calls.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(spreadsheets.subprocess, "run", counting_run)
    data = (CORPUS / "good.xlsx").read_bytes().replace(b"Cumbria", b"Cumbria", 1)
    spreadsheets._CACHE.clear()
    [report] = ingest_paths(con, [_write(tmp_path / "board.xlsx", data)])
    assert report.status in ("loaded", "unchanged"), report.line()
    assert len(calls) == 1


def test_1_the_reader_runs_with_a_memory_ceiling(monkeypatch) -> None:
    """A sheet within the extent limits that still needs more memory than the ceiling is a
    refusal, not an aborted process (here: 4,900 rows x 1,000 columns under 200 MB)."""
    monkeypatch.syspath_prepend(str(CORPUS.parent))
    from make_corpus import GOOD, sheet_cells, xlsx

    monkeypatch.setattr(spreadsheets, "MEMORY_LIMIT", 200 * 1024 * 1024)
    monkeypatch.setattr(spreadsheets, "TIME_LIMIT", 20.0)
    spreadsheets._CACHE.clear()
    data = xlsx([*sheet_cells(GOOD), ("ALL4900", "x")])
    with pytest.raises(spreadsheets.FileRefused) as refused:
        spreadsheets.read_sheet_rows("far.xlsx", data)
    assert "needs more than 200 MB" in refused.value.reason
    spreadsheets._CACHE.clear()


# 2 -------------------------------------------------------------------------------------------
def test_2_a_csv_of_100004_columns_is_refused_in_well_under_5_seconds(con, tmp_path) -> None:
    columns = ",".join(f"c{i}" for i in range(100_000)) + ",area,period,measure,numerator"
    path = _write(tmp_path / "wide.csv", columns + "\n" + ",".join(["1"] * 100_004) + "\n")
    started = time.perf_counter()
    [report] = ingest_paths(con, [path])
    forced = ingest_paths(con, [path], loader_name="board_extract")[0]
    assert time.perf_counter() - started < 5
    assert report.status == forced.status == "refused"
    assert "100,004 columns" in report.message and "100,004 columns" in forced.message


# 3 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("label", ["0001-01-01/9999-12-31", "0000-01", "FY9999-00", "1066",
                                   f"{LAST_YEAR + 1}-01"])
def test_3_periods_outside_the_sane_years_are_row_rejects(con, tmp_path, label) -> None:
    with pytest.raises(PeriodError):
        parse_period(label)
    path = _write(tmp_path / "p.csv", HEADER + ROW + f"Cumbria,{label},"
                  "ineffective_trial_rate_crown,5,10\n")
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded" and report.rows_rejected == 1
    assert report.rejects[0].row == 3 and report.rejects[0].column == "period"
    earliest = con.execute("SELECT min(period_start), max(period_end) FROM core.observations"
                           ).fetchone()
    assert earliest[0].year >= 1990 and earliest[1].year <= LAST_YEAR


# 4 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_4_non_finite_numbers_are_rejected_as_such(con, tmp_path, bad) -> None:
    path = _write(tmp_path / "n.csv", HEADER + ROW + "Cumbria,2024-25 Q2,"
                  f"ineffective_trial_rate_crown,5,{bad}\n")
    [report] = ingest_paths(con, [path])
    assert report.rows_rejected == 1
    assert report.rejects[0].column == "denominator"
    assert report.rejects[0].reason.startswith("not a finite number")
    assert non_finite_values(con) == 0


# 5 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "reason"), [
    ("truncated.zip", "not a readable ZIP"), ("not_a_zip.zip", "not a readable ZIP"),
    ("bad_crc.zip", "nothing in it was loaded"), ("empty.zip", "the ZIP holds no files"),
])
def test_5_broken_zips_are_refused_without_a_traceback(tmp_path, name, reason) -> None:
    db = tmp_path / "w.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "cjsdash.cli", "ingest", str(CORPUS / name), "--db", str(db)],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert reason in done.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        status, message = con.execute("SELECT status, message FROM meta.ingest_runs").fetchone()
    assert status == "refused" and reason in message


def test_5_a_member_with_a_bad_crc_refuses_the_whole_zip(con, tmp_path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.csv", HEADER + ROW)
        archive.writestr("b.csv", HEADER + ROW.replace("Q1", "Q2"))
    data = buffer.getvalue()
    at = data.index(b"Q2,ineff")
    path = _write(tmp_path / "x.zip", data[:at] + b"Q3" + data[at + 2:])
    before = checksums(con)
    [report] = ingest_paths(con, [path])
    assert report.status == "refused" and "damaged" in report.message
    assert checksums(con) == before


# 6 -------------------------------------------------------------------------------------------
def test_6_police_files_with_cr_cr_lf_or_a_cr_in_the_last_line_load(con) -> None:
    for name in ("2021-01-city-of-london-street-crcrlf.csv",
                 "2021-01-city-of-london-street-cr-last.csv",
                 "2021-01-city-of-london-street-cr-inside-last.csv"):
        [report] = ingest_paths(con, [CORPUS / name], loader_name="police_uk_street")
        assert report.status in ("loaded", "unchanged"), report.line()


# 7 -------------------------------------------------------------------------------------------
def test_7_a_named_file_that_cannot_be_loaded_exits_non_zero_and_is_logged(tmp_path) -> None:
    db = tmp_path / "w.duckdb"
    for name, reason in (("empty.csv", "empty"), ("semicolons.csv", "semicolons"),
                         ("png_named.xlsx", "PNG"), ("no_measure.csv", "without column(s) "
                                                                         "measure")):
        result = runner.invoke(app, ["ingest", str(CORPUS / name), "--db", str(db)])
        assert result.exit_code == 2, result.output
        assert f"{name}: refused:" in result.output and reason in result.output
        assert "1 refused" in result.output
    with duckdb.connect(str(db), read_only=True) as con:
        logged = con.execute("SELECT file_name, status, loader FROM meta.ingest_runs "
                             "ORDER BY run_id").fetchall()
        reasons = con.execute("SELECT reason FROM meta.rejects").fetchall()
    assert [(f, s) for f, s, _ in logged] == [
        ("empty.csv", "refused"), ("semicolons.csv", "refused"),
        ("png_named.xlsx", "refused"), ("no_measure.csv", "refused")]
    assert len(reasons) == 4


def test_7_a_folder_lists_what_it_skipped_and_says_so_in_its_exit_status(tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _write(folder / "extract.csv", HEADER + ROW)
    _write(folder / "notes.md", "# notes\n")
    _write(folder / "picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(50))
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 3, result.output
    assert "picture.csv: skipped: the file is a PNG image" in result.output
    assert "3 file(s): 1 loaded, 0 unchanged, 0 refused, 2 skipped (1 not recognised" in (
        result.output)


def test_7_a_utf16_extract_with_a_bom_loads(con) -> None:
    [report] = ingest_paths(con, [CORPUS / "utf16_bom.csv"])
    assert report.status == "loaded" and report.rows_rejected == 0


# 8 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [ROW.strip() + ",extra", '"Cumbria,2024-25 Q2,x,1,2',
                                 'Cumbria,"2024"-25,x,1,2'])
def test_8_one_malformed_row_is_quarantined_not_the_file(con, tmp_path, bad) -> None:
    good_later = ROW.replace("Q1", "Q3")
    path = _write(tmp_path / "q.csv", HEADER + ROW + bad + "\n" + good_later)
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded", report.line()
    assert report.rows_rejected == 1
    [reject] = report.rejects
    assert reject.row == 3 and "quarantined" in reject.reason
    assert reject.value == bad
    stored = con.execute("SELECT row_number, reason FROM meta.rejects WHERE run_id = ?",
                         [report.run_id]).fetchall()
    assert stored == [(3, reject.reason)]
    assert report.rows_loaded + report.rows_unchanged == 4  # rows 2 and 4, two measures each


# 13 ------------------------------------------------------------------------------------------
def test_13_a_10_MB_cell_is_neither_echoed_nor_stored_whole(tmp_path) -> None:
    db = tmp_path / "w.duckdb"
    path = _write(tmp_path / "big.csv", HEADER + ROW + "Cumbria,2024-25 Q2,"
                  "ineffective_trial_rate_crown," + "9" * 10_000_000 + "x,10\n")
    result = runner.invoke(app, ["ingest", str(path), "--db", str(db)])
    assert result.exit_code == 0
    assert len(result.output) < 5_000
    assert "[cut: 10,000,001 characters]" in result.output
    with duckdb.connect(str(db), read_only=True) as con:
        longest = con.execute("SELECT max(length(value)) FROM meta.rejects").fetchone()[0]
    assert longest <= MAX_VALUE_CHARS + 40


def test_13_a_small_zip_of_a_million_bad_rows_stores_a_bounded_sample(con, tmp_path) -> None:
    rows = "Atlantis,2024-06,ineffective_trial_rate_crown,1,2\n" * 300_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bad.csv", HEADER + ROW + rows)
    path = _write(tmp_path / "bomb.zip", buffer.getvalue())
    assert path.stat().st_size < 200_000
    started = time.perf_counter()
    [report] = ingest_paths(con, [path])
    assert time.perf_counter() - started < 5 * 3  # shared CI cores; measured ~3 s alone
    assert report.status == "loaded" and report.rows_rejected == 300_000
    stored = con.execute("SELECT count(*) FROM meta.rejects WHERE run_id = ?",
                         [report.run_id]).fetchone()[0]
    assert stored == MAX_REJECT_ROWS + 1
    summary = con.execute("SELECT value, reason FROM meta.rejects WHERE run_id = ? AND "
                          "row_number IS NULL", [report.run_id]).fetchone()
    assert summary[0] == f"{300_000 - MAX_REJECT_ROWS:,} more rows"
    assert summary[1].startswith("not stored row by row: unknown area")


# 14 ------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:calibration step")
def test_14_demo_writes_its_extract_beside_the_warehouse(tmp_path, monkeypatch) -> None:
    from cjsdash.demo import build

    monkeypatch.setattr(build, "REAL_SAMPLES", tmp_path / "no-samples")
    real = build.make_synthetic_extract
    monkeypatch.setattr(build, "make_synthetic_extract",
                        lambda registry, populations: real(registry, populations.head(2),
                                                           first_fy=2024, last_fy=2024))
    in_repo = REPO / "data" / "generated" / "synthetic_board_extract.csv"
    before = in_repo.stat().st_mtime_ns if in_repo.exists() else None
    build.build_demo(tmp_path / "x" / "demo.duckdb", echo=lambda _: None)
    assert (tmp_path / "x" / "generated" / "synthetic_board_extract.csv").is_file()
    assert (in_repo.stat().st_mtime_ns if in_repo.exists() else None) == before


# 15 ------------------------------------------------------------------------------------------
def test_15_serve_and_ingest_finish_a_rollup_a_crash_left_pending(tmp_path) -> None:
    db = tmp_path / "w.duckdb"
    runner.invoke(app, ["ingest", str(_write(tmp_path / "a.csv", HEADER + ROW)), "--db", str(db)])
    warehouse = Warehouse(db)
    with warehouse.writer() as con:  # a load commits, then the process dies before the rollup
        ingest_batch(con, iter([("b.csv", Path("b.csv"), (HEADER + ROW.replace("12,100", "30,100")
                                                           .replace("Q1", "Q2")).encode())]))
        pending = con.execute("SELECT count(*) FROM meta.rollup_pending").fetchone()[0]
        stale = _rolled_up(con)
    warehouse.close()
    assert pending > 0 and ("2024-07-01", 30.0) not in stale
    assert prepare_to_serve(db)[0] > 0  # what `cjsdash serve` does first
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.rollup_pending").fetchone()[0] == 0
        assert ("2024-07-01", 30.0) in _rolled_up(con)
    assert prepare_to_serve(db)[0] == 0


def _rolled_up(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float]]:
    """(period start, value) of every summed-up figure."""
    return con.execute("SELECT period_start::VARCHAR, value FROM core.area_observations"
                       ).fetchall()


# found by the fuzz test ----------------------------------------------------------------------
def test_fuzz_finds_a_utf16_bom_alone_and_a_search_without_type(con, tmp_path) -> None:
    from ingest.textio import first_line

    assert first_line(b"\xff\xfe") == ""
    [bom] = ingest_paths(con, [_write(tmp_path / "bom.csv", b"\xff\xfe")])
    assert bom.status == "refused"
    sample = REPO / "tests/data/police_uk/stop_and_search/2019-06-greater-manchester-stop-and-search.csv"
    lines = sample.read_bytes().splitlines(keepends=True)[:20]
    lines[3] = b"," + lines[3].split(b",", 1)[1]  # the row's Type left empty
    path = _write(tmp_path / sample.name, b"".join(lines))
    [report] = ingest_paths(con, [path])
    assert report.status == "loaded" and report.rows_rejected == 1, report.line()
    assert report.rejects[0].column == "Type"


def test_a_batch_that_cannot_be_written_is_refused_and_logged(con, tmp_path, monkeypatch
                                                              ) -> None:
    from ingest import pipeline_writes

    def broken(con, loads):  # a loader's write bug, simulated
        if loads:
            raise duckdb.ConstraintException("NOT NULL constraint failed: simulated")

    monkeypatch.setattr(pipeline_writes, "_load_core", broken)
    before = checksums(con)
    [report] = ingest_paths(con, [_write(tmp_path / "e.csv", HEADER + ROW)])
    assert report.status == "refused" and "could not write this file" in report.message
    assert checksums(con) == before
    assert con.execute("SELECT status FROM meta.ingest_runs").fetchall() == [("refused",)]
