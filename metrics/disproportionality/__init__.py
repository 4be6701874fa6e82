"""Race disproportionality across the stages of the justice process, from the warehouse.

The page ``/disproportionality``, ``cjsdash query disparity_ratio --stage …`` and the exports
call these functions; the statistics are the pure ones in
:mod:`metrics.statistics.disproportionality` and :mod:`metrics.statistics.comparisons`
(METHODS.md, "Comparing groups: disproportionality").

- :func:`stage_matrix`: one area and period, every stage × ethnic group: the count, the
  previous stage's count, the stage rate, the relative rate index (RRI) against the reference
  group with its Katz CI and significance, the status (ok / insufficient / excluded: under 1%
  of population …), and per 1,000 population: the rate with its CI, the disparity ratio with
  its Katz CI, the excess count and the reduction needed for parity.
- :func:`sensitivity`: missing-ethnicity bounds and the tipping share, other population
  denominators, self- vs officer-defined ethnicity. Assumptions, not confidence intervals.
- :func:`forest`: every area's disparity ratio (or RRI) for one stage, sorted, with CIs.
- :func:`ethnicity_quality`: the share of records with an ethnicity recorded, per stage.
- :func:`disparity_rows`: what ``cjsdash query disparity_ratio --stage`` prints.

Counts come from ``core.area_observations`` (through :mod:`metrics.sql`, every value bound)
aggregated with :func:`metrics.timeseries.to_grain`; populations from ``core.populations``
rolled up the same way. Where several sources carry a stage, the one with the lowest priority
number that has ethnic groups is used for every group alike. Counts below the suppression
threshold (default 5) are hidden with every figure built on them, with secondary suppression
across the groups of a stage.

The package, by concern: :mod:`.schema` (columns, groups, words), :mod:`.counts` (reading
stage counts and populations), :mod:`.ratios` (the pure figures of a chain of stages: RRI,
rates, disparity ratios), :mod:`.rows` (a chain's rows in numpy, disclosed and labelled, the
frame made once), :mod:`.matrix` (the stage matrix: computed, or read where stored),
:mod:`.assumptions` (:func:`sensitivity`), :mod:`.all_areas` (:func:`forest`),
:mod:`.quality` (:func:`ethnicity_quality`), :mod:`.query_rows` (:func:`disparity_rows`),
:mod:`.wording` (:func:`data_reach_note`) and :mod:`.small` (a view's few dozen rows picked
column by column, without a polars query each). Every name the pages, the CLI, the server and
the tests use is re-exported here.
"""

from __future__ import annotations

from metrics.disproportionality.all_areas import BASES, FOREST_COLUMNS, forest
from metrics.disproportionality.assumptions import (
    ANALYSIS_DEFINITION,
    ANALYSIS_DENOMINATOR,
    ANALYSIS_MISSING,
    SENSITIVITY_COLUMNS,
    SENSITIVITY_SCHEMA,
    sensitivity,
)
from metrics.disproportionality.counts import (
    _populations,
    _stage_counts,
    available_periods,
    latest_period,
    population_sources,
    populations,
    stage_counts,
    stage_counts_and_other,
)
from metrics.disproportionality.matrix import compute_frame, stage_frame, stage_matrix
from metrics.disproportionality.quality import QUALITY_COLUMNS, ethnicity_quality
from metrics.disproportionality.query_rows import QUERY_COLUMNS, disparity_rows
from metrics.disproportionality.schema import (
    ASSUMPTIONS_LABEL,
    DEFAULT_GRAIN,
    ETHNICITY_WORDS,
    GROUPS,
    INDICATOR,
    MATRIX_COLUMNS,
    MATRIX_SCHEMA,
    NOT_STATED,
    STATUS_BASE,
)
from metrics.disproportionality.wording import data_reach_note, missing_stages
from metrics.stages import default_stages

__all__ = [
    "ANALYSIS_DEFINITION", "ANALYSIS_DENOMINATOR", "ANALYSIS_MISSING", "ASSUMPTIONS_LABEL",
    "BASES", "DEFAULT_GRAIN", "ETHNICITY_WORDS", "FOREST_COLUMNS", "GROUPS", "INDICATOR",
    "MATRIX_COLUMNS", "MATRIX_SCHEMA", "NOT_STATED", "QUALITY_COLUMNS", "QUERY_COLUMNS",
    "SENSITIVITY_COLUMNS", "SENSITIVITY_SCHEMA", "STATUS_BASE", "_populations", "_stage_counts",
    "available_periods", "compute_frame", "data_reach_note", "default_stages", "disparity_rows",
    "ethnicity_quality", "forest", "latest_period", "missing_stages",
    "population_sources", "populations", "sensitivity", "stage_counts",
    "stage_counts_and_other", "stage_frame",
    "stage_matrix",
]
