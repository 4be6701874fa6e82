"""The figure mart's analyses (metrics.mart_analyses, decision 0029) hold exactly what the
baseline, comparison and data pages would compute, on the demo warehouse; a load makes them
stale (the pages compute) until the refresh rewrites the indicators it touched, and nothing
else; a refresh that fails leaves the figures and the analyses as they were."""

from __future__ import annotations

import json
import shutil
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import duckdb
import plotly.utils
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cjsdash.core.gateway import Warehouse, fetch
from ingest.pipeline import ingest_paths
from metrics import analysis, cache, mart, mart_comparisons, mart_stages, provenance
from metrics import mart_analysis_reads as reads
from metrics.registry import default_registry
from tests.conftest import write_csv

REG = default_registry()
AREAS = ["K04000001", "CJA03", "E23000002", "CJA01", "E23000001", "E12000002",
         "W92000004", "E23000034"]  # E&W, Cumbria ×2, London ×2, NW, Wales, City of London
TRIALS = "ineffective_trial_rate_crown"


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The pages compute, as on a warehouse whose mart is behind."""
    monkeypatch.setattr(reads, "ready", lambda _con, _registry: False)
    monkeypatch.setattr(reads, "current", lambda _con: False)
    cache.clear_cache()
    yield
    cache.clear_cache()


@pytest.fixture
def con(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(demo_db), read_only=True)
    yield connection
    connection.close()
    cache.clear_cache()


def _every_area(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [c for (c,) in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]


def _comparisons(con: duckdb.DuckDBPyConnection, grains: tuple[str, ...]
                 ) -> dict[tuple[str, ...], pl.DataFrame]:
    return {(i.id, grain, kind, str(draws)): analysis.compare_areas(
                con, REG, i.id, None, grain, kind=kind, seed=reads.COMPARE_SEED, draws=draws)
            for i in REG.indicators for grain in grains for kind in ("force", "lcjb")
            for draws in (reads.COMPARE_DRAWS, None)}


def _msg_tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], pl.DataFrame]:
    out = {}
    for area in AREAS:
        for ind in (TRIALS, "stop_search_rate", "obtj"):
            compare = analysis.compare_areas(con, REG, ind, None, "quarter",
                                             kind=analysis.comparison_kind(con, area))
            msg = analysis.msg_comparison(con, REG, ind, area, None, "quarter", compare=compare)
            out[(area, ind)] = msg.table(REG.get(ind)).with_columns(
                pl.lit(msg.vs_msg.text).alias("vs_msg"),
                pl.lit(msg.vs_national.text).alias("vs_national"))
    return out


def _data_tables(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    return (provenance.sources_frame(con), provenance.runs_frame(con),
            provenance.revisions_frame(con, limit=provenance.REJECTS_LIMIT),
            provenance.coverage_summary(con), provenance.rejects_count(con))


def _assert_same(stored: Any, fresh: Any, what: object) -> None:
    if isinstance(stored, pl.DataFrame):
        assert_frame_equal(stored, fresh)
    else:
        assert stored == fresh, what


def test_the_mart_holds_what_the_analyses_compute(con: duckdb.DuckDBPyConnection,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert reads.ready(con, REG) and reads.current(con)  # the demo build refreshed them
    every = _every_area(con)
    baselines = {(a, g): analysis.baseline(con, REG, a, g)
                 for a in AREAS for g in reads.BASELINE_GRAINS}
    groups = {a: analysis.peer_group(con, a) for a in every}
    comparisons = _comparisons(con, ("quarter", "fquarter"))
    msgs = _msg_tables(con)
    data = _data_tables(con)
    assert sum(g.source == analysis.COMPUTED_PEERS for g in groups.values()) > 40
    assert baselines[("CJA03", "quarter")][0]["display_value"].ne("no data").sum() > 20
    assert data[0].height > 3 and data[1].height > 10 and data[3]["runs"] == data[1].height
    monkeypatch.setattr(reads, "ready", lambda _con, _registry: False)
    monkeypatch.setattr(reads, "current", lambda _con: False)
    cache.clear_cache()
    for (area, grain), (frame, group) in baselines.items():
        fresh, fresh_group = analysis.baseline(con, REG, area, grain)
        assert_frame_equal(frame, fresh)
        assert group == fresh_group
    assert groups == {a: analysis.peer_group(con, a) for a in every}
    for key, fresh in _comparisons(con, ("quarter", "fquarter")).items():
        _assert_same(comparisons[key], fresh, key)
    for key, fresh in _msg_tables(con).items():
        _assert_same(msgs[key], fresh, key)
    for stored, fresh in zip(data, _data_tables(con), strict=True):
        _assert_same(stored, fresh, "data page")


def _json(value: Any) -> str:
    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder)


@pytest.fixture
def pages(demo_db: Path, tmp_path: Path) -> Iterator[dict[str, types.ModuleType]]:
    """The baseline, indicator and data pages over a copy of the demo warehouse."""
    import sys

    import layouts.context as context
    from cjsdash.server import create_app

    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    wh = Warehouse(path, held=True)
    create_app(wh, REG)
    saved = context._context
    context._context = types.SimpleNamespace(warehouse=wh, registry=REG, reader=wh.reader)
    try:
        yield {p["path"].strip("/").split("/")[0] or "overview": sys.modules[p["module"]]
               for p in dash.page_registry.values()}
    finally:
        context._context = saved
        wh.close()
        cache.clear_cache()


def test_every_page_shows_the_same_from_the_mart(pages: dict[str, types.ModuleType],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    base, ind, data = pages["baseline"], pages["indicator"], pages["data"]

    def views() -> list[str]:
        return ([_json(base.layout(area=a, grain=g)) for a in AREAS[:5]
                 for g in ("quarter", "fy", "r12")]
                + [_json(ind.update_compare(a, g, i)) for a in AREAS[:5]
                   for g in ("quarter", "fquarter") for i in (TRIALS, "stop_search_rate")]
                + [_json(data.layout())])

    stored = views()
    monkeypatch.setattr(reads, "ready", lambda _con, _registry: False)
    monkeypatch.setattr(reads, "current", lambda _con: False)
    cache.clear_cache()
    assert views() == stored


def _rowids(con: duckdb.DuckDBPyConnection, table: str, indicator: str) -> list[int]:
    return [r for (r,) in con.execute(f"SELECT rowid FROM mart.{table} "  # noqa: S608
                                      "WHERE indicator = ? ORDER BY rowid", [indicator]).fetchall()]


def test_a_load_makes_them_stale_until_the_refresh_rewrites_what_it_touched(
        demo_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    extract = write_csv(tmp_path / "cumbria.csv", (
        "area,period,measure,numerator,denominator\n"
        f"Cumbria,2025-26 Q4,{TRIALS},100,400\n"))
    with Warehouse(path).writer() as con:
        before = analysis.baseline(con, REG, "CJA03", "fy")[0]
        compare_before = analysis.compare_areas(con, REG, TRIALS, None, "quarter", kind="lcjb")
        runs_before = provenance.coverage_summary(con)["runs"]
        kept = {t: _rowids(con, t, "obtj") for t in ("baselines", "comparisons")}
        rewritten = {t: _rowids(con, t, TRIALS) for t in ("baselines", "comparisons")}
        [report] = ingest_paths(con, [extract])
        assert report.status == "loaded"
        assert not reads.ready(con, REG) and not reads.current(con)  # stale: computed
        loaded = analysis.baseline(con, REG, "CJA03", "fy")[0]
        assert provenance.coverage_summary(con)["runs"] == runs_before + 1
        mart.refresh(con, REG)
        assert reads.ready(con, REG) and reads.current(con)
        after = analysis.baseline(con, REG, "CJA03", "fy")[0]
        assert_frame_equal(after, loaded)
        assert not after.equals(before)
        trials = after.filter(pl.col("indicator") == TRIALS)
        assert trials["value"].to_list() != before.filter(
            pl.col("indicator") == TRIALS)["value"].to_list()
        compare_after = analysis.compare_areas(con, REG, TRIALS, None, "quarter", kind="lcjb")
        assert not compare_after.equals(compare_before)
        assert compare_after.filter(pl.col("area_code") == "CJA03")["numerator"].to_list() == [
            100.0]
        assert provenance.coverage_summary(con)["runs"] == runs_before + 1
        assert {t: _rowids(con, t, "obtj") for t in kept} == kept  # untouched
        assert all(_rowids(con, t, TRIALS) != rows for t, rows in rewritten.items())
        stored = (after, compare_after, _data_tables(con))
        cache.clear_cache()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(reads, "ready", lambda _con, _registry: False)
            mp.setattr(reads, "current", lambda _con: False)
            assert_frame_equal(stored[0], analysis.baseline(con, REG, "CJA03", "fy")[0])
            assert_frame_equal(stored[1], analysis.compare_areas(con, REG, TRIALS, None,
                                                                 "quarter", kind="lcjb"))
            for held, fresh in zip(stored[2], _data_tables(con), strict=True):
                _assert_same(held, fresh, "data page after the load")
    cache.clear_cache()


def test_a_failed_refresh_leaves_figures_and_analyses_as_they_were(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures' transaction fails whole; the analyses' own transaction (decision 32)
    fails without taking the new figures back, and the old analyses stop answering until
    the next refresh fills them (pages compute from the new figures meanwhile)."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(demo_db, path)
    extract = write_csv(tmp_path / "cumbria.csv", (
        "area,period,measure,numerator,denominator\n"
        f"Cumbria,2025-26 Q4,{TRIALS},100,400\n"))
    figures = "SELECT count(*), sum(numerator) FROM mart.figures WHERE indicator = ?"
    comparisons = "SELECT * FROM mart.comparisons ORDER BY ALL"
    with Warehouse(path).writer() as con:
        held = con.execute(figures, [TRIALS]).fetchall()
        stored = fetch(con, comparisons)
        state = con.execute("SELECT * FROM mart.state ORDER BY key").fetchall()
        ingest_paths(con, [extract])

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("the stage tables failed")

        with monkeypatch.context() as patch:
            patch.setattr(mart_stages, "refresh_stages", broken)
            with pytest.raises(RuntimeError, match="stage tables failed"):
                mart.refresh(con, REG)
        assert con.execute(figures, [TRIALS]).fetchall() == held  # the old figures stand
        assert_frame_equal(fetch(con, comparisons), stored)
        assert con.execute("SELECT * FROM mart.state ORDER BY key").fetchall() == state
        assert not mart.ready(con) and not reads.ready(con, REG)  # stale: pages compute

        def failed(*_args: object) -> None:
            raise RuntimeError("the comparisons failed")

        with monkeypatch.context() as patch:
            patch.setattr(mart_comparisons, "compute", failed)
            with pytest.raises(RuntimeError, match="comparisons failed"):
                mart.refresh(con, REG)
        assert con.execute(figures, [TRIALS]).fetchall() != held  # the new figures …
        assert mart.ready(con)
        assert_frame_equal(fetch(con, comparisons), stored)  # … beside the old comparisons,
        assert not reads.ready(con, REG)  # which no longer answer
        mart.refresh(con, REG)
        assert reads.ready(con, REG)
        assert not fetch(con, comparisons).equals(stored)
    cache.clear_cache()


def test_serving_a_mart_made_before_these_tables_fills_them(demo_db: Path,
                                                            tmp_path: Path) -> None:
    from cjsdash.cli import prepare_to_serve

    path = tmp_path / "older.duckdb"
    shutil.copyfile(demo_db, path)
    with duckdb.connect(str(path)) as con:
        for table in ("baselines", "comparisons", "peer_groups", "analysis_state"):
            con.execute(f"DROP TABLE mart.{table}")
        assert mart.ready(con) and not reads.ready(con, REG)
    cache.clear_cache()
    _, report = prepare_to_serve(path)  # what `cjsdash serve` does first
    assert report is not None and report.indicators == []  # the figures were current
    with duckdb.connect(str(path), read_only=True) as con:
        assert reads.ready(con, REG)
        stored = analysis.baseline(con, REG, "CJA03", "quarter")[0]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(reads, "ready", lambda _con, _registry: False)
            cache.clear_cache()
            assert_frame_equal(stored, analysis.baseline(con, REG, "CJA03", "quarter")[0])
    cache.clear_cache()
