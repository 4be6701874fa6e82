"""The whole-warehouse figure store gives every area exactly the figures computed for it alone,
and the views read it once it is warm (real demo warehouse, every indicator)."""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from cjsdash.core.gateway import Warehouse
from metrics import cache, store, views
from metrics.compute import compute_indicators
from metrics.registry import default_registry

AREAS = ("K04000001", "CJA03", "E23000002", "CJA01", "E12000002", "W92000004", "E23000001")


@pytest.fixture(scope="module")
def warehouse(demo_db: Path):
    wh = Warehouse(demo_db)
    yield wh
    wh.close()
    cache.clear_cache()
    store.clear()


@pytest.mark.parametrize("grain", ["quarter", "fy", "r12"])
def test_each_area_of_the_whole_frame_equals_the_area_alone(warehouse: Warehouse, grain: str
                                                            ) -> None:
    registry = default_registry()
    con = warehouse.reader()
    whole = store.build(con, registry, grain)
    assert whole.height > 0 and set(AREAS) <= set(whole["area_code"].unique())
    ids = [i.id for i in registry.indicators]
    for area in AREAS:
        alone = compute_indicators(con, registry, ids, [area], grain=grain)
        assert_frame_equal(whole.filter(whole["area_code"] == area), alone)


def test_views_read_the_store_once_warm_and_agree_with_direct_computation(
    warehouse: Warehouse
) -> None:
    registry = default_registry()
    con = warehouse.reader()
    cache.clear_cache()
    store.clear()
    assert store.lookup(con, registry, "fy") is None
    cold_head, cold_history = views.overview(con, registry, "CJA03", grain="fy")
    cold_series = views.series(con, registry, "charge_rate", ["CJA03", "K04000001"], grain="fy")
    cold_periods = views.period_choices(con, registry, "CJA03", "fy")
    store.warm(warehouse, registry, grains=("fy",)).join(timeout=300)
    assert store.lookup(con, registry, "fy") is not None
    head, history = views.overview(con, registry, "CJA03", grain="fy")
    assert_frame_equal(head, cold_head)
    assert_frame_equal(history, cold_history)
    assert_frame_equal(views.series(con, registry, "charge_rate", ["CJA03", "K04000001"],
                                    grain="fy"), cold_series)
    assert views.period_choices(con, registry, "CJA03", "fy") == cold_periods
    with pytest.raises(KeyError):
        views.series(con, registry, "no_such_indicator", ["CJA03"], grain="fy")


def test_after_a_load_the_store_waits_for_its_new_version(demo_db: Path, tmp_path: Path
                                                           ) -> None:
    import shutil

    from ingest.pipeline import ingest_paths

    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, copy)
    registry = default_registry()
    wh = Warehouse(copy)
    try:
        with wh.reading():
            before = store.build(wh.reader(), registry, "fy")
        extract = tmp_path / "extract.csv"
        extract.write_text("area,period,measure,numerator,denominator,source,vintage\n"
                           "Cumbria,2030-31,witness_attendance,9,10,Cumbria LCJB,2031-05-01\n",
                           encoding="utf-8")
        with wh.writer() as con:
            [report] = ingest_paths(con, [extract])
        assert report.status == "loaded", report.line()
        con = wh.reader()
        assert store.lookup(con, registry, "fy") is None  # a new data version
        after = store.build(con, registry, "fy")
        row = after.filter((after["indicator"] == "witness_attendance")
                           & (after["area_code"] == "E23000002")
                           & (after["period_label"] == "2030-31"))
        assert row["numerator"].to_list() == [9.0] and before.height < after.height
    finally:
        wh.close()


def test_the_overview_picks_each_sparkline_as_the_chart_factory_does(warehouse: Warehouse
                                                                     ) -> None:
    """The overview picks every indicator's sparkline points in one pass; they are exactly
    :func:`layouts.charts.headline_points` of that indicator, and so are the SVG and its
    description."""
    from layouts import charts

    registry = default_registry()
    _head, history = views.overview(warehouse.reader(), registry, "CJA01", grain="fy")
    points = charts.headline_points_by_indicator(registry.indicators, history)
    assert len(points) > 40
    for ind in registry.indicators:
        one = history.filter(history["indicator"] == ind.id)
        expected = charts.headline_points(one, ind)
        mine = points.get(ind.id, [])
        assert ([(p["period_start"], p["breakdown"], p["value"]) for p in mine]
                == [(p["period_start"], p["breakdown"], p["value"]) for p in expected]), ind.id
        assert charts.sparkline_svg(mine) == charts.make_sparkline_svg(one, ind)
        assert charts.describe_points(mine, ind) == charts.describe_series(one, ind)
