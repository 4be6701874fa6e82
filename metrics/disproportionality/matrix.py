"""The stage matrix: every stage × ethnic group of an area and period, disclosed
(primary and secondary suppression) and labelled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.periods import label_period
from metrics import cache, disclosure
from metrics import statistics as st
from metrics.disproportionality import stored
from metrics.disproportionality.counts import (
    _chain_to,
    _choose_population,
    _stage_list,
    latest_period,
    populations,
    stage_counts,
)
from metrics.disproportionality.ratios import _cell_lookup, _chain, _chain_frame
from metrics.disproportionality.schema import (
    _BLANK_IF_PREVIOUS_SUPPRESSED,
    _BLANK_IF_SUPPRESSED,
    _FLOAT_COLUMNS,
    ETHNICITY_WORDS,
    GROUPS,
    MATRIX_COLUMNS,
    MATRIX_SCHEMA,
    NOT_STATED,
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


def unpublished_stages(stage_list: Sequence[Stage], ethnicity_source: EthnicitySource,
                       grain: str, options: Options) -> set[str]:
    """Under whole-set control, the stages whose counts by ethnic group are not published at
    ``grain`` (:data:`metrics.disclosure.STAGE_GRAINS`): shown nowhere, withheld whole.
    None when suppression is off (a threshold of 0 or 1: no count is small)."""
    if options.disclosure != "whole_set" or options.suppression_threshold <= 1:
        return set()
    registry = default_registry()
    return {s.id for s in stage_list if (m := s.measure_for(ethnicity_source))
            and grain not in disclosure.published_grains(m, registry, options)}


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


def stage_frame(
    con: duckdb.DuckDBPyConnection, areas: list[str], *, grain: str = "fy",
    reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, min_count: float = dp.DEFAULT_MIN_COUNT,
    stages: Sequence[str] | None = None, period_end: date | None = None,
    options: Options | None = None, counts: pl.DataFrame | None = None,
    stage: str | None = None,
) -> pl.DataFrame:
    """The stage × group matrix for every area and every period (or only ``period_end``).

    Columns :data:`MATRIX_COLUMNS`; the ``population`` stage rows carry the group's
    population as ``count`` (status ``base``). See :func:`stage_matrix`. ``counts``: the
    :func:`stage_counts` of these areas, grain, definition and stages, when already read.
    ``stage``: only that stage's rows, which are the same in the whole chain as in the
    chain up to it (:func:`_chain_to`: disclosure control works stage by stage), so only
    that much is computed. One period at the settings the figure mart stores matrices with
    is read from it (:mod:`metrics.disproportionality.stored`); anything else is computed
    (:func:`compute_frame`).
    """
    found = stored.read(con, list(areas), period_end, ethnicity_source=ethnicity_source,
                        grain=grain, reference=reference, population_source=population_source,
                        min_count=min_count, stages=stages, options=options, stage=stage)
    if found is not None:
        return found
    frame = compute_frame(con, areas, grain=grain, reference=reference,
                          ethnicity_source=ethnicity_source, population_source=population_source,
                          min_count=min_count,
                          stages=stages if stage is None else _chain_to(stage, stages),
                          period_end=period_end, options=options, counts=counts)
    return frame if stage is None else frame.filter(pl.col("stage") == stage)


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



def stage_matrix(
    con: duckdb.DuckDBPyConnection, area: str, period_end: date | None = None, *,
    grain: str = "fy", reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, min_count: float = dp.DEFAULT_MIN_COUNT,
    stages: Sequence[str] | None = None, options: Options | None = None,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every stage × ethnic group for one area and period (the latest when None).

    Stage rate = count / previous stage's count (the first stage over the population);
    RRI = the group's stage rate / the reference group's, Katz 95% CI, significant when it
    excludes 1 (exact conditional test where a zero makes it not estimable). Status:
    ``excluded: under 1% of population``, ``reference``, ``insufficient`` (a count below
    ``min_count``), ``not estimable``, ``ok``; the population rows are ``base``. Per 1,000
    population: the rate (Byar/exact CI), the disparity ratio against the reference group
    (Katz, population denominators), the excess count ``x_g − rate_ref × pop_g`` and the
    reduction needed for parity ``1 − 1/ratio``. Only the stages with data for the area
    and period are chained (a missing stage is skipped: ``previous_stage`` says which
    count is the denominator). ``counts``: this area's :func:`stage_counts`, when read.
    """
    if period_end is None:
        if counts is None:
            counts = stage_counts(con, [area], grain, ethnicity_source=ethnicity_source,
                                  stages=stages)
        period_end = latest_period(counts)
        if period_end is None:
            return pl.DataFrame(schema=MATRIX_SCHEMA)
    return stage_frame(con, [area], grain=grain, reference=reference,
                       ethnicity_source=ethnicity_source, population_source=population_source,
                       min_count=min_count, stages=stages, period_end=period_end,
                       options=options, counts=counts)

