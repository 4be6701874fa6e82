"""Which counts are withheld, decided once over everything the dashboard can publish.

Suppression is decided on the *measures* (the counts indicators are built from), for every
area (forces, LCJBs, regions, countries, England and Wales), every grain (months, quarters,
years, financial years, rolling 12 months) and every breakdown an indicator publishes, at
once: so a count hidden on one page is hidden on every page, in ``cjsdash query`` and in
every export, and the totals shown beside it at other areas, periods and breakdowns cannot
give it away (decision 8). :func:`hidden_cells` is what :mod:`metrics.compute` joins to
every figure; it is kept per data version (:func:`metrics.cache.cached`);
:func:`plan_hidden_cells` is the same plan without the cache. No suppressed count can be
worked out by any linear combination of the identities between published cells (exact
test, every block; decision 8).

Primary: a count of 1 to threshold − 1 (the largest threshold of the indicators built on the
measure). Zero is published and never serves as a complement. Money (``amount``) and
populations are not counts of people or events and are not withheld.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.snapshots import STAMP_SQL
from metrics import cache
from metrics import disclosure_workers as workers_
from metrics.disclosure_cells import PUBLISHED_GRAINS, measure_cells
from metrics.disclosure_relations import relations_for, window_pieces
from metrics.options import Options
from metrics.registry import Indicator, Registry
from metrics.stages import default_stages
from metrics.statistics.disclosure_stable import Earlier
from metrics.statistics.suppression import primary_suppression

STAGE_BREAKDOWN = "ethnicity"
"""The breakdown the disproportionality stages publish their counts by."""
STAGE_GRAINS = ("quarter", "fy")
"""The grains a stage's counts by ethnic group are published at when no indicator publishes
its measure (charges, prosecutions, convictions, custodial sentences): quarters and
financial years, as the Ministry of Justice publishes them. At any other grain the stage
matrix withholds them whole (decision 26)."""

HIDDEN_SCHEMA = {
    "measure": pl.String, "area_code": pl.String, "period_start": pl.Date,
    "period_end": pl.Date, "bdim": pl.String, "breakdown": pl.String, "primary": pl.Boolean,
}


@dataclass(frozen=True)
class ProtectedMeasure:
    threshold: int
    breakdowns: tuple[str, ...]
    aggregation: str
    grains: tuple[str, ...] = PUBLISHED_GRAINS


def counted_measures(indicator: Indicator) -> list[str]:
    """The measures of ``indicator`` that are counts to protect (and whose withholding
    withholds the figure): the numerator, and a proportion's or mean's denominator; none
    for money."""
    if indicator.type == "amount":
        return []
    measures = [indicator.numerator.measure]
    if indicator.denominator and indicator.type in ("proportion", "mean"):
        measures.append(indicator.denominator.measure)
    return measures


_PROTECTED: dict[tuple[int, Options], tuple[weakref.ref, dict[str, ProtectedMeasure]]] = {}


def protected_measures(registry: Registry, options: Options) -> dict[str, ProtectedMeasure]:
    """Measure → the largest threshold of its indicators and every breakdown they publish;
    and the disproportionality stages' counts by ethnic group (:mod:`metrics.stages`), which
    the race disproportionality page and packs publish for every area and grain. Worked out
    once per registry object and options (a disproportionality page asks ~40 times)."""
    key = (id(registry), options)
    found = _PROTECTED.get(key)
    if found is None or found[0]() is not registry:
        if len(_PROTECTED) >= 32:  # tests make many registries: keep a few
            _PROTECTED.clear()
        found = _PROTECTED[key] = (weakref.ref(registry), _protected(registry, options))
    return dict(found[1])


def _protected(registry: Registry, options: Options) -> dict[str, ProtectedMeasure]:
    out: dict[str, ProtectedMeasure] = {}
    for ind in registry.indicators:
        threshold = ind.suppression_threshold or options.suppression_threshold
        dims = set(ind.breakdowns) | ({ind.comparison.breakdown} if ind.comparison else set())
        for m in counted_measures(ind):
            old = out.get(m, ProtectedMeasure(0, (), ind.aggregation))
            out[m] = ProtectedMeasure(max(old.threshold, threshold),
                                      tuple(sorted(set(old.breakdowns) | dims)), old.aggregation)
    published = set(out)
    for stage in default_stages().counted():
        # a stage an indicator publishes (stop and search) is planned at every grain, its
        # self-defined count too; the others at quarters and financial years
        grains = PUBLISHED_GRAINS if stage.measure in published else STAGE_GRAINS
        for m in filter(None, (stage.measure, stage.self_defined_measure)):
            _add_stage(out, m, grains, options)
    return out


def _add_stage(out: dict[str, ProtectedMeasure], m: str, grains: tuple[str, ...],
               options: Options) -> None:
    old = out.get(m, ProtectedMeasure(0, (), "sum", grains))
    out[m] = ProtectedMeasure(max(old.threshold, options.suppression_threshold),
                              tuple(sorted({*old.breakdowns, STAGE_BREAKDOWN})),
                              old.aggregation, old.grains)


def published_grains(measure: str, registry: Registry, options: Options) -> tuple[str, ...]:
    """The grains ``measure``'s cells are planned (and so may be shown) at."""
    spec = protected_measures(registry, options).get(measure)
    return spec.grains if spec else PUBLISHED_GRAINS


SPEC_KEY = "withheld:spec"
"""``mart.state`` key of the protected measures the stored plans were made for."""


def spec_key(protected: dict[str, ProtectedMeasure]) -> str:
    return ";".join(f"{m}={p.threshold}/{','.join(p.breakdowns)}/{p.aggregation}"
                    + ("" if p.grains == PUBLISHED_GRAINS else f"/{','.join(p.grains)}")
                    for m, p in sorted(protected.items()))


def hidden_cells(con: duckdb.DuckDBPyConnection, registry: Registry,
                 options: Options | None = None) -> pl.DataFrame:
    """Every withheld measure cell (HIDDEN_SCHEMA; ``bdim``/``breakdown`` '' for totals):
    the plan the last figure refresh stored when it is the warehouse's current one
    (:mod:`metrics.mart_withheld`), else computed once per data version: as the next refresh
    will plan it (only the measures whose rows changed, each from its stored plan) where the
    mart has a stored plan, else afresh."""
    options = options or Options()
    spec = spec_key(protected_measures(registry, options))
    key = ("disclosure", id(registry), spec)
    return cache.cached(con, key, lambda: stored_plan(con)
                        if stored_plan_current(con, spec) else _plan_now(con, registry, options))


def _plan_now(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options
              ) -> pl.DataFrame:
    """The plan when the stored one is behind: afresh, it took a page minutes (decision 35)."""
    from metrics import mart  # here: the mart builds on this module

    plan = mart.plan_as_refreshed(con, registry, options)
    return plan if plan is not None else plan_hidden_cells(con, registry, options)


_CURRENT_SQL = (
    "SELECT coalesce((SELECT value FROM mart.state WHERE key = 'version') = ("  # noqa: S608
    + STAMP_SQL + ") AND (SELECT value FROM mart.state WHERE key = $key) = $spec, FALSE)")


def stored_plan_current(con: duckdb.DuckDBPyConnection, spec: str) -> bool:
    """Whether ``mart.withheld`` holds the plan for the warehouse as it is now and for the
    protected measures ``spec`` names (asked once per data version)."""
    return bool(cache.cached(con, ("stored-plan-current", spec),
                             lambda: _stored_plan_current(con, spec)))


def _stored_plan_current(con: duckdb.DuckDBPyConnection, spec: str) -> bool:
    try:
        return bool(con.execute(_CURRENT_SQL, {"key": SPEC_KEY, "spec": spec}).fetchall()[0][0])
    except duckdb.CatalogException:
        return False


HIDDEN_COLUMNS = ", ".join(f'"{c}"' for c in HIDDEN_SCHEMA)


def stored_plan(con: duckdb.DuckDBPyConnection, measures: list[str] | None = None
                ) -> pl.DataFrame:
    """The withheld cells ``mart.withheld`` holds (only ``measures``' when given)."""
    if measures is None:
        return _stored(con, "", [])
    return _stored(con, "WHERE list_contains(?, measure)", [measures])


def _stored(con: duckdb.DuckDBPyConnection, where: str, params: list[object]) -> pl.DataFrame:
    frame = fetch(con, f"SELECT {HIDDEN_COLUMNS} FROM mart.withheld {where}",  # noqa: S608
                  params)
    return frame.cast(HIDDEN_SCHEMA) if frame.height else pl.DataFrame(schema=HIDDEN_SCHEMA)  # type: ignore[arg-type]


def withheld_in(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options,
                measures: list[str], bdim: str, areas: Sequence[str]) -> pl.DataFrame:
    """:func:`hidden_cells`' rows for ``measures`` by the breakdown ``bdim`` in ``areas``:
    read from ``mart.withheld`` alone when it holds the current plan (a view's few areas,
    the same cost on its first call as on any other), else picked out of the whole plan."""
    spec = spec_key(protected_measures(registry, options))
    if stored_plan_current(con, spec):
        return _stored(con, "WHERE bdim = ? AND list_contains(?, measure) "
                       "AND list_contains(?, area_code)", [bdim, measures, list(areas)])
    return hidden_cells(con, registry, options).filter(
        pl.col("measure").is_in(measures) & (pl.col("bdim") == bdim)
        & pl.col("area_code").is_in(list(areas)))


EarlierPlans = dict[str, tuple[pl.DataFrame, frozenset[str] | None]]
"""measure → (its stored plan's withheld cells, HIDDEN_SCHEMA; the areas whose rows changed
since it was made, ``None``: not known, every area)."""


def plan_hidden_cells(con: duckdb.DuckDBPyConnection, registry: Registry,
                      options: Options, only: list[str] | None = None,
                      earlier: EarlierPlans | None = None, workers: int = 1) -> pl.DataFrame:
    """:func:`hidden_cells` computed afresh, without the per-version cache or the stored plan
    (for a load that materialises the figures once per data version); ``only``: plan these
    measures alone (no identity crosses two measures); ``earlier``: start each measure named
    from its stored plan, keeping its complements and checking again only the blocks the
    changed areas reach (:mod:`metrics.statistics.disclosure_stable`, decision 32);
    ``workers``: processes a command may plan large batches in (the same cells)."""
    return _plan(con, registry, options, only, earlier, workers)[0]


def _earlier(part: pl.DataFrame, plan: tuple[pl.DataFrame, frozenset[str] | None]) -> Earlier:
    """The stored plan laid over one measure's cells (``part``, in cell order)."""
    stored, areas = plan
    keys = ["area_code", "period_start", "period_end", "bdim", "bval"]
    flags = part.select(*keys).join(
        stored.select("area_code", "period_start", "period_end", "bdim",
                      pl.col("breakdown").alias("bval"), "primary")
        .unique(keys).with_columns(pl.lit(True).alias("_hidden")),
        on=keys, how="left", maintain_order="left")
    hidden = flags["_hidden"].fill_null(False).to_numpy()
    kept = hidden & ~flags["primary"].fill_null(False).to_numpy()
    same = (np.zeros(part.height, dtype=bool) if areas is None
            else ~part["area_code"].is_in(list(areas)).to_numpy())
    return Earlier.build(hidden, kept, same)


BATCH_ROWS = 100_000
"""Area rollup rows planned together at most (but one measure's, however many): a measure's
cells, relations and attack are held while it is planned, and only its withheld cells after,
so the memory a plan holds is its largest batch's (decision 32)."""


def batches(con: duckdb.DuckDBPyConnection, measures: list[str],
            most: int = BATCH_ROWS) -> list[tuple[list[str], int]]:
    """``measures`` in groups of at most ``most`` area rollup rows (a larger measure alone),
    in the order given, each with its rows."""
    rows = dict(con.execute("SELECT measure, count(*) FROM core.area_observations "
                            "WHERE list_contains(?, measure) GROUP BY measure",
                            [measures]).fetchall())
    groups: list[list[str]] = []
    sizes: list[int] = []
    for m in measures:
        n = int(rows.get(m, 0))
        if not groups or sizes[-1] + n > most:
            groups.append([])
            sizes.append(0)
        groups[-1].append(m)
        sizes[-1] += n
    return list(zip(groups, sizes, strict=True))


def _plan(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options,
          only: list[str] | None = None, earlier: EarlierPlans | None = None,
          workers: int = 1) -> tuple[pl.DataFrame, dict[str, int]]:
    """(hidden cells, counts of cells, primary and secondary), planned in :func:`batches`:
    in turn, or in ``workers`` processes when the batches are large enough
    (:mod:`metrics.disclosure_workers`; the same cells either way)."""
    measures = protected_measures(registry, options)
    if only is not None:
        measures = {m: p for m, p in measures.items() if m in set(only)}
    sources = area_sources(con)
    groups = batches(con, sorted(measures), BATCH_ROWS)
    order = list(range(len(groups)))
    if workers_.worth_processes((rows for _, rows in groups), workers):
        order.sort(key=lambda k: -groups[k][1])  # the largest first: it takes longest
    else:
        workers = 1
    prepared = (_batch(con, k, {m: measures[m] for m in groups[k][0]}, sources, earlier or {})
                for k in order)
    frames: dict[int, pl.DataFrame] = {}
    stats = {"cells": 0, "primary": 0, "hidden": 0}
    for batch, masks in workers_.protected(prepared, workers):
        frames[batch.position], counts = _batch_hidden(batch, masks)
        stats = {k: stats[k] + counts[k] for k in stats}
    hidden = (pl.concat([frames[k] for k in sorted(frames)]) if frames
              else pl.DataFrame(schema=HIDDEN_SCHEMA))
    return hidden.cast(HIDDEN_SCHEMA), stats  # type: ignore[arg-type]


@dataclass
class _Batch:
    """A batch's cells and primary cells, and where each measure's cells are in them."""

    position: int
    cells: pl.DataFrame
    primary: npt.NDArray[np.bool_]
    spans: list[tuple[int, int]]


def _batch(con: duckdb.DuckDBPyConnection, position: int,
           measures: dict[str, ProtectedMeasure],
           sources: pl.DataFrame, earlier: EarlierPlans
           ) -> tuple[_Batch, Iterator[workers_.Job]]:
    """A batch's cells read, and the protection of each of its measures to run (no
    identity crosses two measures), each measure's relations built when its turn comes
    (planned in turn, one measure's are held at a time, as before decision 48)."""
    cells = measure_cells(con, measures)
    if cells.height == 0:  # nothing to protect (its columns may be absent too)
        return _Batch(position, cells, np.zeros(0, dtype=bool), []), iter(())
    values = cells["value"].fill_null(np.nan).to_numpy().astype(float)
    thresholds = cells["series"].replace_strict(
        {m: p.threshold for m, p in measures.items()}, return_dtype=pl.Int64).to_numpy()
    primary = np.zeros(values.size, dtype=bool)
    for t in np.unique(thresholds):
        primary |= (thresholds == t) & primary_suppression(values, threshold=t)
    bounds = cells.with_row_index("_i").group_by("series").agg(
        pl.col("_i").min().alias("lo"), pl.col("_i").max().alias("hi"))
    found = list(bounds.select("series", "lo", "hi").iter_rows())

    def jobs() -> Iterator[workers_.Job]:
        for series, lo, hi in found:
            part = cells.slice(lo, hi - lo + 1).with_columns(pl.col("cell") - lo)
            before = _earlier(part, earlier[series]) if series in earlier else None
            yield (values[lo:hi + 1], primary[lo:hi + 1], relations_for(part, sources),
                   {"windows": window_pieces(part), "earlier": before})

    return _Batch(position, cells, primary, [(lo, hi) for _, lo, hi in found]), jobs()


def _batch_hidden(batch: _Batch, masks: list[npt.NDArray[np.bool_]]
                  ) -> tuple[pl.DataFrame, dict[str, int]]:
    """A batch's withheld cells (HIDDEN_SCHEMA) and its counts, from its measures' masks."""
    cells, primary = batch.cells, batch.primary
    if cells.height == 0:
        return pl.DataFrame(schema=HIDDEN_SCHEMA), {"cells": 0, "primary": 0, "hidden": 0}
    mask = np.zeros(cells.height, dtype=bool)
    for (lo, hi), part in zip(batch.spans, masks, strict=True):
        mask[lo:hi + 1] = part
    hidden = cells.with_columns(pl.Series("primary", primary), pl.Series("_hidden", mask)).filter(
        "_hidden").select(pl.col("series").alias("measure"), "area_code", "period_start",
                          "period_end", "bdim", pl.col("bval").alias("breakdown"), "primary")
    stats = {"cells": cells.height, "primary": int(primary.sum()), "hidden": int(mask.sum())}
    return hidden.cast(HIDDEN_SCHEMA), stats  # type: ignore[arg-type]


def suppression_counts(con: duckdb.DuckDBPyConnection, registry: Registry,
                       options: Options | None = None) -> dict[str, int]:
    """How many measure cells are published, primary-suppressed and withheld in all."""
    return _plan(con, registry, options or Options())[1]


def area_sources(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return fetch(con, "SELECT area_code, strategy, source_area_code, set_size "
                      "FROM core.area_sources")


def flag_hidden(pairs: pl.DataFrame, hidden: pl.DataFrame, indicators: list[Indicator],
                by: str | None) -> pl.DataFrame:
    """Add ``withheld`` to numerator/denominator pairs (:mod:`metrics.pairing`): the figure
    uses a withheld count (its numerator, or a proportion's or mean's denominator)."""
    if pairs.height == 0:
        return pairs.with_columns(pl.lit(False).alias("withheld"))
    counted = {i.id: counted_measures(i) for i in indicators}
    roles = pl.DataFrame(
        [(ind, m) for ind, ms in counted.items() for m in ms],
        schema={"indicator": pl.String, "measure": pl.String}, orient="row")
    keys = ["area_code", "period_start", "period_end", "breakdown"]
    flagged = (
        pairs.select("indicator", *keys).unique()
        .with_columns(pl.when(pl.col("breakdown") == "").then(pl.lit(""))
                      .otherwise(pl.lit(by or "")).alias("bdim"))
        .join(roles, on="indicator", how="inner")
        .join(hidden.select("measure", *keys, "bdim"), on=["measure", *keys, "bdim"],
              how="semi")
        .select("indicator", *keys).unique().with_columns(pl.lit(True).alias("withheld"))
    )
    return pairs.join(flagged, on=["indicator", *keys], how="left").with_columns(
        pl.col("withheld").fill_null(False))
