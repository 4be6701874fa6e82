"""The stage matrix from hand-built warehouse rows, against values worked out by hand.

One force (Greater Manchester, E23000005), June 2024, three stages loaded (stop and search,
arrest, charge) and a population of 10,000 White, 1,000 Black, 500 Asian, 200 Mixed and 50
Other people. Every expected figure below is written out from METHODS.md's formulas.
"""

from __future__ import annotations

import math
from datetime import date

import duckdb
import polars as pl
import pytest

from cjsdash.core.rollup import refresh_rollup
from metrics import disproportionality as dq
from metrics.options import Options
from metrics.registry import default_registry
from metrics.stages import EXPECTED_ORDER, Stage, Stages, check_stages, default_stages, load_stages
from metrics.sync import measure_catalogue

Z = 1.959963984540054
GM, MERSEY = "E23000005", "E23000004"
JUNE = date(2024, 6, 30)
NO_SUPPRESSION = Options(suppression_threshold=0)
POPULATION = {"White": 10_000, "Black": 1_000, "Asian": 500, "Mixed": 200, "Other": 50}
COUNTS = {  # stage measure → group → count ('' = all groups)
    "stop_searches": {"White": 100, "Black": 50, "Asian": 20, "Mixed": 8, "Other": 3,
                      "Not stated": 10, "": 191},
    "arrests": {"White": 40, "Black": 30, "Asian": 5, "Mixed": 4, "Other": 2,
                "Not stated": 5, "": 86},
    "defendants_charged": {"White": 20, "Black": 15, "Asian": 2, "Mixed": 2, "Other": 1,
                           "Not stated": 4, "": 44},
}


def add_source(con: duckdb.DuckDBPyConnection, name: str, priority: int) -> None:
    con.execute("INSERT INTO meta.sources (source, title, publisher, licence, kind, priority, "
                "is_synthetic) VALUES (?, ?, 'test', 'test', 'local', ?, FALSE) "
                "ON CONFLICT DO NOTHING", [name, name, priority])


def add_counts(con: duckdb.DuckDBPyConnection, area: str, counts: dict[str, dict[str, int]],
               *, source: str = "hand_built", month: date = date(2024, 6, 1)) -> None:
    end = date(month.year, month.month, 30 if month.month in (4, 6, 9, 11) else 31)
    for measure, groups in counts.items():
        for group, value in groups.items():
            con.execute(
                "INSERT INTO core.observations (measure, area_code, period_start, period_end, "
                "ethnicity, value, source, vintage, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'v1', 0)",
                [measure, area, month, end, group, value, source])
    refresh_rollup(con, sorted(counts))


def add_population(con: duckdb.DuckDBPyConnection, area: str, groups: dict[str, int], *,
                   year: int = 2011, source: str = "Census 2011") -> None:
    rows = {**groups, "": sum(groups.values())}
    for group, value in rows.items():
        con.execute("INSERT INTO core.populations (area_code, year, ethnicity, population, "
                    "source, vintage, run_id) VALUES (?, ?, ?, ?, ?, 'v1', 0)",
                    [area, year, group, value, source])


@pytest.fixture
def gm(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    add_source(con, "hand_built", 10)
    add_counts(con, GM, COUNTS)
    add_population(con, GM, POPULATION)
    return con


def cell(frame: pl.DataFrame, stage: str, group: str) -> dict:
    [row] = frame.filter((pl.col("stage") == stage) & (pl.col("group") == group)).to_dicts()
    return row


def katz(ratio: float, variance: float) -> tuple[float, float]:
    half = Z * math.sqrt(variance)
    return ratio * math.exp(-half), ratio * math.exp(half)


# --- the stage declarations --------------------------------------------------------------------


def test_stages_are_declared_once_in_order() -> None:
    stages = default_stages()
    assert stages.ids == EXPECTED_ORDER
    assert [s.measure for s in stages.counted()] == [
        "stop_searches", "arrests", "defendants_charged", "defendants_prosecuted",
        "defendants_convicted", "custodial_sentences"]
    assert stages.get("stop_and_search").measure_for("self") == "stop_searches_self_defined"
    assert stages.get("arrest").measure_for("self") == "arrests"  # no self-defined count
    assert check_stages(stages, frozenset(i.id for i in default_registry().indicators)) == []
    assert load_stages() == stages


def test_check_stages_lists_every_problem() -> None:
    bad = Stages(stages=(
        Stage(id="arrest", title="Arrest", short_title="Arrest", measure="arrests"),
        Stage(id="population", title="P", short_title="P", measure="people"),
        Stage(id="charge", title="Charge", short_title="Charge"),
        Stage(id="custody", title="C", short_title="C", measure="arrests"),
        Stage(id="custody", title="C", short_title="C", measure="obtj"),
        Stage(id="appeal", title="A", short_title="A", measure="appeals"),
    ))
    problems = check_stages(bad, frozenset({"obtj"}))
    assert "the first stage must be 'population' (found ('arrest',))" in problems
    assert "stage 'custody' is declared more than once" in problems
    assert "the population stage is read from core.populations: no measure" in problems
    assert "stage 'charge' has no measure" in problems
    assert "measure 'arrests' belongs to more than one stage" in problems
    assert "measure 'obtj' is also an indicator id" in problems
    assert any(p.startswith("stages are out of order") for p in problems)
    assert "stage 'appeal' is not a stage of the chain" in " ".join(problems)


def test_stage_measures_join_the_measure_catalogue() -> None:
    rows = {m: (title, agg, users) for m, title, agg, users in
            measure_catalogue(default_registry())}
    assert rows["defendants_charged"] == ("Defendants charged or summonsed", "sum",
                                          "disproportionality")
    assert rows["custodial_sentences"][2] == "disproportionality"
    assert rows["stop_searches_self_defined"][1:] == ("sum", "disproportionality")
    assert rows["arrests"][2].endswith(",disproportionality")  # an indicator uses it too


def test_prepared_warehouse_accepts_the_stage_measures(con: duckdb.DuckDBPyConnection) -> None:
    listed = {m for (m,) in con.execute("SELECT measure FROM meta.measures").fetchall()}
    assert {s.measure for s in default_stages().counted()} <= listed


# --- the stage matrix, by hand -----------------------------------------------------------------


def test_stage_matrix_by_hand(gm: duckdb.DuckDBPyConnection) -> None:
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    assert m["stage"].unique(maintain_order=True).to_list() == [
        "population", "stop_and_search", "arrest", "charge"]
    assert m.height == 4 * 5
    assert set(m["period_label"]) == {"Jun 2024"}

    pop = cell(m, "population", "Black")
    assert (pop["count"], pop["status"]) == (1000, "base")
    assert pop["population_share"] == pytest.approx(1000 / 11_750)

    white = cell(m, "stop_and_search", "White")
    assert (white["count"], white["previous_count"], white["stage_rate"]) == (100, 10_000, 0.01)
    assert (white["rri"], white["status"], white["disparity_ratio"]) == (1.0, "reference", 1.0)
    assert white["rri_lower"] is None and white["ratio_lower"] is None

    # Black, stop and search: 50/1,000 against 100/10,000.
    black = cell(m, "stop_and_search", "Black")
    assert black["stage_rate"] == pytest.approx(0.05)
    assert black["rri"] == pytest.approx(5.0)
    # The first stage is over the population: Poisson variance, the disparity ratio's.
    lower, upper = katz(5.0, 1 / 50 + 1 / 100)
    assert (black["rri_lower"], black["rri_upper"]) == (pytest.approx(lower),
                                                        pytest.approx(upper))
    assert (black["rri_lower"], black["rri_upper"]) == (
        pytest.approx(black["ratio_lower"]), pytest.approx(black["ratio_upper"]))
    assert black["significant"] and black["status"] == "ok"
    assert black["significance_method"].startswith("katz (poisson variance")
    assert black["rate_per_1000"] == pytest.approx(50.0)
    assert black["disparity_ratio"] == pytest.approx(5.0)
    lower, upper = katz(5.0, 1 / 50 + 1 / 100)  # population denominators: Var ≈ 1/a + 1/c
    assert (black["ratio_lower"], black["ratio_upper"]) == (pytest.approx(lower),
                                                            pytest.approx(upper))
    assert black["excess"] == pytest.approx(50 - 0.01 * 1000)  # 40 searches beyond parity
    assert black["parity_reduction"] == pytest.approx(0.8)  # 1 − 1/5

    asian = cell(m, "stop_and_search", "Asian")
    assert asian["rri"] == pytest.approx(4.0)
    lower, _ = katz(4.0, 1 / 20 + 1 / 100)
    assert asian["rri_lower"] == pytest.approx(lower)

    mixed = cell(m, "stop_and_search", "Mixed")  # 8 searches: under the minimum count of 10
    assert mixed["rri"] == pytest.approx(4.0)
    assert (mixed["status"], mixed["significant"]) == ("insufficient", False)

    other = cell(m, "stop_and_search", "Other")  # 50 of 11,750 people: under 1%
    assert other["status"] == "excluded: under 1% of population"
    assert other["rri"] is None and other["disparity_ratio"] is None
    assert other["excess"] is None and other["rate_per_1000"] is None


def test_later_stages_use_the_previous_stage(gm: duckdb.DuckDBPyConnection) -> None:
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    black = cell(m, "arrest", "Black")  # 30 of 50 searched against 40 of 100
    assert black["previous_stage"] == "stop_and_search"
    assert (black["count"], black["previous_count"]) == (30, 50)
    assert black["stage_rate"] == pytest.approx(0.6)
    assert black["rri"] == pytest.approx(1.5)
    lower, upper = katz(1.5, 1 / 30 - 1 / 50 + 1 / 40 - 1 / 100)
    assert (black["rri_lower"], black["rri_upper"]) == (pytest.approx(lower),
                                                        pytest.approx(upper))
    assert lower == pytest.approx(1.0785, abs=1e-4) and black["significant"]
    assert black["disparity_ratio"] == pytest.approx(7.5)  # 30/1,000 against 40/10,000
    assert black["excess"] == pytest.approx(30 - 0.004 * 1000)
    assert black["parity_reduction"] == pytest.approx(1 - 1 / 7.5)
    assert cell(m, "arrest", "Asian")["status"] == "insufficient"  # 5 arrests

    charged = cell(m, "charge", "Black")  # 15 of 30 against 20 of 40: parity
    assert charged["previous_stage"] == "arrest"
    assert charged["rri"] == pytest.approx(1.0)
    lower, upper = katz(1.0, 1 / 15 - 1 / 30 + 1 / 20 - 1 / 40)
    assert (charged["rri_lower"], charged["rri_upper"]) == (pytest.approx(lower),
                                                            pytest.approx(upper))
    assert not charged["significant"] and charged["status"] == "ok"
    assert dq.data_reach_note(m, "Greater Manchester") == (
        "Stages beyond charge or summons: no data loaded for this area (prosecution, "
        "conviction, custodial sentence).")


def test_reference_group_and_minimum_count_are_settings(gm: duckdb.DuckDBPyConnection) -> None:
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", reference="Black", min_count=5,
                        options=NO_SUPPRESSION)
    white = cell(m, "stop_and_search", "White")
    assert white["rri"] == pytest.approx(0.2) and white["disparity_ratio"] == pytest.approx(0.2)
    assert cell(m, "stop_and_search", "Black")["status"] == "reference"
    assert cell(m, "stop_and_search", "Mixed")["status"] == "ok"  # 8 ≥ 5
    assert cell(m, "arrest", "Asian")["status"] == "ok"  # 5 ≥ 5
    with pytest.raises(ValueError, match="reference group"):
        dq.stage_matrix(gm, GM, JUNE, grain="month", reference="Nobody")


def test_a_missing_stage_is_skipped_in_the_chain(con: duckdb.DuckDBPyConnection) -> None:
    add_source(con, "hand_built", 10)
    add_counts(con, GM, {k: v for k, v in COUNTS.items() if k != "arrests"})
    add_population(con, GM, POPULATION)
    m = dq.stage_matrix(con, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    charged = cell(m, "charge", "Black")
    assert charged["previous_stage"] == "stop_and_search"
    assert charged["rri"] == pytest.approx((15 / 50) / (20 / 100))
    assert "no data loaded for arrest" in dq.data_reach_note(m, "GM")


def test_the_lammy_chain_leaves_out_stop_and_search(gm: duckdb.DuckDBPyConnection) -> None:
    chain = ["arrest", "charge", "prosecution", "conviction", "custody"]
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", stages=chain, options=NO_SUPPRESSION)
    arrest = cell(m, "arrest", "Black")
    assert arrest["previous_stage"] == "population"
    assert arrest["rri"] == pytest.approx(7.5)  # arrests per population


def test_one_source_for_every_group(gm: duckdb.DuckDBPyConnection) -> None:
    add_source(gm, "published", 30)
    add_counts(gm, GM, {"stop_searches": {"White": 1, "Black": 1}}, source="published")
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    assert cell(m, "stop_and_search", "Black")["count"] == 50  # priority 10 wins
    assert set(m.filter(pl.col("stage") != "population")["source"]) == {"hand_built"}


def test_self_defined_stop_and_search(gm: duckdb.DuckDBPyConnection) -> None:
    add_counts(gm, GM, {"stop_searches_self_defined": {"White": 90, "Black": 60}})
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", ethnicity_source="self",
                        options=NO_SUPPRESSION)
    black = cell(m, "stop_and_search", "Black")
    assert black["count"] == 60 and black["rri"] == pytest.approx((60 / 1000) / (90 / 10_000))
    assert black["ethnicity_source"] == "self-defined ethnicity"
    assert cell(m, "stop_and_search", "Asian")["count"] == 0  # not listed: none
    arrest = cell(m, "arrest", "Black")  # arrests have no self-defined count: officer's
    assert (arrest["count"], arrest["previous_count"]) == (30, 60)


def test_population_denominators(gm: duckdb.DuckDBPyConnection) -> None:
    add_population(gm, GM, {g: 2 * n for g, n in POPULATION.items()}, year=2021,
                   source="Census 2021")
    assert dq.population_sources(gm, GM) == ["Census 2011", "Census 2021"]
    closest = dq.stage_matrix(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    black = cell(closest, "stop_and_search", "Black")
    assert black["population_source"] == "Census 2021 (2021)"  # the closest year before 2024
    assert (black["population"], black["rate_per_1000"]) == (2000, 25.0)
    older = dq.stage_matrix(gm, GM, JUNE, grain="month", population_source="Census 2011",
                            options=NO_SUPPRESSION)
    assert cell(older, "stop_and_search", "Black")["population"] == 1000
    checks = dq.sensitivity(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    denominators = checks.filter((pl.col("analysis") == "population denominator")
                                 & (pl.col("stage") == "stop_and_search")
                                 & (pl.col("group") == "Black"))
    assert denominators["assumption"].to_list() == ["Census 2011", "Census 2021"]
    assert denominators["disparity_ratio"].to_list() == [pytest.approx(5.0)] * 2


def test_missing_ethnicity_bounds_and_tipping_share(gm: duckdb.DuckDBPyConnection) -> None:
    checks = dq.sensitivity(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    assert set(checks["label"]) == {"assumptions, not confidence intervals"}
    missing = checks.filter(pl.col("analysis") == "missing ethnicity")
    black = missing.filter((pl.col("stage") == "stop_and_search") & (pl.col("group") == "Black"))
    [row] = black.to_dicts()
    # the 10 not stated: all White → (50/1,000)/(110/10,000); all Black → (60/1,000)/(100/10,000)
    assert row["bound_low"] == pytest.approx(0.05 / 0.011)
    assert row["bound_high"] == pytest.approx(6.0)
    assert row["tipping_share"] is None  # (1,000·110 − 10,000·50)/(10·11,000) < 0: infeasible
    charged = missing.filter((pl.col("stage") == "charge") & (pl.col("group") == "Black"))
    [row] = charged.to_dicts()  # 15/1,000 vs 20/10,000 with 4 unknown
    t = (1000 * (20 + 4) - 10_000 * 15) / (4 * (10_000 + 1000))
    assert t < 0 and row["tipping_share"] is None
    assert row["bound_low"] == pytest.approx((15 / 1000) / (24 / 10_000))
    assert "Other" not in missing["group"].to_list()  # excluded: under 1%


def test_tipping_share_where_parity_is_within_the_bounds(con: duckdb.DuckDBPyConnection
                                                         ) -> None:
    add_source(con, "hand_built", 10)
    add_counts(con, GM, {"stop_searches": {"White": 100, "Black": 11, "Not stated": 20}})
    add_population(con, GM, POPULATION)
    checks = dq.sensitivity(con, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    [row] = checks.filter((pl.col("analysis") == "missing ethnicity")
                          & (pl.col("group") == "Black")).to_dicts()
    # t = (e_c(n_r + U) − e_r·n_c) / (U(e_r + e_c)) = (1,000·120 − 10,000·11)/(20·11,000)
    assert row["tipping_share"] == pytest.approx(10_000 / 220_000)
    assert row["bound_low"] < 1 < row["bound_high"]


def test_ethnicity_quality_per_stage(gm: duckdb.DuckDBPyConnection) -> None:
    q = dq.ethnicity_quality(gm, GM, JUNE, grain="month", options=NO_SUPPRESSION)
    assert q["stage"].to_list() == ["stop_and_search", "arrest", "charge"]
    stop = q.row(0, named=True)
    assert (stop["total"], stop["stated"], stop["not_stated"]) == (191, 181, 10)
    assert stop["share_recorded"] == pytest.approx(181 / 191)
    centre = (181 + Z * Z / 2) / (191 + Z * Z)
    half = Z * math.sqrt(181 * 10 / 191 + Z * Z / 4) / (191 + Z * Z)
    assert stop["lower"] == pytest.approx(centre - half)
    charge = q.row(2, named=True)
    assert (charge["total"], charge["stated"]) == (44, 40)


def test_disclosure_control(gm: duckdb.DuckDBPyConnection) -> None:
    m = dq.stage_matrix(gm, GM, JUNE, grain="month")  # default: counts below 5 hidden
    other = cell(m, "stop_and_search", "Other")  # 3: primary
    assert other["suppressed"] and other["count"] is None
    assert other["note"] == "suppressed: count below 5"
    mixed = cell(m, "stop_and_search", "Mixed")  # 8: the smallest other cell, secondary
    assert mixed["suppressed"] and mixed["count"] is None and mixed["rri"] is None
    assert mixed["note"].startswith("suppressed: secondary suppression")
    after = cell(m, "arrest", "Mixed")  # its denominator was hidden, and 4 is small anyway
    assert after["previous_count"] is None and after["stage_rate"] is None
    black = cell(m, "stop_and_search", "Black")
    assert not black["suppressed"] and black["rri"] == pytest.approx(5.0)
    q = dq.ethnicity_quality(gm, GM, JUNE, grain="month")
    charge = q.filter(pl.col("stage") == "charge").row(0, named=True)
    assert charge["suppressed"] and charge["not_stated"] is None  # 4 not stated


def test_forest_sorts_every_area(gm: duckdb.DuckDBPyConnection) -> None:
    add_counts(gm, MERSEY, {"stop_searches": {"White": 200, "Black": 20, "Asian": 10,
                                              "Mixed": 10, "Other": 10}})
    add_population(gm, MERSEY, {"White": 20_000, "Black": 1_000, "Asian": 1_000,
                                "Mixed": 1_000, "Other": 1_000})
    f = dq.forest(gm, "stop_and_search", JUNE, grain="month", kind="force",
                  options=NO_SUPPRESSION)
    assert f["area_code"].to_list() == [MERSEY, GM]  # 2.0 before 5.0
    assert f["value"].to_list() == [pytest.approx(2.0), pytest.approx(5.0)]
    lower, upper = katz(2.0, 1 / 20 + 1 / 200)
    assert (f["lower"][0], f["upper"][0]) == (pytest.approx(lower), pytest.approx(upper))
    rri = dq.forest(gm, "arrest", JUNE, grain="month", kind="force", basis="previous_stage",
                    options=NO_SUPPRESSION)
    assert rri["area_code"].to_list() == [GM]  # Merseyside has no arrests loaded
    assert rri["value"][0] == pytest.approx(1.5)


def test_query_rows_are_the_matrix_rows(gm: duckdb.DuckDBPyConnection) -> None:
    rows = dq.disparity_rows(gm, GM, "Greater Manchester", stage="arrest", grain="month",
                             options=NO_SUPPRESSION)
    [row] = rows.to_dicts()
    assert (row["breakdown"], row["numerator"], row["denominator"]) == ("", 30, 1000)
    assert row["value"] == pytest.approx(7.5) and row["rri"] == pytest.approx(1.5)
    assert row["display_value"] == "7.50×"
    every = dq.disparity_rows(gm, GM, "GM", stage="arrest", grain="month", by="ethnicity",
                              options=NO_SUPPRESSION)
    assert every["breakdown"].to_list() == list(dq.GROUPS)
    with pytest.raises(KeyError):
        dq.disparity_rows(gm, GM, "GM", stage="sentencing")


def test_a_reference_group_under_one_percent_excludes_every_comparison(
        gm: duckdb.DuckDBPyConnection) -> None:
    m = dq.stage_matrix(gm, GM, JUNE, grain="month", reference="Other",
                        options=NO_SUPPRESSION)
    stop = m.filter(pl.col("stage") == "stop_and_search")
    assert stop.filter(pl.col("group") == "Other")["status"].to_list() == ["reference"]
    others = stop.filter(pl.col("group") != "Other")
    assert set(others["status"]) == {"excluded: under 1% of population"}
    assert others["rri"].null_count() == others["disparity_ratio"].null_count() == 4
    assert not others["significant"].any()


def test_ethnicity_quality_of_an_area_with_nothing_loaded_is_empty(
        gm: duckdb.DuckDBPyConnection) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no comparison of a period with None
        q = dq.ethnicity_quality(gm, MERSEY, grain="month")
    assert q.height == 0 and q.columns == list(dq.QUALITY_COLUMNS)
