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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.periods import label_period
from metrics import cache, population_choice, sql
from metrics import statistics as st
from metrics.options import Options
from metrics.stages import POPULATION, EthnicitySource, Stage, Stages, default_stages
from metrics.statistics import disproportionality as dp
from metrics.timeseries import to_grain

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
DEFAULT_GRAIN = "fy"  # the page's first view; the server's warm-up reads every area at it

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
_BLANK_IF_SUPPRESSED = ("count", "stage_rate", "rri", "rri_lower", "rri_upper", "p_exact",
                        "rate_per_1000", "rate_lower", "rate_upper", "disparity_ratio",
                        "ratio_lower", "ratio_upper", "excess", "parity_reduction")
_BLANK_IF_PREVIOUS_SUPPRESSED = ("previous_count", "stage_rate", "rri", "rri_lower",
                                 "rri_upper", "p_exact")


# --- reading the warehouse ---------------------------------------------------------------------

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

    Kept per data version: where every area's counts for the grain and definition have
    been read (:func:`every_area_counts`: the server's warm-up reads the page's default
    grain) each request takes its areas' rows from them — the same rows as reading those
    areas alone (tested); otherwise these areas' counts are read and kept. Either way the
    stages wanted are taken from every stage's counts. An in-memory warehouse (never
    cached) reads each time.
    """
    if ethnicity_source not in ETHNICITY_WORDS:
        raise ValueError(f"ethnicity_source must be one of {', '.join(ETHNICITY_WORDS)}")
    chosen = {s.id for s in _stage_list(default_stages(), stages)}
    if cache.data_version(con) is None:
        return _stage_counts(con, areas, grain, ethnicity_source, stages)
    every = cache.peek(con, _every_key(grain, ethnicity_source))
    if every is None:
        wanted = tuple(dict.fromkeys(areas))
        frame = cache.cached(con, ("dq-counts", wanted, grain, ethnicity_source),
                             lambda: _stage_counts(con, list(wanted), grain, ethnicity_source,
                                                   None))
    else:
        parts = [every[a] for a in dict.fromkeys(areas) if a in every]
        if not parts:
            return _empty_counts()
        frame = pl.concat(parts) if len(parts) > 1 else parts[0]
    return frame if stages is None else frame.filter(pl.col("stage").is_in(chosen))


def _every_key(grain: str, ethnicity_source: str) -> tuple[str, ...]:
    return ("dq-every-area-counts", grain, ethnicity_source)


def every_area_counts(con: duckdb.DuckDBPyConnection, grain: str,
                      ethnicity_source: EthnicitySource = "officer") -> dict[str, pl.DataFrame]:
    """:func:`stage_counts` of every area for this grain and definition, by area: read in
    one pass (about 1–2 s) and kept for this data version; the server's warm-up reads the
    disproportionality page's default grain."""
    def read() -> dict[str, pl.DataFrame]:
        frame = _stage_counts(con, _area_codes(con), grain, ethnicity_source, None)
        return {code: part for (code,), part in
                frame.partition_by("area_code", as_dict=True).items()}

    return cache.kept(con, _every_key(grain, ethnicity_source), read)


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
    """Populations per area × year × source × group ('' = all), rolled up to each area:
    every area's read once per data version, each request taking its areas' rows."""
    if cache.data_version(con) is None:
        return _populations(con, areas)
    every = cache.kept(con, ("dq-every-area-populations",), lambda: {
        code: part for (code,), part in _populations(con, _area_codes(con))
        .partition_by("area_code", as_dict=True).items()})
    parts = [every[a] for a in dict.fromkeys(areas) if a in every]
    if not parts:
        return _no_populations()
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def _no_populations() -> pl.DataFrame:
    return pl.DataFrame(schema={"area_code": pl.String, "year": pl.Int64, "group": pl.String,
                                "source": pl.String, "population": pl.Float64})


def _area_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT code FROM core.areas ORDER BY code").fetchall()]


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


# --- the stage matrix --------------------------------------------------------------------------

def _cell_lookup(counts: pl.DataFrame) -> dict[tuple, dict[str, dict[str, float]]]:
    """(area, period_start, period_end) → stage → group → count."""
    out: dict[tuple, dict[str, dict[str, float]]] = {}
    for area, stage, start, end, group, value in counts.select(
            "area_code", "stage", "period_start", "period_end", "group", "value").iter_rows():
        cell = out.setdefault((area, start, end), {}).setdefault(stage, {})
        cell[group] = math.nan if value is None else float(value)
    return out


def _chain(stage_list: list[Stage], by_stage: dict[str, dict[str, float]]) -> list[Stage]:
    """The stages with ethnic groups in this cell, in order (the population first)."""
    return [s for s in stage_list
            if s.is_population or any(g in by_stage.get(s.id, {}) for g in GROUPS)]


def _cell_figures(counts: np.ndarray, pops: np.ndarray, ref: int, min_count: float,
                  level: float) -> dict[str, np.ndarray]:
    """Every figure of many areas and periods with the same chain of stages, in one pass:
    ``counts`` is (cells, stages, groups) with the populations first; arrays out are
    (cells, stages − 1, groups)."""
    table = dp.relative_rate_index_batch(counts, ref, min_count=min_count, level=level)
    x = table["numerator"]
    pop_b = np.broadcast_to(pops[:, None, :], x.shape)
    rate, rate_lo, rate_hi, rate_method = st.rate_interval(x, pop_b, multiplier=1000.0,
                                                           level=level)
    ratio, r_lo, r_hi, r_sig, r_est = st.rate_ratio(
        x, pop_b, x[..., [ref]], pop_b[..., [ref]], z=st.z_for(level),
        population_denominators=True)
    if not r_est.all():  # the exact conditional test only where a zero leaves no Katz CI
        p_pop = st.exact_poisson_ratio_test(x, pop_b, x[..., [ref]], pop_b[..., [ref]])
        r_sig = np.where(r_est, r_sig, p_pop < 1.0 - level)
    status = table["status"]
    excluded = status == dp.STATUS_EXCLUDED
    untested = excluded | (status == dp.STATUS_INSUFFICIENT)
    ratio = np.where(excluded, np.nan, ratio)
    ratio[..., ref] = np.where(np.isfinite(x[..., ref]) & (x[..., ref] > 0), 1.0, np.nan)
    r_lo = np.where(excluded, np.nan, r_lo)
    r_hi = np.where(excluded, np.nan, r_hi)
    r_lo[..., ref], r_hi[..., ref] = np.nan, np.nan
    r_sig = r_sig & ~untested
    r_sig[..., ref] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_rate = x[..., [ref]] / pop_b[..., [ref]]
    excess = np.where(excluded, np.nan, dp.excess_count(x, pop_b, ref_rate))
    figures = {
        "count": x, "previous_count": table["denominator"], "stage_rate": table["rate"],
        "rri": table["rri"], "rri_lower": table["lower"], "rri_upper": table["upper"],
        "p_exact": table["p_exact"], "significant": table["significant"],
        "significance_method": table["significance_method"], "status": status,
        "rate_per_1000": np.where(excluded, np.nan, rate),
        "rate_lower": np.where(excluded, np.nan, rate_lo),
        "rate_upper": np.where(excluded, np.nan, rate_hi),
        "rate_method": np.broadcast_to(rate_method, x.shape),
        "disparity_ratio": ratio, "ratio_lower": r_lo, "ratio_upper": r_hi,
        "ratio_significant": r_sig, "excess": excess,
        "parity_reduction": dp.parity_reduction(ratio),
    }
    return _exclude_small_reference(figures, pops, ref)


_NUMBERS = ("stage_rate", "rri", "rri_lower", "rri_upper", "p_exact", "rate_per_1000",
            "rate_lower", "rate_upper", "disparity_ratio", "ratio_lower", "ratio_upper",
            "excess", "parity_reduction")


def _exclude_small_reference(figures: dict[str, np.ndarray], pops: np.ndarray, ref: int
                             ) -> dict[str, np.ndarray]:
    """A reference group under 1% of the population is no base for a comparison either
    (METHODS.md's 1% rule): in those cells every other group's comparison is excluded too."""
    total = np.nansum(np.where(pops > 0, pops, 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = ~((total > 0) & (pops[:, ref] / total >= dp.DEFAULT_MIN_SHARE))
    if not small.any():
        return figures
    others = np.broadcast_to(small[:, None, None], figures["status"].shape).copy()
    others[..., ref] = False
    out = dict(figures)
    for key in _NUMBERS:
        out[key] = np.where(others, np.nan, out[key])
    out["status"] = np.where(others, dp.STATUS_EXCLUDED, out["status"]).astype(np.str_)
    out["significance_method"] = np.where(others, dp.METHOD_NONE,
                                          out["significance_method"]).astype(np.str_)
    out["significant"] = out["significant"] & ~others
    out["ratio_significant"] = out["ratio_significant"] & ~others
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


def _not_stated(counts: pl.DataFrame) -> pl.DataFrame:
    return counts.filter(pl.col("group") == NOT_STATED).select(
        "area_code", "stage", "period_start", "period_end", pl.col("value").alias("unknown"))


def _disclose(frame: pl.DataFrame, counts: pl.DataFrame, options: Options) -> pl.DataFrame:
    """Primary suppression of small counts, secondary across each stage's groups (with the
    Not stated count: together they add up to the published total); blank what they hide."""
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
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=options.suppression_threshold)
    hidden = cells.with_columns(
        pl.Series("suppressed", mask, dtype=pl.Boolean),
        pl.Series("note", np.where(primary, f"suppressed: {rule}",
                                   np.where(mask, f"suppressed: {st.SECONDARY_RULE}", "")),
                  dtype=pl.String).replace("", None),
    ).select(*key, "group", "suppressed", "note")
    out = frame.join(hidden, on=[*key, "group"], how="left").with_columns(
        pl.col("suppressed").fill_null(False))
    previous = hidden.filter("suppressed").select(
        "area_code", pl.col("stage").alias("previous_stage"), "period_start", "period_end",
        "group", pl.lit(True).alias("_prev_hidden"))
    out = out.join(previous, on=["area_code", "previous_stage", "period_start", "period_end",
                                 "group"], how="left")
    prev_hidden = pl.col("_prev_hidden").fill_null(False)
    out = out.with_columns(
        *[pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
          for c in _BLANK_IF_SUPPRESSED],
    ).with_columns(
        *[pl.when(prev_hidden).then(None).otherwise(pl.col(c)).alias(c)
          for c in _BLANK_IF_PREVIOUS_SUPPRESSED],
        pl.when(pl.col("suppressed")).then(pl.col("note"))
        .when(prev_hidden).then(pl.lit("previous stage's count suppressed: stage rate hidden"))
        .otherwise(pl.col("note")).alias("note"),
        pl.when(pl.col("suppressed") | prev_hidden).then(False).otherwise(pl.col("significant"))
        .alias("significant"),
        pl.when(pl.col("suppressed")).then(False).otherwise(pl.col("ratio_significant"))
        .alias("ratio_significant"),
    )
    return out.drop("_prev_hidden")


def _annotate(frame: pl.DataFrame, counts: pl.DataFrame, stage_list: list[Stage],
              reference: str, grain: str, ethnicity_source: str, level: float) -> pl.DataFrame:
    titles = {s.id: s.title for s in stage_list}
    provenance = counts.filter(pl.col("group").is_in(GROUPS)).group_by(
        "area_code", "stage", "period_start", "period_end").agg(
        pl.col("source").first(), pl.col("vintage").max(), pl.col("synthetic").any())
    labels = {(s, e): label_period(s, e, grain)
              for s, e in frame.select("period_start", "period_end").unique().iter_rows()}
    return frame.join(provenance, on=["area_code", "stage", "period_start", "period_end"],
                      how="left").with_columns(
        pl.col("stage").replace_strict(titles, return_dtype=pl.String).alias("stage_title"),
        pl.struct("period_start", "period_end").map_elements(
            lambda p: labels[(p["period_start"], p["period_end"])], return_dtype=pl.String)
        .alias("period_label"),
        pl.lit(reference).alias("reference"),
        pl.lit(ETHNICITY_WORDS[ethnicity_source]).alias("ethnicity_source"),
        pl.lit(level).alias("level"),
        pl.col("synthetic").fill_null(False),
    )


def stage_frame(
    con: duckdb.DuckDBPyConnection, areas: list[str], *, grain: str = "fy",
    reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, min_count: float = dp.DEFAULT_MIN_COUNT,
    stages: Sequence[str] | None = None, period_end: date | None = None,
    options: Options | None = None, counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The stage × group matrix for every area and every period (or only ``period_end``).

    Columns :data:`MATRIX_COLUMNS`; the ``population`` stage rows carry the group's
    population as ``count`` (status ``base``). See :func:`stage_matrix`. ``counts``: the
    :func:`stage_counts` of these areas, grain, definition and stages, when already read.
    """
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
    frame = _disclose(frame, counts, options)
    frame = _annotate(frame, counts, stage_list, reference, grain, ethnicity_source,
                      options.level)
    for column, dtype in MATRIX_SCHEMA.items():
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    frame = frame.select(MATRIX_COLUMNS).cast(MATRIX_SCHEMA)  # type: ignore[arg-type]
    return frame.with_columns(pl.col(c).fill_nan(None) for c in _FLOAT_COLUMNS).sort(
        "area_code", "period_start", "stage_order", pl.col("group").replace_strict(
            {g: i for i, g in enumerate(GROUPS)}, return_dtype=pl.Int64))


def available_periods(con: duckdb.DuckDBPyConnection, area: str, grain: str, *,
                      ethnicity_source: EthnicitySource = "officer",
                      counts: pl.DataFrame | None = None) -> list[tuple[date, str]]:
    """Period ends with any stage counted by ethnic group at this area, newest first."""
    if counts is None:
        counts = stage_counts(con, [area], grain, ethnicity_source=ethnicity_source)
    counts = counts.filter(pl.col("group").is_in(GROUPS))
    ends = counts.select("period_start", "period_end").unique().sort("period_end",
                                                                     descending=True)
    return [(e, label_period(s, e, grain)) for s, e in ends.iter_rows()]


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
    if counts is None:
        counts = stage_counts(con, [area], grain, ethnicity_source=ethnicity_source,
                              stages=stages)
    if period_end is None:
        period_end = latest_period(counts)
        if period_end is None:
            return pl.DataFrame(schema=MATRIX_SCHEMA)
    return stage_frame(con, [area], grain=grain, reference=reference,
                       ethnicity_source=ethnicity_source, population_source=population_source,
                       min_count=min_count, stages=stages, period_end=period_end,
                       options=options, counts=counts)


def latest_period(counts: pl.DataFrame) -> date | None:
    """The latest period end with any stage counted by ethnic group."""
    known = counts.filter(pl.col("group").is_in(GROUPS))
    return known["period_end"].max() if known.height else None  # type: ignore[return-value]


def missing_stages(matrix: pl.DataFrame, stages: Stages | None = None) -> list[Stage]:
    """The declared stages with no data in ``matrix`` (for "no data loaded" notes)."""
    present = set(matrix["stage"].unique().to_list()) if matrix.height else set()
    return [s for s in (stages or default_stages()).counted() if s.id not in present]


def data_reach_note(matrix: pl.DataFrame, area_name: str,
                    stages: Sequence[str] | None = None) -> str:
    """Where the loaded data stops, in words (empty when every chosen stage is there)."""
    present = set(matrix["stage"].unique().to_list()) if matrix.height else set()
    counted = [s for s in default_stages().counted() if stages is None or s.id in stages]
    if not present - {POPULATION}:
        return f"No stage of the justice process has counts by ethnicity for {area_name}."
    last = max(i for i, s in enumerate(counted) if s.id in present)
    beyond = counted[last + 1:]
    gaps = [s for s in counted[:last] if s.id not in present]
    notes = []
    if beyond:
        notes.append(f"stages beyond {counted[last].title.lower()}: no data loaded for "
                     f"this area ({', '.join(s.title.lower() for s in beyond)})")
    if gaps:
        notes.append(f"no data loaded for {', '.join(s.title.lower() for s in gaps)}: the "
                     "next stage is compared with the stage before it")
    return "; ".join(notes).capitalize() + "." if notes else ""


# --- sensitivity: assumptions, not confidence intervals -----------------------------------------

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


def _compared(matrix: pl.DataFrame) -> pl.DataFrame:
    """Stage rows of groups that are compared: not the reference, not excluded, shown."""
    return matrix.filter(
        (pl.col("stage") != POPULATION) & (pl.col("group") != pl.col("reference"))
        & (pl.col("status") != dp.STATUS_EXCLUDED) & ~pl.col("suppressed"))


def _missing_bounds(matrix: pl.DataFrame, counts: pl.DataFrame, options: Options
                    ) -> list[dict]:
    key = ["area_code", "stage", "period_start", "period_end"]
    ref = matrix.filter(pl.col("group") == pl.col("reference")).select(
        *key, pl.col("count").alias("ref_count"), pl.col("population").alias("ref_pop"),
        pl.col("suppressed").alias("ref_hidden"))
    rows = (_compared(matrix).join(ref, on=key, how="inner")
            .join(_not_stated(counts), on=key, how="left"))
    out = []
    for r in rows.iter_rows(named=True):
        unknown = r["unknown"] or 0.0
        base = {"stage": r["stage"], "stage_title": r["stage_title"], "group": r["group"],
                "reference": r["reference"], "disparity_ratio": r["disparity_ratio"]}
        if r["ref_hidden"] or 0 < unknown < options.suppression_threshold:
            out.append({**base, "assumption": "not stated count suppressed (small numbers)",
                        "note": "bounds not shown: they would reveal a suppressed count"})
            continue
        low, high = dp.missing_ethnicity_bounds(r["population"], r["count"], r["ref_pop"],
                                                r["ref_count"], unknown)
        tip = dp.tipping_share(r["population"], r["count"], r["ref_pop"], r["ref_count"],
                               unknown)
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
            for r in _compared(matrix).iter_rows(named=True)]


def sensitivity(
    con: duckdb.DuckDBPyConnection, area: str, period_end: date | None = None, *,
    grain: str = "fy", reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, stages: Sequence[str] | None = None,
    options: Options | None = None, counts: pl.DataFrame | None = None,
    matrix: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """How the disparity ratios move under other assumptions — labelled as assumptions,
    never as confidence intervals (:data:`ASSUMPTIONS_LABEL`). ``matrix``: the
    :func:`stage_matrix` of these settings, when already computed.

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
    counts = counts.filter(pl.col("period_end") == period_end)
    rows = [{**r, "analysis": ANALYSIS_MISSING}
            for r in _missing_bounds(matrix, counts, options)]
    used = set(matrix["population_source"].drop_nulls().to_list())
    for source in population_sources(con, area):
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
            other = stage_matrix(con, area, period_end, ethnicity_source=definition,  # type: ignore[arg-type]
                                 population_source=population_source, stages=chosen, **args)
        other = other.filter(pl.col("stage") == "stop_and_search")
        if other.height:
            rows += _ratios(other, ETHNICITY_WORDS[definition], ANALYSIS_DEFINITION)
        else:
            rows.append({"analysis": ANALYSIS_DEFINITION, "stage": "stop_and_search",
                         "stage_title": default_stages().get("stop_and_search").title,
                         "reference": reference, "assumption": ETHNICITY_WORDS[definition],
                         "note": f"no stop and search counts by {ETHNICITY_WORDS[definition]} "
                                 "loaded for this area and period"})
    frame = pl.DataFrame(rows, schema={c: SENSITIVITY_SCHEMA[c] for c in
                                       dict.fromkeys(k for r in rows for k in r)},
                         strict=False) if rows else pl.DataFrame(schema=SENSITIVITY_SCHEMA)
    frame = frame.with_columns(
        pl.lit(area).alias("area_code"), pl.lit(matrix["period_label"][0]).alias("period_label"),
        pl.lit(ASSUMPTIONS_LABEL).alias("label"))
    for column, dtype in SENSITIVITY_SCHEMA.items():
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    return frame.select(SENSITIVITY_COLUMNS).with_columns(
        pl.col(c).fill_nan(None) for c in ("disparity_ratio", "bound_low", "bound_high",
                                           "tipping_share"))


# --- all areas side by side ---------------------------------------------------------------------

FOREST_COLUMNS: tuple[str, ...] = (
    "area_code", "area_name", "area_kind", "is_national", "period_label", "period_end", "stage",
    "stage_title", "group", "reference", "basis", "count", "denominator", "value", "lower",
    "upper", "significant", "status", "suppressed", "population_source", "synthetic", "note",
)
BASES = {"population": "disparity ratio (per population)",
         "previous_stage": "relative rate index (per previous stage)"}


def _chain_to(stage: str, stages: Sequence[str] | None) -> list[str]:
    """The chosen stages up to and including ``stage``: all a stage's RRI depends on."""
    declared = default_stages()
    declared.get(stage)  # KeyError for an unknown stage
    chosen = set(stages or declared.ids) | {stage}
    ids = [i for i in declared.ids if i in chosen]
    return ids[:ids.index(stage) + 1]


def _areas(con: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    return fetch(con, "SELECT code AS area_code, name AS area_name, kind AS area_kind, sort_key "
                      "FROM core.areas WHERE kind = $1 OR code = $2 ORDER BY sort_key",
                 [kind, "K04000001"])


def forest(
    con: duckdb.DuckDBPyConnection, stage: str, period_end: date | None = None, *,
    grain: str = "fy", reference: str = "White", group: str = "Black",
    basis: str = "population", kind: str = "lcjb",
    ethnicity_source: EthnicitySource = "officer", population_source: str | None = None,
    min_count: float = dp.DEFAULT_MIN_COUNT, stages: Sequence[str] | None = None,
    options: Options | None = None,
) -> pl.DataFrame:
    """Every area's ratio for one stage and group, with its 95% CI, sorted (smallest first).

    ``basis='population'``: the disparity ratio per population; ``'previous_stage'``: the
    relative rate index. Areas of ``kind`` (LCJB areas by default) plus England and Wales
    (``is_national``, last). The period is ``period_end`` or the latest with the stage.
    """
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}")
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}")
    areas = _areas(con, kind)
    codes = areas["area_code"].to_list()
    chain = _chain_to(stage, stages)
    counts = stage_counts(con, codes, grain, ethnicity_source=ethnicity_source, stages=chain)
    if period_end is None:
        here = counts.filter((pl.col("stage") == stage) & pl.col("group").is_in(GROUPS))
        if here.height == 0:
            return pl.DataFrame(schema=dict.fromkeys(FOREST_COLUMNS, pl.String))
        period_end = here["period_end"].max()
    matrix = stage_frame(con, codes, grain=grain, reference=reference,
                         ethnicity_source=ethnicity_source, population_source=population_source,
                         min_count=min_count, stages=chain, period_end=period_end,
                         options=options, counts=counts)
    rows = matrix.filter((pl.col("stage") == stage) & (pl.col("group") == group))
    by_population = basis == "population"
    out = rows.join(areas, on="area_code", how="inner").select(
        "area_code", "area_name", "area_kind",
        (pl.col("area_code") == "K04000001").alias("is_national"), "period_label",
        "period_end", "stage", "stage_title", "group", "reference", pl.lit(BASES[basis])
        .alias("basis"), "count",
        pl.col("population" if by_population else "previous_count").alias("denominator"),
        pl.col("disparity_ratio" if by_population else "rri").alias("value"),
        pl.col("ratio_lower" if by_population else "rri_lower").alias("lower"),
        pl.col("ratio_upper" if by_population else "rri_upper").alias("upper"),
        pl.col("ratio_significant" if by_population else "significant").alias("significant"),
        "status", "suppressed", "population_source", "synthetic", "note", "sort_key",
    )
    return out.sort("is_national", pl.col("value").is_null(), "value", "sort_key").drop(
        "sort_key")


# --- ethnicity data quality --------------------------------------------------------------------

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
    counts = counts.filter(pl.col("period_end") == period_end)
    order = {s.id: i for i, s in enumerate(default_stages().stages)}
    titles = {s.id: s.title for s in default_stages().stages}
    rows = []
    for (stage,), part in counts.group_by(["stage"]):
        values = dict(zip(part["group"].to_list(), part["value"].to_list(), strict=True))
        stated = sum(values.get(g) or 0.0 for g in GROUPS)
        unknown = values.get(NOT_STATED) or 0.0
        total = values.get("") if values.get("") is not None else stated + unknown
        rows.append({"stage": stage, "total": total, "stated": stated, "not_stated": unknown,
                     "source": part["source"][0], "synthetic": bool(part["synthetic"].any()),
                     "start": part["period_start"][0], "end": part["period_end"][0]})
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(QUALITY_COLUMNS, pl.String))
    rows.sort(key=lambda r: order[r["stage"]])
    total = np.array([r["total"] for r in rows], dtype=np.float64)
    stated = np.array([r["stated"] for r in rows], dtype=np.float64)
    unknown = np.array([r["not_stated"] for r in rows], dtype=np.float64)
    lo, hi = st.wilson_interval(stated, total, z=st.z_for(options.level))
    hidden = (st.primary_suppression(unknown, threshold=options.suppression_threshold)
              | st.primary_suppression(stated, threshold=options.suppression_threshold))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, stated / total, np.nan)
    rule = st.PRIMARY_RULE_TEMPLATE.format(threshold=options.suppression_threshold)
    frame = pl.DataFrame({
        "area_code": [area] * len(rows),
        "period_label": [label_period(r["start"], r["end"], grain) for r in rows],
        "stage": [r["stage"] for r in rows],
        "stage_title": [titles[r["stage"]] for r in rows],
        "total": total, "stated": np.where(hidden, np.nan, stated),
        "not_stated": np.where(hidden, np.nan, unknown),
        "share_recorded": np.where(hidden, np.nan, share),
        "lower": np.where(hidden, np.nan, lo), "upper": np.where(hidden, np.nan, hi),
        "suppressed": hidden, "source": [r["source"] for r in rows],
        "synthetic": [r["synthetic"] for r in rows],
        "note": np.where(hidden, f"suppressed: {rule}", "").tolist(),
    })
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None),
                              pl.col("note").replace("", None)).select(QUALITY_COLUMNS)


# --- what `cjsdash query disparity_ratio --stage …` prints ----------------------------------------

QUERY_COLUMNS: tuple[str, ...] = (
    "indicator", "stage", "area_code", "area_name", "period_label", "period_start",
    "period_end", "breakdown", "reference", "numerator", "denominator", "value", "lower",
    "upper", "method", "significant", "status", "previous_stage", "previous_count", "rri",
    "rri_lower", "rri_upper", "rri_significant", "rate_per_1000", "excess", "parity_reduction",
    "suppressed", "population_source", "ethnicity_source", "display_value", "display_ci",
    "source", "vintage", "synthetic", "note",
)


def _ratio_text(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.2f}×"


def disparity_rows(
    con: duckdb.DuckDBPyConnection, area: str, area_name: str, *, stage: str = "stop_and_search",
    grain: str = "quarter", by: str | None = None, group: str = "Black",
    reference: str = "White", ethnicity_source: EthnicitySource = "officer",
    population_source: str | None = None, stages: Sequence[str] | None = None,
    options: Options | None = None,
) -> pl.DataFrame:
    """The disparity ratio at one stage for every period: the declared group against the
    reference (``breakdown`` '') or, ``by='ethnicity'``, every group. The same figures as
    :func:`stage_matrix` (and so the page): ``numerator`` is the group's count,
    ``denominator`` its population, ``value`` the disparity ratio with its Katz CI, and the
    stage's RRI beside it."""
    if by not in (None, "ethnicity"):
        raise ValueError("disparity_ratio is broken down by ethnicity only")
    frame = stage_frame(con, [area], grain=grain, reference=reference,
                        ethnicity_source=ethnicity_source, population_source=population_source,
                        stages=_chain_to(stage, stages), options=options)
    rows = frame.filter(pl.col("stage") == stage)
    if by is None:
        rows = rows.filter(pl.col("group") == group)
    if rows.height == 0:
        return pl.DataFrame(schema=dict.fromkeys(QUERY_COLUMNS, pl.String))
    ci = [("" if lo is None or hi is None else f"{_ratio_text(lo)} to {_ratio_text(hi)}")
          for lo, hi in rows.select("ratio_lower", "ratio_upper").iter_rows()]
    return rows.with_columns(
        pl.lit(INDICATOR).alias("indicator"), pl.lit(area_name).alias("area_name"),
        (pl.col("group") if by else pl.lit("")).alias("breakdown"),
        pl.col("count").alias("numerator"), pl.col("population").alias("denominator"),
        pl.col("disparity_ratio").alias("value"), pl.col("ratio_lower").alias("lower"),
        pl.col("ratio_upper").alias("upper"), pl.lit("katz").alias("method"),
        pl.col("ratio_significant").alias("significant"),
        pl.col("significant").alias("rri_significant"),
        pl.Series("display_value", [("[c]" if s else _ratio_text(v)) for v, s in
                                    rows.select("disparity_ratio", "suppressed").iter_rows()],
                  dtype=pl.String),
        pl.Series("display_ci", ci, dtype=pl.String),
    ).select(QUERY_COLUMNS)
