"""A valid but short file never replaces good figures (ingest.pipeline_shrink, decision 43).

Real files: Cumbria's street file of June 2021 as published (3,563 records, from the real
all-forces ZIP) and the same file cut to its first 49 records, as a download cut off at a
line break would be.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cjsdash.core.schema import BREAKDOWNS
from ingest.base import ReadResult
from ingest.catalogue import LOADERS
from ingest.pipeline import ingest_paths
from ingest.pipeline_reports import IngestReport, Pending
from ingest.pipeline_shrink import refuse_shrinking
from tests.conftest import ALL_FORCES_ZIP

MEMBER = "2021-06/2021-06-{}-street.csv"


@pytest.fixture
def june(tmp_path: Path) -> dict[str, Path]:
    """Cumbria's and the City of London's June 2021 files, as published."""
    out = {}
    with zipfile.ZipFile(ALL_FORCES_ZIP) as archive:
        for force in ("cumbria", "city-of-london"):
            path = tmp_path / "published" / MEMBER.format(force).split("/")[1]
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(archive.read(MEMBER.format(force)))
            out[force] = path
    return out


def cut(path: Path, folder: Path, lines: int, name: str | None = None) -> Path:
    """The file's header and first ``lines - 1`` records, under the same name."""
    out = folder / (name or path.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:lines]))
    return out


def state(con: duckdb.DuckDBPyConnection) -> tuple:
    """Core's observations and the raw records, as comparable values."""
    return tuple(con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} AS t").fetchone()  # noqa: S608
                 for table in ("core.observations", "raw.police_uk_street"))


def test_a_cut_street_file_is_refused_and_the_month_stands(con, tmp_path: Path, june) -> None:
    cumbria = june["cumbria"]
    [first] = ingest_paths(con, [cumbria])
    assert first.status == "loaded"
    before = state(con)
    short = cut(cumbria, tmp_path / "cut", 50)
    [report] = ingest_paths(con, [short])
    assert report.status == "refused"
    assert "recorded_crimes in Cumbria (E23000002), 2021-06: 3,021 now, 44 in this file" in report.message
    assert "--accept-shrink" in report.message
    assert state(con) == before  # nothing of it loaded: the records and figures stand
    logged = con.execute("SELECT status, message FROM meta.ingest_runs WHERE run_id = ?",
                         [report.run_id]).fetchone()
    assert logged[0] == "refused" and "far fewer" in logged[1]
    # Loaded on purpose (a drop known to be real): the month is the file's 49 records.
    [accepted] = ingest_paths(con, [short], shrink_floor=0.0)
    assert accepted.status == "loaded"
    assert con.execute("SELECT count(*) FROM raw.police_uk_street WHERE area_code = "
                       "'E23000002'").fetchone()[0] == 49


def test_an_ordinary_revision_still_loads(con, tmp_path: Path, june) -> None:
    """A month re-published with 5% fewer records is a revision, not a cut file."""
    cumbria = june["cumbria"]
    ingest_paths(con, [cumbria])
    lines = len(cumbria.read_bytes().splitlines())
    [report] = ingest_paths(con, [cut(cumbria, tmp_path / "rev", int(lines * 0.95))])
    assert report.status == "loaded"
    assert report.rows_revised > 0


def test_the_overlapped_path_refuses_the_same_file(con, tmp_path: Path, june) -> None:
    """Read ahead of the write (two folders, each its own batch), the cut file is refused
    there too, and the good file after it loads."""
    ingest_paths(con, [june["cumbria"]])
    folder = tmp_path / "batch"
    cut(june["cumbria"], folder / "a", 50)
    cut(june["city-of-london"], folder / "b", 100_000)
    reports = {r.file_name: r.status for r in ingest_paths(con, [folder / "a", folder / "b"])}
    assert reports == {june["cumbria"].name: "refused", june["city-of-london"].name: "loaded"}


def _pending(frame: pl.DataFrame) -> Pending:
    loader = LOADERS["board_extract"]
    result = ReadResult("observations", frame, [], frame.height, "board_extract", "test")
    return Pending(IngestReport("slice.csv", "loaded", loader=loader.spec.name), "sha",
                   loader, datetime.now(), result)


def _rows(ethnicities: list[str], value: float = 10.0) -> pl.DataFrame:
    rows = [{"measure": "stop_searches", "area_code": "E23000002",
             "period_start": datetime(2024, 4, 1).date(), "period_end": datetime(2024, 6, 30).date(),
             **dict.fromkeys(BREAKDOWNS, ""), "ethnicity": e, "value": value,
             "source": "board_extract"} for e in ethnicities]
    return pl.DataFrame(rows)


@pytest.mark.parametrize(("kept", "refused"), [(["White", "Black"], True),
                                               (["White", "Black", "Asian", "Mixed"], False)])
def test_a_slice_mostly_withdrawn_is_refused(con, kept: list[str], refused: bool) -> None:
    """No total to compare: a file that would withdraw more than half of a slice's
    figures (a breakdown cut short) is refused; one that drops a few is a revision."""
    current = ["White", "Black", "Asian", "Mixed", "Other", "Not stated", "Chinese", "Arab"]
    con.execute("INSERT INTO meta.sources (source, title, publisher, licence, kind, priority, "
                "is_synthetic) VALUES ('board_extract', 't', 'p', 'l', 'local', 1, FALSE) "
                "ON CONFLICT DO NOTHING")
    frame = _rows(current).with_columns(pl.lit("v1").alias("vintage"), pl.lit(1).alias("run_id"),
                                        pl.lit(True).alias("is_current"))
    con.register("_current", frame.to_arrow())
    con.execute("INSERT INTO core.observations BY NAME SELECT * FROM _current")
    [item] = refuse_shrinking(con, [_pending(_rows(kept))], 0.5)
    assert (item.result is None) == refused
    assert (item.report.status == "refused") == refused
    if refused:
        assert "6 of its 8 figures would be withdrawn" in item.report.message
    [kept_all] = refuse_shrinking(con, [_pending(_rows(kept))], 0.0)
    assert kept_all.result is not None
