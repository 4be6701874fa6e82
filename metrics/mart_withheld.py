"""Withheld counts in the warehouse: each measure's whole-set plan, kept until its inputs change.

Whole-set disclosure control (:mod:`metrics.disclosure`, decision 8) decides which counts are
withheld over everything the dashboard publishes. No identity crosses two measures, so a
measure's plan depends only on that measure's cells in every area, grain and breakdown, the
areas and how they are built (``core.area_sources``), the sources' priorities, and the
threshold and breakdowns its indicators publish. :func:`refresh_plan` keeps each measure's plan
in ``mart.withheld`` with a key of those inputs in ``mart.state`` (``withheld:<measure>``) and
plans afresh only the measures whose key changed: a load of stop and search records re-plans
stop and search, not trials (decision 25).

:func:`metrics.disclosure.hidden_cells` reads the stored plan whenever the mart's version
stamp is the warehouse's and the plan was made for the same protected measures
(``withheld:spec``); the figures in ``mart.figures`` are computed from the same plan, in the
same refresh.
"""

from __future__ import annotations

import duckdb
import polars as pl

from metrics import disclosure
from metrics.options import Options
from metrics.registry import Registry

DDL = ("CREATE TABLE IF NOT EXISTS mart.withheld (measure VARCHAR NOT NULL, "
       "area_code VARCHAR, period_start DATE, period_end DATE, bdim VARCHAR, "
       "breakdown VARCHAR, \"primary\" BOOLEAN)")
PREFIX = "withheld:"


def plan_keys(registry: Registry, options: Options, now: dict[str, str]) -> dict[str, str]:
    """``withheld:<measure>`` → a key of everything that measure's plan depends on, and
    ``withheld:spec`` → the protected measures the plans were made for."""
    protected = disclosure.protected_measures(registry, options)
    shared = f"{now.get('areas', '')}|{now.get('sources', '')}"
    keys = {f"{PREFIX}{m}": f"{now.get(f'measure:{m}', '')}|{shared}|{p.threshold}|"
                            f"{','.join(p.breakdowns)}|{p.aggregation}|{','.join(p.grains)}"
            for m, p in protected.items()}
    keys[disclosure.SPEC_KEY] = disclosure.spec_key(protected)
    return keys


def refresh_plan(con: duckdb.DuckDBPyConnection, registry: Registry, options: Options,
                 before: dict[str, str], now: dict[str, str], *,
                 areas: dict[str, frozenset[str] | None] | None = None, full: bool = False,
                 create: bool = True, workers: int = 1
                 ) -> tuple[pl.DataFrame, dict[str, str], list[str]]:
    """(every withheld cell, the plan keys to store, the measures planned again).

    Reads the stored plans of the measures whose inputs are unchanged and plans the others;
    nothing is written (:func:`store` does that inside the refresh's transaction). A measure
    whose rows alone changed starts from its stored plan (:func:`earlier_plans`, decision
    32): ``areas`` gives, per measure, the areas whose rows changed (``None``: unknown, every
    area). ``full``: plan every measure afresh. ``create=False``: ``mart.withheld`` is there
    already (a read-only connection). ``workers``: processes large batches may be planned in
    (:mod:`metrics.disclosure_workers`)."""
    if create:
        con.execute(DDL)
    keys = plan_keys(registry, options, now)
    measures = [k.removeprefix(PREFIX) for k in keys if k != disclosure.SPEC_KEY]
    if full or before.get(disclosure.SPEC_KEY) != keys[disclosure.SPEC_KEY]:
        changed, earlier = measures, {}
    else:
        changed = [m for m in measures if before.get(f"{PREFIX}{m}") != keys[f"{PREFIX}{m}"]]
        earlier = earlier_plans(con, changed, before, keys, areas or {})
    unchanged = [m for m in measures if m not in changed]
    kept = disclosure.stored_plan(con, unchanged)
    fresh = (disclosure.plan_hidden_cells(con, registry, options, only=changed,
                                          earlier=earlier, workers=workers) if changed
             else pl.DataFrame(schema=disclosure.HIDDEN_SCHEMA))
    frames = [f for f in (kept, fresh) if f.height]
    every = pl.concat(frames) if frames else pl.DataFrame(schema=disclosure.HIDDEN_SCHEMA)
    return every, keys, changed


def _beyond_rows(key: str) -> str:
    """A plan key without its first part (the measure's rows)."""
    return key.split("|", 1)[1] if "|" in key else ""


def earlier_plans(con: duckdb.DuckDBPyConnection, changed: list[str], before: dict[str, str],
                  keys: dict[str, str], areas: dict[str, frozenset[str] | None]
                  ) -> disclosure.EarlierPlans:
    """The stored plans to start from: those of the ``changed`` measures whose plan key
    differs only in the measure's rows (the areas, sources, threshold, breakdowns,
    aggregation and grains as when the plan was made), with the areas whose rows changed."""
    startable = [m for m in changed if f"{PREFIX}{m}" in before
                 and _beyond_rows(before[f"{PREFIX}{m}"]) == _beyond_rows(keys[f"{PREFIX}{m}"])]
    if not startable:
        return {}
    stored = disclosure.stored_plan(con, startable)
    return {m: (stored.filter(pl.col("measure") == m), areas.get(m)) for m in startable}


def moved_areas(con: duckdb.DuckDBPyConnection, every: pl.DataFrame, changed: list[str]
                ) -> dict[str, frozenset[str]]:
    """The areas in which each re-planned measure's withheld cells differ from the stored
    plan (read before :func:`store` replaces it)."""
    old = disclosure.stored_plan(con, changed)
    new = every.filter(pl.col("measure").is_in(changed))
    keys = list(disclosure.HIDDEN_SCHEMA)
    moved = pl.concat([old.join(new, on=keys, how="anti", nulls_equal=True),
                       new.join(old, on=keys, how="anti", nulls_equal=True)])
    return {m: frozenset(moved.filter(pl.col("measure") == m)["area_code"].to_list())
            for m in changed}


def store(con: duckdb.DuckDBPyConnection, every: pl.DataFrame, keys: dict[str, str],
          changed: list[str]) -> None:
    """Replace the changed measures' rows (and drop measures no longer protected); called
    inside the refresh's transaction."""
    current = [k.removeprefix(PREFIX) for k in keys if k != disclosure.SPEC_KEY]
    con.execute("DELETE FROM mart.withheld WHERE list_contains(?, measure) "
                "OR NOT list_contains(?, measure)", [changed, current])
    fresh = every.filter(pl.col("measure").is_in(changed))
    if fresh.height:
        con.register("_withheld_rows", fresh.to_arrow())
        try:
            con.execute("INSERT INTO mart.withheld "  # noqa: S608
                        f"SELECT {disclosure.HIDDEN_COLUMNS} FROM _withheld_rows")
        finally:
            con.unregister("_withheld_rows")
