"""The columns, groups and words the stage matrix and its readings share."""

from __future__ import annotations

import polars as pl

GROUPS: tuple[str, ...] = ("White", "Black", "Asian", "Mixed", "Other")
NOT_STATED = "Not stated"
_UNKNOWN_LABELS = ("Not stated", "Unknown")
ETHNICITY_WORDS: dict[str, str] = {
    "officer": "officer-defined ethnicity",
    "self": "self-defined ethnicity",
}
ASSUMPTIONS_LABEL = "assumptions, not confidence intervals"
STATUS_BASE = "base"
INDICATOR = "disparity_ratio"
DEFAULT_GRAIN = "fy"  # the page's first view: every area's matrices stored at it (decision 36)

MATRIX_COLUMNS: tuple[str, ...] = (
    "area_code", "period_start", "period_end", "period_label", "stage", "stage_title",
    "stage_order", "previous_stage", "group", "reference", "count", "previous_count",
    "population", "population_share", "stage_rate", "rri", "rri_lower", "rri_upper", "p_exact",
    "significant", "significance_method", "status", "rate_per_1000", "rate_lower",
    "rate_upper", "rate_method", "disparity_ratio", "ratio_lower", "ratio_upper",
    "ratio_significant", "excess", "parity_reduction", "suppressed", "note",
    "population_source", "ethnicity_source", "level", "source", "vintage", "synthetic",
)
_FLOAT_COLUMNS = (
    "count", "previous_count", "population", "population_share", "stage_rate", "rri",
    "rri_lower", "rri_upper", "p_exact", "rate_per_1000", "rate_lower", "rate_upper",
    "disparity_ratio", "ratio_lower", "ratio_upper", "excess", "parity_reduction", "level",
)
MATRIX_SCHEMA: dict[str, pl.DataType] = {
    c: (pl.Float64() if c in _FLOAT_COLUMNS else
        pl.Date() if c in ("period_start", "period_end") else
        pl.Int64() if c == "stage_order" else
        pl.Boolean() if c in ("significant", "ratio_significant", "suppressed", "synthetic")
        else pl.String())
    for c in MATRIX_COLUMNS
}
UNPUBLISHED_NOTE = ("withheld: this stage's counts by ethnic group are published by quarter "
                    "and financial year only")
"""Whole-set disclosure control plans a stage no indicator publishes at quarters and
financial years only (:data:`metrics.disclosure.STAGE_GRAINS`); at another grain its counts
are withheld whole."""
_BLANK_IF_SUPPRESSED = ("count", "stage_rate", "rri", "rri_lower", "rri_upper", "p_exact",
                        "rate_per_1000", "rate_lower", "rate_upper", "disparity_ratio",
                        "ratio_lower", "ratio_upper", "excess", "parity_reduction")
_BLANK_IF_PREVIOUS_SUPPRESSED = ("previous_count", "stage_rate", "rri", "rri_lower",
                                 "rri_upper", "p_exact")

