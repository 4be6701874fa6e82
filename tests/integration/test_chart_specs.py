"""The indicator page's chart factories hand out plotly JSON (a dict, drafted without plotly's
validators): every spec, empty or drawn from the demo warehouse, must make a valid
``go.Figure`` (a misspelt property fails here), and must already be what plotly would send —
the browser gets the spec as it is, unvalidated."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest
from plotly.utils import PlotlyJSONEncoder

from layouts import charts, sparklines, spc_chart
from layouts import comparison_charts as cc
from layouts.figure_draft import height
from metrics import analysis, views
from metrics.registry import default_registry

REG = default_registry()
PROPORTION = REG.get("ineffective_trial_rate_crown")
COUNT = REG.get("obtj")
RATIO = REG.get("disparity_ratio")
RATE = REG.get("stop_search_rate")
LCJB, NATIONAL = "CJA03", "K04000001"
EMPTY = pl.DataFrame()


@pytest.fixture(scope="module")
def demo(demo_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()


def _decoded(obj: Any) -> Any:
    """Base64 typed arrays (what plotly sends for numpy arrays) as lists, NaN as None."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            values = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"]).tolist()
            return [None if isinstance(v, float) and np.isnan(v) else v for v in values]
        return {k: _decoded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decoded(v) for v in obj]
    return obj


def validated(spec: dict) -> go.Figure:
    """The spec as a validated figure; and the spec as sent equals the validated JSON."""
    assert isinstance(spec, dict) and set(spec) == {"data", "layout"}
    fig = go.Figure(spec)
    sent = json.loads(json.dumps(spec, cls=PlotlyJSONEncoder))
    assert _decoded(sent) == _decoded(json.loads(pio.to_json(fig)))
    return fig


def _trend_frames(con: duckdb.DuckDBPyConnection, ind_id: str, area: str, grain: str
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    both = views.series(con, REG, ind_id, [area, NATIONAL], grain=grain)
    return (both.filter(pl.col("area_code") == area),
            both.filter(pl.col("area_code") == NATIONAL))


def _spc_frame(con: duckdb.DuckDBPyConnection, ind_id: str, area: str, *,
               rebase: bool = False) -> pl.DataFrame:
    ind = REG.get(ind_id)
    rows = analysis.area_series(con, REG, ind_id, area, "quarter")
    marks = [analysis.headline_rows(rows)["period_start"][16].isoformat()] if rebase else []
    frame = analysis.spc_frame(rows, ind, rebase_at=marks)
    return analysis.trajectory_targets(con, ind, area, frame)


def _compare(con: duckdb.DuckDBPyConnection, ind_id: str) -> pl.DataFrame:
    return analysis.compare_areas(con, REG, ind_id, None, "quarter", kind="lcjb", seed=0,
                                  draws=200)


def test_empty_figures_validate_and_say_why() -> None:
    specs = {
        "trend": charts.make_trend_figure(EMPTY, None, PROPORTION, area_name="X"),
        "trend, both empty": charts.make_trend_figure(EMPTY, EMPTY, COUNT, area_name="X"),
        "breakdown": charts.make_breakdown_figure(EMPTY, RATE, area_name="X"),
        "sparkline": sparklines.make_sparkline_figure(EMPTY, PROPORTION),
        "spc": spc_chart.make_spc_figure(EMPTY, PROPORTION, area_name="X"),
        "funnel": cc.make_funnel_figure(EMPTY, PROPORTION, None),
        "funnel, not compared": cc.make_funnel_figure(EMPTY, REG.get("fine_payment_rate"),
                                                      None),
        "rank": cc.make_rank_figure(EMPTY, PROPORTION, LCJB),
    }
    for name, spec in specs.items():
        fig = validated(spec)
        assert len(fig.data) == 0, name
        if name != "sparkline":
            assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
            assert fig.layout.annotations[0].text.startswith(("No ", "Too few", "Not ranked"))
    assert "No data for this area" in validated(specs["trend"]).layout.annotations[0].text


def test_trend_figure_of_an_lcjb_validates(demo: duckdb.DuckDBPyConnection) -> None:
    area, national = _trend_frames(demo, PROPORTION.id, LCJB, "quarter")
    spec = charts.make_trend_figure(area, national, PROPORTION, area_name="Cumbria")
    fig = validated(spec)
    names = [t.name for t in fig.data]
    assert names[0] == "Cumbria: 95% confidence interval" and fig.data[0].fill == "toself"
    assert "England and Wales" in names and "Cumbria" in names
    assert "yaxis2" not in spec["layout"]  # a rate: one axis
    assert fig.layout.xaxis.categoryarray == tuple(area.sort("period_start")["period_label"])
    assert height(spec, 0) == fig.layout.height == 460
    assert fig.layout.template.layout.font.family  # the theme, written out


def test_count_trend_puts_england_and_wales_on_a_right_axis(
        demo: duckdb.DuckDBPyConnection) -> None:
    area, national = _trend_frames(demo, COUNT.id, LCJB, "fy")
    fig = validated(charts.make_trend_figure(area, national, COUNT, area_name="Cumbria"))
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.side == "right"
    [ew] = [t for t in fig.data if t.name == "England and Wales (right axis)"]
    assert ew.yaxis == "y2"
    assert all(t.yaxis in (None, "y") for t in fig.data if t is not ew)


def test_ratio_trend_draws_a_labelled_parity_line(demo: duckdb.DuckDBPyConnection) -> None:
    area, national = _trend_frames(demo, RATIO.id, NATIONAL, "fy")
    fig = validated(charts.make_trend_figure(area, None, RATIO, area_name="England and Wales"))
    [line] = [s for s in fig.layout.shapes if s.type == "line"]
    assert (line.xref, line.yref, line.y0, line.y1) == ("x domain", "y", 1, 1)
    [label] = [a for a in fig.layout.annotations if a.text == "parity"]
    assert (label.xref, label.x, label.xanchor, label.yanchor) == ("x domain", 0, "left",
                                                                    "bottom")


def test_breakdown_and_sparkline_figures_validate(demo: duckdb.DuckDBPyConnection) -> None:
    table = views.series(demo, REG, RATE.id, [LCJB], grain="fy", by="ethnicity")
    fig = validated(charts.make_breakdown_figure(table, RATE, area_name="Cumbria"))
    groups = sorted(g for g in table["breakdown"].unique().to_list() if g)
    assert [t.name for t in fig.data] == groups
    assert len({t.line.dash for t in fig.data}) == min(len(groups), 6)
    area, _ = _trend_frames(demo, PROPORTION.id, LCJB, "quarter")
    spark = validated(sparklines.make_sparkline_figure(area, PROPORTION))
    assert spark.data[-1].name == "latest" and spark.layout.height == 40


def test_spc_figures_validate(demo: duckdb.DuckDBPyConnection) -> None:
    for ind_id in (PROPORTION.id, COUNT.id):
        frame = _spc_frame(demo, ind_id, LCJB)
        spec = spc_chart.make_spc_figure(frame, REG.get(ind_id), area_name="Cumbria",
                                         trajectory=frame)
        fig = validated(spec)
        assert height(spec, 0) == spc_chart.SPC_HEIGHT
        assert fig.layout.meta["chart"] == frame["chart"][0]
        limits = [t for t in fig.data if t.name == "Process limits"]
        assert limits and all(t.line.shape == ("hvh" if frame["chart"][0] == analysis.P_CHART
                                               else "linear") for t in limits)
        [band] = [s for s in fig.layout.shapes if s.type == "rect"]
        assert (band.yref, band.y0, band.y1, band.line.width) == ("y domain", 0, 1, 0)
    rebased = validated(spc_chart.make_spc_figure(
        _spc_frame(demo, PROPORTION.id, LCJB, rebase=True), PROPORTION, area_name="Cumbria"))
    [line] = [s for s in rebased.layout.shapes if s.type == "line"]
    assert (line.xref, line.yref, line.line.dash) == ("x", "y domain", "dash")
    assert any(a.text == " rebased here" for a in rebased.layout.annotations)


def test_funnel_and_rank_figures_validate(demo: duckdb.DuckDBPyConnection) -> None:
    frame = _compare(demo, PROPORTION.id)
    funnel = validated(cc.make_funnel_figure(frame, PROPORTION, LCJB, kind_words="LCJBs"))
    assert funnel.layout.xaxis.type == "log"
    assert [t.name for t in funnel.data][-1] == frame.filter(
        pl.col("area_code") == LCJB)["area_name"][0]
    spec = cc.make_rank_figure(frame, PROPORTION, LCJB, kind_words="LCJBs")
    rank = validated(spec)
    ranked = cc.rank_order(frame).height
    assert height(spec, 0) == max(360, 150 + cc.RANK_ROW_PX * ranked)
    assert sum(len(t.y) for t in rank.data) == ranked
    assert all(t.error_x.type == "data" for t in rank.data)
