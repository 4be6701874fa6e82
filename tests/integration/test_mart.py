"""The figure mart (metrics.mart) holds exactly what the views would compute, and a refresh
recomputes what a load changed, and only that."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cjsdash.bootstrap import prepare
from cjsdash.core.gateway import Warehouse, fetch
from ingest.pipeline import ingest_paths
from metrics import cache, mart, mart_ready, views
from metrics.compute import compute_indicators
from metrics.compute_inputs import Inputs
from metrics.disclosure import HIDDEN_SCHEMA, hidden_cells, plan_hidden_cells, protected_measures
from metrics.options import Options
from metrics.registry import default_registry
from tests.conftest import write_csv

AREAS = ["K04000001", "CJA03", "E23000002", "E12000002", "CJA01"]  # E&W, Cumbria ×2, NW, London
KEY = ["indicator", "area_code", "breakdown", "period_start", "period_end", "source"]


def _computed(con: duckdb.DuckDBPyConnection, grain: str, by: str | None) -> pl.DataFrame:
    registry = default_registry()
    frame = compute_indicators(con, registry, [i.id for i in registry.indicators], AREAS,
                               grain=grain, by=by)
    names = dict(con.execute("SELECT code, name FROM core.areas").fetchall())
    return views.present(frame, registry, names).sort(KEY)


@pytest.mark.parametrize("grain", ["quarter", "fquarter", "fy", "month", "r12"])
@pytest.mark.parametrize("by", [None, "ethnicity", "sex"])
def test_the_mart_holds_what_the_views_compute(demo_db: Path, grain: str, by: str | None
                                               ) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        assert mart.ready(con)  # the demo build refreshed it
        stored = mart.read(con, "grain = ? AND by_breakdown = ? AND list_contains(?, area_code)",
                           [grain, by or "", AREAS]).sort(KEY)
        assert stored.height > 0
        assert_frame_equal(stored, _computed(con, grain, by), check_dtypes=False)
    finally:
        con.close()


def test_shared_inputs_give_the_figures_of_separate_reads(demo_db: Path) -> None:
    """A refresh's tasks share what they read and the tiles they choose
    (:mod:`metrics.compute_inputs`: month's from monthly observations, the longer grains'
    from quarters and years too, across the demo's several sources): every grain and
    breakdown gives exactly the rows reading afresh gives."""
    registry = default_registry()
    ids = [i.id for i in registry.indicators]
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        withheld = hidden_cells(con, registry, Options())
        shared = Inputs(shared=True, indicators=ids)
        for grain in ("month", "quarter", "fy", "year", "r12"):
            for by in (None, "ethnicity"):
                alone = compute_indicators(con, registry, ids, AREAS, grain=grain, by=by,
                                           withheld=withheld)
                assert alone.height > 0
                assert_frame_equal(compute_indicators(
                    con, registry, ids, AREAS, grain=grain, by=by, withheld=withheld,
                    inputs=shared), alone, check_exact=True)
    finally:
        con.close()


def _copy_with_trials(demo_db: Path, tmp_path: Path, numerator: int, denominator: int
                      ) -> tuple[Path, Path]:
    """A copy of the demo warehouse, and an extract of Cumbria's 2025-26 Q4 Crown Court
    ineffective trials to load into it."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    return path, write_csv(tmp_path / "cumbria.csv", (
        "area,period,measure,numerator,denominator\n"
        f"Cumbria,2025-26 Q4,ineffective_trial_rate_crown,{numerator},{denominator}\n"))


def test_a_load_refreshes_only_what_it_touched(demo_db: Path, tmp_path: Path) -> None:
    path, extract = _copy_with_trials(demo_db, tmp_path, 100, 400)
    registry = default_registry()
    with Warehouse(path).writer() as con:
        before = mart.read(con, "grain = 'fy' AND by_breakdown = '' AND indicator = ?",
                           ["ineffective_trial_rate_crown"])
        untouched = mart.read(con, "grain = 'fy' AND by_breakdown = '' AND indicator = ?",
                              ["obtj"])
        prepare(con)
        [report] = ingest_paths(con, [extract])
        assert report.status == "loaded"
        assert not mart.ready(con)  # loaded, not yet refreshed: the views compute
        assert not mart_ready.current(con, registry)  # what `cjsdash serve` asks first
        refreshed = mart.refresh(con, registry)
        assert mart_ready.current(con, registry)
        touched = set(registry.get("ineffective_trial_rate_crown").measures)
        assert set(refreshed.indicators) == {  # the trials' indicators, and only those
            i.id for i in registry.indicators if touched.intersection(i.measures)}
        assert {"ineffective_trial_rate_crown", "cracked_trial_rate_crown"} <= set(
            refreshed.indicators) and "obtj" not in refreshed.indicators
        assert mart.ready(con)
        after = mart.read(con, "grain = 'fy' AND by_breakdown = '' AND indicator = ?",
                          ["ineffective_trial_rate_crown"])
        assert not after.equals(before)
        cumbria = after.filter((pl.col("area_code") == "CJA03")
                               & (pl.col("period_label") == "2025-26"))
        computed = views.present(compute_indicators(
            con, registry, ["ineffective_trial_rate_crown"], ["CJA03"], grain="fy"),
            registry, {"CJA03": "Cumbria"}).filter(pl.col("period_label") == "2025-26")
        assert cumbria.select("numerator", "denominator").rows() == computed.select(
            "numerator", "denominator").rows()
        assert_frame_equal(
            mart.read(con, "grain = 'fy' AND by_breakdown = '' AND indicator = ?",
                      ["obtj"]), untouched)
        assert mart.refresh(con, registry).indicators == []  # nothing changed since
        tables = {t for (t,) in con.execute(  # no staging table is left behind
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mart'").fetchall()}
        assert {"figures", "state"} <= tables and not any("staged" in t for t in tables)


def test_a_whole_set_refresh_replans_only_the_measures_a_load_changed(
        con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Each measure's whole-set plan is kept in mart.withheld (decision 25): a load re-plans
    the measures it changed, and the stored plan is what planning them afresh gives."""
    registry, whole = default_registry(), Options(disclosure="whole_set")
    header = "area,period,measure,numerator,denominator\n"
    ingest_paths(con, [write_csv(tmp_path / "a.csv", header + (
        "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,3,40\n"
        "Lancashire,2024-25 Q1,ineffective_trial_rate_crown,12,80\n"
        "Merseyside,2024-25 Q1,ineffective_trial_rate_crown,15,90\n"))])
    first = mart.refresh(con, registry, options=whole)
    touched = set(registry.get("ineffective_trial_rate_crown").measures)
    assert touched <= set(first.replanned)
    assert mart.ready(con, whole)
    ingest_paths(con, [write_csv(tmp_path / "b.csv", header + (
        "Cumbria,2024-25 Q2,ineffective_trial_rate_crown,2,30\n"))])
    second = mart.refresh(con, registry, options=whole)
    assert set(second.replanned) == touched & set(protected_measures(registry, whole))
    measures = sorted(second.replanned)
    stored = fetch(con, "SELECT * FROM mart.withheld WHERE list_contains(?, measure)",
                   [measures])
    fresh = plan_hidden_cells(con, registry, whole, only=measures)
    order = list(HIDDEN_SCHEMA)
    assert fresh.filter("primary").height >= 2  # the 3 and the 2 trials
    assert_frame_equal(stored.cast(HIDDEN_SCHEMA).sort(order), fresh.sort(order))
    assert_frame_equal(hidden_cells(con, registry, whole).sort(order), fresh.sort(order))
    assert mart.refresh(con, registry, options=whole).replanned == []


def test_views_compute_when_the_mart_is_behind(con: duckdb.DuckDBPyConnection,
                                               tmp_path: Path) -> None:
    """A warehouse loaded without a refresh (as a test's) still shows its figures."""
    ingest_paths(con, [write_csv(tmp_path / "x.csv", (
        "area,period,measure,numerator,denominator\n"
        "Cumbria,2024-25 Q1,ineffective_trial_rate_crown,10,40\n"))])
    assert not mart.ready(con)
    frame = views.series(con, default_registry(), "ineffective_trial_rate_crown", ["CJA03"])
    assert frame.filter(pl.col("period_label") == "Apr–Jun 2024")["value"].to_list() == [25.0]
    mart.refresh(con, default_registry())
    assert mart.ready(con)
    assert_frame_equal(
        views.series(con, default_registry(), "ineffective_trial_rate_crown", ["CJA03"]), frame,
        check_dtypes=False)


def test_pages_query_and_packs_all_read_the_mart(demo_db: Path, tmp_path: Path) -> None:
    """A figure changed in the mart alone (as no computation could) shows in the overview,
    the indicator page's series, ``cjsdash query`` and an exported pack alike."""
    from typer.testing import CliRunner

    from cjsdash.cli import app
    from cjsdash.exports.render import export_pack

    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    con = duckdb.connect(str(path))
    marker = 987654.0
    con.execute("UPDATE mart.figures SET numerator = ?, display_value = '987,654 marked' "
                "WHERE indicator = 'obtj' AND area_code = 'CJA03' "
                "AND by_breakdown = '' AND breakdown = ''",
                [marker])
    assert mart.ready(con)
    registry = default_registry()
    headline, history = views.overview(con, registry, "CJA03")
    assert headline.filter(pl.col("indicator") == "obtj")["display_value"].to_list(
        ) == ["987,654 marked"]
    assert set(views.series(con, registry, "obtj", ["CJA03"])["numerator"]) == {marker}
    con.close()
    result = CliRunner().invoke(app, ["query", "obtj", "--area", "CJA03",
                                      "--format", "csv", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "987,654 marked" in result.output
    reader = duckdb.connect(str(path), read_only=True)
    try:
        written = export_pack(reader, registry, pack="lcjb_default", area="CJA03",
                              period="latest", fmt="csv", out=tmp_path / "pack.csv")
    finally:
        reader.close()
    text = "".join(p.read_text(encoding="utf-8") for p in written.paths)
    assert "987654" in text.replace(",", "") and "obtj" in text


def test_a_refused_or_unchanged_upload_leaves_the_mart_current(demo_db: Path, tmp_path: Path
                                                               ) -> None:
    """A file that loads nothing is still logged (its run, its rejects), which moves the
    warehouse's stamp: the upload refreshes the mart too, or every page would fall back to
    computing (a stage matrix then re-plans the whole-set disclosure: minutes, not ms)."""
    from cjsdash.uploads import ingest_upload
    from metrics import disclosure, mart_analysis_reads, mart_stage_reads, provenance

    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    warehouse = Warehouse(path)
    refused = write_csv(tmp_path / "bad.csv", (
        "area,period,measure,numerator,denominator\n"
        "Narnia,2013-14 Q1,ineffective_trial_rate_crown,5,50\n"
        "Cumbria,2013-14 Q2,ineffective_trial_rate_crown,=1+2,100\n"))
    good = write_csv(tmp_path / "good.csv", (
        "area,period,measure,numerator,denominator\n"
        "Cumbria,2013-14 Q1,ineffective_trial_rate_crown,12,100\n"))
    spec = disclosure.spec_key(disclosure.protected_measures(default_registry(), Options()))
    for extract, status in ((refused, "refused"), (good, "loaded"), (good, "unchanged")):
        assert ingest_upload(warehouse, extract).status == status
        con = warehouse.reader()
        with warehouse.reading():
            assert mart.ready(con), status
            assert disclosure.stored_plan_current(con, spec), status
            assert mart_stage_reads.ready(con) and mart_analysis_reads.current(con), status
            runs = provenance.runs_frame(con)  # the data page's table, from the mart
            assert_frame_equal(runs, provenance.runs_frame(con, stored=False))
            if status != "unchanged":  # the same bytes again are not a new run
                assert runs["status"][0] == status and runs["file_name"][0] == extract.name
    warehouse.close()


def test_a_stale_mart_plans_as_the_next_refresh_will(demo_db: Path, tmp_path: Path) -> None:
    """Between a load and its refresh (or after a failed refresh), pages read a whole-set plan
    made as the refresh will make it: only the measures whose rows changed, from their stored
    plans. Planning every measure afresh took minutes, and a page waited for it."""
    from metrics import disclosure

    path, extract = _copy_with_trials(demo_db, tmp_path, 3, 40)
    registry = default_registry()
    keys = ["measure", "area_code", "period_start", "period_end", "bdim", "breakdown"]
    with Warehouse(path).writer() as con:
        prepare(con)
        assert ingest_paths(con, [extract])[0].status == "loaded"
        assert not mart.ready(con)
        cache.clear_cache()
        planned = disclosure.hidden_cells(con, registry, Options())  # stale: planned now
        mart.refresh(con, registry)
        stored = disclosure.stored_plan(con)
    cumbria = planned.filter((pl.col("area_code") == "CJA03")
                             & (pl.col("measure") == "trials_ineffective_crown")
                             & (pl.col("period_end") == pl.date(2026, 3, 31)))
    assert cumbria.height > 0  # the 3 is withheld
    assert_frame_equal(planned.sort(keys), stored.sort(keys), check_row_order=True)
