"""The synthetic demo board extract: shape, determinism, consistency and calibration."""

from __future__ import annotations

import math
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cjsdash.core.periods import parse_period
from cjsdash.demo.synthetic import (
    COLUMNS,
    GROUPS,
    NOT_STATED,
    SYNTHETIC_LABEL,
    SYNTHETIC_SOURCE,
    load_calibration,
    make_synthetic_extract,
    write_synthetic_extract,
)
from metrics.registry import Registry, load_registry
from metrics.stages import default_stages

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "data" / "reference" / "census2011_force_ethnicity.csv"
COLUMN = "Ethnic Group: {}; measures: Value"
ALL_GROUPS = "Ethnic Group: All categories: Ethnic group; measures: Value"
QUARTERS, MONTHS = 44, 132  # 2015-16 Q1 … 2025-26 Q4; Apr 2015 … Mar 2026
LATER_STAGES = ("defendants_charged", "defendants_prosecuted", "defendants_convicted",
                "custodial_sentences")  # after arrests, in the order of metrics/stages.yaml


def census_populations() -> pl.DataFrame:
    """The 42 LCJB areas from the Census 2011 force file (London = Metropolitan + City)."""
    raw = pl.read_csv(CENSUS).with_columns(
        pl.when(pl.col("PFA16NM").is_in(["Metropolitan", "City of London"]))
        .then(pl.lit("London")).otherwise(pl.col("PFA16NM")).alias("area")
    )
    columns = {"": ALL_GROUPS, **{g: COLUMN.format(g) for g in GROUPS}}
    return pl.concat([
        raw.group_by("area").agg(pl.col(col).sum().cast(pl.Float64).alias("population"))
        .select("area", pl.lit(group).alias("ethnicity"), "population")
        for group, col in columns.items()
    ]).sort("area", "ethnicity")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="module")
def populations() -> pl.DataFrame:
    return census_populations()


@pytest.fixture(scope="module")
def timed(registry: Registry, populations: pl.DataFrame) -> tuple[pl.DataFrame, float]:
    start = time.perf_counter()
    frame = make_synthetic_extract(registry, populations)
    return frame, time.perf_counter() - start


@pytest.fixture(scope="module")
def frame(timed: tuple[pl.DataFrame, float]) -> pl.DataFrame:
    return timed[0]


def fy_of(period: pl.Expr) -> pl.Expr:
    """Financial year start from '2024-25 Q1' or '2024-06'."""
    year = period.str.slice(0, 4).cast(pl.Int32)
    month = period.str.slice(5, 2).cast(pl.Int32, strict=False)
    is_month = period.str.len_chars() == 7
    return pl.when(is_month).then(year - (month < 4).cast(pl.Int32)).otherwise(year)


def national(frame: pl.DataFrame, measure: str, fy: int, ethnicity: str = "") -> float:
    rows = frame.filter(pl.col("measure") == measure, pl.col("ethnicity") == ethnicity,
                        fy_of(pl.col("period")) == fy)
    return 100 * rows["numerator"].sum() / rows["denominator"].sum()


def test_populations_cover_the_42_lcjb_areas(populations: pl.DataFrame) -> None:
    assert populations["area"].n_unique() == 42
    assert populations.filter(pl.col("ethnicity") == "")["population"].sum() == 56_075_912


def test_generation_is_fast(timed: tuple[pl.DataFrame, float]) -> None:
    assert timed[1] < 20.0


def test_same_seed_same_frame(registry: Registry, populations: pl.DataFrame,
                              frame: pl.DataFrame) -> None:
    assert make_synthetic_extract(registry, populations).equals(frame)
    shuffled = populations.sample(fraction=1.0, shuffle=True, seed=1)
    assert make_synthetic_extract(registry, shuffled).equals(frame)
    other = make_synthetic_extract(registry, populations, seed=7)
    assert not other.equals(frame)


def test_columns_and_labels(frame: pl.DataFrame) -> None:
    assert tuple(frame.columns) == COLUMNS
    numbers = {"numerator": pl.Int64, "denominator": pl.Int64, "value": pl.Float64}
    for name, dtype in frame.schema.items():
        assert dtype == numbers.get(name, pl.String), name
    assert frame["source"].unique().to_list() == [SYNTHETIC_SOURCE] == ["synthetic_demo"]
    assert frame["vintage"].unique().to_list() == ["synthetic-v1"]
    assert SYNTHETIC_LABEL == "synthetic demo data"
    indicators = frame.filter(~pl.col("measure").is_in(LATER_STAGES))
    assert indicators["value"].null_count() == indicators.height
    assert indicators["numerator"].null_count() == 0 and indicators["numerator"].min() >= 0
    stages = frame.filter(pl.col("measure").is_in(LATER_STAGES))  # measure form: value only
    assert stages["numerator"].null_count() == stages["denominator"].null_count() == stages.height
    assert stages["value"].null_count() == 0 and stages["value"].min() >= 0
    assert (stages["value"] == stages["value"].round()).all()


def test_one_row_per_indicator_area_period_group(registry: Registry,
                                                 frame: pl.DataFrame) -> None:
    expected = 0
    calibrated = load_calibration()["indicators"]  # (test_every_registry_indicator_is_calibrated
    for ind in registry.indicators:               # says which indicators have none)
        if ind.type == "ratio" or ind.id not in calibrated:
            continue
        groups = 1
        if "ethnicity" in ind.breakdowns:
            groups = 1 + len(GROUPS) + (ind.type == "rate")  # all + groups (+ Not stated)
        expected += 42 * groups * (MONTHS if ind.frequency == "month" else QUARTERS)
    expected += len(LATER_STAGES) * 42 * (1 + len(GROUPS) + 1) * MONTHS  # + Not stated
    assert frame.height == expected == 177_408 + 155_232
    assert "disparity_ratio" not in frame["measure"].unique().to_list()
    key = ["measure", "area", "period", "ethnicity"]
    assert frame.select(key).is_unique().all()


def test_every_period_parses(registry: Registry, frame: pl.DataFrame) -> None:
    monthly = {i.id for i in registry.indicators if i.frequency == "month"} | set(LATER_STAGES)
    labels = frame.select("measure", "period").unique()
    for measure, label in labels.iter_rows():
        period = parse_period(label)
        assert period.months == (1 if measure in monthly else 3), label
        assert date(2015, 4, 1) <= period.start and period.end <= date(2026, 3, 31)
    assert frame.filter(pl.col("measure") == "charge_rate")["period"].n_unique() == QUARTERS
    assert frame.filter(pl.col("measure") == "arrest_rate")["period"].n_unique() == MONTHS


def test_numerators_and_denominators_fit_the_type(registry: Registry,
                                                  frame: pl.DataFrame) -> None:
    kinds = {i.id: i.type for i in registry.indicators}
    typed = frame.filter(~pl.col("measure").is_in(LATER_STAGES)).with_columns(pl.col("measure").replace_strict(kinds).alias("type"))
    with_den = typed.filter(pl.col("type").is_in(["proportion", "mean"]))
    assert with_den["denominator"].null_count() == 0
    assert typed.filter(pl.col("type").is_in(["count", "amount", "rate"]))[
        "denominator"].null_count() == typed.filter(
        pl.col("type").is_in(["count", "amount", "rate"])).height
    props = typed.filter(pl.col("type") == "proportion")
    assert props.filter(pl.col("numerator") > pl.col("denominator")).height == 0
    hearings = typed.filter(pl.col("measure") == "hearings_per_case")
    assert (hearings["numerator"] >= hearings["denominator"]).all()


def test_groups_add_up_to_the_all_groups_row(frame: pl.DataFrame) -> None:
    for measure, extra in (("stop_search_rate", [NOT_STATED]), ("arrest_rate", [NOT_STATED]),
                           ("bme_worse_treatment", [])):
        rows = frame.filter(pl.col("measure") == measure)
        assert sorted(rows["ethnicity"].unique()) == sorted(["", *GROUPS, *extra])
        parts = rows.filter(pl.col("ethnicity") != "").group_by("area", "period").agg(
            pl.col("numerator").sum().alias("parts"))
        whole = rows.filter(pl.col("ethnicity") == "").join(parts, on=["area", "period"])
        assert (whole["numerator"] == whole["parts"]).all(), measure


def test_ethnicity_recorded_matches_the_stop_search_rows(frame: pl.DataFrame) -> None:
    searches = frame.filter(pl.col("measure") == "stop_search_rate").group_by(
        "area", "period").agg(
        pl.col("numerator").filter(pl.col("ethnicity") == "").sum().alias("all"),
        pl.col("numerator").filter(pl.col("ethnicity").is_in(GROUPS)).sum().alias("known"),
    )
    recorded = frame.filter(pl.col("measure") == "ethnicity_recorded").join(
        searches, on=["area", "period"])
    assert recorded.height == 42 * MONTHS
    assert (recorded["denominator"] == recorded["all"]).all()
    assert (recorded["numerator"] == recorded["known"]).all()


def test_shared_denominators_agree_and_partitions_fit(frame: pl.DataFrame) -> None:
    outcomes = frame.filter(pl.col("measure").is_in(
        ["charge_rate", "victim_withdrawal_rate", "no_suspect_rate", "oocr_rate"]))
    per_cell = outcomes.group_by("area", "period").agg(
        pl.col("denominator").n_unique().alias("dens"), pl.col("denominator").first(),
        pl.col("numerator").sum())
    assert (per_cell["dens"] == 1).all()
    assert (per_cell["numerator"] <= per_cell["denominator"]).all()
    timeliness = frame.filter(pl.col("measure").str.ends_with("_days"))
    parts = timeliness.filter(pl.col("measure") != "offence_to_completion_days").group_by(
        "area", "period").agg(pl.col("numerator").sum().alias("parts"),
                              pl.col("denominator").n_unique().alias("dens"))
    whole = timeliness.filter(pl.col("measure") == "offence_to_completion_days").join(
        parts, on=["area", "period"])
    assert (whole["numerator"] == whole["parts"]).all() and (whole["dens"] == 1).all()


@pytest.mark.parametrize(("measure", "tolerance"), [
    ("charge_rate", 0.75), ("ineffective_trial_rate_crown", 1.0), ("vw_satisfaction_cjs", 2.0),
])
def test_latest_year_is_calibrated(frame: pl.DataFrame, measure: str, tolerance: float) -> None:
    level = load_calibration()["indicators"][measure]["level_end"]
    assert national(frame, measure, 2025) == pytest.approx(level, abs=tolerance)


def test_charge_rate_falls_from_16_to_7(frame: pl.DataFrame) -> None:
    assert national(frame, "charge_rate", 2015) == pytest.approx(16, abs=1.0)
    assert national(frame, "charge_rate", 2019) == pytest.approx(7, abs=0.75)


def _rate_ratio(frame: pl.DataFrame, populations: pl.DataFrame, measure: str) -> float:
    counts = dict(frame.filter(pl.col("measure") == measure, fy_of(pl.col("period")) == 2025)
                  .group_by("ethnicity").agg(pl.col("numerator").sum()).iter_rows())
    pops = dict(populations.group_by("ethnicity").agg(pl.col("population").sum()).iter_rows())
    return (counts["Black"] / pops["Black"]) / (counts["White"] / pops["White"])


def test_black_white_ratios_nationally(frame: pl.DataFrame, populations: pl.DataFrame) -> None:
    assert 4 <= _rate_ratio(frame, populations, "stop_search_rate") <= 10
    assert 2 <= _rate_ratio(frame, populations, "arrest_rate") <= 5


def test_step_shifts_are_there(frame: pl.DataFrame) -> None:
    listed = frame.filter(pl.col("measure") == "ineffective_trial_rate_crown").group_by(
        "period").agg(pl.col("denominator").sum())
    by_period = dict(listed.iter_rows())
    assert by_period["2020-21 Q1"] < 0.6 * by_period["2019-20 Q1"]

    def area_rate(measure: str, area: str, years: range) -> float:
        rows = frame.filter(pl.col("measure") == measure, pl.col("area") == area,
                            fy_of(pl.col("period")).is_in(list(years)))
        return 100 * rows["numerator"].sum() / rows["denominator"].sum()

    kent_before = area_rate("ineffective_trial_rate_crown", "Kent", range(2017, 2021))
    kent_after = area_rate("ineffective_trial_rate_crown", "Kent", range(2021, 2025))
    assert kent_after < kent_before - 2
    wy_before = area_rate("charge_rate", "West Yorkshire", range(2019, 2022))
    wy_after = area_rate("charge_rate", "West Yorkshire", range(2022, 2025))
    assert wy_after > wy_before + 1.5


def test_every_registry_indicator_is_calibrated(registry: Registry) -> None:
    calibrated = set(load_calibration()["indicators"])
    wanted = {i.id for i in registry.indicators if i.type != "ratio"}
    # Indicators fed only by published files (issue 3) have no synthetic series.
    assert wanted - calibrated == set(load_calibration()["published_only"]) == {
        "stop_search_arrest_rate", "police_uk_outcomes",
        "conviction_rate", "cps_convictions", "cps_unsuccessful"}  # CPS files (issue 11)
    assert calibrated <= wanted


def test_write_synthetic_extract(tmp_path: Path, frame: pl.DataFrame) -> None:
    small = frame.filter(pl.col("area") == "Kent")
    path = write_synthetic_extract(small, tmp_path / "demo" / "synthetic.csv")
    assert path == tmp_path / "demo" / "synthetic.csv"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    back = pl.read_csv(path, infer_schema=False)
    assert back.height == small.height
    counts = back.filter(pl.col("measure") == "obtj")
    assert (counts["denominator"].is_null() & counts["value"].is_null()).all()


# --- the later stages of the justice process ------------------------------------------------


def test_later_stages_are_the_stage_measures_in_order() -> None:
    stages = default_stages()
    assert tuple(s.measure for s in stages.stages[3:]) == LATER_STAGES
    assert tuple(load_calibration()["stages"]["measures"]) == LATER_STAGES


def _stage_counts(frame: pl.DataFrame, measure: str) -> pl.DataFrame:
    column = "value" if measure in LATER_STAGES else "numerator"
    return frame.filter(pl.col("measure") == measure).select(
        "area", "period", "ethnicity", pl.col(column).cast(pl.Int64).alias(measure))


def test_stages_cover_the_arrest_areas_and_months_and_shrink(frame: pl.DataFrame) -> None:
    chain = ["arrest_rate", *LATER_STAGES]
    joined = _stage_counts(frame, chain[0])
    assert joined.height == 42 * MONTHS * (len(GROUPS) + 2)
    for measure in chain[1:]:
        nxt = _stage_counts(frame, measure)
        assert nxt.height == joined.height, measure
        joined = joined.join(nxt, on=["area", "period", "ethnicity"], how="inner")
    assert joined.height == 42 * MONTHS * (len(GROUPS) + 2)
    for before, after in zip(chain, chain[1:], strict=False):
        # every group's count is below the previous stage's; Not stated may gain the records
        # whose ethnicity was lost at this stage, so it is checked in the total
        known = joined.filter(pl.col("ethnicity").is_in(GROUPS + ("",)))
        assert (known[after] <= known[before]).all(), (before, after)
    assert (joined["custodial_sentences"] > 0).any()


def test_stage_groups_add_up_to_the_all_groups_row(frame: pl.DataFrame) -> None:
    for measure in LATER_STAGES:
        rows = frame.filter(pl.col("measure") == measure)
        assert sorted(rows["ethnicity"].unique()) == sorted(["", *GROUPS, NOT_STATED])
        parts = rows.filter(pl.col("ethnicity") != "").group_by("area", "period").agg(
            pl.col("value").sum().alias("parts"))
        whole = rows.filter(pl.col("ethnicity") == "").join(parts, on=["area", "period"])
        assert whole.height == 42 * MONTHS
        assert (whole["value"] == whole["parts"]).all(), measure


def test_disproportionality_arises_mostly_at_arrest(frame: pl.DataFrame,
                                                    populations: pl.DataFrame) -> None:
    """Nationally (METHODS.md; Lammy Review): the Black/White ratio per population is set by
    arrest, and every later stage's relative rate index is close to 1."""
    def totals(measure: str) -> dict[str, float]:
        column = "value" if measure in LATER_STAGES else "numerator"
        rows = frame.filter(pl.col("measure") == measure, fy_of(pl.col("period")) == 2024)
        return dict(rows.group_by("ethnicity").agg(pl.col(column).sum()).iter_rows())

    pops = dict(populations.group_by("ethnicity").agg(pl.col("population").sum()).iter_rows())
    arrests = totals("arrest_rate")
    arrest_ratio = (arrests["Black"] / pops["Black"]) / (arrests["White"] / pops["White"])
    assert 2 <= arrest_ratio <= 5
    previous = arrests
    for measure in LATER_STAGES:
        counts = totals(measure)
        rri = (counts["Black"] / previous["Black"]) / (counts["White"] / previous["White"])
        assert abs(math.log(rri)) < 0.25 * math.log(arrest_ratio), (measure, rri)
        previous = counts
    custody = (previous["Black"] / pops["Black"]) / (previous["White"] / pops["White"])
    assert math.log(arrest_ratio) >= 0.75 * math.log(custody)


def test_ethnicity_recording_falls_at_court_stages(frame: pl.DataFrame) -> None:
    def recorded(measure: str) -> float:
        rows = frame.filter(pl.col("measure") == measure)
        column = "value" if measure in LATER_STAGES else "numerator"
        unknown = rows.filter(pl.col("ethnicity") == NOT_STATED)[column].sum()
        return 1 - unknown / rows.filter(pl.col("ethnicity") == "")[column].sum()

    shares = [recorded(m) for m in ("arrest_rate", *LATER_STAGES)]
    assert 0.9 <= shares[0] <= 1.0
    assert all(0.6 < s < 1.0 for s in shares)
    assert shares[2] < shares[1]  # prosecution (court records) loses the most
