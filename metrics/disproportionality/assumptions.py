"""Sensitivity: how the disparity ratios move under other assumptions (missing
ethnicity, population denominator, ethnicity definition) — assumptions, not confidence
intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from metrics.disproportionality import small
from metrics.disproportionality.counts import population_sources, stage_counts
from metrics.disproportionality.matrix import stage_frame, stage_matrix
from metrics.disproportionality.schema import ASSUMPTIONS_LABEL, ETHNICITY_WORDS, NOT_STATED
from metrics.options import Options
from metrics.stages import POPULATION, EthnicitySource, default_stages
from metrics.statistics import disproportionality as dp

SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "area_code", "period_label", "analysis", "stage", "stage_title", "group", "reference",
    "assumption", "disparity_ratio", "bound_low", "bound_high", "tipping_share", "note",
    "label",
)
SENSITIVITY_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Float64() if c in ("disparity_ratio", "bound_low", "bound_high", "tipping_share")
    else pl.String() for c in SENSITIVITY_COLUMNS
}
ANALYSIS_MISSING = "missing ethnicity"
ANALYSIS_DENOMINATOR = "population denominator"
ANALYSIS_DEFINITION = "ethnicity definition"


def _compared(matrix: pl.DataFrame) -> list[dict]:
    """Stage rows of groups that are compared: not the reference, not excluded, shown (a
    matrix is a few dozen rows: picked out in Python)."""
    return [r for r in matrix.iter_rows(named=True)
            if r["stage"] != POPULATION and r["group"] != r["reference"]
            and r["status"] != dp.STATUS_EXCLUDED and not r["suppressed"]]


def _missing_bounds(matrix: pl.DataFrame, counts: pl.DataFrame, options: Options
                    ) -> list[dict]:
    rows = matrix.iter_rows(named=True)
    key = ("area_code", "stage", "period_start", "period_end")
    ref = {tuple(r[k] for k in key): r for r in rows if r["group"] == r["reference"]}
    unknown_of = {k[:4]: k[5] for k in small.tuples(counts, *key, "group", "value")
                  if k[4] == NOT_STATED}
    out = []
    for r in _compared(matrix):
        cell = tuple(r[k] for k in key)
        if cell not in ref:
            continue
        ref_count, ref_pop = ref[cell]["count"], ref[cell]["population"]
        unknown = unknown_of.get(cell) or 0.0
        base = {"stage": r["stage"], "stage_title": r["stage_title"], "group": r["group"],
                "reference": r["reference"], "disparity_ratio": r["disparity_ratio"]}
        if ref[cell]["suppressed"] or 0 < unknown < options.suppression_threshold:
            out.append({**base, "assumption": "not stated count suppressed (small numbers)",
                        "note": "bounds not shown: they would reveal a suppressed count"})
            continue
        low, high = dp.missing_ethnicity_bounds(r["population"], r["count"], ref_pop,
                                                ref_count, unknown)
        tip = dp.tipping_share(r["population"], r["count"], ref_pop, ref_count, unknown)
        out.append({
            **base, "bound_low": float(low), "bound_high": float(high),
            "tipping_share": float(tip),
            "assumption": (f"the {unknown:,.0f} records with ethnicity not stated: all "
                           f"{r['reference']} (low) … all {r['group']} (high)"),
            "note": ("no records without ethnicity" if unknown == 0 else
                     "parity lies outside the bounds: no tipping share" if math.isnan(tip)
                     else f"ratio = 1 if {tip:.1%} of them were {r['group']}"),
        })
    return out


def _ratios(matrix: pl.DataFrame, assumption: str, analysis: str) -> list[dict]:
    return [{"analysis": analysis, "stage": r["stage"], "stage_title": r["stage_title"],
             "group": r["group"], "reference": r["reference"], "assumption": assumption,
             "disparity_ratio": r["disparity_ratio"],
             "note": f"{r['population_source']}; {r['ethnicity_source']}"}
            for r in _compared(matrix)]


def sensitivity(
    con: duckdb.DuckDBPyConnection, area: str, period_end: date | None = None, *,
    grain: str = "fy", reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, stages: Sequence[str] | None = None,
    options: Options | None = None, counts: pl.DataFrame | None = None,
    matrix: pl.DataFrame | None = None, other_counts: pl.DataFrame | None = None,
    sources: list[str] | None = None,
) -> pl.DataFrame:
    """How the disparity ratios move under other assumptions — labelled as assumptions,
    never as confidence intervals (:data:`ASSUMPTIONS_LABEL`). ``matrix``: the
    :func:`stage_matrix` of these settings, when already computed; ``other_counts``: stop
    and search's counts under the other definition, when already read
    (:func:`~metrics.disproportionality.counts.stage_counts_and_other`); ``sources``: the
    area's :func:`~metrics.disproportionality.counts.population_sources`, when read.

    - ``missing ethnicity``: every stage and compared group, the bounds with every
      not-stated record assigned to the reference group (low) or to the group (high), and
      the tipping share of them that would make the ratio 1 (METHODS.md);
    - ``population denominator``: the ratio with each population source loaded for the
      area (Census 2011, Census 2021, mid-year estimates …);
    - ``ethnicity definition``: stop and search by officer- and by self-defined ethnicity.
    """
    options = options or Options()
    args = {"grain": grain, "reference": reference, "options": options}
    if counts is None:
        counts = stage_counts(con, [area], grain, ethnicity_source=ethnicity_source,
                              stages=stages)
    if matrix is None:
        matrix = stage_matrix(con, area, period_end, ethnicity_source=ethnicity_source,
                              population_source=population_source, stages=stages,
                              counts=counts, **args)
    if matrix.height == 0:
        return pl.DataFrame(schema=SENSITIVITY_SCHEMA)
    period_end = matrix["period_end"][0]
    counts = small.equal(counts, "period_end", period_end)
    rows = [{**r, "analysis": ANALYSIS_MISSING}
            for r in _missing_bounds(matrix, counts, options)]
    used = set(matrix["population_source"].drop_nulls().to_list())
    for source in population_sources(con, area) if sources is None else sources:
        if used and all(u.startswith(f"{source} (") for u in used):
            other = matrix  # the closest population was this source's throughout: the same
        else:
            other = stage_matrix(con, area, period_end, ethnicity_source=ethnicity_source,
                                 population_source=source, stages=stages, counts=counts,
                                 **args)
        rows += _ratios(other, source, ANALYSIS_DENOMINATOR)
    chosen = [s for s in (stages or default_stages().ids) if s == "stop_and_search"]
    for definition in ETHNICITY_WORDS if chosen else ():
        if definition == ethnicity_source:
            # stop and search is the first stage (over the population) in either chain, so
            # its row is the same with or without the later stages
            other = matrix
        else:
            # the stop and search rows alone (the same in any chain): stored, or computed
            # for that stage only
            other = stage_frame(con, [area], ethnicity_source=definition,  # type: ignore[arg-type]
                                population_source=population_source, stages=stages,
                                period_end=period_end, stage="stop_and_search",
                                counts=other_counts, **args)
        other = small.equal(other, "stage", "stop_and_search")
        if other.height:
            rows += _ratios(other, ETHNICITY_WORDS[definition], ANALYSIS_DEFINITION)
        else:
            rows.append({"analysis": ANALYSIS_DEFINITION, "stage": "stop_and_search",
                         "stage_title": default_stages().get("stop_and_search").title,
                         "reference": reference, "assumption": ETHNICITY_WORDS[definition],
                         "note": f"no stop and search counts by {ETHNICITY_WORDS[definition]} "
                                 "loaded for this area and period"})
    return pl.DataFrame(rows, schema=_ROW_SCHEMA, strict=False).lazy().with_columns(
        pl.lit(area, pl.String).alias("area_code"),
        pl.lit(matrix["period_label"][0], pl.String).alias("period_label"),
        pl.lit(ASSUMPTIONS_LABEL).alias("label"),
        *(pl.col(c).fill_nan(None) for c in ("disparity_ratio", "bound_low", "bound_high",
                                             "tipping_share")),
    ).select(SENSITIVITY_COLUMNS).collect()


_ROW_SCHEMA = {c: t for c, t in SENSITIVITY_SCHEMA.items()
               if c not in ("area_code", "period_label", "label")}
