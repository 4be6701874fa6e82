"""The shipped indicator registry, and every named rule in metrics.rules catching a broken copy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest

from metrics.registry import Comparison, Indicator, Registry, TargetSpec, load_registry
from metrics.rules import RULES, check_registry

# Every indicator id in shared/design/INDICATORS.md, verbatim, in catalogue order.
CATALOGUE_IDS: tuple[str, ...] = (
    # 1. Effective in bringing offences to justice
    "obtj", "obtj_serious", "recorded_crime", "asb_incidents", "sanction_detection_rate",
    "charge_rate", "victim_withdrawal_rate", "no_suspect_rate", "asset_recovery",
    "confiscation_orders", "fine_payment_rate", "fta_warrants_outstanding",
    "fta_warrants_executed_in_time", "breach_resolved_25wd", "breach_days_mean",
    "licence_recall_in_time", "reoffending_rate",
    # 2. The public confident and engaged
    "confidence_effective", "confidence_fair", "bme_worse_treatment", "stop_search_rate",
    "arrest_rate", "ethnicity_recorded", "disparity_ratio",
    # 3. The needs of victims at the heart of the system
    "victim_satisfaction_police", "vw_satisfaction_cjs", "witness_attendance",
    "victims_code_compliance", "would_report_again",
    # 4. Simple, efficient processes
    "ineffective_trial_rate_crown", "ineffective_trial_rate_mags", "cracked_trial_rate_crown",
    "cracked_trial_rate_mags", "witness_absence_ineffective", "pyo_arrest_to_sentence",
    "crown_16_weeks", "guilty_plea_first_hearing", "hearings_per_case", "contested_two_hearings",
    "offence_to_charge_days", "charge_to_first_listing_days", "first_listing_to_completion_days",
    "offence_to_completion_days", "crown_outstanding_cases", "oocr_rate", "pre_charge_bail_rate",
)
THEME_OF = {
    **dict.fromkeys(CATALOGUE_IDS[:17], "justice"),
    **dict.fromkeys(CATALOGUE_IDS[17:24], "confidence"),
    **dict.fromkeys(CATALOGUE_IDS[24:29], "victims"),
    **dict.fromkeys(CATALOGUE_IDS[29:], "processes"),
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def test_shipped_registry_passes_every_rule(registry: Registry) -> None:
    assert check_registry(registry) == []


# Indicators beyond the catalogue that published sources feed (issue 3), with their theme.
SOURCE_INDICATORS = {"stop_search_arrest_rate": "confidence", "police_uk_outcomes": "justice",
                     # CPS case outcomes (issue 11)
                     "conviction_rate": "justice", "cps_convictions": "justice",
                     "cps_unsuccessful": "justice"}


def test_every_catalogue_id_is_declared_exactly_once(registry: Registry) -> None:
    counts = Counter(i.id for i in registry.indicators)
    assert len(CATALOGUE_IDS) == 46 == len(set(CATALOGUE_IDS))
    assert {i: counts[i] for i in CATALOGUE_IDS if counts[i] != 1} == {}
    extra = set(counts) - set(CATALOGUE_IDS)
    assert extra == set(SOURCE_INDICATORS), "the registry declares ids not in the catalogue"
    assert {i.id: i.theme for i in registry.indicators} == THEME_OF | SOURCE_INDICATORS


def test_registry_follows_the_catalogue_judgements(registry: Registry) -> None:
    monthly = {"recorded_crime", "asb_incidents", "stop_search_rate", "arrest_rate",
               "disparity_ratio", "ethnicity_recorded"}
    assert {i.id for i in registry.indicators
            if i.frequency == "month" and i.id not in SOURCE_INDICATORS} == monthly
    stocks = {"fta_warrants_outstanding", "crown_outstanding_cases"}
    assert {i.id for i in registry.indicators if i.aggregation == "last"} == stocks
    for rate_id in ("stop_search_rate", "arrest_rate"):
        rate = registry.get(rate_id)
        assert (rate.type, rate.multiplier) == ("rate", 1000)
        assert rate.breakdowns[0] == "ethnicity"
    ratio = registry.get("disparity_ratio")
    assert ratio.numerator.measure == "stop_searches" and ratio.population_denominator
    assert ratio.comparison == Comparison(breakdown="ethnicity", group="Black", reference="White")
    recorded = registry.get("ethnicity_recorded")
    assert recorded.measures == ("stop_searches_ethnicity_recorded", "stop_searches")
    assert registry.get("obtj").targets == ()
    assert {t.kind: t.value for t in registry.get("pyo_arrest_to_sentence").targets} == {
        "target": 71, "stretch": 65,
    }
    outcomes = ("charge_rate", "victim_withdrawal_rate", "no_suspect_rate", "oocr_rate")
    assert {registry.get(i).denominator.measure for i in outcomes} == {"crime_outcomes_assigned"}
    timeliness = [i for i in registry.indicators if i.id.endswith("_days")]
    assert len(timeliness) == 4
    assert {i.denominator.measure for i in timeliness if i.denominator} == {"defendants_timeliness"}
    for ind in registry.indicators:
        if ind.type == "mean":
            assert ind.ci_note == "mean from aggregate totals: no standard deviation, so no CI"


# --- each named rule catches a broken copy ---------------------------------------------------

def _replace(reg: Registry, ind_id: str, **changes: object) -> Registry:
    return reg.model_copy(update={"indicators": tuple(
        i.model_copy(update=changes) if i.id == ind_id else i for i in reg.indicators
    )})


def _duplicate(reg: Registry) -> Registry:
    return reg.model_copy(update={"indicators": (*reg.indicators, reg.get("charge_rate"))})


_BACKWARDS = TargetSpec(value=80, source="test", valid_from=date(2025, 4, 1),
                        valid_to=date(2024, 3, 31))
Breaker = Callable[[Registry], Registry]
BROKEN: list[tuple[str, str, Breaker]] = [
    ("unique_ids", "charge_rate declared twice", _duplicate),
    ("theme_declared", "unknown theme", lambda r: _replace(r, "obtj", theme="nowhere")),
    ("measures_fit_type", "proportion without denominator",
     lambda r: _replace(r, "charge_rate", denominator=None)),
    ("measures_fit_type", "count with a denominator",
     lambda r: _replace(r, "obtj", denominator=r.get("charge_rate").denominator)),
    ("measures_fit_type", "rate without population",
     lambda r: _replace(r, "stop_search_rate", population_denominator=False)),
    ("measures_fit_type", "ratio without population",
     lambda r: _replace(r, "disparity_ratio", population_denominator=False)),
    ("ci_method_fits_type", "proportion with a Poisson CI",
     lambda r: _replace(r, "charge_rate", ci_method="poisson")),
    ("ci_method_fits_type", "no CI and no note", lambda r: _replace(r, "obtj", ci_note="")),
    ("ci_method_fits_type", "rate with Wilson",
     lambda r: _replace(r, "arrest_rate", ci_method="wilson")),
    ("sampling_model_fits", "money declared binomial",
     lambda r: _replace(r, "fine_payment_rate", sampling_model="binomial")),
    ("sampling_model_fits", "a stock count declared Poisson without a Poisson CI",
     lambda r: _replace(r, "fta_warrants_outstanding", sampling_model="poisson")),
    ("unit_fits_type", "proportion in counts", lambda r: _replace(r, "charge_rate", unit="count")),
    ("unit_fits_type", "percent without ×100",
     lambda r: _replace(r, "charge_rate", multiplier=1.0)),
    ("unit_fits_type", "rate per 100", lambda r: _replace(r, "arrest_rate", multiplier=100.0)),
    ("measure_used_consistently", "shared denominator summed in one, last in another",
     lambda r: _replace(r, "oocr_rate", aggregation="last")),
    ("breakdowns_known", "unknown breakdown",
     lambda r: _replace(r, "arrest_rate", breakdowns=("religion",))),
    ("breakdowns_known", "comparison's breakdown not declared",
     lambda r: _replace(r, "disparity_ratio", breakdowns=())),
    ("ratio_has_comparison", "ratio without comparison",
     lambda r: _replace(r, "disparity_ratio", comparison=None)),
    ("ratio_has_comparison", "proportion with a comparison",
     lambda r: _replace(r, "charge_rate",
                        comparison=Comparison(group="Black", reference="White"))),
    ("targets_sensible", "percentage target above 100",
     lambda r: _replace(r, "crown_16_weeks", targets=(TargetSpec(value=120, source="x"),))),
    ("targets_sensible", "target ends before it starts",
     lambda r: _replace(r, "crown_16_weeks", targets=(_BACKWARDS,))),
    ("targets_sensible", "target on a neutral indicator",
     lambda r: _replace(r, "recorded_crime", targets=(TargetSpec(value=1000, source="x"),))),
    ("texts_present", "short title too long",
     lambda r: _replace(r, "obtj", short_title="x" * 41)),
    ("texts_present", "description too short", lambda r: _replace(r, "obtj", description="OBTJ")),
]


@pytest.mark.parametrize(("rule", "case", "breaker"), BROKEN,
                         ids=[f"{r}: {c}" for r, c, _ in BROKEN])
def test_rule_catches_broken_copy(registry: Registry, rule: str, case: str,
                                  breaker: Breaker) -> None:
    problems = check_registry(breaker(registry))
    assert rule in {p.rule for p in problems}, f"{rule} missed: {case}"
    assert all(str(p).startswith("[") for p in problems)


def test_every_rule_has_a_failing_case() -> None:
    assert {rule for rule, _, _ in BROKEN} == set(RULES)


def test_a_broken_copy_leaves_the_shipped_registry_alone(registry: Registry) -> None:
    broken = _replace(registry, "charge_rate", unit="count")
    assert isinstance(broken.get("charge_rate"), Indicator)
    assert registry.get("charge_rate").unit == "percent"
