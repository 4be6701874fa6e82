"""Funnel plot labels: areas outside the 99.8% limits are named without overprinting."""

from __future__ import annotations

import math

import polars as pl

from layouts import comparison_charts as cc
from layouts.figure_draft import Draft


def _rows(points: list[tuple[str, float, float]]) -> pl.DataFrame:
    return pl.DataFrame({
        "area_name": [p[0] for p in points], "denominator": [p[1] for p in points],
        "value": [p[2] for p in points], "national_value": [0.7] * len(points),
        "funnel_position": ["above 99.8% limit"] * len(points)})


def _labels(fig: Draft) -> dict[str, int]:
    return {a["text"]: a["yshift"] for a in fig.spec()["layout"].get("annotations", [])}


def test_neighbouring_labels_go_above_and_below() -> None:
    fig = Draft()
    rows = _rows([("Devon and Cornwall", 900, 0.60), ("West Yorkshire", 1000, 0.605),
                  ("Dyfed-Powys", 100, 0.95)])
    cc._label_outliers(fig, rows, span=0.4)
    labels = _labels(fig)
    assert labels["Dyfed-Powys"] == 12  # alone: above its point
    assert sorted([labels["Devon and Cornwall"], labels["West Yorkshire"]]) == [-12, 12]


def test_a_label_on_the_chosen_area_is_left_to_the_hover() -> None:
    fig = Draft()
    # as on Crown Court cases within 16 weeks: Cleveland 84% just under Cumbria's 87%
    rows = _rows([("Cleveland", 210, 0.84), ("Northumbria", 1000, 0.60)])
    cc._label_outliers(fig, rows, avoid=[(math.log10(200), 0.87)], span=0.31)
    assert _labels(fig) == {"Northumbria": 12}


def test_far_apart_labels_all_sit_above() -> None:
    fig = Draft()
    rows = _rows([("A", 100, 0.95), ("B", 1000, 0.95), ("C", 100, 0.40)])
    cc._label_outliers(fig, rows, span=0.6)
    assert _labels(fig) == {"A": 12, "B": 12, "C": 12}
