"""The data-quality rule (cjsdash.core.quality.departures) at its boundaries."""

from __future__ import annotations

from datetime import date

import polars as pl

from cjsdash.core.quality import MIN_HISTORY, departures


def stats(rows: list[dict]) -> pl.DataFrame:
    base = {"area_code": "E23000029", "measure": "stop_searches",
            "period_start": date(2022, 1, 1), "breakdown": "", "group": "",
            "source": "police_uk_stop_search", "history": 24}
    return pl.DataFrame([{**base, **r} for r in rows])


def total(x: float, median: float, mad: float, history: int = 24) -> dict:
    return {"value": x, "total": x, "x": x, "expected": median, "mad": mad, "history": history}


def share(value: float, of: float, median: float, mad: float) -> dict:
    return {"breakdown": "ethnicity", "group": "Asian", "value": value, "total": of,
            "x": value / of, "expected": median, "mad": mad}


def test_a_collapsed_total_is_flagged_an_ordinary_one_is_not() -> None:
    flags = departures(stats([total(84, 1006, 40), total(900, 1006, 40)]))
    assert flags["value"].to_list() == [84]
    assert flags["reason"][0] == "total 84 against a median of 1006 in the 24 months before"


def test_a_total_needs_both_a_large_z_and_a_halving_or_doubling() -> None:
    # z is large (flat history) but 20% below the median: not wild
    assert departures(stats([total(800, 1000, 1)])).height == 0
    # doubled, but a noisy history keeps z under 5 (scale 1.4826 × 300 = 445)
    assert departures(stats([total(2000, 1000, 300)])).height == 0
    assert departures(stats([total(2100, 1000, 100)])).height == 1


def test_too_little_history_is_not_judged() -> None:
    assert departures(stats([total(10, 1000, 10, history=MIN_HISTORY - 1)])).height == 0
    assert departures(stats([total(10, 1000, 10, history=MIN_HISTORY)])).height == 1


def test_a_share_must_move_twenty_points_in_a_month_of_thirty_or_more() -> None:
    flags = departures(stats([share(81, 84, 0.13, 0.01)]))
    assert flags["reason"][0] == ("Asian: 81 of 84 (96%) against a median share of 13% in the "
                                  "24 months before")
    assert departures(stats([share(27, 84, 0.13, 0.001)])).height == 0  # 19 points
    assert departures(stats([share(28, 29, 0.13, 0.01)])).height == 0  # 29 searches
