"""Every area's baseline and most similar group, computed at load time for the figure mart.

:func:`compute` gives what :func:`metrics.analysis.baseline` computes for every area and each
grain of :data:`metrics.mart_analysis_reads.BASELINE_GRAINS`, from the figures the refresh has
just written (read on the refresh's own connection, inside its transaction): each grain's
headline figures are read once, every area's rows at its latest periods are indexed once, and
each area's rows are made by the same pure function the page's computing path uses
(:func:`metrics.analysis.baseline.baseline_rows`). A baseline row of an indicator depends on
that indicator's figures only (the area's series, every area of its kind and England and Wales
at its latest period) and on the area's most similar group, so a load that changed some
indicators recomputes their rows alone, unless a peer group changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import duckdb
import polars as pl

from metrics import mart
from metrics.analysis.areas import (
    COMPARABLE_KINDS,
    area_codes,
    area_names,
    comparison_kind,
    headline_rows,
)
from metrics.analysis.baseline import (
    AT_COLUMNS,
    BASELINE_COLUMNS,
    BASELINE_SCHEMA,
    Quartiles,
    Setting,
    _latest_ends,
    baseline_rows,
)
from metrics.analysis.peer_groups import PeerGroup, peer_group
from metrics.compute import RESULT_COLUMNS
from metrics.mart_analysis_reads import BASELINE_GRAINS
from metrics.registry import Registry

GROUP_SCHEMA = {"area_code": pl.String, "members": pl.List(pl.String), "source": pl.String,
                "label": pl.String, "vintage": pl.String}


def peer_groups(con: duckdb.DuckDBPyConnection, areas: list[str]) -> dict[str, PeerGroup]:
    """Every area's most similar group, as :func:`metrics.analysis.peer_group` makes it."""
    return {code: peer_group(con, code) for code in areas}


PEERS_SQL = ("SELECT concat_ws(':', count(*), string_agg(concat_ws('|', area_code, peer_code, "
             "vintage), ',' ORDER BY area_code, peer_code, vintage)) FROM core.area_peers")
"""What a reference file of most similar groups holds (computed groups follow the
populations and the areas, which the figure refresh fingerprints)."""


def peers_key(con: duckdb.DuckDBPyConnection, now: dict[str, str]) -> str:
    """A fingerprint of what the peer groups are made from."""
    return "|".join((str(con.execute(PEERS_SQL).fetchall()[0][0]), now.get("populations", ""),
                     now.get("areas", "")))


def stored_groups(con: duckdb.DuckDBPyConnection) -> dict[str, PeerGroup]:
    """The peer groups ``mart.peer_groups`` holds, by area."""
    return {code: PeerGroup(code, tuple(members or ()), source, label, vintage)
            for code, members, source, label, vintage in con.execute(
                "SELECT area_code, members, source, label, vintage FROM mart.peer_groups "
                "ORDER BY area_code").fetchall()}


def groups_frame(groups: dict[str, PeerGroup]) -> pl.DataFrame:
    """``mart.peer_groups``'s rows."""
    return pl.DataFrame([(g.area_code, list(g.members), g.source, g.label, g.vintage)
                         for g in groups.values()], schema=GROUP_SCHEMA, orient="row")


def groups_key(groups: dict[str, PeerGroup]) -> str:
    """A fingerprint of the peer groups: when it changes, every baseline is recomputed."""
    text = json.dumps([(g.area_code, g.members, g.source, g.label, g.vintage)
                       for g in groups.values()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _theme_positions(registry: Registry) -> dict[str, int]:
    return {ind.id: k for k, ind in enumerate(
        ind for _, members in registry.by_theme() for ind in members)}


def _index(frame: pl.DataFrame) -> dict[tuple[str, Any], dict[str, dict[str, Any]]]:
    """(indicator, period end) → area → its row (:data:`AT_COLUMNS`), for the periods that
    are some area's latest (with a figure, or a suppressed one)."""
    latest = frame.filter(pl.col("value").is_not_null() | pl.col("suppressed")).group_by(
        "area_code", "indicator").agg(pl.col("period_end").max()).select(
        "indicator", "period_end").unique()
    index: dict[tuple[str, Any], dict[str, dict[str, Any]]] = {}
    for r in frame.join(latest, on=["indicator", "period_end"], how="semi").select(
            *AT_COLUMNS, "period_end").iter_rows(named=True):
        end = r.pop("period_end")
        index.setdefault((r["indicator"], end), {})[r["area_code"]] = r
    return index


def compute(con: duckdb.DuckDBPyConnection, registry: Registry, groups: dict[str, PeerGroup],
            only: set[str]) -> pl.DataFrame:
    """``mart.baselines``'s rows for the indicators ``only``: every area in ``groups``, each
    grain of :data:`BASELINE_GRAINS` (``grain``, ``area_code``, ``position``, then
    :data:`BASELINE_COLUMNS`)."""
    ids = [i.id for i in registry.indicators if i.id in only]
    names = area_names(con)
    codes = {kind: tuple(area_codes(con, kind)) for kind in COMPARABLE_KINDS}
    compared = {code: codes[comparison_kind(con, code)] for code in groups}
    positions = _theme_positions(registry)
    out: list[pl.DataFrame] = []
    for grain in BASELINE_GRAINS:
        frame = mart.read(con, "grain = ? AND by_breakdown = '' AND breakdown = '' "
                               "AND list_contains(?, indicator)", [grain, ids]
                          ).select(RESULT_COLUMNS)
        index = _index(frame)
        memo: Quartiles = {}
        by_area = frame.partition_by("area_code", as_dict=True) if frame.height else {}
        for code, group in groups.items():
            mine_all = headline_rows(by_area.get((code,), frame.clear()))
            ends = _latest_ends(mine_all)
            at_all = {ind: index.get((ind, end), {}) for ind, end in ends.iter_rows()}
            setting = Setting(code, compared[code], names, group, grain)
            rows = baseline_rows(registry, setting, mine_all, at_all, only, memo)
            out.append(rows.select(
                pl.lit(grain).alias("grain"), pl.lit(code).alias("area_code"),
                pl.col("indicator").replace_strict(positions, return_dtype=pl.Int64)
                .alias("position"), *BASELINE_COLUMNS))
    return pl.concat(out) if out else pl.DataFrame(schema={
        "grain": pl.String, "area_code": pl.String, "position": pl.Int64, **BASELINE_SCHEMA})
