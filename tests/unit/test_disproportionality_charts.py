"""The disproportionality chart factories are pure: a frame in, a figure out."""

from __future__ import annotations

import polars as pl

from layouts import disproportionality_charts as dc
from metrics import disproportionality as dq


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
    fig = dc.make_bounds_figure(_sensitivity(rows), area_name="Somewhere")
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
    fig = dc.make_rates_figure(pl.DataFrame(rows), area_name="Somewhere")
    assert [t.name for t in fig.data] == ["Stop and search", "Arrest", "Charge",
                                          "Custodial sentence"]
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [("x", "y"), ("x2", "y2"), ("x3", "y3"),
                                                      ("x4", "y4")]
    order = [g for g in dc.GROUP_STYLE if g in ("White", "Black")]
    assert list(fig.data[3].x) == order
    assert list(fig.data[3].y) == [{"White": 20.0, "Black": 80.0}[g] for g in order]
    assert list(fig.data[1].error_y.array) == [1.0, 1.0]
