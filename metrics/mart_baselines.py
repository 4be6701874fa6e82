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


Readings = dict[tuple[str, str], dict[str, tuple[str, str, str]]]
"""(grain, area) → indicator → its SPC reading (signal, rules, assurance)."""


def kept_readings(con: duckdb.DuckDBPyConnection, scoped: dict[str, frozenset[str] | None]
                  ) -> Readings:
    """The SPC readings ``mart.baselines`` holds for the indicators in ``scoped`` outside the
    areas named there (indicator → the areas whose figures changed; ``None``: every area).
    A reading depends on the area's own series alone, so it stands where that did not
    change; the rest of a baseline row (England and Wales, the group, the quartile) is
    recomputed."""
    usable = {i: a for i, a in scoped.items() if a is not None}
    if not usable:
        return {}
    out: Readings = {}
    for grain, area, ind, signal, rules, assurance in con.execute(
            "SELECT grain, area_code, indicator, spc_signal, spc_rules, assurance "
            "FROM mart.baselines WHERE list_contains(?, indicator)", [sorted(usable)]
    ).fetchall():
        if area not in usable[ind]:
            out.setdefault((grain, area), {})[ind] = (signal or "", rules or "",
                                                      assurance or "")
    return out


SERIES_AREAS = 20
"""Areas whose whole series are read at once (decision 32: reading a grain's every series
at once held about 600 MB)."""
def compute(con: duckdb.DuckDBPyConnection, registry: Registry, groups: dict[str, PeerGroup],
            only: set[str], readings: Readings | None = None) -> pl.DataFrame:
    """``mart.baselines``'s rows for the indicators ``only``: every area in ``groups``, each
    grain of :data:`BASELINE_GRAINS` (``grain``, ``area_code``, ``position``, then
    :data:`BASELINE_COLUMNS`); ``readings``: SPC readings still standing
    (:func:`kept_readings`)."""
    readings = readings or {}
    ids = [i.id for i in registry.indicators if i.id in only]
    names = area_names(con)
    codes = {kind: tuple(area_codes(con, kind)) for kind in COMPARABLE_KINDS}
    compared = {code: codes[comparison_kind(con, code)] for code in groups}
    positions = _theme_positions(registry)
    out: list[pl.DataFrame] = []
    for grain in BASELINE_GRAINS:
        at_ends = mart.headline_at_latest(con, grain, ids, {c: [c] for c in groups})
        index = _index(at_ends)
        memo: Quartiles = {}

        def rows_of(code: str, mine_all: pl.DataFrame, grain: str = grain,
                    index: dict = index, memo: Quartiles = memo) -> None:
            ends = _latest_ends(mine_all)
            at_all = {ind: index.get((ind, end), {}) for ind, end in ends.iter_rows()}
            setting = Setting(code, compared[code], names, groups[code], grain)
            rows = baseline_rows(registry, setting, mine_all, at_all, only, memo,
                                 readings.get((grain, code)))
            out.append(rows.select(
                pl.lit(grain).alias("grain"), pl.lit(code).alias("area_code"),
                pl.col("indicator").replace_strict(positions, return_dtype=pl.Int64)
                .alias("position"), *BASELINE_COLUMNS))

        # an area whose every reading stands (and every area at r12: no SPC reading) needs
        # only its rows at its latest periods; the others their whole series, a few at a time
        whole = [code for code in groups if grain != "r12"
                 and not set(ids) <= set(readings.get((grain, code), {}))]
        by_area = at_ends.partition_by("area_code", as_dict=True) if at_ends.height else {}
        for code in groups:
            if code not in whole:
                rows_of(code, headline_rows(by_area.get((code,), at_ends.clear())))
        for k in range(0, len(whole), SERIES_AREAS):
            chunk = whole[k:k + SERIES_AREAS]
            frame = mart.read(con, "grain = ? AND by_breakdown = '' AND breakdown = '' "
                                   "AND list_contains(?, indicator) "
                                   "AND list_contains(?, area_code)", [grain, ids, chunk]
                              ).select(RESULT_COLUMNS)
            series = frame.partition_by("area_code", as_dict=True) if frame.height else {}
            for code in chunk:
                rows_of(code, headline_rows(series.get((code,), frame.clear())))
    return pl.concat(out) if out else pl.DataFrame(schema={
        "grain": pl.String, "area_code": pl.String, "position": pl.Int64, **BASELINE_SCHEMA})
