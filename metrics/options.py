"""How figures are computed; the defaults follow METHODS.md and the ``CJSDASH_*`` settings.

Every view, page, query and export that does not say otherwise uses ``Options()``, whose
defaults are read from :func:`cjsdash.core.config.get_settings` (``CJSDASH_SUPPRESSION_THRESHOLD``,
``CJSDASH_SUPPRESSION_ROUNDING``, ``CJSDASH_CONFIDENCE_LEVEL``), so disclosure control is the same
in every view and export alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cjsdash.core.config import get_settings


def _level() -> float:
    return get_settings().confidence_level


def _threshold() -> int:
    return get_settings().suppression_threshold


def _rounding() -> int:
    return get_settings().suppression_rounding


def _disclosure() -> str:
    return get_settings().disclosure


@dataclass(frozen=True)
class Options:
    level: float = field(default_factory=_level)
    suppression_threshold: int = field(default_factory=_threshold)
    rounding: int = field(default_factory=_rounding)
    population_source: str | None = None  # e.g. 'Census 2011'; None: the closest year
    disclosure: str = field(default_factory=_disclosure)
    """'breakdown' (secondary suppression within each breakdown) or 'whole_set' (over every
    area, period and breakdown published: metrics.disclosure, decision 0008)."""
