"""The population that divides a period: census day, not calendar year, decides."""

from __future__ import annotations

from datetime import date

import polars as pl

from metrics import pairing, population_choice
from metrics.registry import default_registry

POPS = pl.DataFrame({
    "area_code": ["E23000002"] * 2, "breakdown": ["", ""], "year": [2011, 2021],
    "source": ["Census 2011", "Census 2021"], "population": [500_000.0, 499_800.0],
}, schema_overrides={"year": pl.Int32})


def _choose(starts: list[date], pops: pl.DataFrame = POPS) -> dict[date, str]:
    periods = pl.DataFrame({"area_code": ["E23000002"] * len(starts), "period_start": starts})
    chosen = population_choice.choose(
        periods.join(pops.select("area_code", "year", "source"), on="area_code"),
        ["area_code", "period_start"])
    return dict(zip(chosen["period_start"], chosen["_label"], strict=True))


def test_periods_from_census_day_2021_take_census_2021() -> None:
    got = _choose([date(2024, 4, 1), date(2021, 4, 1), date(2021, 3, 21), date(2021, 1, 1),
                   date(2019, 4, 1), date(2009, 4, 1)])
    assert got == {
        date(2024, 4, 1): "Census 2021", date(2021, 4, 1): "Census 2021",
        date(2021, 3, 21): "Census 2021",
        date(2021, 1, 1): "Census 2011",  # January-March 2021 precede census day
        date(2019, 4, 1): "Census 2011",
        date(2009, 4, 1): "Census 2011",  # before every population: the earliest after
    }


def test_without_census_2021_a_recent_period_keeps_2011() -> None:
    assert _choose([date(2024, 4, 1)], POPS.head(1)) == {date(2024, 4, 1): "Census 2011"}


def test_a_later_mid_year_estimate_wins_and_shows_its_year() -> None:
    mye = pl.DataFrame({"area_code": ["E23000002"], "breakdown": [""], "year": [2023],
                        "source": ["Mid-year estimates"], "population": [510_000.0]},
                       schema_overrides={"year": pl.Int32})
    pops = pl.concat([POPS, mye])
    assert _choose([date(2024, 4, 1), date(2023, 4, 1)], pops) == {
        date(2024, 4, 1): "Mid-year estimates (2023)",  # 30 June 2023 is before April 2024
        date(2023, 4, 1): "Census 2021",  # ... but after April 2023
    }


def test_a_per_1000_rate_for_2024_25_is_divided_by_census_2021() -> None:
    reg = default_registry()
    ind = next(i for i in reg.indicators if i.population_denominator)
    periods = pl.DataFrame({
        "area_code": ["E23000002"] * 2, "period_start": [date(2024, 4, 1), date(2019, 4, 1)],
        "period_end": [date(2025, 3, 31), date(2020, 3, 31)], "breakdown": ["", ""],
        "source": ["x", "x"], "vintage": ["v", "v"], "measure": [ind.numerator.measure] * 2,
        "value": [100.0, 90.0], "value_note": [None, None],
    })
    pairs = pairing.pair_measures(periods, [ind], POPS, None).sort("period_start")
    assert pairs["denominator"].to_list() == [500_000.0, 499_800.0]
    assert pairs["denominator_source"].to_list() == ["Census 2011", "Census 2021"]
    assert pairs["source"].to_list() == ["x", "x"]
