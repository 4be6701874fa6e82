"""Compute indicators from the warehouse: one frame, the same columns everywhere.

``compute_indicators`` is what every page, the CLI and every export call. It reads native
observations through :mod:`metrics.sql`, aggregates them to the grain with
:mod:`metrics.timeseries`, and derives values, CIs, suppression and target status with
:mod:`metrics.derive`.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics import derive, disclosure, figures, pairing
from metrics.compute_inputs import Inputs
from metrics.options import Options
from metrics.registry import Indicator, Registry

RESULT_COLUMNS: tuple[str, ...] = (
    "indicator", "area_code", "period_start", "period_end", "period_label", "breakdown",
    "numerator", "denominator", "value", "lower", "upper", "level", "method", "suppressed",
    "note", "source", "vintage", "synthetic", "target", "target_kind", "status",
    "previous_value", "change", "change_significant", "built_from", "target_scope",
)


def compute_indicators(
    con: duckdb.DuckDBPyConnection, registry: Registry, indicator_ids: list[str],
    areas: list[str], *, grain: str = "quarter", by: str | None = None,
    options: Options | None = None, withheld: pl.DataFrame | None = None,
    inputs: Inputs | None = None,
) -> pl.DataFrame:
    """Every period of every indicator for every area, as one frame of RESULT_COLUMNS.

    ``withheld``: the whole-set plan to apply (:func:`metrics.disclosure.hidden_cells` when
    not given; a figure refresh passes the plan it is storing). ``inputs``: where the
    warehouse's rows are read (a refresh shares one across its tasks:
    :mod:`metrics.compute_inputs`); read afresh when not given."""
    options = options or Options()
    inputs = inputs or Inputs()
    indicators = [registry.get(i) for i in indicator_ids]
    aggregation = {m: agg for m, (_, agg, _) in registry.measures().items()}
    sources = inputs.sources(con)
    if options.disclosure != "whole_set":
        withheld = None
    elif withheld is None:
        withheld = disclosure.hidden_cells(con, registry, options)  # over everything published
    frames: list[pl.DataFrame] = []
    for group_by, members in _group_by_breakdown(indicators, by).items():
        measures = sorted({m for i in members for m in i.measures})
        # tiles across sources (decision 0012), to the grain
        periods = inputs.periods(con, group_by, areas, measures, sources, grain, aggregation)
        needs_pop = any(i.population_denominator for i in members)
        pops = inputs.populations(con, group_by, areas) if needs_pop else pl.DataFrame()
        pairs = pairing.pair_measures(periods, members, pops, options.population_source)
        pairs = pairing.choose_source(pairs, sources)
        if withheld is not None:
            pairs = disclosure.flag_hidden(pairs, withheld, members, group_by)
        plain = {i.id: i for i in members if i.type != "ratio"}
        if plain:
            frames.append(figures.figures(pairs.filter(pl.col("indicator").is_in(list(plain))),
                                          plain, options))
        for ind in (i for i in members if i.type == "ratio"):
            mine = pairs.filter(pl.col("indicator") == ind.id)
            frames.append(figures.ratio_figures(mine, ind, options, all_groups=by is not None))
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_result()
    result = pl.concat(frames, how="diagonal_relaxed")
    targets = inputs.targets(con, indicator_ids, areas)
    result = derive.attach_targets(result, targets, {i.id: i for i in indicators})
    result = derive.attach_previous_year(result, {i.id: i for i in indicators})
    result = derive.label_periods(result, grain)
    return result.select(RESULT_COLUMNS).sort("indicator", "area_code", "breakdown",
                                              "period_start")


def _group_by_breakdown(
    indicators: list[Indicator], by: str | None
) -> dict[str | None, list[Indicator]]:
    """Which breakdown each indicator is read at: ratios always need their comparison's."""
    groups: dict[str | None, list[Indicator]] = {}
    for ind in indicators:
        key = ind.comparison.breakdown if ind.comparison else by
        if by is not None and by not in ind.breakdowns and ind.comparison is None:
            continue  # not available by this breakdown
        groups.setdefault(key, []).append(ind)
    return groups


def empty_result() -> pl.DataFrame:
    return pl.DataFrame(schema=derive.RESULT_SCHEMA).select(RESULT_COLUMNS)


def latest_period(frame: pl.DataFrame) -> pl.DataFrame:
    """The latest period per indicator and area (and breakdown)."""
    if frame.height == 0:
        return frame
    return frame.filter(
        pl.col("period_end") == pl.col("period_end").max().over("indicator", "area_code",
                                                                "breakdown")
    )
