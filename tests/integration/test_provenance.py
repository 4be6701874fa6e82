"""The data page's reads and its upload, against real warehouses and real files.

Provenance: two loads of a board extract (the second revises one figure, withholds one and
has a bad row), a synthetic file and a refused file; every expected value below is worked
out from those files by hand, not read back from the functions under test. Uploads: where
the file is written, what is refused, and that a refused file leaves the warehouse as it was.
The readers–writer lock that lets the dashboard load while it serves is tested last.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.config import Settings
from cjsdash.core.gateway import Warehouse
from cjsdash.uploads import (
    UploadRefused,
    handle_upload,
    ingest_upload,
    save_upload,
    upload_dir,
)
from ingest.pipeline import ingest_paths
from metrics import figure_coverage, provenance
from metrics.compute import compute_indicators
from metrics.registry import default_registry
from tests.conftest import write_csv

IND = "ineffective_trial_rate_crown"
NUM = "trials_ineffective_crown"
CUMBRIA, CUMBRIA_LCJB, DEVON = "E23000002", "CJA03", "E23000035"

V1 = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,12,100
Cumbria,2024-25 Q2,ineffective_trial_rate_crown,15,110
Devon & Cornwall Police,2024-25 Q1,ineffective_trial_rate_crown,40,300
"""
# Q1 revised 12 → 14 (its denominator unchanged); a bad row; Q3 new; Q4 withheld ('..').
V2 = """area,period,measure,numerator,denominator
Cumbria,2024-25 Q1,ineffective_trial_rate_crown,14,100
Narnia,2024-25 Q1,ineffective_trial_rate_crown,5,50
Cumbria,2024-25 Q3,ineffective_trial_rate_crown,9,120
Cumbria,2024-25 Q4,ineffective_trial_rate_crown,..,100
"""
SYNTHETIC = """area,period,measure,numerator,denominator,source
Devon & Cornwall Police,2024-25 Q2,ineffective_trial_rate_crown,30,280,synthetic_demo
"""
REFUSED = "area,period,measure,numerator\n"


@pytest.fixture
def loaded(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Runs 1 (v1), 2 (v2), 3 (synthetic) loaded; run 4 (header only) refused."""
    for name, text in (("v1.csv", V1), ("v2.csv", V2), ("synthetic.csv", SYNTHETIC),
                       ("refused.csv", REFUSED)):
        [report] = ingest_paths(con, [write_csv(tmp_path / name, text)],
                                loader_name="board_extract", max_reject_share=1.0)
        assert report.status == ("refused" if name == "refused.csv" else "loaded"), report.line()
    return con


# --- provenance reads -------------------------------------------------------------------------

def test_runs_are_listed_newest_first_with_their_counts(loaded) -> None:
    runs = provenance.runs_frame(loaded)
    assert runs["run_id"].to_list() == [4, 3, 2, 1]
    assert runs["file_name"].to_list() == ["refused.csv", "synthetic.csv", "v2.csv", "v1.csv"]
    assert runs["status"].to_list() == ["refused", "loaded", "loaded", "loaded"]
    counts = runs.select("rows_in", "rows_loaded", "rows_revised", "rows_unchanged",
                         "rows_rejected").rows()
    # v1: 3 rows → 6 figures. v2: 4 rows, 1 bad; Q1's numerator revised and its denominator
    # unchanged; Q3 and Q4 each a numerator and a denominator (Q4's numerator withheld).
    assert counts[3] == (3, 6, 0, 0, 0)
    assert counts[2] == (4, 4, 1, 1, 1)
    assert counts[1] == (1, 2, 0, 0, 0)
    assert counts[0][0] == 0 and runs["rows_rejected"][0] == 0
    assert runs["synthetic"].to_list() == [False, True, False, False]
    assert runs["source_title"][1] == "Synthetic demo data (seeded, not real)"
    assert runs["source_title"][2] == "Board performance extract"
    assert "header but no data rows" in runs["message"][0]
    assert runs["loaded_at"].is_not_null().all()


def test_rejects_name_file_row_column_value_and_reason(loaded) -> None:
    v2 = provenance.rejects_frame(loaded, run_id=2)
    assert v2.height == 1
    row = v2.row(0, named=True)
    assert (row["file_name"], row["row_number"], row["column_name"], row["value"]) == (
        "v2.csv", 3, "area", "Narnia")  # the header is row 1, so the 2nd data row is 3
    assert row["reason"].startswith("unknown area")
    every = provenance.rejects_frame(loaded)
    assert every["run_id"].to_list() == [4, 2]  # newest first; the refusal is logged too
    assert every["row_number"][0] is None and "header but no data rows" in every["reason"][0]
    assert provenance.rejects_count(loaded) == 2
    assert provenance.rejects_count(loaded, 2) == 1
    assert provenance.rejects_frame(loaded, limit=1).height == 1
    assert provenance.rejects_frame(loaded, run_id=1).height == 0


def test_a_revision_keeps_the_old_value_beside_the_new(loaded) -> None:
    revisions = provenance.revisions_frame(loaded)
    assert revisions.height == 1
    r = revisions.row(0, named=True)
    assert (r["measure"], r["area_code"], r["area_name"]) == (NUM, CUMBRIA, "Cumbria")
    assert (r["period_start"], r["period_end"]) == (date(2024, 4, 1), date(2024, 6, 30))
    assert (r["old_value"], r["new_value"], r["change"]) == (12.0, 14.0, 2.0)
    assert (r["old_run_id"], r["new_run_id"], r["new_is_current"]) == (1, 2, True)
    assert r["old_vintage"].startswith("v1.csv") and r["new_vintage"].startswith("v2.csv")
    assert r["breakdown"] == "" and r["source"] == "board_extract"
    assert r["measure_title"] != NUM  # the registry's title, from meta.measures


def test_sources_count_current_and_superseded_figures(loaded) -> None:
    sources = provenance.sources_frame(loaded)
    board = sources.filter(pl.col("source") == "board_extract").row(0, named=True)
    # v1 6 figures; v2 adds 4 new and 1 revision, and the revised row stops being current.
    assert (board["figures"], board["superseded"], board["runs"]) == (6 + 4 + 1 - 1, 1, 2)
    assert len(board["vintages"]) == 2
    assert (board["first_period_start"], board["last_period_end"]) == (date(2024, 4, 1),
                                                                        date(2025, 3, 31))
    assert board["synthetic"] is False and board["kind"] == "local"
    synthetic = sources.filter(pl.col("source") == "synthetic_demo").row(0, named=True)
    assert (synthetic["figures"], synthetic["runs"], synthetic["synthetic"]) == (2, 1, True)
    # A source that facts name without registering it is listed, not hidden.
    loaded.execute("INSERT INTO core.populations (area_code, year, population, source, "
                   "vintage, run_id) VALUES ('E23000002', 2021, 500000, 'mystery', 'x', 99)")
    mystery = provenance.sources_frame(loaded).filter(pl.col("source") == "mystery")
    assert mystery.select("kind", "figures", "runs").rows() == [("unregistered", 1, 1)]
    summary = provenance.coverage_summary(loaded)
    assert summary["runs"] == 4 and summary["runs_loaded"] == 3 and summary["runs_refused"] == 1
    assert summary["figures"] == 12 and summary["superseded"] == 1 and summary["rejects"] == 2


def test_census_denominators_count_under_the_loader_that_brought_them(demo_db: Path) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        sources = provenance.sources_frame(con)
        census = sources.filter(pl.col("source") == "census2011_force_ethnicity").row(
            0, named=True)
        expected = con.execute("SELECT count(*) FROM core.populations WHERE is_current "
                               "AND source = 'Census 2011'").fetchall()[0][0]
    finally:
        con.close()
    assert census["figures"] == expected > 0 and census["kind"] == "published"
    assert census["publisher"] == "Office for National Statistics"
    assert "unregistered" not in sources["kind"].to_list()


@pytest.mark.parametrize("grain", ["fy", "quarter"])
def test_coverage_from_the_mart_equals_the_areas_read_alone(demo_db: Path, grain: str
                                                              ) -> None:
    from polars.testing import assert_frame_equal

    from metrics import cache, mart_stage_reads
    from metrics.registry import default_registry

    con = duckdb.connect(str(demo_db), read_only=True)
    registry = default_registry()
    lcjbs = [r[0] for r in con.execute("SELECT code FROM core.areas WHERE kind = 'lcjb' "
                                       "ORDER BY code").fetchall()]
    try:
        cache.clear_cache()
        alone = figure_coverage.coverage_frame(con, registry, grain, areas=lcjbs)
        alone_periods = list(alone.select("period_start", "period_label").unique()
                             .sort("period_start").iter_rows())
        assert len(alone_periods) > 8
        # read from the figure mart (the demo build refreshed it; tests/integration/
        # test_mart_stages.py compares it with the query on a small warehouse)
        assert mart_stage_reads.coverage_ready(
            con, sorted({i.numerator.measure for i in registry.indicators}))
        periods = figure_coverage.coverage_periods(con, registry, grain, areas=lcjbs)
        assert periods == alone_periods
        for areas in (["CJA03"], ["K04000001", "E23000002"], lcjbs):
            got = figure_coverage.coverage(con, registry, grain, areas=areas)
            assert got.height > 0
            assert_frame_equal(got, figure_coverage.coverage_frame(con, registry, grain,
                                                                   areas=areas))
        for start, _ in alone_periods[-3:]:
            got = figure_coverage.coverage(con, registry, grain, areas=lcjbs, period=start)
            assert got.height > 0
            assert_frame_equal(got, figure_coverage.coverage_frame(con, registry, grain,
                                                                   areas=lcjbs, period=start))
    finally:
        cache.clear_cache()
        con.close()


def _cell(frame: pl.DataFrame, area: str, start: date) -> dict:
    rows = frame.filter((pl.col("indicator") == IND) & (pl.col("area_code") == area)
                        & (pl.col("period_start") == start))
    assert rows.height == 1, (area, start, rows)
    return rows.row(0, named=True)


def test_coverage_counts_figures_months_and_withheld(loaded) -> None:
    registry = default_registry()
    quarters = figure_coverage.coverage_frame(loaded, registry, "fquarter",
                                              areas=[CUMBRIA, CUMBRIA_LCJB, DEVON])
    for area in (CUMBRIA, CUMBRIA_LCJB):  # the LCJB is covered through its twin force
        q1 = _cell(quarters, area, date(2024, 4, 1))
        assert (q1["figures"], q1["months_covered"], q1["months_expected"], q1["complete"]) == (
            1, 3, 3, True)
        assert q1["period_label"] == "2024-25 Q1" and q1["period_end"] == date(2024, 6, 30)
        q4 = _cell(quarters, area, date(2025, 1, 1))
        assert (q4["figures"], q4["withheld"], q4["months_covered"], q4["complete"]) == (
            0, 1, 0, False)
    years = figure_coverage.coverage_frame(loaded, registry, "fy", areas=[CUMBRIA, DEVON])
    cumbria = _cell(years, CUMBRIA, date(2024, 4, 1))
    assert (cumbria["figures"], cumbria["withheld"], cumbria["months_covered"],
            cumbria["months_expected"], cumbria["complete"]) == (3, 1, 9, 12, False)
    assert cumbria["period_label"] == "2024-25" and cumbria["synthetic"] is False
    devon = _cell(years, DEVON, date(2024, 4, 1))
    assert (devon["figures"], devon["months_covered"], devon["synthetic"]) == (2, 6, True)
    assert devon["sources"] == "board_extract, synthetic_demo"
    # Only the indicators whose numerator was loaded appear, and no area without figures.
    assert set(years["measure"].to_list()) == {NUM}
    everywhere = figure_coverage.coverage_frame(loaded, registry, "fy")
    assert "K04000001" not in everywhere["area_code"].to_list()  # not every force reported
    assert figure_coverage.coverage_periods(loaded, registry, "fquarter",
                                            areas=[CUMBRIA]) == [
        (date(2024, 4, 1), "2024-25 Q1"), (date(2024, 7, 1), "2024-25 Q2"),
        (date(2024, 10, 1), "2024-25 Q3"), (date(2025, 1, 1), "2024-25 Q4")]
    one = figure_coverage.coverage_frame(loaded, registry, "fquarter", areas=[CUMBRIA],
                                         period=date(2024, 7, 1))
    assert one["period_start"].unique().to_list() == [date(2024, 7, 1)]
    with pytest.raises(ValueError, match="coverage grain"):
        figure_coverage.coverage_frame(loaded, registry, "r12")


def test_an_empty_warehouse_gives_empty_frames(warehouse: Warehouse) -> None:
    registry = default_registry()
    con = warehouse.reader()
    assert provenance.runs_frame(con).height == 0
    assert provenance.rejects_frame(con).height == 0
    assert provenance.revisions_frame(con).height == 0
    assert (figure_coverage.coverage_frame(con, registry).columns
            == list(figure_coverage.COVERAGE_SCHEMA))
    assert figure_coverage.coverage_frame(con, registry).height == 0
    assert figure_coverage.coverage_periods(con, registry) == []
    assert provenance.coverage_summary(con)["figures"] == 0


# --- uploads ----------------------------------------------------------------------------------

@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", upload_max_bytes=2048)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "..\\..\\windows\\passwd.csv",
                                  "/etc/passwd.csv", "sub/dir/../passwd.csv"])
def test_a_path_in_the_name_is_never_used(settings: Settings, tmp_path: Path, name: str) -> None:
    path = save_upload(name, b"area,period,measure,numerator\n", settings)
    folder = upload_dir(settings)
    assert path.parent == folder and path.read_bytes() == b"area,period,measure,numerator\n"
    assert path.name.endswith("-passwd.csv") and ".." not in path.name
    assert "/" not in path.name and "\\" not in path.name
    assert _files(tmp_path) == [path]  # nothing anywhere else (no tmp/etc, no tmp/data/etc)


def test_the_saved_name_is_chosen_by_the_server(settings: Settings) -> None:
    first = save_upload("Extract (Q1) £ final!.CSV", b"x", settings)
    second = save_upload("Extract (Q1) £ final!.CSV", b"y", settings)
    assert first != second  # never overwritten
    assert first.suffix == ".csv" and first.name.endswith("-Extract-Q1-final.csv")
    assert first.read_bytes() == b"x" and second.read_bytes() == b"y"
    assert save_upload(".csv.xlsx", b"PK\x03\x04rest", settings).name.endswith("-csv.xlsx")


@pytest.mark.parametrize("name", ["tool.exe", "page.html", "extract.csv.exe", "notes",
                                  "archive.zip", "book.xls", ".csv"])
def test_other_file_types_are_refused_and_nothing_is_written(settings: Settings,
                                                             name: str) -> None:
    with pytest.raises(UploadRefused, match="cannot be uploaded"):
        save_upload(name, b"MZ\x90\x00 not data", settings)
    assert _files(Path(settings.data_dir)) == []


def test_an_oversize_or_empty_file_is_refused(settings: Settings) -> None:
    with pytest.raises(UploadRefused, match=r"2,049 bytes|over the 2 KB limit"):
        save_upload("big.csv", b"a" * 2049, settings)
    with pytest.raises(UploadRefused, match="empty"):
        save_upload("empty.csv", b"", settings)
    assert _files(Path(settings.data_dir)) == []
    assert save_upload("limit.csv", b"a" * 2048, settings).stat().st_size == 2048


def test_a_spreadsheet_must_be_a_spreadsheet_package(settings: Settings) -> None:
    with pytest.raises(UploadRefused, match="not a .xlsm spreadsheet"):
        save_upload("book.xlsm", b"<html><script>alert(1)</script></html>", settings)
    assert _files(Path(settings.data_dir)) == []


def _core(con: duckdb.DuckDBPyConnection) -> tuple:
    return tuple(con.execute(f"SELECT count(*), sum(hash(t)) FROM {t} AS t").fetchall()[0]  # noqa: S608
                 for t in ("core.observations", "core.area_observations", "core.populations"))


def test_a_good_upload_loads_like_the_cli(warehouse: Warehouse, settings: Settings) -> None:
    outcome = handle_upload(warehouse, "C:\\Users\\analyst\\extract.csv", V1.encode(), settings)
    assert outcome.status == "loaded" and outcome.file_name == "extract.csv"
    assert outcome.line.endswith("board_extract: 3 rows read, 0 rejected; 6 figures loaded, "
                                 "0 revised, 0 unchanged")
    assert outcome.line.startswith(outcome.saved_as)
    assert (upload_dir(settings) / outcome.saved_as).exists()
    con = warehouse.reader()
    runs = provenance.runs_frame(con)
    assert runs["file_name"].to_list() == [outcome.saved_as]
    frame = compute_indicators(con, default_registry(), [IND], [CUMBRIA], grain="fquarter")
    assert frame.sort("period_start")["numerator"].to_list() == [12, 15]
    again = handle_upload(warehouse, "extract.csv", V1.encode(), settings)
    assert again.status == "unchanged" and "already loaded as run" in again.line
    assert not (upload_dir(settings) / again.saved_as).exists()  # the copy is not kept


def test_a_bad_csv_is_refused_and_the_warehouse_stays_as_it_was(
        warehouse: Warehouse, settings: Settings) -> None:
    handle_upload(warehouse, "base.csv", V1.encode(), settings)
    before = _core(warehouse.reader())
    bad = b"area,period,measure,numerator,denominator\nNarnia,2024-25 Q1,obtj,5,\n"
    outcome = handle_upload(warehouse, "bad.csv", bad, settings)
    assert outcome.status == "refused"
    assert ": refused: no row could be loaded; first problem: " in outcome.line
    assert "unknown area" in outcome.line
    assert outcome.rejects[0][:3] == (2, "area", "Narnia")
    assert _core(warehouse.reader()) == before
    logged = provenance.runs_frame(warehouse.reader()).row(0, named=True)
    assert (logged["status"], logged["file_name"]) == ("refused", outcome.saved_as)


def test_refused_types_and_unknown_formats_change_nothing(
        warehouse: Warehouse, settings: Settings) -> None:
    before = _core(warehouse.reader())
    exe = handle_upload(warehouse, "setup.exe", b"MZ\x90\x00", settings)
    assert exe.status == "rejected"
    assert exe.line == ("setup.exe: refused: a .exe file cannot be uploaded: choose a CSV "
                        "(.csv) or a spreadsheet (.xlsx, .xlsm or .ods)")
    big = handle_upload(warehouse, "big.csv", b"a" * 4096, settings)
    assert big.status == "rejected" and "over the 2 KB limit" in big.line
    page = handle_upload(warehouse, "page.csv", b"<html><body>hello</body></html>\n", settings)
    # a saved file no loader recognises is refused and logged, like `cjsdash ingest FILE`
    assert page.status == "refused" and "refused: the file is a web page" in page.line
    assert [p.name for p in _files(Path(settings.data_dir))] == [page.saved_as]
    assert _core(warehouse.reader()) == before
    assert provenance.runs_frame(warehouse.reader())["status"].to_list() == ["refused"]


def test_an_xlsm_is_read_for_its_values_only(warehouse: Warehouse, settings: Settings,
                                              tmp_path: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"\xd0\xcf\x11\xe0 not a real macro project")
    book_path = tmp_path / "book.xlsm"
    book = xlsxwriter.Workbook(str(book_path))
    sheet = book.add_worksheet("Data")
    for r, line in enumerate(V1.strip().splitlines()):
        for c, cell in enumerate(line.split(",")):
            sheet.write(r, c, int(cell) if cell.isdigit() else cell)
    book.add_vba_project(str(vba))
    book.close()
    large = Settings(data_dir=settings.data_dir, upload_max_bytes=1024 * 1024)
    outcome = handle_upload(warehouse, "book.xlsm", book_path.read_bytes(), large)
    assert outcome.status == "loaded", outcome.line
    assert outcome.saved_as.endswith("-book.xlsm") and "6 figures loaded" in outcome.line


def test_ingest_upload_runs_the_cli_path_on_a_file_warehouse(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh.duckdb")
    with warehouse.writer() as con:
        prepare(con)
    path = write_csv(tmp_path / "extract.csv", V1)
    report = ingest_upload(warehouse, path)
    assert report.status == "loaded" and report.rows_loaded == 6
    assert provenance.runs_frame(warehouse.reader())["file_name"].to_list() == ["extract.csv"]
    warehouse.close()


# --- one writer while readers are served ------------------------------------------------------

def test_a_write_waits_for_readers_and_readers_reopen_after(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh.duckdb")
    with warehouse.writer() as con:
        prepare(con)
    reading, release, wrote = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def request() -> None:  # a dashboard request, mid-query when the upload arrives
        with warehouse.reading():
            seen.append(provenance.runs_frame(warehouse.reader()).height)
            reading.set()
            release.wait(10)
            seen.append(provenance.runs_frame(warehouse.reader()).height)

    def upload() -> None:
        ingest_upload(warehouse, write_csv(tmp_path / "extract.csv", V1))
        wrote.set()

    reader = threading.Thread(target=request)
    reader.start()
    assert reading.wait(10)
    writer = threading.Thread(target=upload)
    writer.start()
    time.sleep(0.3)
    assert not wrote.is_set()  # the writer waits for the request in flight
    release.set()
    reader.join(10)
    writer.join(30)
    assert wrote.is_set() and seen == [0, 0]
    with warehouse.reading():  # a later request reopens the readers and sees the load
        assert provenance.runs_frame(warehouse.reader()).height == 1
    warehouse.close()


def test_a_request_that_uploads_does_not_wait_for_itself(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh.duckdb")
    with warehouse.writer() as con:
        prepare(con)
    done = threading.Event()

    def request() -> None:
        with warehouse.reading():
            assert provenance.runs_frame(warehouse.reader()).height == 0
            ingest_upload(warehouse, write_csv(tmp_path / "extract.csv", V1))
            assert provenance.runs_frame(warehouse.reader()).height == 1
            done.set()

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(30)
    assert done.is_set()
    warehouse.close()


def test_new_readers_wait_while_a_write_is_under_way(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh.duckdb")
    started, finish, read_done = threading.Event(), threading.Event(), threading.Event()

    def write() -> None:
        with warehouse.writer() as con:
            prepare(con)
            started.set()
            finish.wait(10)

    def read() -> None:
        with warehouse.reading():
            provenance.runs_frame(warehouse.reader())
            read_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(30)
    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    assert not read_done.is_set()
    finish.set()
    writer.join(10)
    reader.join(10)
    assert read_done.is_set()
    warehouse.close()
