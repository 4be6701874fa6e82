"""Race disproportionality on the real demo warehouse: the counts and populations read from
the figure mart (the demo build refreshed it) give each area exactly what reading it alone
gives; the stage matrix of many areas at once (one vectorised pass) equals each area's
computed alone; and the matrices stored at load time (metrics.mart_matrices) equal each area's
computed alone, as do the forest and the sensitivity table read from them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cjsdash.core.gateway import Warehouse
from metrics import cache, mart_stage_reads
from metrics import disproportionality as dq
from metrics.disproportionality import stored
from metrics.options import Options
from metrics.statistics import disproportionality as dp
from tests.integration import matrix_reference as reference_matrix

AREAS = ["K04000001", "CJA03", "E23000002", "CJA01", "E12000002", "W92000004", "CJA20"]
KEY = ["area_code", "stage", "period_start", "period_end", "group", "source"]


@pytest.fixture(scope="module")
def warehouse(demo_db: Path):
    wh = Warehouse(demo_db)
    yield wh
    wh.close()
    cache.clear_cache()


def _alone(con: duckdb.DuckDBPyConnection, areas: list[str], grain: str, eth: str,
           stages: list[str] | None) -> pl.DataFrame:
    return dq._stage_counts(con, areas, grain, eth, stages)  # what a direct read gives


@pytest.mark.parametrize(("grain", "eth", "stages"), [
    ("fy", "officer", None), ("quarter", "officer", None), ("r12", "self", None),
    ("fy", "officer", ["arrest", "charge", "custody"]), ("fy", "self", ["stop_and_search"])])
def test_counts_from_the_mart_equal_each_area_read_alone(warehouse: Warehouse, grain: str,
                                                          eth: str,
                                                          stages: list[str] | None) -> None:
    con = warehouse.reader()
    assert mart_stage_reads.ready(con)  # the mart is the path under test
    for area in AREAS:
        got = dq.stage_counts(con, [area], grain, ethnicity_source=eth,  # type: ignore[arg-type]
                              stages=stages).sort(KEY)
        want = _alone(con, [area], grain, eth, stages).sort(KEY)
        assert_frame_equal(got, want)
    both = dq.stage_counts(con, AREAS[:3], grain, ethnicity_source=eth,  # type: ignore[arg-type]
                           stages=stages).sort(KEY)
    assert_frame_equal(both, _alone(con, AREAS[:3], grain, eth, stages).sort(KEY))


def test_populations_from_the_mart_equal_each_area_read_alone(warehouse: Warehouse) -> None:
    con = warehouse.reader()
    order = ["area_code", "year", "group", "source"]
    for area in AREAS:
        assert_frame_equal(dq.populations(con, [area]).sort(order),
                           dq._populations(con, [area]).sort(order))
    assert dq.populations(con, ["no such area"]).height == 0


@pytest.mark.parametrize(("grain", "reference", "stages"), [
    ("fy", "White", None), ("quarter", "Black", None),
    ("fy", "White", ["arrest", "charge", "prosecution", "conviction", "custody"])])
def test_many_areas_at_once_equal_each_area_alone(warehouse: Warehouse, grain: str,
                                                  reference: str,
                                                  stages: list[str] | None) -> None:
    con = warehouse.reader()
    together = dq.stage_frame(con, AREAS, grain=grain, reference=reference, stages=stages)
    assert together["area_code"].n_unique() >= 5
    for area in AREAS:
        alone = dq.stage_frame(con, [area], grain=grain, reference=reference, stages=stages)
        assert_frame_equal(together.filter(pl.col("area_code") == area), alone)
        for end in alone["period_end"].unique().sort()[-2:]:  # one period at a time too
            one = dq.stage_matrix(con, area, end, grain=grain, reference=reference,
                                  stages=stages)
            assert_frame_equal(one, alone.filter(pl.col("period_end") == end))


def _computed(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, nothing is read from the mart's stored matrices."""
    monkeypatch.setattr(stored, "read", lambda *_args, **_kw: None)


@pytest.mark.parametrize("eth", ["officer", "self"])
def test_the_stored_stage_matrices_equal_each_area_computed(warehouse: Warehouse, eth: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    con = warehouse.reader()
    every = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
    counts = dq.stage_counts(con, every, stored.GRAIN, ethnicity_source=eth)  # type: ignore[arg-type]
    ends = counts["period_end"].unique().sort()
    assert len(ends) >= 3
    held = 0
    for end in (ends[0], ends[-2], ends[-1]):
        kept = stored.read(con, every, end, ethnicity_source=eth, **stored.SETTINGS)
        assert kept is not None  # the stored path is the one under test
        held += kept.height
        # every area at once (equal to each alone: test_many_areas_at_once_equal_…)
        assert_frame_equal(kept, dq.compute_frame(con, every, grain=stored.GRAIN,  # type: ignore[arg-type]
                                                  ethnicity_source=eth, period_end=end))
        for area in AREAS:
            alone = dq.compute_frame(con, [area], grain=stored.GRAIN,  # type: ignore[arg-type]
                                     ethnicity_source=eth, period_end=end)
            assert_frame_equal(dq.stage_matrix(con, area, end, ethnicity_source=eth),  # type: ignore[arg-type]
                               alone)
    assert held > 1000
    # another setting is computed: nothing stored answers for it
    assert stored.read(con, every, ends[-1], ethnicity_source=eth,
                       **{**stored.SETTINGS, "grain": "quarter"}) is None


def test_the_forest_and_the_sensitivity_read_from_the_stored_matrices_as_computed(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    con = warehouse.reader()
    views = [(s.id, basis, kind, group) for s in dq.default_stages().counted()
             for basis, kind, group in (("population", "lcjb", "Black"),
                                        ("previous_stage", "force", "Asian"))]
    forests = [dq.forest(con, stage, grain=stored.GRAIN, group=group, basis=basis, kind=kind)
               for stage, basis, kind, group in views]
    ends = {area: dq.latest_period(dq.stage_counts(con, [area], stored.GRAIN))
            for area in AREAS}
    sensitivities = [dq.sensitivity(con, area, ends[area]) for area in AREAS]
    assert sum(f["value"].is_not_null().sum() for f in forests) > 100
    assert any((s["analysis"] == dq.ANALYSIS_DEFINITION).any() for s in sensitivities)
    _computed(monkeypatch)
    for view, got in zip(views, forests, strict=True):
        stage, basis, kind, group = view
        assert_frame_equal(got, dq.forest(con, stage, grain=stored.GRAIN, group=group,
                                          basis=basis, kind=kind))
    for area, got in zip(AREAS, sensitivities, strict=True):
        assert_frame_equal(got, dq.sensitivity(con, area, ends[area]))


@pytest.mark.parametrize(("grain", "reference"), [("quarter", "White"), ("fy", "Black")])
def test_the_other_definition_row_at_other_settings_equals_the_whole_chain(
        warehouse: Warehouse, grain: str, reference: str) -> None:
    """At settings nothing stores, the sensitivity table's row for the other ethnicity
    definition is computed for stop and search alone: it equals that row of the whole
    chain's matrix, the disparity ratio of every group."""
    con = warehouse.reader()
    compared = 0
    for area in AREAS:
        for eth, other in (("officer", "self"), ("self", "officer")):
            end = dq.latest_period(dq.stage_counts(con, [area], grain, ethnicity_source=eth))  # type: ignore[arg-type]
            if end is None:
                continue
            table = dq.sensitivity(con, area, end, grain=grain, reference=reference,
                                   ethnicity_source=eth)  # type: ignore[arg-type]
            got = table.filter((pl.col("analysis") == dq.ANALYSIS_DEFINITION)
                               & (pl.col("assumption") == dq.ETHNICITY_WORDS[other])
                               & pl.col("group").is_not_null())
            whole = dq.compute_frame(con, [area], grain=grain, reference=reference,
                                     ethnicity_source=other, period_end=end)  # type: ignore[arg-type]
            want = whole.filter((pl.col("stage") == "stop_and_search")
                                & (pl.col("group") != reference)
                                & (pl.col("status") != dp.STATUS_EXCLUDED)
                                & ~pl.col("suppressed"))
            assert got["group"].to_list() == want["group"].to_list()
            assert got["disparity_ratio"].to_list() == want["disparity_ratio"].to_list()
            compared += got.height
    assert compared > 10


@pytest.mark.parametrize(("grain", "reference", "eth", "population", "stages", "options"), [
    ("fy", "White", "officer", None, None, None),
    ("quarter", "Black", "officer", None, None, None),
    ("fy", "Black", "self", "Census 2011", None, None),
    ("r12", "Asian", "officer", None, ["arrest", "charge", "prosecution", "conviction",
                                       "custody"], None),
    ("quarter", "White", "officer", "Census 2011", ["stop_and_search"], None),
    ("fy", "White", "officer", None, None,
     Options(suppression_threshold=10, level=0.9, disclosure="breakdown")),
])
def test_the_stage_matrix_equals_the_polars_computation_it_replaced(
        warehouse: Warehouse, grain: str, reference: str, eth: str, population: str | None,
        stages: list[str] | None, options: Options | None) -> None:
    """The matrix computed column by column (metrics.disproportionality.rows) gives exactly
    the frames the chain of polars steps it replaced gave (tests/integration/
    matrix_reference.py): every area and period at once, as the refresh stores them, and
    each area's latest period alone, as a page view computes it."""
    con = warehouse.reader()
    every = [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]
    args = {"grain": grain, "reference": reference, "ethnicity_source": eth,
            "population_source": population, "stages": stages, "options": options}
    whole = dq.compute_frame(con, every, **args)  # type: ignore[arg-type]
    assert whole["area_code"].n_unique() > 20
    assert_frame_equal(whole, reference_matrix.compute_frame(con, every, **args))  # type: ignore[arg-type]
    for area in AREAS:
        end = dq.latest_period(dq.stage_counts(con, [area], grain, ethnicity_source=eth,  # type: ignore[arg-type]
                                               stages=stages))
        one = dq.compute_frame(con, [area], period_end=end, **args)  # type: ignore[arg-type]
        assert_frame_equal(one, reference_matrix.compute_frame(con, [area], period_end=end,
                                                               **args))  # type: ignore[arg-type]
    assert whole["suppressed"].any() and whole["note"].is_not_null().any()


@pytest.mark.parametrize(("grain", "eth", "stages"), [
    ("fy", "officer", None), ("quarter", "self", None), ("month", "officer", None),
    ("fy", "self", ["stop_and_search", "arrest"]), ("fy", "officer", ["arrest", "custody"])])
def test_counts_and_the_other_definitions_stop_and_search_in_one_read(
        warehouse: Warehouse, grain: str, eth: str, stages: list[str] | None) -> None:
    """A page view reads its definition's counts and the other's stop and search at once:
    the same rows as reading each alone."""
    con = warehouse.reader()
    other = "self" if eth == "officer" else "officer"
    for area in AREAS[:4]:
        counts, others = dq.stage_counts_and_other(con, [area], grain, ethnicity_source=eth,  # type: ignore[arg-type]
                                                   stages=stages)
        assert_frame_equal(counts.sort(KEY), dq.stage_counts(
            con, [area], grain, ethnicity_source=eth, stages=stages).sort(KEY))  # type: ignore[arg-type]
        if stages is not None and "stop_and_search" not in stages:
            assert others is None
            continue
        assert others is not None
        assert_frame_equal(others.sort(KEY), dq.stage_counts(
            con, [area], grain, ethnicity_source=other, stages=["stop_and_search"]).sort(KEY))  # type: ignore[arg-type]
