"""Ethnicity data quality: the share of records with an ethnicity recorded, per stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.periods import label_period
from metrics import statistics as st
from metrics.disproportionality import small
from metrics.disproportionality.counts import latest_period, stage_counts
from metrics.disproportionality.matrix import unpublished_stages
from metrics.disproportionality.schema import GROUPS, NOT_STATED, UNPUBLISHED_NOTE
from metrics.options import Options
from metrics.stages import EthnicitySource, default_stages

QUALITY_COLUMNS: tuple[str, ...] = (
    "area_code", "period_label", "stage", "stage_title", "total", "stated", "not_stated",
    "share_recorded", "lower", "upper", "suppressed", "source", "synthetic", "note",
)


def ethnicity_quality(
    con: duckdb.DuckDBPyConnection, area: str, period_end: date | None = None, *,
    grain: str = "fy", ethnicity_source: EthnicitySource = "officer",
    stages: Sequence[str] | None = None, options: Options | None = None,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per stage: records in total, with an ethnicity recorded (one of the five groups) and
    not stated; the share recorded with its Wilson 95% CI (PSA 24 indicator 4). The total
    is the all-groups figure where loaded, else stated + not stated."""
    options = options or Options()
    if counts is None:
        counts = stage_counts(con, [area], grain, ethnicity_source=ethnicity_source,
                              stages=stages)
    if period_end is None:
        period_end = latest_period(counts)
    if period_end is None:  # nothing loaded for this area and grain
        return pl.DataFrame(schema=dict.fromkeys(QUALITY_COLUMNS, pl.String))
    counts = small.equal(counts, "period_end", period_end)
    order = {s.id: i for i, s in enumerate(default_stages().stages)}
    titles = {s.id: s.title for s in default_stages().stages}
    by_stage: dict[str, dict] = {}
    for stage, group, value, source, synthetic, start, end in small.tuples(
            counts, "stage", "group", "value", "source", "synthetic", "period_start",
            "period_end"):
        held = by_stage.setdefault(stage, {"values": {}, "source": source, "synthetic": False,
                                           "start": start, "end": end})
        held["values"][group] = value
        held["synthetic"] = held["synthetic"] or synthetic is True
    rows = []
    for stage, held in by_stage.items():
        values = held["values"]
        stated = sum(values.get(g) or 0.0 for g in GROUPS)
        unknown = values.get(NOT_STATED) or 0.0
        total = values.get("") if values.get("") is not None else stated + unknown
        rows.append({"stage": stage, "total": total, "stated": stated, "not_stated": unknown,
                     "source": held["source"], "synthetic": held["synthetic"],
                     "start": held["start"], "end": held["end"]})
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(QUALITY_COLUMNS, pl.String))
    rows.sort(key=lambda r: order[r["stage"]])
    total = np.array([r["total"] for r in rows], dtype=np.float64)
    stated = np.array([r["stated"] for r in rows], dtype=np.float64)
    unknown = np.array([r["not_stated"] for r in rows], dtype=np.float64)
    lo, hi = st.wilson_interval(stated, total, z=st.z_for(options.level))
    hidden = (st.primary_suppression(unknown, threshold=options.suppression_threshold)
              | st.primary_suppression(stated, threshold=options.suppression_threshold))
    unpublished = unpublished_stages(default_stages().counted(), ethnicity_source, grain,
                                     options)
    whole = np.array([r["stage"] in unpublished for r in rows])
    hidden |= whole
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, stated / total, np.nan)
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=options.suppression_threshold)
    frame = pl.DataFrame({
        "area_code": [area] * len(rows),
        "period_label": [label_period(r["start"], r["end"], grain) for r in rows],
        "stage": [r["stage"] for r in rows],
        "stage_title": [titles[r["stage"]] for r in rows],
        "total": np.where(whole, np.nan, total), "stated": np.where(hidden, np.nan, stated),
        "not_stated": np.where(hidden, np.nan, unknown),
        "share_recorded": np.where(hidden, np.nan, share),
        "lower": np.where(hidden, np.nan, lo), "upper": np.where(hidden, np.nan, hi),
        "suppressed": hidden, "source": [r["source"] for r in rows],
        "synthetic": [r["synthetic"] for r in rows],
        "note": np.where(whole, UNPUBLISHED_NOTE,
                         np.where(hidden, f"suppressed: {rule}", "")).tolist(),
    })
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None),
                              pl.col("note").replace("", None)).select(QUALITY_COLUMNS)

