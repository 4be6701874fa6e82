"""The most similar group (MSG) average beside each headline figure of a pack.

:class:`MsgInfo` holds the area's peer group and its weighted averages by (indicator, period
end); :func:`msg_lookup` computes them, as the baseline page does, through
:mod:`metrics.analysis`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import polars as pl

from metrics.registry import Registry
from metrics.statistics import peers
from metrics.views import AreaChoice

from .cells import is_missing

MSG_UNAVAILABLE = "MSG average: not available for this area."


@dataclass(frozen=True)
class MsgInfo:
    """The area's most similar group and its weighted averages, by (indicator, period end)."""

    label: str = ""
    members: tuple[str, ...] = ()
    values: dict[tuple[str, date], float] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return bool(self.members)

    def describe(self) -> str:
        if not self.available:
            return MSG_UNAVAILABLE if not self.label else f"MSG average: none ({self.label})."
        return (f"{peers.WEIGHTED_LABEL}; the group: {self.label}: "
                + ", ".join(self.members) + ". Counts and amounts of money are totals that "
                "grow with the area, so they have no MSG average here.")


def msg_lookup(con: duckdb.DuckDBPyConnection, registry: Registry, area: AreaChoice,
               history: pl.DataFrame, grain: str) -> MsgInfo:
    """The weighted MSG average (including the area, as the baseline page computes it) for
    each indicator at its headline period. Reads the peer group and every area's figures
    through :mod:`metrics.analysis` (cached there per data version)."""
    try:
        from metrics import analysis
    except ImportError:  # pragma: no cover - a build without the analysis module
        return MsgInfo()
    cursor = con.cursor()  # its own cursor: a half-read result there cannot block ours
    try:
        return _msg_values(analysis, cursor, registry, area, history, grain)
    finally:
        cursor.close()


def _msg_values(analysis: Any, con: duckdb.DuckDBPyConnection, registry: Registry,
                area: AreaChoice, history: pl.DataFrame, grain: str) -> MsgInfo:
    group = analysis.peer_group(con, area.code)
    if not group.members or history.height == 0:
        return MsgInfo(label=group.label)
    names = analysis.area_names(con)
    heads = _latest_by_indicator(history.filter(~pl.col("indicator").is_in(
        [i.id for i in registry.indicators if i.type in ("count", "amount")])))
    if heads.height == 0:
        return MsgInfo(group.label, tuple(names.get(c, c) for c in group.members))
    frame = analysis.kind_frame(con, registry, heads["indicator"].unique().to_list(),
                                analysis.comparison_kind(con, area.code), grain)
    members = frame.filter(pl.col("area_code").is_in(list(group.members))).join(
        heads.select("indicator", "period_end"), on=["indicator", "period_end"], how="semi")
    by_key: dict[tuple[str, date], list[tuple[Any, Any]]] = {}
    for r in members.iter_rows(named=True):
        by_key.setdefault((r["indicator"], r["period_end"]), []).append(
            (r["value"], r["denominator"]))
    values: dict[tuple[str, date], float] = {}
    for r in heads.iter_rows(named=True):
        pairs = [(r["value"], r["denominator"]), *by_key.get((r["indicator"], r["period_end"]),
                                                              [])]
        v = np.array([np.nan if is_missing(a) else a for a, _ in pairs], dtype=np.float64)
        d = np.array([np.nan if is_missing(b) else b for _, b in pairs], dtype=np.float64)
        weighted, _ = peers.msg_average(v, d, np.ones(v.size, dtype=bool), weighted=True)
        if np.isfinite(weighted):
            values[(r["indicator"], r["period_end"])] = float(weighted)
    return MsgInfo(group.label, tuple(names.get(c, c) for c in group.members), values)


def _latest_by_indicator(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("period_end") == pl.col("period_end").max().over("indicator"))
