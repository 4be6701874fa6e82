"""The stages of the justice process, declared once in ``metrics/stages.yaml``.

The disproportionality page, ``cjsdash query disparity_ratio --stage …``, the synthetic demo
and :mod:`metrics.sync` (which writes the stage measures into ``meta.measures``) all read
:func:`default_stages`. The order of the file is the relative-rate-index chain: each stage's
count is the denominator of the next (METHODS.md). :func:`check_stages` lists every problem.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metrics.registry import YAML_LOADER

STAGES_PATH = Path(__file__).resolve().parent / "stages.yaml"
POPULATION = "population"
EXPECTED_ORDER: tuple[str, ...] = (
    "population", "stop_and_search", "arrest", "charge", "prosecution", "conviction", "custody",
)
"""The chain METHODS.md describes; :func:`check_stages` reports a file that departs from it."""

EthnicitySource = Literal["officer", "self"]
_NAME = r"^[a-z][a-z0-9_]*$"


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_NAME)
    title: str
    short_title: str
    description: str = ""
    measure: str | None = Field(default=None, pattern=_NAME)
    measure_title: str | None = None
    self_defined_measure: str | None = Field(default=None, pattern=_NAME)
    self_defined_title: str | None = None

    @property
    def is_population(self) -> bool:
        return self.id == POPULATION

    def measure_for(self, ethnicity_source: EthnicitySource = "officer") -> str | None:
        """The measure counting this stage by the chosen ethnicity definition: the
        self-defined measure where the stage has one, else the stage's own measure."""
        if ethnicity_source == "self" and self.self_defined_measure:
            return self.self_defined_measure
        return self.measure


class StagesError(ValueError):
    """stages.yaml could not be read into the model."""


class Stages(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: tuple[Stage, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.stages)

    def get(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(f"no stage '{stage_id}' (one of {', '.join(self.ids)})")

    def counted(self) -> tuple[Stage, ...]:
        """Every stage after the population: the ones counted by a measure."""
        return tuple(s for s in self.stages if not s.is_population)

    def measures(self) -> dict[str, tuple[str, str]]:
        """measure → (title, stage id), officer- and self-defined measures alike."""
        out: dict[str, tuple[str, str]] = {}
        for s in self.counted():
            if s.measure:
                out[s.measure] = (s.measure_title or s.title, s.id)
            if s.self_defined_measure:
                out[s.self_defined_measure] = (s.self_defined_title or f"{s.title} (self-defined)",
                                               s.id)
        return out


def load_stages(path: Path = STAGES_PATH) -> Stages:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        raise StagesError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        return Stages.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise StagesError(f"{path.name} could not be read:\n  " + "\n  ".join(problems)) from exc


@lru_cache(maxsize=1)
def default_stages() -> Stages:
    return load_stages()


def check_stages(stages: Stages, indicator_ids: frozenset[str] = frozenset()) -> list[str]:
    """Every problem with the stage declarations (an empty list when they are sound).

    The population comes first and has no measure; every later stage has one; ids and
    measures are unique; no measure is also an indicator id (a board extract row naming it
    would be read as the indicator); the order is METHODS.md's chain.
    """
    problems: list[str] = []
    ids = stages.ids
    if not ids or ids[0] != POPULATION:
        problems.append(f"the first stage must be '{POPULATION}' (found {ids[:1] or 'none'})")
    problems += [f"stage '{i}' is declared more than once" for i in sorted(set(ids))
                 if ids.count(i) > 1]
    for s in stages.stages:
        if s.is_population and (s.measure or s.self_defined_measure):
            problems.append("the population stage is read from core.populations: no measure")
        if not s.is_population and not s.measure:
            problems.append(f"stage '{s.id}' has no measure")
        if s.self_defined_measure and s.self_defined_measure == s.measure:
            problems.append(f"stage '{s.id}': the self-defined measure repeats the measure")
    names = [m for s in stages.counted() for m in (s.measure, s.self_defined_measure) if m]
    problems += [f"measure '{m}' belongs to more than one stage" for m in sorted(set(names))
                 if names.count(m) > 1]
    problems += [f"measure '{m}' is also an indicator id" for m in sorted(set(names))
                 if m in indicator_ids]
    known = [i for i in ids if i in EXPECTED_ORDER]
    if known != sorted(known, key=EXPECTED_ORDER.index):
        problems.append("stages are out of order: the chain is " + " → ".join(EXPECTED_ORDER))
    problems += [f"stage '{i}' is not a stage of the chain ({', '.join(EXPECTED_ORDER)})"
                 for i in ids if i not in EXPECTED_ORDER]
    return problems
