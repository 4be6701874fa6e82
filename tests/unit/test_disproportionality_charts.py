"""The disproportionality chart factories are pure: a frame in, a figure out.

The factories return plotly JSON drafted without validation (:mod:`layouts.figure_draft`);
every test reads it through ``go.Figure``, so a misspelt property or a bad value fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import plotly.graph_objects as go
import polars as pl
import pytest

from cjsdash.core.rollup import refresh_rollup
from layouts import disproportionality_charts as dc
from layouts import disproportionality_text as dt
from layouts.figure_draft import Spec, height
from metrics import disproportionality as dq
from metrics.options import Options


def _sensitivity(rows: list[dict]) -> pl.DataFrame:
    full = [{c: r.get(c) for c in dq.SENSITIVITY_COLUMNS} for r in rows]
    return pl.DataFrame(full, schema=dq.SENSITIVITY_SCHEMA)


def test_bounds_figure_draws_one_grey_bar_per_stage_and_the_ratio_per_group() -> None:
    rows = [
        {"analysis": dq.ANALYSIS_MISSING, "group": "Black", "stage_title": "Stop and search",
         "disparity_ratio": 7.0, "bound_low": 6.0, "bound_high": 9.0},
        {"analysis": dq.ANALYSIS_MISSING, "group": "Black", "stage_title": "Arrest",
         "disparity_ratio": 3.0, "bound_low": 2.5, "bound_high": 3.5},
        {"analysis": dq.ANALYSIS_MISSING, "group": "Asian", "stage_title": "Stop and search",
         "disparity_ratio": 2.0, "bound_low": None, "bound_high": None},
        {"analysis": dq.ANALYSIS_MISSING, "group": "Asian", "stage_title": "Arrest",
         "disparity_ratio": 1.1, "bound_low": 0.9, "bound_high": 1.3},
        {"analysis": dq.ANALYSIS_DENOMINATOR, "group": "Black", "stage_title": "Arrest",
         "disparity_ratio": 99.0, "bound_low": 1.0, "bound_high": 2.0},  # another analysis
    ]
    fig = go.Figure(dc.make_bounds_figure(_sensitivity(rows), area_name="Somewhere"))
    bars = [t for t in fig.data if t.mode == "lines" and t.line.width == 10]
    markers = {t.name: t for t in fig.data if t.mode == "markers"}
    assert [list(b.x) for b in bars] == [[6.0, 9.0, None, 2.5, 3.5, None],  # Black
                                         [0.9, 1.3, None]]                  # Asian
    assert list(bars[0].y) == ["Stop and search", "Stop and search", None, "Arrest", "Arrest",
                               None]
    assert list(markers["Black"].x) == [7.0, 3.0] and list(markers["Asian"].x) == [2.0, 1.1]
    assert bars[0].xaxis in (None, "x") and bars[1].xaxis == "x2"
    assert markers["Asian"].xaxis == "x2"
    assert "not confidence intervals" in fig.layout.title.text
    # the second panel shares the first's stage labels: no tick marks of its own
    assert fig.layout.yaxis2.ticks == "" and fig.layout.yaxis.ticks != ""


def test_rates_figure_puts_each_stage_in_its_own_panel_with_its_groups() -> None:
    rows = []
    for order, (stage, title) in enumerate([("stop_and_search", "Stop and search"),
                                            ("arrest", "Arrest"), ("charge", "Charge"),
                                            ("custody", "Custodial sentence")], start=1):
        for group, rate in (("White", 5.0 * order), ("Black", 20.0 * order)):
            rows.append({"stage": stage, "stage_title": title, "stage_order": order,
                         "group": group, "rate_per_1000": rate, "rate_lower": rate - 1,
                         "rate_upper": rate + 1, "count": 100, "population": 1000,
                         "suppressed": False, "status": "ok", "period_label": "2025-26"})
    rows.append({**rows[0], "stage": "population", "stage_title": "Population",
                 "stage_order": 0})
    fig = go.Figure(dc.make_rates_figure(pl.DataFrame(rows), area_name="Somewhere"))
    assert [t.name for t in fig.data] == ["Stop and search", "Arrest", "Charge",
                                          "Custodial sentence"]
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [("x", "y"), ("x2", "y2"), ("x3", "y3"),
                                                      ("x4", "y4")]
    order = [g for g in dc.GROUP_STYLE if g in ("White", "Black")]
    assert list(fig.data[3].x) == order
    assert list(fig.data[3].y) == [{"White": 20.0, "Black": 80.0}[g] for g in order]
    assert list(fig.data[1].error_y.array) == [1.0, 1.0]


# --- every factory's JSON is valid plotly, with data and without ------------------------------

JUNE = date(2024, 6, 30)
FORCES = {  # force → stage measure → group → count; both with a Census 2011 population
    "E23000005": {"stop_searches": {"White": 100, "Black": 50, "Asian": 20, "Mixed": 8,
                                    "Other": 3, "Not stated": 10},
                  "arrests": {"White": 40, "Black": 30, "Asian": 5, "Mixed": 4, "Other": 2,
                              "Not stated": 5},
                  "defendants_charged": {"White": 20, "Black": 15, "Asian": 2, "Mixed": 2,
                                         "Other": 1, "Not stated": 4}},
    "E23000004": {"stop_searches": {"White": 200, "Black": 20, "Asian": 10, "Mixed": 10,
                                    "Other": 10, "Not stated": 12}},
}
POPULATION = {"White": 10_000, "Black": 1_000, "Asian": 500, "Mixed": 200, "Other": 50}


@pytest.fixture
def frames(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """Real frames of :mod:`metrics.disproportionality` from a small hand-built warehouse."""
    con.execute("INSERT INTO meta.sources (source, title, publisher, licence, kind, priority, "
                "is_synthetic) VALUES ('hand_built', 'hand_built', 'test', 'test', 'local', 10, "
                "FALSE) ON CONFLICT DO NOTHING")
    for area, measures in FORCES.items():
        for measure, groups in measures.items():
            for group, value in {**groups, "": sum(groups.values())}.items():
                con.execute(
                    "INSERT INTO core.observations (measure, area_code, period_start, "
                    "period_end, ethnicity, value, source, vintage, run_id) VALUES "
                    "(?, ?, ?, ?, ?, ?, 'hand_built', 'v1', 0)",
                    [measure, area, date(2024, 6, 1), JUNE, group, value])
        for group, value in {**POPULATION, "": sum(POPULATION.values())}.items():
            con.execute("INSERT INTO core.populations (area_code, year, ethnicity, population, "
                        "source, vintage, run_id) VALUES (?, 2011, ?, ?, 'Census 2011', 'v1', 0)",
                        [area, group, value])
    refresh_rollup(con, sorted({m for measures in FORCES.values() for m in measures}))
    args = {"grain": "month", "options": Options(suppression_threshold=0)}
    return {
        "matrix": dq.stage_matrix(con, "E23000005", JUNE, **args),
        "sensitivity": dq.sensitivity(con, "E23000005", JUNE, **args),
        "forest": dq.forest(con, "stop_and_search", JUNE, kind="force", **args),
    }


EMPTY = {"matrix": pl.DataFrame(schema=dq.MATRIX_SCHEMA),
         "sensitivity": pl.DataFrame(schema=dq.SENSITIVITY_SCHEMA),
         "forest": pl.DataFrame(schema=dict.fromkeys(dq.FOREST_COLUMNS, pl.String))}
FACTORIES: dict[str, tuple[str, Callable[[pl.DataFrame], Spec]]] = {
    "stage matrix (per population, then rri)": ("matrix", lambda f: dc.make_stage_matrix_figure(
        f, area_name="Greater Manchester")),
    "stage matrix (rri alone)": ("matrix", lambda f: dc.make_stage_matrix_figure(
        f, area_name="Greater Manchester", value="rri")),
    "rri lines": ("matrix", lambda f: dc.make_rri_lines_figure(
        f, area_name="Greater Manchester")),
    "rates": ("matrix", lambda f: dc.make_rates_figure(f, area_name="Greater Manchester")),
    "rates (two columns)": ("matrix", lambda f: dc.make_rates_figure(
        f, area_name="Greater Manchester", columns=2)),
    "forest": ("forest", lambda f: dc.make_forest_figure(
        f, stage_title="Stop and search", group="Black", reference="White",
        basis="population")),
    "bounds": ("sensitivity", lambda f: dc.make_bounds_figure(
        f, area_name="Greater Manchester")),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_every_factory_returns_valid_plotly_json(name: str,
                                                 frames: dict[str, pl.DataFrame]) -> None:
    frame_name, factory = FACTORIES[name]
    assert frames[frame_name].height  # the real case has figures to draw
    for case, frame in (("real", frames[frame_name]), ("empty", EMPTY[frame_name])):
        spec = factory(frame)
        assert isinstance(spec, dict) and set(spec) == {"data", "layout"}, case
        fig = go.Figure(spec)  # validates every property: a misspelt one raises
        assert fig.to_plotly_json()["layout"]["template"] == spec["layout"]["template"], case
        assert height(spec, 0) == fig.layout.height >= 320, case
        assert fig.layout.title.text, case
        if case == "empty":
            assert not fig.data and fig.layout.xaxis.visible is False, case
            assert fig.layout.annotations[0].text.startswith("No "), case
        else:
            assert fig.data and all(t.hovertemplate or t.hoverinfo for t in fig.data), case


def test_stage_matrix_cells_lead_with_the_ratio_per_population(
        frames: dict[str, pl.DataFrame]) -> None:
    """The reading most people take from "times as likely" (per head of population) comes
    first in every cell; the RRI per previous stage second, labelled."""
    matrix = frames["matrix"]
    fig = go.Figure(dc.make_stage_matrix_figure(matrix, area_name="Greater Manchester"))
    heat = fig.data[0]
    assert "disparity ratio (per population)" in fig.layout.title.text
    assert "per head of population" in fig.layout.title.subtitle.text
    rows = {(r["stage_title"], r["group"]): r for r in matrix.iter_rows(named=True)}
    checked = 0
    for g, group in enumerate(heat.y):
        for s, stage in enumerate(heat.x):
            r = rows[(stage, group)]
            if r["status"] != "ok" or r["suppressed"]:
                continue
            first, second = heat.text[g][s].split("<br>")
            assert first == dt.cell_text(r, "disparity_ratio")
            assert second.endswith(f"RRI {dt.cell_text(r, 'rri')}</span>")
            checked += 1
    assert checked >= 4
    # a later stage, where the two readings differ
    later = matrix.filter((pl.col("stage_order") > 1) & (pl.col("status") == "ok")).row(
        0, named=True)
    assert later["rri"] != pytest.approx(later["disparity_ratio"])
    rri_only = go.Figure(dc.make_stage_matrix_figure(matrix, area_name="x", value="rri"))
    assert all("<br>RRI" not in t for row in rri_only.data[0].text for t in row)
    assert "per population" in dt.describe_matrix(matrix, area_name="Greater Manchester")
