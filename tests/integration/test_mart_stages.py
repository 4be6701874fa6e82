"""The figure mart's stage counts, populations and coverage (metrics.mart_stages) hold exactly
what the disproportionality page and the data page would compute from the core tables, and a
load that changes one stage measure rewrites that stage's rows and nothing else.

A small warehouse loaded through the real ingest path from real files: the Census 2011 force
populations by ethnicity, the Home Office arrests open data (Cumbria, Gwent, British Transport
Police; two financial years) and police.uk stop and search for Cheshire, Merseyside and Greater
Manchester (February–March 2018, June 2019); then April 2018 for Cheshire as a second load, which makes the stored stage matrices again.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cjsdash.bootstrap import prepare
from cjsdash.cli import prepare_to_serve
from cjsdash.core.gateway import Warehouse
from cjsdash.core.periods import GRAINS
from ingest import catalogue, police_uk_stop_search
from ingest.pipeline import ingest_paths
from metrics import cache, figure_coverage, mart, mart_matrices, mart_stage_reads
from metrics import disproportionality as dq
from metrics.disproportionality import stored as stored_matrices
from metrics.options import Options
from metrics.registry import default_registry
from tests.conftest import REPO

CENSUS = REPO / "data" / "reference" / "census2011_force_ethnicity.csv"
ARRESTS = (REPO / "tests" / "data" / "home_office" / "arrests_open_data"
           / "arrests-open-data-tables-current_FIXTURE.csv")
SEARCHES = REPO / "tests" / "data" / "police_uk" / "stop_and_search"
FIRST = [SEARCHES / f for f in ("2018-02-cheshire-stop-and-search.csv",
                                "2018-03-cheshire-stop-and-search.csv",
                                "2018-02-merseyside-stop-and-search.csv",
                                "2019-06-greater-manchester-stop-and-search.csv")]
LATER = SEARCHES / "2018-04-cheshire-stop-and-search.csv"
SOME = ["K04000001", "E23000002", "CJA03", "E23000005", "E12000002", "W92000004"]
KEY = ["area_code", "stage", "period_start", "period_end", "group", "source"]
MATRICES_KEY = "SELECT value FROM mart.analysis_state WHERE key = 'matrices'"


def _load(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> None:
    with pytest.MonkeyPatch.context() as mp:  # as test_gmp_stop_search registers it
        mp.setitem(catalogue.LOADERS, police_uk_stop_search.SPEC.name,
                   police_uk_stop_search.LOADER)
        reports = ingest_paths(con, paths)
    assert {r.status for r in reports} == {"loaded"}, [r.line() for r in reports]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mart-stages") / "small.duckdb"
    warehouse = Warehouse(path)
    with warehouse.writer() as con:
        prepare(con)
        _load(con, [CENSUS, ARRESTS, *FIRST])
        mart.refresh(con, default_registry(), full=True)
    warehouse.close()
    cache.clear_cache()
    return path


@pytest.fixture
def con(small_db: Path):
    connection = duckdb.connect(str(small_db), read_only=True)
    yield connection
    connection.close()


def _areas(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("eth", ["officer", "self"])
def test_stage_counts_from_the_mart_equal_those_computed(con: duckdb.DuckDBPyConnection,
                                                         grain: str, eth: str) -> None:
    assert mart_stage_reads.ready(con)
    every = _areas(con)
    stored = dq.stage_counts(con, every, grain, ethnicity_source=eth)  # type: ignore[arg-type]
    # police.uk months make no complete quarter or year; arrests are by financial year only
    assert set(stored["stage"]) == {"month": {"stop_and_search"}, "fy": {"arrest"},
                                     "r12": {"arrest"}}.get(
        grain, set())
    assert stored.height == 0 or stored.filter(pl.col("group") == "Black").height > 0
    assert_frame_equal(stored.sort(KEY), dq._stage_counts(con, every, grain, eth, None).sort(KEY))
    for areas, stages in ((SOME[:1], None), (SOME[1:3], ["arrest"]), (SOME, ["stop_and_search"]),
                          (["E23000005", "no such area"], ["arrest", "charge"]),
                          (["E23000002", "CJA03"], ["stop_and_search"])):  # none self-defined
        got = dq.stage_counts(con, areas, grain, ethnicity_source=eth,  # type: ignore[arg-type]
                              stages=stages)
        assert_frame_equal(got.sort(KEY), dq._stage_counts(con, areas, grain, eth,
                                                           stages).sort(KEY))


def test_populations_and_the_page_figures_from_the_mart(con: duckdb.DuckDBPyConnection,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    order = ["area_code", "year", "group", "source"]
    every = _areas(con)
    stored = dq.populations(con, every)
    assert stored.height > 0
    assert_frame_equal(stored.sort(order), dq._populations(con, every).sort(order))
    assert dq.populations(con, ["no such area"]).height == 0
    views = [("E23000002", "fy", "arrest"), ("W15000002", "fy", "arrest"),
             ("E23000005", "month", "stop_and_search"), ("E23000006", "month", "stop_and_search")]

    def page(area: str, grain: str, stage: str) -> tuple[pl.DataFrame, ...]:
        return (dq.stage_matrix(con, area, grain=grain),
                dq.ethnicity_quality(con, area, grain=grain),
                dq.forest(con, stage, grain=grain, kind="force"))

    from_mart = [page(*v) for v in views]
    monkeypatch.setattr(mart_stage_reads, "ready", lambda _con: False)  # computed instead
    for view, stored in zip(views, from_mart, strict=True):
        assert all(frame.height > 0 for frame in stored), view
        for frame, computed in zip(stored, page(*view), strict=True):
            assert_frame_equal(frame, computed)


@pytest.mark.parametrize("grain", figure_coverage.COVERAGE_GRAINS)
def test_coverage_from_the_mart_equals_that_computed(con: duckdb.DuckDBPyConnection,
                                                     grain: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    registry = default_registry()
    measures = sorted({i.numerator.measure for i in registry.indicators})
    assert mart_stage_reads.coverage_ready(con, measures)
    every = figure_coverage.coverage(con, registry, grain)
    assert every["indicator"].n_unique() > 1
    assert_frame_equal(every, figure_coverage.coverage_frame(con, registry, grain))
    periods = figure_coverage.coverage_periods(con, registry, grain, areas=SOME)
    latest = periods[-1][0]
    for areas, period in ((["E23000002"], None), (SOME, latest), (None, latest)):
        assert_frame_equal(
            figure_coverage.coverage(con, registry, grain, areas=areas, period=period),
            figure_coverage.coverage_frame(con, registry, grain, areas=areas, period=period))
    monkeypatch.setattr(mart_stage_reads, "coverage_ready", lambda _con, _measures: False)
    assert periods == figure_coverage.coverage_periods(con, registry, grain, areas=SOME)


def _rowids(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> list[int]:
    return [r for (r,) in con.execute(sql, params).fetchall()]


def test_a_load_of_one_stage_measure_refreshes_that_stage_only(small_db: Path,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "copy.duckdb"
    path.write_bytes(small_db.read_bytes())
    registry = default_registry()
    counts = "SELECT rowid FROM mart.stage_counts WHERE stage = ? ORDER BY rowid"
    cells = "SELECT rowid FROM mart.coverage WHERE measure = ? ORDER BY rowid"
    con = duckdb.connect(str(path))
    try:
        arrests = _rowids(con, counts, ["arrest"])
        searches = _rowids(con, counts, ["stop_and_search"])
        arrest_cells = _rowids(con, cells, ["arrests"])
        assert arrests and searches and arrest_cells
        april = dq.stage_counts(con, ["E23000006"], "month", stages=["stop_and_search"])
        assert april.height and april["period_end"].max().month == 3  # Cheshire to March 2018
        matrices_key = con.execute(MATRICES_KEY).fetchall()
        assert matrices_key
        _load(con, [LATER])
        assert not mart_stage_reads.ready(con)  # loaded, not yet refreshed: computed
        computed = dq.stage_counts(con, ["E23000006"], "month", stages=["stop_and_search"])
        assert computed["period_end"].max().month == 4
        mart.refresh(con, registry)
        assert mart_stage_reads.ready(con)
        assert _rowids(con, counts, ["arrest"]) == arrests  # untouched rows
        assert _rowids(con, cells, ["arrests"]) == arrest_cells
        assert _rowids(con, counts, ["stop_and_search"]) != searches  # rewritten
        for grain in ("month", "fy", "r12"):
            for eth in ("officer", "self"):
                every = _areas(con)
                assert_frame_equal(
                    dq.stage_counts(con, every, grain, ethnicity_source=eth).sort(KEY),  # type: ignore[arg-type]
                    dq._stage_counts(con, every, grain, eth, None).sort(KEY))
        stored = dq.stage_counts(con, ["E23000006"], "month", stages=["stop_and_search"])
        assert_frame_equal(stored.sort(KEY), computed.sort(KEY))
        assert_frame_equal(figure_coverage.coverage(con, registry, "month"),
                           figure_coverage.coverage_frame(con, registry, "month"))
        # the stored stage matrices were made again (a stage measure changed) and answer
        assert con.execute(MATRICES_KEY).fetchall() != matrices_key
        end = dq.latest_period(dq.stage_counts(con, ["E23000002"], stored_matrices.GRAIN))
        assert stored_matrices.read(con, ["E23000002"], end, ethnicity_source="officer",
                                    **stored_matrices.SETTINGS) is not None
        assert_frame_equal(dq.stage_matrix(con, "E23000002", end),
                           dq.compute_frame(con, ["E23000002"], period_end=end))
        # a refresh with nothing changed leaves them as they are
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(mart_matrices, "compute", lambda _con: pytest.fail("made again"))
            mart.refresh(con, registry)
        assert stored_matrices.read(con, ["E23000002"], end, ethnicity_source="officer",
                                    **stored_matrices.SETTINGS) is not None
    finally:
        con.close()
        cache.clear_cache()


def test_serving_a_mart_made_before_the_stage_tables_fills_them(small_db: Path,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "older.duckdb"
    path.write_bytes(small_db.read_bytes())
    with duckdb.connect(str(path)) as con:
        for table in ("stage_counts", "stage_populations", "coverage", "stage_state"):
            con.execute(f"DROP TABLE mart.{table}")
        assert mart.ready(con) and not mart_stage_reads.ready(con)
    cache.clear_cache()
    _, report = prepare_to_serve(path)  # what `cjsdash serve` does first
    assert report is not None and report.indicators == []  # the figures were current
    with duckdb.connect(str(path), read_only=True) as con:
        assert mart_stage_reads.ready(con)
        every = _areas(con)
        assert_frame_equal(dq.stage_counts(con, every, "fy").sort(KEY),
                           dq._stage_counts(con, every, "fy", "officer", None).sort(KEY))
    cache.clear_cache()


def test_the_stored_matrices_are_made_again_when_what_they_read_changes(
        con: duckdb.DuckDBPyConnection) -> None:
    now = mart.fingerprints(con, default_registry(), Options())
    key = mart_matrices.inputs_key(con, now)
    assert mart_matrices.inputs_key(con, dict(now)) == key
    for changed in ("measure:stop_searches", "measure:stop_searches_self_defined",
                    "measure:custodial_sentences", "populations", "areas", "sources",
                    "options"):
        assert mart_matrices.inputs_key(con, {**now, changed: "changed"}) != key, changed
    # a measure no stage counts, and a target, leave them as they are
    assert mart_matrices.inputs_key(con, {**now, "measure:recorded_crimes": "changed",
                                          "targets:charge_rate": "changed"}) == key
