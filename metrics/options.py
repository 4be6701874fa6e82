"""How figures are computed; the defaults follow METHODS.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    level: float = 0.95
    suppression_threshold: int = 5
    rounding: int = 0
    population_source: str | None = None  # e.g. 'Census 2011'; None: the closest year
