"""Several ZIPs through ``ingest_paths``: the next batch read while this one is written
(``ingest.pipeline_overlap``) gives exactly what one batch after the other gives.

Real DuckDB warehouses and real data.police.uk files (the street samples, relabelled to
other months as ``benchmarks/street_ingest.py --year`` does), each list loaded twice into
fresh warehouses, with ``overlap=True`` and ``overlap=False``, and every table of ``core``,
``meta`` and ``raw`` compared (run timestamps aside), with the reports and the progress
calls.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse
from ingest import (
    catalogue,
    pipeline,
    pipeline_batch,
    pipeline_overlap,
    pipeline_writes,
    police_uk_street,
)
from ingest.pipeline import ingest_paths
from tests.conftest import ALL_FORCES_ZIP

STREET = Path(__file__).resolve().parents[1] / "data" / "police_uk" / "street" / "2021-06"
FORCES = ("btp", "dyfed-powys", "gwent", "north-wales", "northern-ireland", "south-wales")


@pytest.fixture(autouse=True)
def street_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the street loader for these tests only (the catalogue is not ours to edit)."""
    monkeypatch.setitem(catalogue.LOADERS, police_uk_street.SPEC.name, police_uk_street.LOADER)


def member(force: str, month: str) -> tuple[str, bytes]:
    """A street sample relabelled to ``month`` (its name and its Month column)."""
    data = (STREET / f"2021-06-{force}-street.csv").read_bytes()
    return f"{month}/{month}-{force}-street.csv", data.replace(b",2021-06,", f",{month},".encode())


def make_zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def month_zip(folder: Path, month: str, forces: tuple[str, ...] = FORCES[:3],
              name: str | None = None) -> Path:
    return make_zip(folder / (name or f"{month}.zip"), [member(f, month) for f in forces])


def state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of core, meta and raw, without the run timestamps."""
    tables = con.execute(
        "SELECT table_schema || '.' || table_name, list(column_name ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_schema IN ('core', 'meta', 'raw') "
        "AND column_name NOT IN ('started_at', 'finished_at') GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {table: con.execute(
        f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)} FROM {table} "  # noqa: S608
        "ORDER BY ALL").fetchall() for table, columns in tables}


def outcome(report: pipeline.IngestReport) -> tuple[Any, ...]:
    return (report.file_name, report.status, report.loader, report.run_id, report.rows_in,
            report.rows_loaded, report.rows_revised, report.rows_unchanged,
            report.rows_rejected, report.rows_withdrawn, report.message, report.flags,
            [(r.row, r.column, r.value, r.reason) for r in report.rejects])


def load(paths: list[Path], *, overlap: bool, **kwargs: Any
         ) -> tuple[list[tuple[Any, ...]], dict[str, list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """(reports, warehouse state, progress calls) of one ``ingest_paths`` into a fresh
    warehouse; every progress call is checked to come from this thread."""
    calls: list[tuple[Any, ...]] = []
    me = threading.get_ident()

    def progress(stage: str, done: int, total: int) -> None:
        assert threading.get_ident() == me, "progress called from another thread"
        calls.append((stage, done, total))

    wh = Warehouse()
    try:
        with wh.writer() as con:
            prepare(con)
            reports = ingest_paths(con, paths, overlap=overlap, progress=progress, **kwargs)
            return [outcome(r) for r in reports], state(con), calls
    finally:
        wh.close()
        assert not [t for t in threading.enumerate() if t.name.startswith("ingest-read")]


def same_either_way(paths: list[Path], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Load ``paths`` overlapped and in turn; both give the same; the reports."""
    reports, tables, calls = load(paths, overlap=True, **kwargs)
    in_turn, tables_in_turn, calls_in_turn = load(paths, overlap=False, **kwargs)
    assert reports == in_turn
    assert tables.keys() == tables_in_turn.keys()
    for table, rows in tables.items():
        assert rows == tables_in_turn[table], table
    assert calls == calls_in_turn
    return reports


def statuses(reports: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in reports]


def test_several_zips_with_repeats_and_a_corrupt_one_load_as_in_turn(tmp_path) -> None:
    april, may = month_zip(tmp_path, "2021-04"), month_zip(tmp_path, "2021-05")
    (tmp_path / "again").mkdir()
    april_again = tmp_path / "again" / "2021-04.zip"  # the same bytes, later in the list
    april_again.write_bytes(april.read_bytes())
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04" + may.read_bytes()[4:2000])
    # A ZIP just after May's repeating one of May's members (its bytes in flight while read),
    # with a member of its own and a README (skipped).
    mixed = make_zip(tmp_path / "mixed.zip", [
        member("gwent", "2021-05"), member("south-wales", "2021-03"), ("README.md", b"# notes")])
    # A ZIP whose two members are the same bytes (read once, the copy unchanged).
    twice = make_zip(tmp_path / "twice.zip", [member("btp", "2021-02"),
                                             ("copy/" + member("btp", "2021-02")[0],
                                              member("btp", "2021-02")[1])])
    real = tmp_path / "real.zip"  # a real member of the all-forces download
    with zipfile.ZipFile(ALL_FORCES_ZIP) as archive:
        name = "2021-06/2021-06-city-of-london-street.csv"
        make_zip(real, [(name, archive.read(name))])
    paths = [april, may, mixed, corrupt, april_again, twice, real, april_again]
    reports = same_either_way(paths)
    got = statuses(reports)
    assert [s for n, s in got if n.startswith("2021-04.zip")] == ["loaded"] * 3 + ["unchanged"] * 6
    assert [s for n, s in got if n.startswith("2021-05.zip")] == ["loaded"] * 3
    assert [s for n, s in got if n.startswith("mixed.zip")] == ["loaded", "unchanged", "skipped"]
    assert ("corrupt.zip", "refused") in got
    assert [s for n, s in got if n.startswith("twice.zip")] == ["loaded", "unchanged"]
    assert [s for n, s in got if n.startswith("real.zip")] == ["loaded"]
    assert [n.split("!")[0] for n, _ in got] == [  # each in its place, in order
        "2021-04.zip"] * 3 + ["2021-05.zip"] * 3 + ["mixed.zip"] * 3 + ["corrupt.zip"] + [
        "2021-04.zip"] * 3 + ["twice.zip"] * 2 + ["real.zip"] + ["2021-04.zip"] * 3


def test_a_zip_repeated_straight_after_itself_is_unchanged(tmp_path) -> None:
    june = month_zip(tmp_path, "2021-06", FORCES)
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / "2021-06.zip"
    copy.write_bytes(june.read_bytes())
    reports = same_either_way([june, copy, month_zip(tmp_path, "2021-07")])
    assert [s for _, s in statuses(reports)] == ["loaded"] * 6 + ["unchanged"] * 6 + ["loaded"] * 3
    assert reports[6][3] == reports[0][3]  # "already loaded as run" the first load's run


def test_bytes_whose_write_failed_are_read_again_by_the_next_zip(tmp_path, monkeypatch) -> None:
    """The batch before cannot be written (rolled back): the next ZIP's member with the same
    bytes, classified while that write was in flight, is read and loaded as in turn."""
    first = month_zip(tmp_path, "2021-04", ("gwent",), name="first.zip")
    second = make_zip(tmp_path / "second.zip", [member("gwent", "2021-04"),
                                                member("btp", "2021-04")])
    load_core = pipeline_writes._load_core

    def broken(con: duckdb.DuckDBPyConnection, loads: list) -> None:  # a write bug, simulated
        if any(item.report.file_name.startswith("first.zip") for item in loads):
            raise duckdb.ConstraintException("NOT NULL constraint failed: simulated")
        load_core(con, loads)

    monkeypatch.setattr(pipeline_writes, "_load_core", broken)
    reports = same_either_way([first, second])
    assert statuses(reports) == [(f"first.zip!{member('gwent', '2021-04')[0]}", "refused"),
                                 (f"second.zip!{member('btp', '2021-04')[0]}", "loaded"),
                                 (f"second.zip!{member('gwent', '2021-04')[0]}", "loaded")]
    assert "could not write this file" in reports[0][10]


def test_bytes_refused_when_read_are_read_again_by_the_next_zip(tmp_path) -> None:
    """A member with no loadable row is refused; the same bytes in the next ZIP (not in
    flight: the batch before will not load them) are read and refused again, as in turn."""
    name, data = member("gwent", "2021-04")
    bad = data.replace(b"Gwent Police,Gwent Police", b"Atlantis Police,Atlantis Police")
    assert bad != data
    first = make_zip(tmp_path / "first.zip", [(name, bad), member("btp", "2021-04")])
    second = make_zip(tmp_path / "second.zip", [(name, bad), member("btp", "2021-05")])
    reports = same_either_way([first, second])
    assert [s for _, s in statuses(reports)] == ["loaded", "refused", "refused", "loaded"]
    assert reports[1][10] == reports[2][10].replace("second.zip", "first.zip")
    assert reports[1][10].startswith("no row could be loaded")


def test_a_file_refused_for_its_share_of_bad_rows_then_offered_again(tmp_path) -> None:
    """The reject-share threshold is the caller's, for every batch, overlapped or not."""
    name, data = member("gwent", "2021-04")
    lines = data.split(b"\r\n")
    for i in range(1, 10):  # 9 of 75 rows with a bad force: 12% > 10%
        lines[i] = lines[i].replace(b"Gwent Police,Gwent Police", b"Gwent Police,Atlantis Police")
    bad = b"\r\n".join(lines)
    first = make_zip(tmp_path / "first.zip", [(name, bad)])
    second = make_zip(tmp_path / "second.zip", [(name, bad), member("btp", "2021-04")])
    assert [s for _, s in statuses(same_either_way([first, second]))] == [
        "refused", "loaded", "refused"]
    assert [s for _, s in statuses(same_either_way([first, second], max_reject_share=0.5))
            ] == ["loaded", "loaded", "unchanged"]


def test_loose_files_and_folders_load_as_in_turn(tmp_path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    for force in FORCES[:3]:
        name, data = member(force, "2021-08")
        (folder / Path(name).name).write_bytes(data)
    (folder / "notes.txt").write_text("not data")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("a,b\n1,2\n")
    reports = same_either_way([folder, unknown, folder / "2021-08-btp-street.csv",
                               month_zip(tmp_path, "2021-09")])
    assert [s for _, s in statuses(reports)] == (
        ["loaded"] * 3 + ["skipped", "refused", "unchanged"] + ["loaded"] * 3)


def _no_reader_left() -> None:
    assert not [t for t in threading.enumerate() if t.name.startswith("ingest-read")]


def test_a_file_that_cannot_be_read_raises_after_the_batch_before_is_written(
        tmp_path) -> None:
    """An error of the reader (here a loose file gone) is raised in the caller's thread
    where it would be in turn: after the batch before is written; nothing after it."""
    paths = [month_zip(tmp_path, "2021-04"), tmp_path / "gone.csv", month_zip(tmp_path, "2021-05")]
    for overlap in (True, False):
        wh = Warehouse()
        with wh.writer() as con:
            prepare(con)
            with pytest.raises(FileNotFoundError):
                ingest_paths(con, paths, overlap=overlap)
            assert con.execute("SELECT count(*), min(file_name) FROM meta.ingest_runs"
                               ).fetchone() == (3, "2021-04.zip!2021-04/2021-04-btp-street.csv")
            assert con.execute("SELECT count(*) FROM core.area_observations").fetchone()[0] > 0
        wh.close()
        _no_reader_left()


def _failing_on(call: int, exc: BaseException, function: Callable[..., Any]
                ) -> Callable[..., Any]:
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == call:
            raise exc
        return function(*args, **kwargs)

    return failing


@pytest.mark.parametrize(("step", "exc"), [
    ("read_prepared", RuntimeError("a loader's bug, simulated")),
    ("read_prepared", KeyboardInterrupt()),
    ("write_prepared", RuntimeError("a write bug, simulated")),
    ("write_prepared", KeyboardInterrupt()),
])
def test_an_exception_reading_or_writing_is_raised_here_and_leaves_no_thread(
        tmp_path, monkeypatch, step, exc) -> None:
    """An exception of the reader (raised here when its batch's turn comes), or Ctrl-C or
    any exception while a batch is written, the next being read: the reader finishes its
    batch and is joined; nothing of the failing batch is written."""
    monkeypatch.setattr(pipeline_overlap, step,
                        _failing_on(2, exc, getattr(pipeline_overlap, step)))
    paths = [month_zip(tmp_path, m) for m in ("2021-04", "2021-05", "2021-06")]
    wh = Warehouse()
    with wh.writer() as con:
        prepare(con)
        with pytest.raises(type(exc)):
            ingest_paths(con, paths, overlap=True)
        _no_reader_left()
        assert con.execute("SELECT count(*) FROM meta.ingest_runs").fetchone()[0] == 3
    wh.close()


def test_at_most_two_batches_in_memory(tmp_path, monkeypatch) -> None:
    """The reader starts batch k + 2 only once batch k is written: the one written and the
    one read, never more."""
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def logged(what: str, function: Callable[..., Any], name: Callable[..., str]
               ) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if what == "read":  # as it starts
                with lock:
                    events.append((what, name(*args)))
            result = function(*args, **kwargs)
            if what == "written":  # once done
                with lock:
                    events.append((what, name(*args)))
            return result
        return wrapper

    def zip_of(files: list) -> str:
        return files[0][0].split("!")[0]

    def written(con: duckdb.DuckDBPyConnection, prepared: pipeline_batch.Prepared, *_: Any) -> str:
        return prepared.slots[0].name.split("!")[0]  # type: ignore[union-attr]

    monkeypatch.setattr(pipeline_overlap, "classify_batch",
                        logged("read", pipeline_overlap.classify_batch, lambda _, f, *a: zip_of(f)))
    monkeypatch.setattr(pipeline_overlap, "write_prepared",
                        logged("written", pipeline_overlap.write_prepared, written))
    months = [f"2021-{m:02d}" for m in range(1, 7)]
    load([month_zip(tmp_path, m) for m in months], overlap=True)
    order = [f"{what} {name}" for what, name in events]
    for k in range(len(months) - 2):
        assert order.index(f"written {months[k]}.zip") < order.index(f"read {months[k + 2]}.zip")
    assert [e for e in order if e.startswith("written")] == [f"written {m}.zip" for m in months]


def test_bytes_in_flight_under_a_name_no_loader_knows_are_unchanged(tmp_path) -> None:
    """Bytes the batch before loads are "unchanged" whatever their name: the sha256 is asked
    before the loader, so a copy no loader would recognise (.dat) is not skipped or refused."""
    name, data = member("gwent", "2021-04")
    first = make_zip(tmp_path / "first.zip", [(name, data)])
    second = make_zip(tmp_path / "second.zip", [("renamed.dat", data), member("btp", "2021-04")])
    loose = tmp_path / "renamed.dat"
    loose.write_bytes(member("btp", "2021-04")[1])
    reports = same_either_way([first, second, loose])
    assert [s for _, s in statuses(reports)] == ["loaded", "loaded", "unchanged", "unchanged"]


def test_the_command_reads_in_turn_with_no_overlap_and_gives_the_same(tmp_path,
                                                                       monkeypatch) -> None:
    """`cjsdash ingest` overlaps by default; `--no-overlap` reads and writes in turn: the same
    rows in every table, the same lines printed (the figures refreshed after both)."""
    from typer.testing import CliRunner

    from cjsdash.cli import app

    overlapped: list[int] = []
    real = pipeline.ingest_overlapped
    monkeypatch.setattr(pipeline, "ingest_overlapped",
                        lambda *a, **k: overlapped.append(1) or real(*a, **k))
    paths = [str(month_zip(tmp_path, m)) for m in ("2021-05", "2021-06")]
    states, lines = [], []
    for flags, times in (([], 1), (["--no-overlap"], 1)):
        db = tmp_path / f"w{len(flags)}.duckdb"
        result = CliRunner().invoke(app, ["ingest", *paths, "--db", str(db), *flags])
        assert result.exit_code == 0, result.output
        assert len(overlapped) == times  # the default overlapped; --no-overlap did not
        lines.append([line for line in result.output.splitlines() if "loaded" in line])
        wh = Warehouse(db)
        states.append(state(wh.reader()))
        wh.close()
    assert lines[0] == lines[1] and len(lines[0]) >= 2
    assert states[0] == states[1]
