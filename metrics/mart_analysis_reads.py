"""The figure mart's analyses: what the baseline, comparison and data pages show, and readers.

:mod:`metrics.mart_analyses` fills these tables at load time, in the figure refresh's
transaction (decision 0029); :mod:`metrics.analysis` and :mod:`metrics.provenance` read them
here with bound SQL when :func:`ready` (or :func:`current`) says they answer for the warehouse
as it is, and compute as before otherwise.

- ``mart.baselines``: :func:`metrics.analysis.baseline`'s rows for every area and each grain
  of :data:`BASELINE_GRAINS` (``grain``, ``area_code``, ``position`` in the registry's theme
  order, then :data:`metrics.analysis.BASELINE_COLUMNS`);
- ``mart.peer_groups``: :func:`metrics.analysis.peer_group` of every area;
- ``mart.comparisons``: :func:`metrics.analysis.compare_areas` of every indicator, kind and
  grain at its latest period, with the bootstrap of :data:`COMPARE_SEED` and
  :data:`COMPARE_DRAWS` (``role`` 'area', in the kind's area order), and England and Wales's
  row at that period (``role`` 'national'), which the MSG comparison reads;
- ``mart.comparison_inputs``: each comparison's fingerprint (indicator, grain, kind,
  ``inputs``: :func:`metrics.mart_comparisons.inputs_key`), by which a refresh keeps the
  comparisons whose inputs did not change;
- ``mart.provenance_*``: the data page's tables (:data:`PROVENANCE_TABLES`) and its opening
  counts (``provenance_summary``);
- ``mart.analysis_state``: what they were computed from (the figure refresh's fingerprints,
  the peer groups'), the registry they follow (``registry``) and the warehouse stamp they
  answer for (``version``).
"""

from __future__ import annotations

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from cjsdash.core.snapshots import STAMP_SQL
from metrics import cache
from metrics.options import Options
from metrics.registry import Registry
from metrics.statistics import ranks

BASELINE_GRAINS = ("month", "quarter", "fy", "r12")
"""The grains the baseline page offers (:mod:`layouts.pages.baseline`)."""
COMPARE_SEED = 0
COMPARE_DRAWS = ranks.DEFAULT_DRAWS
"""The rank bootstrap the indicator page draws (``layouts.indicator_compare``)."""
PROVENANCE_TABLES = ("sources", "runs", "revisions")
REVISIONS_HELD = 500
"""The newest revisions held (the data page shows :data:`metrics.provenance.REJECTS_LIMIT`)."""
RANK_COLUMNS = ("rank", "rank_lower", "rank_upper", "rank_mc_error")

STATE_DDL = (
    "CREATE SCHEMA IF NOT EXISTS mart",
    "CREATE TABLE IF NOT EXISTS mart.analysis_state (key VARCHAR PRIMARY KEY, value VARCHAR)",
)


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    for statement in STATE_DDL:
        con.execute(statement)


# --- readiness -----------------------------------------------------------------------------

_READY_SQL = (
    "SELECT coalesce((SELECT value FROM mart.analysis_state WHERE key = 'version') = ("  # noqa: S608
    + STAMP_SQL + "), FALSE), (SELECT value FROM mart.analysis_state WHERE key = 'registry'), "
    "(SELECT value FROM mart.analysis_state WHERE key = 'options'), "
    "(SELECT value FROM mart.analysis_state WHERE key = 'matrices') IS NOT NULL")

State = tuple[bool, str | None, str | None, bool]


def _state(con: duckdb.DuckDBPyConnection) -> State:
    try:
        current_, registry, options, matrices = con.execute(_READY_SQL).fetchall()[0]
    except duckdb.CatalogException:  # a warehouse whose mart predates these tables
        return False, None, None, False
    return bool(current_), registry, options, bool(matrices)


def _answered(con: duckdb.DuckDBPyConnection) -> State:
    """(whether the tables answer for the warehouse as it is, the registry they follow, the
    options of the figures they were computed from, whether the refresh stored the stage
    matrices: :mod:`metrics.mart_matrices`): asked once per data version
    (:func:`metrics.cache.cached`; a refresh clears it)."""
    return cache.cached(con, ("mart-analyses-ready",), lambda: _state(con))


def current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the tables answer for the warehouse as it is now (the data page's need no
    registry)."""
    return _answered(con)[0]


def matrices_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the stored stage matrices answer for the warehouse as it is now."""
    found, _, _, matrices = _answered(con)
    return found and matrices


def ready(con: duckdb.DuckDBPyConnection, registry: Registry) -> bool:
    """Whether the baselines and comparisons answer for the warehouse as it is now, under
    this registry and the default options (those the pages compute with)."""
    from metrics import mart

    found, held, options, _ = _answered(con)
    return found and held == mart.registry_key(registry) and options == mart.options_key(Options())


# --- reading -------------------------------------------------------------------------------

def read_baseline(con: duckdb.DuckDBPyConnection, area_code: str, grain: str) -> pl.DataFrame:
    """The stored baseline rows of one area at one grain, in theme order (the caller casts
    them to :data:`metrics.analysis.BASELINE_SCHEMA`); empty when none is held."""
    return fetch(con, "SELECT * EXCLUDE (grain, area_code, position) FROM mart.baselines "
                      "WHERE grain = $1 AND area_code = $2 ORDER BY position", [grain, area_code])


def read_peer_group(con: duckdb.DuckDBPyConnection, area_code: str
                    ) -> tuple[tuple[str, ...], str, str, str] | None:
    """(members, source, label, vintage) of the area's stored most similar group."""
    rows = con.execute("SELECT members, source, label, vintage FROM mart.peer_groups "
                       "WHERE area_code = ?", [area_code]).fetchall()
    if not rows:
        return None
    members, source, label, vintage = rows[0]
    return tuple(members or ()), source, label, vintage


def read_comparison(con: duckdb.DuckDBPyConnection, indicator_id: str, grain: str, kind: str
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every area's stored comparison rows in the kind's order, England and Wales's row at
    that period: none when it has no figure): no area rows when no area has a figure at this
    grain. Kept per data version: the indicator page's comparison section reads it twice
    (the areas compared, and England and Wales for the most similar group's averages), 4–8
    ms a read, and a view seen before not at all."""

    def read() -> tuple[pl.DataFrame, pl.DataFrame]:
        frame = fetch(con, "SELECT * EXCLUDE (grain, kind, position) FROM mart.comparisons "
                           "WHERE grain = $1 AND kind = $2 AND indicator = $3 "
                           "ORDER BY position", [grain, kind, indicator_id])
        national = frame.filter(pl.col("role") == "national")
        areas = frame.filter(pl.col("role") == "area").drop("role")
        return areas, national.drop("role")

    return cache.cached(con, ("mart-comparison", indicator_id, grain, kind), read)


def provenance_table(con: duckdb.DuckDBPyConnection, name: str, limit: int | None = None
                     ) -> pl.DataFrame | None:
    """A data page table as stored (:data:`PROVENANCE_TABLES`), or None when the tables do
    not answer for the warehouse as it is (or fewer rows are held than asked for)."""
    if name not in PROVENANCE_TABLES:
        raise ValueError(f"no stored table {name!r}")
    if not current(con) or (name == "revisions" and (limit is None or limit > REVISIONS_HELD)):
        return None
    tail, params = ("LIMIT $1", [int(limit)]) if limit is not None else ("", [])
    return fetch(con, f"SELECT * EXCLUDE (position) FROM mart.provenance_{name} "  # noqa: S608
                      f"ORDER BY position {tail}", params)


def provenance_summary(con: duckdb.DuckDBPyConnection) -> dict[str, int] | None:
    """The data page's opening counts as stored, or None when they are not current."""
    if not current(con):
        return None
    return {k: int(v) for k, v in con.execute(
        "SELECT key, value FROM mart.provenance_summary ORDER BY position").fetchall()}


def without_ranks(frame: pl.DataFrame) -> pl.DataFrame:
    """A stored comparison as :func:`metrics.analysis.compare_areas` gives it without the
    bootstrap (``draws=None``): no ranks, nothing ranked, no draws."""
    return frame.with_columns(
        *[pl.lit(None, dtype=pl.Float64).alias(c) for c in RANK_COLUMNS],
        pl.lit(0, dtype=pl.Int64).alias("ranked"), pl.lit(0, dtype=pl.Int64).alias("rank_draws"))
