"""Areas and their headline frames, shared by every analysis (:mod:`metrics.analysis`):
which areas are compared with which, every area's headline figures per data version, and the
small frame helpers the other analysis modules use.

Frames for every force are the expensive part (a whole registry × 44 areas is seconds), so
they are cached per warehouse file and *data version* (the latest ingest run, the targets and
the peer table): loading a file changes the version and the cache is not used again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import polars as pl

from metrics import cache, mart
from metrics.compute import RESULT_COLUMNS, compute_indicators
from metrics.registry import Registry

NATIONAL = "K04000001"
NATIONAL_NAME = "England and Wales"
CITY_OF_LONDON = "E23000034"
COMPARABLE_KINDS = ("force", "lcjb")
KIND_WORDS = {"force": "police force areas", "lcjb": "Local Criminal Justice Board areas"}


# --- small helpers ---------------------------------------------------------------------------

def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def float_column(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 numpy, nulls as NaN (cheap: no polars expression)."""
    if frame.height == 0:
        return np.zeros(0)
    values = frame.get_column(column).to_numpy()
    if values.dtype == object:
        values = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def bool_column(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A boolean column as numpy, nulls as False (cheap: no polars expression)."""
    values = frame.get_column(column).to_numpy()
    if values.dtype == object:
        return np.array([bool(v) for v in values], dtype=bool)
    return values.astype(bool)


def headline_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows for 'all people' (breakdown ''), in period order."""
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("breakdown").fill_null("") == "").sort("period_start")



# --- the cache --------------------------------------------------------------------------------

data_version = cache.data_version
clear_cache = cache.clear_cache


# --- areas -----------------------------------------------------------------------------------

def _area_table(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, bool]]:
    """(code, name, kind, in England and Wales) of every area in the usual order, read once
    per data version (a page asks many times)."""
    return cache.cached(con, ("area-table",), lambda: con.execute(
        "SELECT code, name, kind, in_england_wales FROM core.areas ORDER BY sort_key, code"
    ).fetchall())


def area_codes(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """Every England & Wales area of a kind (``force`` or ``lcjb``), in the usual order."""
    return [c for c, _, k, in_ew in _area_table(con) if k == kind and in_ew]


def area_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {c: name for c, name, _, _ in _area_table(con)}


def area_kind(con: duckdb.DuckDBPyConnection, code: str) -> str | None:
    return next((k for c, _, k, _ in _area_table(con) if c == code), None)


def comparison_kind(con: duckdb.DuckDBPyConnection, code: str) -> str:
    """Which areas an area is compared with: LCJBs for an LCJB, forces otherwise."""
    return "lcjb" if area_kind(con, code) == "lcjb" else "force"


def kind_frame(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_ids: Sequence[str],
               kind: str, grain: str) -> pl.DataFrame:
    """Headline figures (breakdown '') of ``indicator_ids`` for every area of ``kind`` and
    England & Wales, every period: read from the figure mart when it answers, else computed
    (and cached per data version)."""
    ids = list(dict.fromkeys(indicator_ids))
    codes = [*area_codes(con, kind), NATIONAL]
    if mart.ready(con):
        return _mart_rows(con, ids, codes, grain)

    def build() -> pl.DataFrame:
        frame = compute_indicators(con, registry, ids, codes, grain=grain)
        return headline_rows(frame) if frame.height else frame

    return cache.cached(con, ("kind_frame", id(registry), tuple(ids), kind, grain), build)


def _mart_rows(con: duckdb.DuckDBPyConnection, ids: Sequence[str], codes: Sequence[str],
               grain: str) -> pl.DataFrame:
    """Headline rows (RESULT_COLUMNS, period order) of ``ids`` at ``codes`` from the mart."""
    among, chosen = mart.one_of("area_code", codes)
    frame = mart.read(con, "grain = ? AND by_breakdown = '' AND breakdown = '' "
                           f"AND list_contains(?, indicator) AND {among}",
                      [grain, list(ids), *chosen])
    return headline_rows(frame.select(RESULT_COLUMNS)) if frame.height else frame.select(
        RESULT_COLUMNS)


def rows_at(con: duckdb.DuckDBPyConnection, ends: Sequence[tuple[str, Any]],
            codes: Sequence[str], grain: str) -> pl.DataFrame:
    """Headline rows (RESULT_COLUMNS) of ``codes`` at each (indicator, period end) of
    ``ends``, from the figure mart (the caller has asked :func:`metrics.mart.ready`): a page
    that needs every area at one period reads those rows, not every area's every period."""
    keys = [f"{ind}@{end.isoformat()}" for ind, end in ends]
    frame = mart.read(con, "grain = ? AND by_breakdown = '' AND breakdown = '' "
                           "AND list_contains(?, indicator) AND list_contains(?, area_code) "
                           "AND list_contains(?, period_end) "
                           "AND list_contains(?, indicator || '@' || CAST(period_end AS VARCHAR))",
                      [grain, sorted({ind for ind, _ in ends}), list(codes),
                       sorted({end for _, end in ends}), keys])
    return frame.select(RESULT_COLUMNS)


def area_series(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                area_code: str, grain: str) -> pl.DataFrame:
    """One area's headline series (RESULT_COLUMNS): from the figure mart when it answers, else
    from the cached frame of its kind when it is a force, an LCJB or England & Wales, else
    computed."""
    if mart.ready(con):  # the area's own rows: not every area's, to keep one
        return own_rows(con, registry, [indicator_id], area_code, grain)
    kind = area_kind(con, area_code)
    if kind in COMPARABLE_KINDS or area_code == NATIONAL:
        frame = kind_frame(con, registry, [indicator_id], kind if kind in COMPARABLE_KINDS
                           else "force", grain)
        return frame.filter(pl.col("area_code") == area_code) if frame.height else frame
    return own_rows(con, registry, [indicator_id], area_code, grain)


def area_series_in(frame: pl.DataFrame, area_code: str) -> pl.DataFrame:
    """What :func:`area_series` gives, taken from a series already read that holds this
    area's rows (:func:`metrics.views.series` of the area beside England and Wales): the
    indicator page lays out its trend and its SPC chart from one read, not two."""
    rows = frame.filter(pl.col("area_code") == area_code).select(RESULT_COLUMNS)
    return headline_rows(rows)


def own_rows(con: duckdb.DuckDBPyConnection, registry: Registry, ids: Sequence[str],
              area_code: str, grain: str) -> pl.DataFrame:
    """An area's headline rows of ``ids``: from the figure mart when it answers, else
    computed for this area alone."""
    if mart.ready(con):
        return _mart_rows(con, ids, [area_code], grain)
    frame = compute_indicators(con, registry, list(ids), [area_code], grain=grain)
    return headline_rows(frame) if frame.height else frame




