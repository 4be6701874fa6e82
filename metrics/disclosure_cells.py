"""The cells a whole-set plan decides over: every published figure of a batch of measures.

:func:`measure_cells` reads each measure's native observations for its total and each
breakdown it is published by, and builds every grain it is shown at with the figures' own
:func:`metrics.timeseries.to_grain`, so a cell's value is the figure's. The breakdowns are
read apart but built together: a series (area, measure, breakdown value, source) is built
from its own rows alone, so one :func:`to_grain` per grain over every breakdown's rows gives
the same periods as one per breakdown and grain — at a third of the calls for a measure
published by two breakdowns, where each call's fixed cost was most of a year of street
crime's plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.schema import BREAKDOWNS
from metrics import sql
from metrics.disclosure_relations import CELL_KEY, with_cell_keys
from metrics.timeseries import to_grains

PUBLISHED_GRAINS = ("month", "quarter", "year", "fy", "r12")
"""Every period length the pages, CLI and exports show (``fquarter`` periods are the
calendar quarters, labelled by financial year)."""

_SEPARATOR = "\x1f"
"""Between a breakdown's number and its value while the breakdowns are built together
(split at the first one, so a value may hold it too)."""


class Published(Protocol):
    """What :func:`measure_cells` needs of a protected measure."""

    @property
    def breakdowns(self) -> tuple[str, ...]: ...

    @property
    def aggregation(self) -> str: ...

    @property
    def grains(self) -> tuple[str, ...]: ...


def measure_cells(con: duckdb.DuckDBPyConnection, measures: Mapping[str, Published]
                  ) -> pl.DataFrame:
    """Every published cell of ``measures``: all areas, the grains each is shown at, and the
    breakdowns shown; where two sources hold a cell, the one the figures use (lowest
    priority number)."""
    if not measures:
        return pl.DataFrame()
    areas = [c for (c,) in con.execute("SELECT code FROM core.areas").fetchall()]
    aggregation = {m: p.aggregation for m, p in measures.items()}
    priority = fetch(con, sql.sources_sql()).select("source", "priority")
    native = _native(con, areas, measures)
    if native.height == 0:
        return pl.DataFrame()
    frames: list[pl.DataFrame] = []
    for shown_at, grains in _grains_by_measures(measures).items():
        shown = native.filter(pl.col("measure").is_in(list(shown_at)))
        if shown.height == 0:
            continue
        frames.extend(periods.select(
            pl.col("measure").alias("series"), "area_code", "period_start", "period_end",
            "breakdown", "source", "value")
            for periods in to_grains(shown, grains, aggregation))
    if not frames:
        return pl.DataFrame()
    split = pl.col("breakdown").str.splitn(_SEPARATOR, 2)
    cells = pl.concat(frames).with_columns(
        split.struct.field("field_0").cast(pl.Int64)
        .replace_strict(dict(enumerate(DIMS)), return_dtype=pl.String).alias("bdim"),
        split.struct.field("field_1").alias("bval"),
    ).select("series", "area_code", "period_start", "period_end", "bdim", "bval", "source",
             "value")
    cells = cells.join(priority, on="source", how="left").with_columns(
        pl.col("priority").fill_null(50))
    cells = cells.sort("priority").unique(
        ["series", "area_code", "period_start", "period_end", "bdim", "bval"], keep="first")
    cells = with_cell_keys(cells.sort("series", "area_code", "bdim", "bval", "period_start",
                                      "period_end"))
    return cells.with_columns(
        pl.col("series").replace_strict(aggregation, return_dtype=pl.String)
        .alias("aggregation"),
    ).with_row_index("cell").select("cell", *CELL_KEY, "aggregation", "period_start",
                                    "period_end", "value")


def _grains_by_measures(measures: Mapping[str, Published]) -> dict[tuple[str, ...], list[str]]:
    """The published grains grouped by the measures shown at them (every measure at every
    grain, usually: one group), so the grains of a group are built together."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for grain in PUBLISHED_GRAINS:
        shown = tuple(m for m, p in measures.items() if grain in p.grains)
        if shown:
            groups.setdefault(shown, []).append(grain)
    return groups


DIMS = ("", *BREAKDOWNS)
"""``dim`` of :func:`metrics.sql.observations_by_breakdown_sql`: the total, then each
breakdown."""


def _native(con: duckdb.DuckDBPyConnection, areas: list[str],
            measures: Mapping[str, Published]) -> pl.DataFrame:
    """Each measure's native observations for its total and each breakdown it is published
    by, read in one scan; ``breakdown`` is the breakdown's number in :data:`DIMS` and its
    value (split at the first separator)."""
    unknown = sorted({d for p in measures.values() for d in p.breakdowns} - set(BREAKDOWNS))
    if unknown:
        raise ValueError(f"unknown breakdown '{unknown[0]}' (one of {', '.join(BREAKDOWNS)})")
    shown = pl.DataFrame(
        [(m, DIMS.index(d)) for m, p in measures.items() for d in ("", *p.breakdowns)],
        schema={"measure": pl.String, "dim": pl.Int32}, orient="row")
    native = fetch(con, sql.observations_by_breakdown_sql(), [areas, list(measures)])
    # the plan needs each cell's value, not its vintage or notes: nulls keep to_grain's
    # rolling years (a row per month per window) from copying their strings (decision 32)
    return native.join(shown, on=["measure", "dim"], how="semi").select(
        "area_code", "measure", "period_start", "period_end",
        (pl.col("dim").cast(pl.String) + _SEPARATOR + pl.col("breakdown")).alias("breakdown"),
        "source", pl.lit(None, dtype=pl.String).alias("vintage"),
        pl.col("value").cast(pl.Float64), pl.lit(None, dtype=pl.String).alias("value_note"),
        "run_id")
