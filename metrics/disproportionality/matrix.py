"""The stage matrix: every stage × ethnic group of an area and period, disclosed
(primary and secondary suppression) and labelled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.periods import label_period
from metrics import cache, disclosure
from metrics.disproportionality import small, stored
from metrics.disproportionality.counts import (
    _chain_to,
    _choose_population,
    _stage_list,
    latest_period,
    populations,
    stage_counts,
)
from metrics.disproportionality.ratios import _cell_lookup, _chain
from metrics.disproportionality.rows import Cell, Labels, chain_rows, matrix_frame
from metrics.disproportionality.schema import (
    ETHNICITY_WORDS,
    GROUPS,
    MATRIX_SCHEMA,
)
from metrics.mart_ready import options_key
from metrics.options import Options
from metrics.registry import default_registry
from metrics.stages import EthnicitySource, Stage, default_stages
from metrics.statistics import disproportionality as dp


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
             ethnicity_source: EthnicitySource, grain: str, areas: Sequence[str],
             period_end: date | None = None
             ) -> tuple[frozenset[tuple[str, str, date, date, str]], frozenset[str]]:
    """The stage counts by ethnic group of ``areas`` (at ``period_end`` when given) that
    whole-set disclosure control withholds (:func:`metrics.disclosure.hidden_cells`, which
    plans the stages' measures too), as (area_code, stage, period_start, period_end, group);
    and the stages whose counts by ethnic group are not published at ``grain`` at all
    (:data:`metrics.disclosure.STAGE_GRAINS`: withheld whole). Only the areas shown are
    read (:func:`metrics.disclosure.withheld_in`): a first view after a load costs what any
    other does; every stage measure's at once, kept for the data version, so that another
    grain, definition or setting for the same areas reads nothing again."""
    if options.disclosure != "whole_set":
        return frozenset(), frozenset()
    stage_of = {s.measure_for(ethnicity_source): s.id for s in stage_list
                if s.measure_for(ethnicity_source)}
    unpublished = unpublished_stages(stage_list, ethnicity_source, grain, options)
    every = sorted(default_stages().measures())  # officer- and self-defined alike
    hidden = cache.cached(con, ("stage-withheld", options_key(options), tuple(sorted(areas))),
                          lambda: disclosure.withheld_in(con, default_registry(), options, every,
                                                         disclosure.STAGE_BREAKDOWN, areas))
    return frozenset(
        (area, stage_of[measure], start, end, group) for measure, area, start, end, group
        in small.tuples(hidden, "measure", "area_code", "period_start", "period_end",
                        "breakdown") if measure in stage_of and period_end in (None, end)
    ), frozenset(unpublished)


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
    return frame if stage is None else small.equal(frame, "stage", stage)


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
        counts = small.equal(counts, "period_end", period_end)
    if counts.height == 0:
        return pl.DataFrame(schema=MATRIX_SCHEMA)
    chosen = _choose_population(
        dict.fromkeys(small.tuples(counts, "area_code", "period_start")),
        populations(con, areas), population_source)
    lookup, provenance = _cell_lookup(counts)
    by_chain: dict[tuple[str, ...], tuple[list[Stage], list[Cell]]] = {}
    for key, by_stage in lookup.items():
        pop = chosen.get((key[0], key[1]))
        if pop is None:
            continue  # no population with ethnic groups for this area: nothing to compare
        chain = _chain(stage_list, by_stage)
        by_chain.setdefault(tuple(s.id for s in chain), (chain, []))[1].append(
            (key, by_stage, *pop))
    if not by_chain:
        return pl.DataFrame(schema=MATRIX_SCHEMA)
    withheld, unpublished = _planned(con, options, stage_list, ethnicity_source, grain,
                                     counts["area_code"].unique().to_list(), period_end)
    labels = Labels(
        reference=reference, ethnicity_words=ETHNICITY_WORDS[ethnicity_source],
        level=options.level, min_count=min_count, threshold=options.suppression_threshold,
        titles={s.id: s.title for s in stage_list},
        period_labels={(k[1], k[2]): label_period(k[1], k[2], grain) for k in lookup},
        provenance=provenance, withheld=withheld, unpublished=unpublished)
    return matrix_frame([part for chain, cells in by_chain.values()
                         for part in chain_rows(chain, cells, labels)], labels)


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

