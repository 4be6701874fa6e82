"""What the pages read from the figure mart with narrow queries equals what they computed
before: the baseline (the area's series, then every area at its latest periods only), the
'How do we compare?' MSG comparison (England and Wales's row only), one area's series (its
own rows only), the targets at the latest periods and the area list."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from ingest.pipeline import ingest_paths
from metrics import analysis as an
from metrics import mart, views
from metrics.registry import default_registry
from tests.conftest import write_csv
from tests.unit.test_analysis import _forces

REG = default_registry()


def _load(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> list[str]:
    """Two quarters of witnesses and trials, the second for only some forces, so an area's
    latest period differs by indicator and from its neighbours'."""
    forces = _forces(con)
    lines = ["area,period,measure,numerator,denominator,source,vintage"]
    for i, code in enumerate(forces):
        lines.append(f"{code},2024-25 Q1,witness_attendance,{100 + 7 * i},1000,test,v1")
        lines.append(f"{code},2024-25 Q1,ineffective_trial_rate_crown,{10 + i},{90 + i},test,v1")
        if i % 3 == 0:
            lines.append(f"{code},2024-25 Q2,witness_attendance,{120 + 5 * i},1000,test,v1")
    targets = ("indicator,area,period,target,kind,source\n"
               + "".join(f"{ind},{area},2024-25 Q1,{value},{kind},test plan\n"
                         for area in (forces[0], forces[1], "CJA03", "E12000002",
                                      views.NATIONAL)
                         for ind, value, kind in (("ineffective_trial_rate_crown", 12, "target"),
                                                  ("witness_attendance", 15, "trajectory"))))
    reports = ingest_paths(con, [write_csv(tmp_path / "w.csv", "\n".join(lines) + "\n"),
                                 write_csv(tmp_path / "targets.csv", targets)])
    assert [r.status for r in reports] == ["loaded", "loaded"], [r.line() for r in reports]
    return forces


def test_narrow_mart_reads_equal_what_the_pages_computed(con: duckdb.DuckDBPyConnection,
                                                         tmp_path: Path) -> None:
    forces = _load(con, tmp_path)
    areas = [forces[0], forces[1], "CJA03", views.NATIONAL, "E12000002"]
    wanted = ("witness_attendance", "ineffective_trial_rate_crown")
    assert not mart.ready(con)  # computed, as before the mart
    before = {a: an.baseline(con, REG, a, "quarter") for a in areas}
    msg_before = {(a, i): an.msg_comparison(con, REG, i, a, None, "quarter")
                  for a in areas for i in wanted}
    series_before = {(a, i): an.area_series(con, REG, i, a, "quarter")
                     for a in areas for i in wanted}
    targets_before = {a: views.against_target(con, REG, a) for a in areas}
    assert all(t.height for t in targets_before.values()), targets_before
    listed = views.list_areas(con)
    mart.refresh(con, REG)
    assert mart.ready(con)
    for area in areas:
        frame, group = an.baseline(con, REG, area, "quarter")
        assert group == before[area][1]
        assert_frame_equal(frame, before[area][0])
        shown = frame.filter(frame["indicator"].is_in(list(wanted)))
        assert shown["display_value"].to_list() != ["no data"] * 2, area
    for (area, ind), old in msg_before.items():
        new = an.msg_comparison(con, REG, ind, area, None, "quarter")
        assert (new.area, new.national, new.period_label) == (old.area, old.national,
                                                              old.period_label)
        assert new.national is not None, (area, ind)
        assert_frame_equal(new.members, old.members)
        assert (new.vs_msg, new.vs_national) == (old.vs_msg, old.vs_national)
    for (area, ind), old_series in series_before.items():
        assert old_series.height, (area, ind)
        assert_frame_equal(an.area_series(con, REG, ind, area, "quarter"), old_series)
    assert views.list_areas(con) == listed
    for area, old_targets in targets_before.items():
        assert_frame_equal(views.against_target(con, REG, area), old_targets)


@pytest.mark.parametrize("area", ["CJA03", "E23000002"])
def test_the_baseline_of_an_area_without_figures_is_all_no_data(
        con: duckdb.DuckDBPyConnection, area: str) -> None:
    mart.refresh(con, REG)
    frame, _ = an.baseline(con, REG, area, "quarter")
    assert frame.height == len(REG.indicators)
    assert set(frame["display_value"].to_list()) == {"no data"}


def test_overview_sparklines_from_picked_points_equal_those_from_whole_rows(
        con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """The overview picks each indicator's sparkline points out of one frame, keeping only
    the columns a sparkline reads: the image and its text are those of the whole rows."""
    from layouts import components as cx
    from layouts import sparklines

    forces = _load(con, tmp_path)
    mart.refresh(con, REG)
    _, history = views.overview(con, REG, forces[0], grain="quarter")
    points = sparklines.headline_points_by_indicator(REG.indicators, history)
    assert sorted(points) == ["ineffective_trial_rate_crown", "witness_attendance"]
    assert len(points["witness_attendance"]) == 2
    for ind in REG.indicators:
        own = history.filter(history["indicator"] == ind.id)
        whole = cx.sparkline(own, ind, graph_id="s").to_plotly_json()
        picked = cx.sparkline(points.get(ind.id, []), ind, graph_id="s").to_plotly_json()
        assert picked == whole
