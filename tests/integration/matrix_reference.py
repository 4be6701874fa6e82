"""The stage matrix as it was computed until 2026-12-05 (polars steps: joins for disclosure
control, the population chosen and the labels), kept verbatim so that the tests hold the
leaner computation (:mod:`metrics.disproportionality.rows`) to exactly the same frames."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.periods import label_period
from metrics import cache, disclosure, population_choice
from metrics import statistics as st
from metrics.disproportionality.counts import _stage_list, populations, stage_counts
from metrics.disproportionality.matrix import unpublished_stages
from metrics.disproportionality.ratios import _cell_figures, _chain
from metrics.disproportionality.schema import (
    _BLANK_IF_PREVIOUS_SUPPRESSED,
    _BLANK_IF_SUPPRESSED,
    _FLOAT_COLUMNS,
    ETHNICITY_WORDS,
    GROUPS,
    MATRIX_COLUMNS,
    MATRIX_SCHEMA,
    NOT_STATED,
    STATUS_BASE,
    UNPUBLISHED_NOTE,
)
from metrics.mart_ready import options_key
from metrics.options import Options
from metrics.registry import default_registry
from metrics.stages import POPULATION, EthnicitySource, Stage, default_stages
from metrics.statistics import disproportionality as dp


def _not_stated(counts: pl.DataFrame) -> pl.DataFrame:
    return counts.filter(pl.col("group") == NOT_STATED).select(
        "area_code", "stage", "period_start", "period_end", pl.col("value").alias("unknown"))


def _choose_population(periods: pl.DataFrame, pops: pl.DataFrame, source: str | None
                       ) -> pl.DataFrame:
    """Per area and period: the population from ``source`` (any source when None) counted most
    recently before the period starts, else the earliest after (see
    :mod:`metrics.population_choice`: Census 2021 from 21 March 2021 when it is loaded)."""
    if source:
        pops = pops.filter(pl.col("source") == source)
    options = pops.filter(pl.col("group").is_in(GROUPS)).select(
        "area_code", "year", "source").unique()
    chosen = population_choice.choose(
        periods.select("area_code", "period_start").unique()
        .join(options, on="area_code", how="inner"),
        ["area_code", "period_start"])
    return chosen.join(pops, on=["area_code", "year", "source"], how="inner").select(
        "area_code", "period_start", "group", "population",
        pl.concat_str([pl.col("source"), pl.lit(" ("), pl.col("year").cast(pl.String),
                       pl.lit(")")]).alias("population_source"))

def _cell_lookup(counts: pl.DataFrame) -> dict[tuple, dict[str, dict[str, float]]]:
    """(area, period_start, period_end) → stage → group → count."""
    out: dict[tuple, dict[str, dict[str, float]]] = {}
    for area, stage, start, end, group, value in counts.select(
            "area_code", "stage", "period_start", "period_end", "group", "value").iter_rows():
        cell = out.setdefault((area, start, end), {}).setdefault(stage, {})
        cell[group] = math.nan if value is None else float(value)
    return out

def _column(name: str, values: Sequence[object] | np.ndarray) -> pl.Series:
    return pl.Series(name, values, dtype=MATRIX_SCHEMA[name], strict=False)


def _chain_frame(chain: list[Stage], cells: list[tuple[tuple, dict, dict[str, float], str]],
                 reference: str, min_count: float, level: float) -> pl.DataFrame:
    """The rows of every cell (area and period) sharing one chain of stages: the population
    rows, then each stage × group with its figures (:func:`_cell_figures`)."""
    n_groups = len(GROUPS)
    keys = [c[0] for c in cells]
    pops = np.array([[c[2].get(g, math.nan) for g in GROUPS] for c in cells],
                    dtype=np.float64)
    total = np.nansum(np.where(pops > 0, pops, 0.0), axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, pops / total, math.nan)

    def per_cell(values: list, times: int) -> list:
        return [v for v in values for _ in range(times)]

    sources = [c[3] for c in cells]
    base = pl.DataFrame([
        _column("area_code", per_cell([k[0] for k in keys], n_groups)),
        _column("period_start", per_cell([k[1] for k in keys], n_groups)),
        _column("period_end", per_cell([k[2] for k in keys], n_groups)),
        _column("stage", [POPULATION] * pops.size),
        _column("stage_order", np.zeros(pops.size, dtype=np.int64)),
        _column("previous_stage", [None] * pops.size),
        _column("group", list(GROUPS) * len(cells)),
        _column("count", pops.ravel()), _column("population", pops.ravel()),
        _column("population_share", share.ravel()),
        _column("status", [STATUS_BASE] * pops.size),
        _column("significant", np.zeros(pops.size, dtype=np.bool_)),
        _column("ratio_significant", np.zeros(pops.size, dtype=np.bool_)),
        _column("population_source", per_cell(sources, n_groups)),
    ])
    if len(chain) < 2:
        return base
    later = chain[1:]
    counts = np.stack([pops, *[
        np.array([[by_stage[s.id].get(g, 0.0) for g in GROUPS] for _, by_stage, _, _ in cells],
                 dtype=np.float64)
        for s in later]], axis=1)
    figures = _cell_figures(counts, pops, GROUPS.index(reference), min_count, level)
    per = len(later) * n_groups
    shape = (len(cells), len(later), n_groups)
    staged = pl.DataFrame([
        _column("area_code", per_cell([k[0] for k in keys], per)),
        _column("period_start", per_cell([k[1] for k in keys], per)),
        _column("period_end", per_cell([k[2] for k in keys], per)),
        _column("stage", [s.id for s in later for _ in GROUPS] * len(cells)),
        _column("stage_order", [i + 1 for i in range(len(later)) for _ in GROUPS]
                * len(cells)),
        _column("previous_stage", [chain[i].id for i in range(len(later)) for _ in GROUPS]
                * len(cells)),
        _column("group", list(GROUPS) * (len(later) * len(cells))),
        _column("population", np.broadcast_to(pops[:, None, :], shape).ravel()),
        _column("population_share", np.broadcast_to(share[:, None, :], shape).ravel()),
        _column("population_source", per_cell(sources, per)),
        *[_column(name, np.asarray(values).ravel()) for name, values in figures.items()],
    ])
    return pl.concat([base, staged], how="diagonal_relaxed")

def _planned(con: duckdb.DuckDBPyConnection, options: Options, stage_list: list[Stage],
             ethnicity_source: EthnicitySource, grain: str, areas: Sequence[str]
             ) -> tuple[pl.DataFrame | None, set[str]]:
    """The stage counts by ethnic group of ``areas`` that whole-set disclosure control
    withholds (:func:`metrics.disclosure.hidden_cells`, which plans the stages' measures
    too), keyed as the matrix is: area_code, stage, period_start, period_end, group; and the
    stages whose counts by ethnic group are not published at ``grain`` at all
    (:data:`metrics.disclosure.STAGE_GRAINS`: withheld whole). Only the areas shown are
    read (:func:`metrics.disclosure.withheld_in`): a first view after a load costs what any
    other does; every stage measure's at once, kept for the data version, so that another
    grain, definition or setting for the same areas reads nothing again."""
    if options.disclosure != "whole_set":
        return None, set()
    stage_of = {s.measure_for(ethnicity_source): s.id for s in stage_list
                if s.measure_for(ethnicity_source)}
    unpublished = unpublished_stages(stage_list, ethnicity_source, grain, options)
    every = sorted(default_stages().measures())  # officer- and self-defined alike
    hidden = cache.cached(con, ("stage-withheld", options_key(options), tuple(sorted(areas))),
                          lambda: disclosure.withheld_in(con, default_registry(), options, every,
                                                         disclosure.STAGE_BREAKDOWN, areas))
    return hidden.lazy().filter(pl.col("measure").is_in(list(stage_of))).select(
        "area_code", pl.col("measure").replace_strict(stage_of).alias("stage"),
        "period_start", "period_end", pl.col("breakdown").alias("group")).unique().collect(), \
        unpublished


def _disclose(frame: pl.DataFrame, counts: pl.DataFrame, options: Options,
              withheld: pl.DataFrame | None = None,
              unpublished: set[str] | frozenset[str] = frozenset()) -> pl.DataFrame:
    """Primary suppression of small counts, secondary across each stage's groups (with the
    Not stated count: together they add up to the published total); blank what they hide.

    ``withheld``: the cells (area, stage, period, group) the whole-set plan withholds
    (:func:`_planned`), hidden as well, so the matrix shows no count the plan keeps back;
    ``unpublished``: stages whose counts by ethnic group are withheld whole at this grain."""
    staged = frame.filter(pl.col("stage") != POPULATION)
    if staged.height == 0:
        return frame.with_columns(pl.lit(False).alias("suppressed"), pl.lit(None, pl.String)
                                  .alias("note"))
    key = ["area_code", "stage", "period_start", "period_end"]
    unknown = _not_stated(counts).join(staged.select(key).unique(), on=key, how="inner")
    cells = pl.concat([
        staged.select(*key, "group", pl.col("count").alias("x")),
        unknown.select(*key, pl.lit(NOT_STATED).alias("group"), pl.col("unknown").alias("x")),
    ])
    x = cells["x"].fill_null(np.nan).to_numpy()
    primary = st.primary_suppression(x, threshold=options.suppression_threshold)
    labels = cells.select(pl.concat_str([pl.col(c).cast(pl.String) for c in key],
                                        separator="|")).to_series().to_numpy()
    mask = st.secondary_suppression(x, primary, labels)
    if withheld is not None and withheld.height:
        planned = cells.select(*key, "group").join(
            withheld.with_columns(pl.lit(True).alias("_planned")), on=[*key, "group"],
            how="left", maintain_order="left")["_planned"].fill_null(False).to_numpy()
        mask = mask | planned
    whole = cells["stage"].is_in(list(unpublished)).to_numpy()
    mask = mask | whole
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=options.suppression_threshold)
    hidden = cells.with_columns(
        pl.Series("suppressed", mask, dtype=pl.Boolean),
        pl.Series("note", np.where(whole, UNPUBLISHED_NOTE, np.where(
            primary, f"suppressed: {rule}",
            np.where(mask, f"suppressed: {st.SECONDARY_RULE}", ""))),
                  dtype=pl.String).replace("", None),
    ).select(*key, "group", "suppressed", "note")
    previous = hidden.lazy().filter("suppressed").select(
        "area_code", pl.col("stage").alias("previous_stage"), "period_start", "period_end",
        "group", pl.lit(True).alias("_prev_hidden"))
    return (frame.lazy().join(hidden.lazy(), on=[*key, "group"], how="left")
            .with_columns(pl.col("suppressed").fill_null(False))
            .join(previous, on=["area_code", "previous_stage", "period_start", "period_end",
                                "group"], how="left")
            .with_columns(_BLANK_SUPPRESSED).with_columns(_BLANK_AFTER_SUPPRESSED)
            .drop("_prev_hidden").collect())


_PREV_HIDDEN = pl.col("_prev_hidden").fill_null(False)
_BLANK_SUPPRESSED = [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
                     for c in _BLANK_IF_SUPPRESSED]
"""What a suppressed count hides; then (:data:`_BLANK_AFTER_SUPPRESSED`) what the previous
stage's suppressed count hides (built once: a view makes two matrices)."""
_BLANK_AFTER_SUPPRESSED = [
    *[pl.when(_PREV_HIDDEN).then(None).otherwise(pl.col(c)).alias(c)
      for c in _BLANK_IF_PREVIOUS_SUPPRESSED],
    pl.when(pl.col("suppressed")).then(pl.col("note"))
    .when(_PREV_HIDDEN).then(pl.lit("previous stage's count suppressed: stage rate hidden"))
    .otherwise(pl.col("note")).alias("note"),
    pl.when(pl.col("suppressed") | _PREV_HIDDEN).then(False).otherwise(pl.col("significant"))
    .alias("significant"),
    pl.when(pl.col("suppressed")).then(False).otherwise(pl.col("ratio_significant"))
    .alias("ratio_significant"),
]


def _annotate(frame: pl.DataFrame, counts: pl.DataFrame, stage_list: list[Stage],
              reference: str, grain: str, ethnicity_source: str, level: float
              ) -> pl.LazyFrame:
    titles = {s.id: s.title for s in stage_list}
    key = ["area_code", "stage", "period_start", "period_end"]
    provenance = counts.lazy().filter(pl.col("group").is_in(GROUPS)).group_by(key).agg(
        pl.col("source").first(), pl.col("vintage").max(), pl.col("synthetic").any())
    periods = frame.select("period_start", "period_end").unique()
    labels = periods.with_columns(pl.Series("period_label", [
        label_period(s, e, grain) for s, e in periods.iter_rows()], dtype=pl.String))
    return frame.lazy().join(provenance, on=key, how="left").join(
        labels.lazy(), on=["period_start", "period_end"], how="left").with_columns(
        pl.col("stage").replace_strict(titles, return_dtype=pl.String).alias("stage_title"),
        pl.lit(reference).alias("reference"),
        pl.lit(ETHNICITY_WORDS[ethnicity_source]).alias("ethnicity_source"),
        pl.lit(level).alias("level"),
        pl.col("synthetic").fill_null(False),
    )


_FINISH = [pl.col(c).fill_nan(None) for c in _FLOAT_COLUMNS]
_ORDER = ["area_code", "period_start", "stage_order", pl.col("group").replace_strict(
    {g: i for i, g in enumerate(GROUPS)}, return_dtype=pl.Int64)]

def compute_frame(
    con: duckdb.DuckDBPyConnection, areas: list[str], *, grain: str = "fy",
    reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, min_count: float = dp.DEFAULT_MIN_COUNT,
    stages: Sequence[str] | None = None, period_end: date | None = None,
    options: Options | None = None, counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`stage_frame` computed from the stage counts (never read from the mart's
    stored matrices, which are made with it)."""
    if reference not in GROUPS:
        raise ValueError(f"reference group must be one of {', '.join(GROUPS)}")
    options = options or Options()
    stage_list = _stage_list(default_stages(), stages)
    if counts is None:
        counts = stage_counts(con, areas, grain, ethnicity_source=ethnicity_source,
                              stages=stages)
    if period_end is not None:
        counts = counts.filter(pl.col("period_end") == period_end)
    if counts.height == 0:
        return pl.DataFrame(schema=MATRIX_SCHEMA)
    pops = _choose_population(counts, populations(con, areas), population_source)
    pop_lookup: dict[tuple, dict[str, float]] = {}
    pop_source: dict[tuple, str] = {}
    for area, start, group, value, source in pops.iter_rows():
        pop_lookup.setdefault((area, start), {})[group] = value
        pop_source[(area, start)] = source
    by_chain: dict[tuple[str, ...], tuple[list[Stage], list]] = {}
    for key, by_stage in _cell_lookup(counts).items():
        pop = pop_lookup.get((key[0], key[1]))
        if not pop:
            continue  # no population with ethnic groups for this area: nothing to compare
        chain = _chain(stage_list, by_stage)
        by_chain.setdefault(tuple(s.id for s in chain), (chain, []))[1].append(
            (key, by_stage, pop, pop_source[(key[0], key[1])]))
    if not by_chain:
        return pl.DataFrame(schema=MATRIX_SCHEMA)
    frame = pl.concat([_chain_frame(chain, cells, reference, min_count, options.level)
                       for chain, cells in by_chain.values()], how="diagonal_relaxed")
    frame = _disclose(frame, counts, options,
                      *_planned(con, options, stage_list, ethnicity_source, grain,
                                counts["area_code"].unique().to_list()))
    lazy = _annotate(frame, counts, stage_list, reference, grain, ethnicity_source,
                     options.level)
    held = set(lazy.collect_schema().names())
    return lazy.with_columns(pl.lit(None, dtype=dtype).alias(column)
                             for column, dtype in MATRIX_SCHEMA.items() if column not in held
                             ).select(MATRIX_COLUMNS).cast(MATRIX_SCHEMA).with_columns(  # type: ignore[arg-type]
        _FINISH).sort(_ORDER).collect()
