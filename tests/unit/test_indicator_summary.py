"""The indicator page's lead sentence (layouts.indicator_summary): each case it words."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from layouts.indicator_summary import summary_sentence
from metrics.registry import default_registry
from metrics.statistics.intervals import wilson_interval

REGISTRY = default_registry()
TRIALS = REGISTRY.get("ineffective_trial_rate_crown")  # lower is better, no target
CROWN = REGISTRY.get("crown_16_weeks")  # higher is better, target 78%


def _quarter(i: int) -> tuple[date, str]:
    year, q = 2022 + i // 4, i % 4
    return date(year, 1 + 3 * q, 1), f"Q{q + 1} {year}"


def _rows(numerators: list[float | None], denominator: float = 200.0, *,
          area: str = "CJA03", target: float | None = None, polarity: str = "lower",
          suppressed_last: bool = False, synthetic: bool = False) -> pl.DataFrame:
    out = []
    for i, x in enumerate(numerators):
        start, label = _quarter(i)
        suppressed = suppressed_last and i == len(numerators) - 1
        value = lower = upper = None
        if x is not None and not suppressed:
            value = 100 * x / denominator
            lo, hi = wilson_interval(x, denominator)
            lower, upper = 100 * float(lo), 100 * float(hi)
        status = None
        if target is not None:
            met = value is not None and (value >= target if polarity == "higher"
                                         else value <= target)
            status = ("suppressed" if suppressed else "no data" if value is None
                      else "met" if met else "not met")
        out.append({
            "area_code": area, "breakdown": "", "period_start": start, "period_label": label,
            "numerator": None if suppressed else x, "denominator": denominator,
            "value": value, "lower": lower, "upper": upper, "suppressed": suppressed,
            "target": target, "target_kind": None if target is None else "target",
            "target_scope": None if target is None else "national", "status": status,
            "synthetic": synthetic, "level": 0.95,
        })
    return pl.DataFrame(out, schema_overrides={"numerator": pl.Float64, "value": pl.Float64,
                                               "lower": pl.Float64, "upper": pl.Float64,
                                               "target": pl.Float64,
                                               "target_kind": pl.String,
                                               "target_scope": pl.String,
                                               "status": pl.String})


STEADY = [20, 22, 19, 21, 20, 23, 18, 21, 20, 22, 19, 21]


def test_common_cause_no_target_similar_to_england_and_wales() -> None:
    text = summary_sentence(TRIALS, "Cumbria", _rows(STEADY),
                            _rows([x + 1 for x in STEADY], area="E92000001"))
    assert text == (
        "Cumbria, ineffective trial rate, Crown Court: 10.5% in Q4 2024 (95% CI 7.0% to "
        "15.5%) — no sign of real change (common cause variation), no target set, similar to "
        "England and Wales (11.0%; 95% confidence intervals overlap).")


def test_no_data() -> None:
    empty = _rows([]).clear()
    assert summary_sentence(TRIALS, "Cumbria", empty, None) == (
        "There are no figures for ineffective trial rate, Crown Court in Cumbria at this "
        "grain.")
    assert "no figures" in summary_sentence(TRIALS, "Cumbria", None, None)


def test_suppressed_latest_names_the_last_published_figure() -> None:
    text = summary_sentence(TRIALS, "Cumbria", _rows(STEADY, suppressed_last=True),
                            _rows(STEADY, area="E92000001"))
    assert "Crown Court, Q4 2024: suppressed [c] (too few cases to publish)" in text
    assert "the latest published figure was 9.5% in Q3 2024 (95% CI" in text
    assert "England and Wales" not in text  # nothing to compare for a suppressed figure


def test_concern_signal_worded_by_polarity_and_significantly_higher() -> None:
    rising = STEADY + [60, 62, 64]  # lower is better: a run of high points is a concern
    text = summary_sentence(TRIALS, "Cumbria", _rows(rising), _rows(STEADY + [20, 21, 20],
                                                                       denominator=5000,
                                                                       area="E92000001"))
    assert "a sign of real change for the worse (special cause: concern, outside the limits" \
        in text
    assert "significantly higher than England and Wales (" in text
    assert ", worse; 95% confidence intervals do not overlap)" in text


def test_improvement_signal_and_target_assurance() -> None:
    # higher is better: the latest points far above the mean are an improvement, and with
    # limits well above the 78% target the process will consistently meet it
    nums = [170.0] * 12 + [192.0, 194.0, 195.0]
    text = summary_sentence(CROWN, "Durham", _rows(nums, target=78.0, polarity="higher"),
                            None, is_national=False)
    assert "a sign of real improvement (special cause: outside the limits" in text
    assert text.startswith("Durham, Crown Court cases commenced within 16 weeks: ")
    assert "target 78.0% met" in text
    assert "no figure for England and Wales to compare with" in text


def test_target_not_met_with_consistent_failure() -> None:
    nums = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 103.0, 97.0, 100.0, 101.0, 99.0, 100.0]
    text = summary_sentence(CROWN, "Durham", _rows(nums, target=78.0, polarity="higher"),
                            None, is_national=True)
    assert "no sign of real change (common cause variation), target 78.0% not met, and the " \
           "process will not meet it unless something changes." in text
    assert "England and Wales" not in text


@pytest.mark.parametrize("synthetic", [True, False])
def test_synthetic_marked(synthetic: bool) -> None:
    text = summary_sentence(TRIALS, "Cumbria", _rows(STEADY, synthetic=synthetic), None)
    assert text.startswith("◆ ") is synthetic


def test_too_few_points() -> None:
    text = summary_sentence(TRIALS, "Cumbria", _rows([20]), None)
    assert ": 10.0% in Q1 2022" in text
