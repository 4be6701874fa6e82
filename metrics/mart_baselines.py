"""Every area's baseline and most similar group, computed at load time for the figure mart.

:func:`compute` gives what :func:`metrics.analysis.baseline` computes for every area and each
grain of :data:`metrics.mart_analysis_reads.BASELINE_GRAINS`, from the figures the refresh has
just written (read on the refresh's own connection, inside its transaction). Per grain, for
every area at once: the headline figures at each area's latest periods are read in one query
and indexed once; the series of the areas whose SPC readings are wanted are read in one more
(only the columns a reading needs) and read together (:mod:`metrics.analysis.spc_latest`);
an area's row of an indicator it has a figure for is made by the pure function the page's
computing path uses (:func:`metrics.analysis.baseline.baseline_row`, quartiles shared
between the areas at the same period), and the rows of the indicators it has none for are
one template per indicator. Making them area by area through polars spent most of the time
in per-call overhead (1.07 s of a year's refresh, 18-26 s on the demo warehouse).

A baseline row of an indicator depends on that indicator's figures only (the area's series,
every area of its kind and England and Wales at its latest period) and on the area's most
similar group, so a load that changed some indicators recomputes their rows alone, unless a
peer group changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from metrics import mart
from metrics.analysis.areas import COMPARABLE_KINDS, area_codes, area_names, comparison_kind
from metrics.analysis.baseline import (
    AT_COLUMNS,
    BASELINE_SCHEMA,
    Quartiles,
    Setting,
    baseline_row,
    no_data_row,
)
from metrics.analysis.peer_groups import PeerGroup, peer_group
from metrics.analysis.spc_latest import SERIES_COLUMNS, latest_readings
from metrics.mart_analysis_reads import BASELINE_GRAINS
from metrics.registry import Indicator, Registry

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


def compute(con: duckdb.DuckDBPyConnection, registry: Registry, groups: dict[str, PeerGroup],
            only: set[str], readings: Readings | None = None) -> pl.DataFrame:
    """``mart.baselines``'s rows for the indicators ``only``: every area in ``groups``, each
    grain of :data:`BASELINE_GRAINS` (``grain``, ``area_code``, ``position``, then
    :data:`BASELINE_COLUMNS`); ``readings``: SPC readings still standing
    (:func:`kept_readings`)."""
    names = area_names(con)
    codes = {kind: tuple(area_codes(con, kind)) for kind in COMPARABLE_KINDS}
    settings = {grain: {code: Setting(code, codes[comparison_kind(con, code)], names, group,
                                      grain) for code, group in groups.items()}
                for grain in BASELINE_GRAINS}
    themed = [(theme.title, ind) for theme, members in registry.by_theme() for ind in members
              if ind.id in only]
    positions = _theme_positions(registry)
    out = [_grain_rows(con, grain, themed, settings[grain], positions, readings or {})
           for grain in BASELINE_GRAINS]
    return pl.concat(out) if out else pl.DataFrame(schema=ROW_SCHEMA)


ROW_SCHEMA = {"grain": pl.String, "area_code": pl.String, "position": pl.Int64,
              **BASELINE_SCHEMA}


def _grain_rows(con: duckdb.DuckDBPyConnection, grain: str, themed: list[tuple[str, Indicator]],
                settings: dict[str, Setting], positions: dict[str, int], readings: Readings
                ) -> pl.DataFrame:
    """One grain's rows: an area's row of an indicator it has a figure for (or a suppressed
    one) is :func:`metrics.analysis.baseline.baseline_row`'s, as the page computes it; the
    others are :func:`~metrics.analysis.baseline.no_data_row`, made once per indicator."""
    ids = [ind.id for _, ind in themed]
    at_ends = mart.headline_at_latest(con, grain, ids, {c: [c] for c in settings})
    index = _index(at_ends)
    ends = _ends_by_area(at_ends) if at_ends.height else {}
    # an area whose every reading stands (and every area at r12: no SPC reading) needs only
    # its rows at its latest periods; the others their whole series, read at once
    whole = [code for code in settings if grain != "r12"
             and not set(ids) <= set(readings.get((grain, code), {}))]
    spc = latest_readings(_series(con, grain, ids, whole),
                          {ind.id: ind for _, ind in themed}) if whole else {}
    memo: Quartiles = {}
    none = pl.DataFrame(schema=BASELINE_SCHEMA)
    order = [code for code in settings if code not in whole] + whole
    rows: list[dict[str, Any]] = []
    for rank, code in enumerate(order):
        kept = readings.get((grain, code), {})
        for title, ind in themed:
            end = ends.get((code, ind.id))
            if end is None:
                continue
            reading = kept.get(ind.id)
            if reading is None:
                reading = ("", "", "") if grain == "r12" else spc[(code, ind.id)]
            row = baseline_row(ind, title, none, index.get((ind.id, end), {}),
                                settings[code], memo, reading)
            rows.append(row | {"_rank": rank, "area_code": code})
    empty = pl.DataFrame([no_data_row(ind, title, "") for title, ind in themed],
                         schema=BASELINE_SCHEMA).drop("msg_source")
    areas = pl.DataFrame({"_rank": range(len(order)), "area_code": order,
                          "msg_source": [settings[c].group.source for c in order]},
                         schema={"_rank": pl.Int64, "area_code": pl.String,
                                 "msg_source": pl.String})
    found = pl.DataFrame(rows, schema={"_rank": pl.Int64, "area_code": pl.String,
                                       **BASELINE_SCHEMA})
    every = pl.concat([
        areas.join(empty, how="cross").join(found, on=["area_code", "indicator"], how="anti"),
        found], how="diagonal")
    return every.with_columns(
        pl.lit(grain).alias("grain"),
        pl.col("indicator").replace_strict(positions, return_dtype=pl.Int64).alias("position"),
    ).sort("_rank", "position").select(*ROW_SCHEMA)


def _ends_by_area(at_ends: pl.DataFrame) -> dict[tuple[str, str], Any]:
    """(area, indicator) → the area's latest period end with a figure (or a suppressed one):
    among the rows at every area's latest periods, as in its whole series."""
    return {(area, ind): end for area, ind, end in at_ends.filter(
        pl.col("value").is_not_null() | pl.col("suppressed")).group_by(
        "area_code", "indicator").agg(pl.col("period_end").max()).iter_rows()}


def _series(con: duckdb.DuckDBPyConnection, grain: str, ids: list[str], areas: list[str]
            ) -> pl.DataFrame:
    """The headline series of ``areas`` (what an SPC reading reads of them), in indicator,
    area and period order."""
    return fetch(con, f"SELECT {', '.join(SERIES_COLUMNS)} FROM mart.figures "  # noqa: S608
                      "WHERE grain = ? AND by_breakdown = '' AND breakdown = '' "
                      "AND list_contains(?, indicator) AND list_contains(?, area_code) "
                      "ORDER BY indicator, area_code, period_start", [grain, ids, areas])
