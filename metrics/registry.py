"""The indicator registry: every indicator declared once, in YAML, read by everything.

Pages, chart titles, tooltips, the CLI and every export read :class:`Registry`. The YAML
lives in ``metrics/definitions``; ``themes.yaml`` orders the themes and each other file
declares the indicators of one theme. :func:`metrics.rules.check_registry` checks it.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

IndicatorType = Literal["count", "proportion", "rate", "mean", "amount", "ratio"]
Polarity = Literal["higher_is_better", "lower_is_better", "neutral"]
CiMethod = Literal["wilson", "poisson", "byar_exact", "katz", "normal", "none"]
SamplingModel = Literal["binomial", "poisson", "none"]
Unit = Literal["percent", "count", "per_1000", "days", "pounds", "ratio", "hearings"]
Frequency = Literal["month", "quarter", "fy"]
Aggregation = Literal["sum", "last"]
TargetKind = Literal["target", "trajectory", "stretch"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasureRef(_Strict):
    """A measure in ``core.observations`` (or the population table for rates)."""

    measure: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str


class TargetSpec(_Strict):
    value: float
    kind: TargetKind = "target"
    source: str
    valid_from: date | None = None
    valid_to: date | None = None


class Theme(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    short_title: str
    psa: str
    order: int


class Comparison(_Strict):
    """For ratio indicators: which breakdown group is compared with which reference group."""

    breakdown: Literal["ethnicity"] = "ethnicity"
    group: str
    reference: str


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    short_title: str
    description: str
    theme: str = ""  # set from the file's ``theme:``
    type: IndicatorType
    unit: Unit
    numerator: MeasureRef
    denominator: MeasureRef | None = None
    population_denominator: bool = False
    multiplier: float = 1.0
    polarity: Polarity
    ci_method: CiMethod
    ci_note: str = ""
    sampling_model: SamplingModel = "none"
    """What chance variation the figure is read against, declared once: ``binomial`` (counted
    cases out of counted cases), ``poisson`` (events, or events per population), or ``none``
    (money, stock counts, complete administrative totals, means from totals, ratios). A change
    on last year is tested (and may be called significant) only where it is not ``none``;
    everything else says "not tested" on every page, pack and CLI output alike."""
    aggregation: Aggregation = "sum"
    frequency: Frequency = "quarter"
    decimals: int = Field(default=1, ge=0, le=4)
    suppression_threshold: int | None = Field(default=None, ge=1)
    breakdowns: tuple[str, ...] = ()
    comparison: Comparison | None = None
    targets: tuple[TargetSpec, ...] = ()
    npcc_objective: Literal["Resources", "Capacity", "Performance", "Cohesion"]
    psa: str = ""
    national_reference: str = ""
    source_notes: str = ""

    @property
    def measures(self) -> tuple[str, ...]:
        names = [self.numerator.measure]
        if self.denominator is not None:
            names.append(self.denominator.measure)
        return tuple(names)

    @property
    def is_ratio_of_measures(self) -> bool:
        return self.denominator is not None


class ThemeFile(_Strict):
    theme: str
    indicators: tuple[Indicator, ...]


class RegistryError(ValueError):
    """The YAML could not be read into the registry models."""


class Registry(_Strict):
    themes: tuple[Theme, ...]
    indicators: tuple[Indicator, ...]

    def get(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        known = ", ".join(i.id for i in self.indicators)
        raise KeyError(f"no indicator '{indicator_id}' in the registry (known: {known})")

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(f"no theme '{theme_id}'")

    def by_theme(self) -> list[tuple[Theme, list[Indicator]]]:
        return [
            (t, [i for i in self.indicators if i.theme == t.id])
            for t in sorted(self.themes, key=lambda t: t.order)
        ]

    def measures(self) -> dict[str, tuple[str, str, list[str]]]:
        """measure → (title, aggregation, indicator ids that use it)."""
        out: dict[str, tuple[str, str, list[str]]] = {}
        for ind in self.indicators:
            refs = [ind.numerator] + ([ind.denominator] if ind.denominator else [])
            for ref in refs:
                title, agg, users = out.get(ref.measure, (ref.title, ind.aggregation, []))
                out[ref.measure] = (title, agg, [*users, ind.id])
        return out


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: the same documents, a tenth of the
time (0.15 CPU s a process for the definitions in pure Python, paid at every start). The
loader for every definitions file (indicators, stages)."""


def _read_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path.name}: not valid YAML: {exc}") from exc


def load_registry(directory: Path = DEFINITIONS_DIR) -> Registry:
    """Read ``themes.yaml`` and every other ``*.yaml`` in ``directory`` into a Registry."""
    problems: list[str] = []
    themes_raw = _read_yaml(directory / "themes.yaml")
    try:
        themes = tuple(Theme.model_validate(t) for t in (themes_raw or {}).get("themes", []))
    except (ValidationError, AttributeError) as exc:
        raise RegistryError(f"themes.yaml: {exc}") from exc
    indicators: list[Indicator] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "themes.yaml":
            continue
        try:
            theme_file = ThemeFile.model_validate(_read_yaml(path))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(f"{path.name}: {where}: {err['msg']}")
            continue
        indicators.extend(
            i.model_copy(update={"theme": theme_file.theme}) for i in theme_file.indicators
        )
    if problems:
        raise RegistryError("the registry could not be read:\n  " + "\n  ".join(problems))
    return Registry(themes=themes, indicators=tuple(indicators))


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    return load_registry()
