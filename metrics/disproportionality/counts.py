"""Reading the warehouse: stage counts by ethnic group and populations, per area and
grain period, with the population chosen for each period."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.periods import GRAINS, label_period
from metrics import mart_stage_reads as stage_reads
from metrics import population_choice, sql
from metrics.disproportionality import small
from metrics.disproportionality.schema import (
    _UNKNOWN_LABELS,
    ETHNICITY_WORDS,
    GROUPS,
    NOT_STATED,
)
from metrics.stages import EthnicitySource, Stage, Stages, default_stages
from metrics.timeseries import to_grain

FIRST_STAGE = "stop_and_search"
"""The first stage of either chain, over the population: the one the sensitivity table
compares across ethnicity definitions."""


def _stage_list(stages: Stages, chosen: Sequence[str] | None) -> list[Stage]:
    """The population, then the chosen stages (all by default) in the declared order."""
    wanted = set(chosen or stages.ids)
    unknown = wanted - set(stages.ids)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)} (one of {', '.join(stages.ids)})")
    return [s for s in stages.stages if s.is_population or s.id in wanted]


def _measure_stages(stage_list: list[Stage], ethnicity_source: EthnicitySource
                    ) -> dict[str, str]:
    """measure → stage id for the counted stages, by the chosen ethnicity definition."""
    out: dict[str, str] = {}
    for s in stage_list:
        measure = s.measure_for(ethnicity_source)
        if measure:
            out[measure] = s.id
    return out


def stage_counts(con: duckdb.DuckDBPyConnection, areas: list[str], grain: str, *,
                 ethnicity_source: EthnicitySource = "officer",
                 stages: Sequence[str] | None = None) -> pl.DataFrame:
    """Counts per area × stage × grain period × group ('' = all groups, 'Not stated').

    Columns: area_code, stage, period_start, period_end, group, value, source, vintage,
    synthetic. One source per area, stage and period: the lowest priority number among the
    sources that break the stage down by ethnicity (then by name), for every group alike.

    Read from the figure mart (``mart.stage_counts``, computed at load time by
    :mod:`metrics.mart_stages`) where it answers for the warehouse as it is; otherwise (a
    warehouse loaded without a refresh, such as a test's in-memory one) computed from the
    area rollup: the same rows either way (tested).
    """
    if ethnicity_source not in ETHNICITY_WORDS:
        raise ValueError(f"ethnicity_source must be one of {', '.join(ETHNICITY_WORDS)}")
    chosen = [s.id for s in _stage_list(default_stages(), stages)]
    if grain in GRAINS and stage_reads.ready(con):
        return stage_reads.read_counts(con, list(dict.fromkeys(areas)), grain,
                                       ethnicity_source, None if stages is None else chosen)
    return _stage_counts(con, areas, grain, ethnicity_source, stages)


def stage_counts_and_other(con: duckdb.DuckDBPyConnection, areas: list[str], grain: str, *,
                           ethnicity_source: EthnicitySource = "officer",
                           stages: Sequence[str] | None = None
                           ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """:func:`stage_counts` and, when stop and search is among ``stages``, its counts under
    the other ethnicity definition (``stage_counts(…, stages=[FIRST_STAGE])``, which the
    sensitivity table's other-definition row is computed from at settings nothing stores;
    else None): from the figure mart in one read where it answers."""
    if ethnicity_source not in ETHNICITY_WORDS:
        raise ValueError(f"ethnicity_source must be one of {', '.join(ETHNICITY_WORDS)}")
    if stages is not None and FIRST_STAGE not in stages:
        return stage_counts(con, areas, grain, ethnicity_source=ethnicity_source,
                            stages=stages), None
    other = next(d for d in ETHNICITY_WORDS if d != ethnicity_source)
    if grain in GRAINS and stage_reads.ready(con):
        declared = default_stages()
        counts, others = stage_reads.read_counts_for(con, list(dict.fromkeys(areas)), grain, [
            (ethnicity_source, None if stages is None
             else [s.id for s in _stage_list(declared, stages)]),
            (other, [s.id for s in _stage_list(declared, [FIRST_STAGE])])])
        return counts, others
    return (_stage_counts(con, areas, grain, ethnicity_source, stages),
            _stage_counts(con, areas, grain, other, [FIRST_STAGE]))  # type: ignore[arg-type]


def _stage_counts(con: duckdb.DuckDBPyConnection, areas: list[str], grain: str,
                  ethnicity_source: EthnicitySource, stages: Sequence[str] | None
                  ) -> pl.DataFrame:
    by_measure = _measure_stages(_stage_list(default_stages(), stages), ethnicity_source)
    measures = sorted(by_measure)
    native = pl.concat(
        [fetch(con, sql.observations_sql(by), [areas, measures]) for by in ("ethnicity", None)],
        how="vertical_relaxed",
    )
    if native.height == 0:
        return _empty_counts()
    native = native.with_columns(pl.col("value").cast(pl.Float64))
    periods = to_grain(native, grain, dict.fromkeys(measures, "sum"))
    if periods.height == 0:
        return _empty_counts()
    periods = periods.with_columns(
        pl.col("measure").replace_strict(by_measure, return_dtype=pl.String).alias("stage"),
        pl.when(pl.col("breakdown").is_in(_UNKNOWN_LABELS)).then(pl.lit(NOT_STATED))
        .otherwise(pl.col("breakdown")).alias("group"),
    ).group_by("area_code", "stage", "period_start", "period_end", "group", "source").agg(
        pl.when(pl.col("value").null_count() > 0).then(None).otherwise(pl.col("value").sum())
        .first().alias("value"),
        pl.col("vintage").max(),
    )
    sources = fetch(con, sql.sources_sql()).select(
        "source", "priority", pl.col("is_synthetic").alias("synthetic"))
    periods = periods.join(sources, on="source", how="left").with_columns(
        pl.col("priority").fill_null(50), pl.col("synthetic").fill_null(False))
    key = ["area_code", "stage", "period_start", "period_end"]
    chosen = (periods.filter(pl.col("group").is_in(GROUPS))
              .select(*key, "priority", "source").unique()
              .sort("priority", "source").unique(key, keep="first").select(*key, "source"))
    return periods.join(chosen, on=[*key, "source"], how="inner").select(
        *key, "group", "value", "source", "vintage", "synthetic")


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "area_code": pl.String, "stage": pl.String, "period_start": pl.Date,
        "period_end": pl.Date, "group": pl.String, "value": pl.Float64, "source": pl.String,
        "vintage": pl.String, "synthetic": pl.Boolean})


def populations(con: duckdb.DuckDBPyConnection, areas: list[str]) -> pl.DataFrame:
    """Populations per area × year × source × group ('' = all), rolled up to each area: read
    from the figure mart where it answers for the warehouse as it is, else computed."""
    if stage_reads.ready(con):
        return stage_reads.read_populations(con, list(dict.fromkeys(areas)))
    return _populations(con, areas)


def _no_populations() -> pl.DataFrame:
    return pl.DataFrame(schema={"area_code": pl.String, "year": pl.Int64, "group": pl.String,
                                "source": pl.String, "population": pl.Float64})


def _populations(con: duckdb.DuckDBPyConnection, areas: list[str]) -> pl.DataFrame:
    parts = [fetch(con, sql.populations_sql(by), [areas]) for by in ("ethnicity", None)]
    parts = [p for p in parts if p.height]
    if not parts:
        return _no_populations()
    return pl.concat(parts, how="vertical_relaxed").select(
        "area_code", pl.col("year").cast(pl.Int64), pl.col("breakdown").alias("group"),
        "source", pl.col("population").cast(pl.Float64))


def population_sources(con: duckdb.DuckDBPyConnection, area: str) -> list[str]:
    """The population sources with ethnic groups loaded for this area (e.g. Census 2011)."""
    pops = populations(con, [area])
    return sorted(pops.filter(pl.col("group").is_in(GROUPS))["source"].unique().to_list())


def _choose_population(cells: Iterable[tuple[str, date]], pops: pl.DataFrame,
                       source: str | None) -> dict[tuple[str, date], tuple[dict[str, float], str]]:
    """Per area and period start: the population from ``source`` (any source when None)
    counted most recently before the period starts, else the earliest after (see
    :mod:`metrics.population_choice`: Census 2021 from 21 March 2021 when it is loaded), as
    (group → population, its label: "Census 2021 (2021)"). The areas' populations are a few
    dozen rows each: chosen in Python, as :func:`metrics.population_choice.choose` ranks."""
    by_year: dict[tuple[str, int, str], dict[str, float]] = {}
    options: dict[str, set[tuple[int, str]]] = {}
    for area, year, group, src, value in small.tuples(
            pops, "area_code", "year", "group", "source", "population"):
        if source and src != source:
            continue
        by_year.setdefault((area, year, src), {})[group] = value
        if group in GROUPS:
            options.setdefault(area, set()).add((year, src))
    out: dict[tuple[str, date], tuple[dict[str, float], str]] = {}
    for area, start in cells:
        ranked = []
        for year, src in options.get(area, ()):
            day = population_choice.reference_date(src, int(year))
            after = day > start
            ranked.append((after, (day - start) if after else (start - day), src, year))
        if ranked:
            _, _, src, year = min(ranked)
            out[(area, start)] = (by_year[(area, year, src)], f"{src} ({year})")
    return out


def latest_period(counts: pl.DataFrame) -> date | None:
    """The latest period end with any stage counted by ethnic group."""
    known = counts.filter(pl.col("group").is_in(GROUPS))
    return known["period_end"].max() if known.height else None  # type: ignore[return-value]



def available_periods(con: duckdb.DuckDBPyConnection, area: str, grain: str, *,
                      ethnicity_source: EthnicitySource = "officer",
                      counts: pl.DataFrame | None = None) -> list[tuple[date, str]]:
    """Period ends with any stage counted by ethnic group at this area, newest first."""
    if counts is None:
        counts = stage_counts(con, [area], grain, ethnicity_source=ethnicity_source)
    ends = counts.lazy().filter(pl.col("group").is_in(GROUPS)).select(
        "period_start", "period_end").unique().sort("period_end", descending=True).collect()
    return [(e, label_period(s, e, grain)) for s, e in ends.iter_rows()]



def _chain_to(stage: str, stages: Sequence[str] | None) -> list[str]:
    """The chosen stages up to and including ``stage``: all a stage's RRI depends on."""
    declared = default_stages()
    declared.get(stage)  # KeyError for an unknown stage
    chosen = set(stages or declared.ids) | {stage}
    ids = [i for i in declared.ids if i in chosen]
    return ids[:ids.index(stage) + 1]

