"""Named validation rules for the registry; ``cjsdash validate`` lists every problem at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cjsdash.core.schema import BREAKDOWNS
from metrics.registry import Indicator, Registry


@dataclass(frozen=True)
class Problem:
    rule: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.message}"


Rule = Callable[[Registry], Iterator[Problem]]
RULES: dict[str, Rule] = {}


def rule(fn: Rule) -> Rule:
    RULES[fn.__name__] = fn
    return fn


_SHAPE = {
    # type: (needs denominator measure, needs population, allowed CI methods, unit, multiplier)
    "proportion": (True, False, {"wilson", "none"}, {"percent"}, 100.0),
    "rate": (False, True, {"byar_exact"}, {"per_1000"}, 1000.0),
    "count": (False, False, {"poisson", "none"}, {"count"}, 1.0),
    "amount": (False, False, {"none"}, {"pounds"}, 1.0),
    "mean": (True, False, {"normal", "none"}, {"days", "hearings"}, 1.0),
    "ratio": (False, True, {"katz"}, {"ratio"}, 1.0),
}


@rule
def unique_ids(reg: Registry) -> Iterator[Problem]:
    for ident, n in Counter(i.id for i in reg.indicators).items():
        if n > 1:
            yield Problem("unique_ids", ident, f"declared {n} times")


@rule
def theme_declared(reg: Registry) -> Iterator[Problem]:
    themes = {t.id for t in reg.themes}
    for ind in reg.indicators:
        if ind.theme not in themes:
            yield Problem("theme_declared", ind.id, f"theme '{ind.theme}' is not in themes.yaml")


@rule
def measures_fit_type(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        needs_den, needs_pop, _, _, _ = _SHAPE[ind.type]
        if needs_den and ind.denominator is None:
            yield Problem("measures_fit_type", ind.id, f"a {ind.type} needs a denominator measure")
        if not needs_den and ind.denominator is not None:
            yield Problem("measures_fit_type", ind.id, f"a {ind.type} takes no denominator measure")
        if needs_pop != ind.population_denominator:
            want = "needs" if needs_pop else "takes no"
            yield Problem("measures_fit_type", ind.id, f"a {ind.type} {want} population denominator")


_MODELS = {"binomial": ({"proportion"}, {"wilson"}),
           "poisson": ({"count", "rate"}, {"poisson", "byar_exact"})}


@rule
def sampling_model_fits(reg: Registry) -> Iterator[Problem]:
    """A declared sampling model suits the type and agrees with the CI: one model per
    indicator for its interval, its change on last year and its funnel."""
    for ind in reg.indicators:
        if ind.sampling_model == "none":
            continue
        types, cis = _MODELS[ind.sampling_model]
        if ind.type not in types or ind.ci_method not in cis:
            yield Problem("sampling_model_fits", ind.id,
                          f"sampling model '{ind.sampling_model}' needs a {sorted(types)} "
                          f"with a {sorted(cis)} CI, not a {ind.type} with '{ind.ci_method}'")


@rule
def ci_method_fits_type(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        allowed = _SHAPE[ind.type][2]
        if ind.ci_method not in allowed:
            yield Problem(
                "ci_method_fits_type", ind.id,
                f"CI method '{ind.ci_method}' does not suit a {ind.type} (use {sorted(allowed)})",
            )
        if ind.ci_method == "none" and not ind.ci_note:
            yield Problem("ci_method_fits_type", ind.id, "no CI: ci_note must say why")


@rule
def unit_fits_type(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        _, _, _, units, multiplier = _SHAPE[ind.type]
        if ind.unit not in units:
            yield Problem("unit_fits_type", ind.id, f"unit '{ind.unit}' does not suit a {ind.type}")
        if ind.multiplier != multiplier:
            yield Problem(
                "unit_fits_type", ind.id, f"multiplier {ind.multiplier:g} should be {multiplier:g}"
            )


@rule
def measure_used_consistently(reg: Registry) -> Iterator[Problem]:
    seen: dict[str, Indicator] = {}
    for ind in reg.indicators:
        for measure in ind.measures:
            first = seen.setdefault(measure, ind)
            if first.aggregation != ind.aggregation:
                yield Problem(
                    "measure_used_consistently", measure,
                    f"aggregated by '{first.aggregation}' in {first.id} "
                    f"but '{ind.aggregation}' in {ind.id}",
                )


@rule
def breakdowns_known(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        for b in ind.breakdowns:
            if b not in BREAKDOWNS:
                yield Problem("breakdowns_known", ind.id, f"unknown breakdown '{b}'")
        if ind.comparison and ind.comparison.breakdown not in ind.breakdowns:
            yield Problem("breakdowns_known", ind.id, "the comparison's breakdown is not declared")


@rule
def ratio_has_comparison(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        if (ind.type == "ratio") != (ind.comparison is not None):
            yield Problem(
                "ratio_has_comparison", ind.id, "a ratio (and only a ratio) declares a comparison"
            )


@rule
def targets_sensible(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        for t in ind.targets:
            if t.valid_from and t.valid_to and t.valid_to < t.valid_from:
                yield Problem("targets_sensible", ind.id, f"target {t.value:g} ends before it starts")
            if ind.unit == "percent" and not 0 <= t.value <= 100:
                yield Problem("targets_sensible", ind.id, f"target {t.value:g}% is not a percentage")
        if ind.targets and ind.polarity == "neutral":
            yield Problem("targets_sensible", ind.id, "a neutral indicator cannot have a target")


@rule
def texts_present(reg: Registry) -> Iterator[Problem]:
    for ind in reg.indicators:
        if len(ind.short_title) > 40:
            yield Problem("texts_present", ind.id, "short_title is longer than 40 characters")
        if len(ind.description) < 20:
            yield Problem("texts_present", ind.id, "description is too short to define it")


def check_registry(reg: Registry) -> list[Problem]:
    """Run every rule; return every problem (an empty list means the registry is sound)."""
    return [problem for fn in RULES.values() for problem in fn(reg)]
