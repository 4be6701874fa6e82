"""Pure, vectorised statistics for cjsdash (see docs: METHODS.md).

Numpy arrays (or scalars) in, numpy arrays out. Modules:

- :mod:`.intervals` — Wilson, Poisson (Byar / exact), rate and mean confidence intervals.
- :mod:`.comparisons` — Poisson change test, two-proportion test, Katz rate ratio,
  exact conditional Poisson test.
- :mod:`.suppression` — primary and secondary suppression, rounding.
- :mod:`.targets` — target status and RAG.
"""

from metrics.statistics.comparisons import (
    exact_poisson_ratio_test,
    poisson_change_test,
    rate_ratio,
    two_proportion_test,
)
from metrics.statistics.intervals import (
    Z95,
    mean_interval,
    poisson_count_interval,
    rate_interval,
    wilson_interval,
    z_for,
)
from metrics.statistics.suppression import (
    PRIMARY_RULE_TEMPLATE,
    SECONDARY_RULE,
    WHOLE_SET_RULE,
    primary_suppression,
    round_to_base,
    secondary_suppression,
)
from metrics.statistics.targets import rag_status, target_status

__all__ = [
    "PRIMARY_RULE_TEMPLATE",
    "SECONDARY_RULE",
    "WHOLE_SET_RULE",
    "Z95",
    "exact_poisson_ratio_test",
    "mean_interval",
    "poisson_change_test",
    "poisson_count_interval",
    "primary_suppression",
    "rag_status",
    "rate_interval",
    "rate_ratio",
    "round_to_base",
    "secondary_suppression",
    "target_status",
    "two_proportion_test",
    "wilson_interval",
    "z_for",
]
