"""The disclosure audit: try to recover every suppressed count from what is published.

Given published figures — frames of :data:`metrics.compute.RESULT_COLUMNS` as the pages and
``cjsdash query`` show them, or rows read back from an export — it rebuilds the counts each
indicator shows (numerators, and a proportion's or mean's denominator) as cells of their
measure, at every area, period and breakdown present, and attacks the suppressed ones with
every identity between them (:mod:`metrics.disclosure_relations`): total minus the visible
parts, parent area minus its visible children, a year minus its visible quarters or months,
repeated (peeling), and then any linear combination at all (exact test over a prime field on
every block of connected unknowns, whatever its size). It reads nothing but the
published figures: a recovered cell's value is what an analyst would compute, and a
*disclosure* is a recovered count from 1 to threshold − 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from metrics.disclosure import counted_measures
from metrics.disclosure_relations import CELL_KEY, relations_for, with_cell_keys
from metrics.registry import Registry
from metrics.statistics import disclosure as dc
from metrics.statistics.disclosure_solve import solve_recovered


@dataclass(frozen=True)
class AuditResult:
    cells: int
    suppressed: int
    recovered: pl.DataFrame
    """Every suppressed cell worked out: its key and the value an analyst gets."""
    disclosures: pl.DataFrame
    """Those recovered with a value from 1 to threshold − 1 (a disclosure)."""
    largest_block: int
    """The most unknowns tied together (all attacked exactly)."""


def published_cells(frames: list[pl.DataFrame], registry: Registry) -> pl.DataFrame:
    """Measure cells from published figure frames (columns indicator, area_code,
    period_start, period_end, breakdown, bdim, numerator, denominator, suppressed).
    A cell is visible if any row shows it; suppressed if rows hide it and none shows it."""
    by_id = {i.id: i for i in registry.indicators}
    parts: list[pl.DataFrame] = []
    for frame in frames:
        for ind_id in frame["indicator"].unique().to_list():
            ind = by_id[ind_id]
            if ind.type == "ratio":
                continue  # its counts are the numerator indicator's, audited there
            rows = frame.filter(pl.col("indicator") == ind_id)
            for column, measure in zip(("numerator", "denominator"), counted_measures(ind),
                                       strict=False):
                parts.append(rows.select(
                    pl.lit(measure).alias("series"), "area_code", "period_start", "period_end",
                    "bdim", pl.col("breakdown").alias("bval"),
                    pl.lit(ind.aggregation).alias("aggregation"),
                    pl.col(column).cast(pl.Float64).alias("value"),
                    pl.col("suppressed").fill_null(False).alias("suppressed"),
                    pl.lit(ind.suppression_threshold or 0).alias("threshold"),
                ))
    if not parts:
        return pl.DataFrame()
    cells = pl.concat(parts).group_by(
        "series", "area_code", "period_start", "period_end", "bdim", "bval").agg(
        pl.col("aggregation").first(), pl.col("threshold").max(),
        pl.col("value").filter(~pl.col("suppressed")).drop_nulls().first().alias("value"),
        (pl.col("suppressed").all()).alias("suppressed"),
    )
    cells = cells.filter(pl.col("suppressed") | pl.col("value").is_not_null())
    cells = with_cell_keys(cells).sort(*CELL_KEY)
    return cells.with_row_index("cell")


def audit(frames: list[pl.DataFrame], registry: Registry, area_sources: pl.DataFrame, *,
          threshold: int) -> AuditResult:
    """Attack every suppressed count in ``frames`` (see :func:`published_cells`)."""
    cells = published_cells(frames, registry)
    if cells.height == 0:
        empty = pl.DataFrame()
        return AuditResult(0, 0, empty, empty, 0)
    relations = relations_for(cells, area_sources)
    hidden = cells["suppressed"].to_numpy()
    shown = np.where(hidden, np.nan, cells["value"].fill_null(np.nan).to_numpy())
    attack = dc.linear_attack(hidden, relations)
    values = solve_recovered(shown, hidden, relations, attack.recovered)
    recovered = cells.with_columns(pl.Series("recovered_value", values)).filter(
        pl.Series(attack.recovered)).select(*CELL_KEY, "period_start", "period_end",
                                             "threshold", "recovered_value")
    limit = pl.when(pl.col("threshold") > 0).then("threshold").otherwise(threshold)
    rounded = pl.col("recovered_value").round(6)
    disclosures = recovered.filter((rounded > 0) & (rounded < limit))
    return AuditResult(cells.height, int(hidden.sum()), recovered, disclosures,
                       attack.largest_block)

