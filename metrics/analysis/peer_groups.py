"""Most similar groups (METHODS.md: MSG): the reference file's group or a computed one
(labelled), the area's position against its simple and weighted MSG averages and England &
Wales by 95% CI overlap."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import polars as pl

from cjsdash.core.gateway import fetch
from metrics import cache, mart, sql
from metrics import mart_analysis_reads as reads
from metrics.analysis.area_comparison import compare_areas, funnel_kind
from metrics.analysis.areas import (
    CITY_OF_LONDON,
    COMPARABLE_KINDS,
    NATIONAL,
    NATIONAL_NAME,
    area_codes,
    area_kind,
    area_names,
    comparison_kind,
    float_column,
    is_missing,
    kind_frame,
    own_rows,
)
from metrics.compute import RESULT_COLUMNS
from metrics.derive import RESULT_SCHEMA
from metrics.registry import Indicator, Registry
from metrics.statistics import funnel, intervals, peers, targets
from metrics.views import format_value

REFERENCE_PEERS = "reference file"
COMPUTED_PEERS = "computed"
NO_PEERS = "none"
COMPUTED_PEER_LABEL = ("computed peer group (nearest neighbours on Census 2011 demographics)")
SIMPLE_LABEL = "MSG average (simple mean of rates, including the area)"
WEIGHTED_LABEL = "MSG average (weighted by denominator, including the area)"


# --- most similar groups ---------------------------------------------------------------------

_peer_count = cache._peer_count


@dataclass(frozen=True)
class PeerGroup:
    """The most similar group of one area: its members (without the area), where it came
    from (``'reference file'``, ``'computed'`` or ``'none'``), and the label to show."""

    area_code: str
    members: tuple[str, ...]
    source: str
    label: str
    vintage: str = ""


def _reference_peers(con: duckdb.DuckDBPyConnection, code: str, kind: str
                     ) -> PeerGroup | None:
    if _peer_count(con) == 0:
        return None
    if kind == "force":
        rows = con.execute(
            "SELECT peer_code, vintage FROM core.area_peers WHERE area_code = ? "
            "ORDER BY rowid", [code]).fetchall()
        note = ""
    else:  # an LCJB: its force twin's group, each peer force read as its LCJB
        rows = con.execute(
            """SELECT pf.lcjb_code, p.vintage, min(p.rowid) AS o
               FROM core.area_twins AS t
               JOIN core.areas AS f ON f.code = t.candidate_code AND f.kind = 'force'
               JOIN core.area_peers AS p ON p.area_code = f.code
               JOIN core.areas AS pf ON pf.code = p.peer_code
               WHERE t.area_code = ? AND pf.lcjb_code IS NOT NULL AND pf.lcjb_code <> ?
               GROUP BY pf.lcjb_code, p.vintage ORDER BY o""", [code, code]).fetchall()
        rows = [(r[0], r[1]) for r in rows]
        note = " (its police force's group, each force read as its LCJB area)"
    if not rows:
        return None
    vintage = rows[0][1]
    members = tuple(dict.fromkeys(r[0] for r in rows if r[0] != code))
    return PeerGroup(code, members, REFERENCE_PEERS,
                     f"most similar group from the reference file ({vintage}){note}", vintage)


def demographic_features(con: duckdb.DuckDBPyConnection, kind: str
                         ) -> tuple[list[str], np.ndarray, str]:
    """(codes, features, vintage): log Census 2011 population and the share of each ethnic
    group, for every area of ``kind`` with a population (City of London excluded: it has no
    most similar group and is in no other area's)."""
    def build() -> tuple[list[str], np.ndarray, str]:
        codes = [c for c in area_codes(con, kind) if c != CITY_OF_LONDON]
        total = fetch(con, sql.populations_sql(None), [codes]).filter(
            pl.col("source") == "Census 2011")
        groups = fetch(con, sql.populations_sql("ethnicity"), [codes]).filter(
            pl.col("source") == "Census 2011")
        vintage = fetch(con, "SELECT DISTINCT vintage FROM core.populations WHERE "
                        "source = 'Census 2011' AND is_current LIMIT 1")
        if total.height == 0:
            return [], np.zeros((0, 0)), ""
        wide = groups.pivot(on="breakdown", index="area_code", values="population")
        names = sorted(c for c in wide.columns if c != "area_code")
        table = total.select("area_code", pl.col("population").alias("_total")).join(
            wide, on="area_code", how="left")
        table = pl.DataFrame({"area_code": codes}).join(table, on="area_code", how="inner",
                                                        maintain_order="left")
        tot = float_column(table, "_total")
        feats = [np.log(tot)] + [float_column(table, g) / tot for g in names]
        return (table["area_code"].to_list(), np.column_stack(feats),
                vintage.item() if vintage.height else "Census 2011")

    return cache.cached(con, ("features", kind), build)


def peer_group(con: duckdb.DuckDBPyConnection, code: str, *, k: int = peers.DEFAULT_K
               ) -> PeerGroup:
    """The area's most similar group: ``core.area_peers`` rows when it has any (a loaded
    reference file), else a computed peer group (``k`` nearest neighbours on Census 2011
    demographics among areas of its kind), labelled :data:`COMPUTED_PEER_LABEL`. City of
    London, and areas that are not forces or LCJBs, have none."""
    if k == peers.DEFAULT_K and reads.current(con):
        stored = reads.read_peer_group(con, code)
        if stored is not None:
            return PeerGroup(code, *stored)
    kind = area_kind(con, code)
    if code == CITY_OF_LONDON:
        return PeerGroup(code, (), NO_PEERS, "City of London has no most similar group")
    if kind not in COMPARABLE_KINDS:
        return PeerGroup(code, (), NO_PEERS, "most similar groups are defined for police "
                                             "force areas and LCJB areas only")
    reference = _reference_peers(con, code, kind)
    if reference is not None:
        return reference
    codes, feats, vintage = demographic_features(con, kind)
    if code not in codes or len(codes) <= 1:
        return PeerGroup(code, (), NO_PEERS, "no Census 2011 demographics to compute a peer "
                                             "group from")
    nearest = cache.cached(con, ("nearest", kind, k),
                           lambda: peers.nearest_neighbours(feats, k=k))
    row = nearest[codes.index(code)]
    members = tuple(codes[i] for i in row if i >= 0)
    return PeerGroup(code, members, COMPUTED_PEERS, COMPUTED_PEER_LABEL, vintage)


@dataclass(frozen=True)
class Position:
    """Where a value sits against a comparator: ``above``/``below``/``similar`` (95% CIs do
    not overlap / overlap) or ``higher``/``lower`` when there is no CI to test with."""

    code: str
    text: str
    significant: bool
    better: bool | None  # by polarity; None when neutral or not significant


def _interval(row: dict[str, Any] | None) -> tuple[float, float, float]:
    if row is None:
        return (np.nan, np.nan, np.nan)
    return tuple(np.nan if is_missing(row.get(c)) else float(row[c])  # type: ignore[return-value]
                 for c in ("value", "lower", "upper"))


def position(area: tuple[float, float, float], other: tuple[float, float, float],
             ind: Indicator, other_name: str) -> Position:
    """``area`` and ``other`` are (value, lower, upper). Significant only when both have a CI
    and the intervals do not overlap (a conservative test at the 5% level)."""
    v, lo, hi = area
    ov, olo, ohi = other
    if not (np.isfinite(v) and np.isfinite(ov)):
        return Position("no data", f"no comparison with {other_name}", False, None)
    if not all(np.isfinite(x) for x in (lo, hi, olo, ohi)):
        word = "higher" if v > ov else ("lower" if v < ov else "the same")
        return Position(word, f"{word} than {other_name} (no confidence interval, "
                              "so not tested)", False, None)
    if lo > ohi or hi < olo:
        code = "above" if lo > ohi else "below"
        better = None
        if ind.polarity != targets.NEUTRAL:
            better = (code == "above") == (ind.polarity == targets.HIGHER_IS_BETTER)
        quality = "" if better is None else (", better" if better else ", worse")
        return Position(code, f"{code} {other_name}{quality} (95% confidence intervals do "
                              "not overlap)", True, better)
    return Position("similar", f"similar to {other_name} (95% confidence intervals overlap)",
                    False, None)


def _pooled_interval(x: float, n: float, ind: Indicator) -> tuple[float, float]:
    how = funnel_kind(ind)
    if how == funnel.PROPORTION and n > 0:
        lo, hi = intervals.wilson_interval(x, n)
        return float(lo) * ind.multiplier, float(hi) * ind.multiplier
    if how == funnel.RATE and n > 0:
        _, lo, hi, _ = intervals.rate_interval(x, n, multiplier=ind.multiplier)
        return float(lo), float(hi)
    return np.nan, np.nan


@dataclass
class MsgComparison:
    """The area against its most similar group and England & Wales, for one period."""

    indicator: str
    area_code: str
    area_name: str
    period_label: str
    group: PeerGroup
    area: dict[str, Any] | None
    members: pl.DataFrame
    simple: float
    weighted: float
    weighted_interval: tuple[float, float]
    national: dict[str, Any] | None
    vs_msg: Position
    vs_national: Position
    notes: list[str] = field(default_factory=list)

    def table(self, ind: Indicator) -> pl.DataFrame:
        """Rows to show and export: the area, each member, both averages, England & Wales."""
        out = [_table_row("area", self.area_name, self.area, ind)]
        out += [_table_row("member", m["area_name"], m, ind)
                for m in self.members.iter_rows(named=True)]
        if self.group.members:
            out.append(_table_row("average", SIMPLE_LABEL, {"value": self.simple}, ind))
            lo, hi = self.weighted_interval
            out.append(_table_row("average", WEIGHTED_LABEL,
                                  {"value": self.weighted, "lower": lo, "upper": hi}, ind))
        out.append(_table_row("national", NATIONAL_NAME, self.national, ind))
        return pl.DataFrame(out, schema=MSG_TABLE_SCHEMA)


MSG_TABLE_SCHEMA: dict[str, Any] = {
    "role": pl.String, "area_code": pl.String, "area_name": pl.String,
    "numerator": pl.Float64, "denominator": pl.Float64, "value": pl.Float64,
    "display_value": pl.String, "display_ci": pl.String,
}


def _table_row(role: str, name: str, r: dict[str, Any] | None, ind: Indicator
               ) -> dict[str, Any]:
    r = r or {}
    v, low, up = r.get("value"), r.get("lower"), r.get("upper")
    suppressed = bool(r.get("suppressed"))
    ci = ("" if is_missing(low) or is_missing(up) or suppressed
          else f"{format_value(low, ind)} to {format_value(up, ind)}")
    return {"role": role, "area_code": r.get("area_code", ""), "area_name": name,
            "numerator": r.get("numerator"), "denominator": r.get("denominator"),
            "value": None if is_missing(v) else v,
            "display_value": format_value(v, ind, suppressed=suppressed), "display_ci": ci}


def size_comparable(ind: Indicator) -> bool:
    """Whether figures of areas of different sizes can be compared: not totals (counts and
    amounts of money), which grow with the area."""
    return ind.type not in ("count", "amount")


NOT_SIZE_COMPARABLE = ("not compared: a total, which grows with the size of the area")


def _msg_core(ind: Indicator, area_code: str, group: PeerGroup, area: dict[str, Any] | None,
              members: list[dict[str, Any]], national: dict[str, Any] | None
              ) -> tuple[float, float, tuple[float, float], Position, Position, list[str]]:
    """The averages, positions and notes, from rows already read (pure)."""
    simple, weighted, interval = _msg_averages(area, members, group, ind)
    notes: list[str] = []
    if not size_comparable(ind):
        notes.append("A total: areas differ in size, so the averages compare sizes as much "
                     "as performance; no position is given.")
        off = Position("not comparable", NOT_SIZE_COMPARABLE, False, None)
        return simple, weighted, interval, off, off, notes
    missing = sum(1 for m in members if is_missing(m.get("value")))
    if group.members and missing:
        notes.append(f"{missing} member(s) have no figure for the period (missing or "
                     "suppressed) and are left out of the averages.")
    vs_msg = (position(_interval(area), (weighted, *interval), ind, "the MSG average")
              if group.members else Position("no msg", group.label, False, None))
    vs_national = (position(_interval(area), _interval(national), ind, NATIONAL_NAME)
                   if area_code != NATIONAL else
                   Position("self", "this is England and Wales", False, None))
    return simple, weighted, interval, vs_msg, vs_national, notes


def _member_rows(at: dict[str, dict[str, Any]], group: PeerGroup, names: dict[str, str]
                 ) -> list[dict[str, Any]]:
    """Each member's row at the period (an empty row when it has none), in group order."""
    return [{**at.get(code, {}), "area_code": code, "area_name": names.get(code, code)}
            for code in group.members]


def msg_comparison(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                   area_code: str, period_end: date | None = None, grain: str = "quarter", *,
                   compare: pl.DataFrame | None = None) -> MsgComparison:
    """The area against its most similar group (simple and weighted averages, each labelled;
    both include the area, as HMIC's and HMICFRS's conventions do) and England & Wales.

    ``compare`` is the :func:`compare_areas` frame for the area's kind and period, if the
    caller has it. Positions test by 95% CI overlap against England & Wales and against the
    weighted (pooled) MSG average, whose CI is that of the pooled counts. Totals (counts,
    money) are not positioned: they grow with the area.
    """
    ind = registry.get(indicator_id)
    group = peer_group(con, area_code)
    kind = comparison_kind(con, area_code)
    if compare is None:
        compare = compare_areas(con, registry, ind.id, period_end, grain, kind=kind, draws=None)
    names = area_names(con)
    area = next((r for r in compare.iter_rows(named=True) if r["area_code"] == area_code), None)
    national = None
    if compare.height:
        # England and Wales's rows (and a region's, below): the mart's when it answers,
        # not every area's every period; else the frame of the kind, computed and cached
        end = compare["period_end"][0]
        stored = _stored_national(con, registry, ind.id, grain, kind, end)
        at = (stored if stored is not None
              else own_rows(con, registry, [ind.id], NATIONAL, grain) if mart.ready(con)
              else kind_frame(con, registry, [ind.id], kind, grain)).filter(
            pl.col("period_end") == end)
        if area is None:  # a region or the nation: its own figure
            own = at if area_code == NATIONAL else own_rows(
                con, registry, [ind.id], area_code, grain
            ).filter(pl.col("period_end") == compare["period_end"][0])
            own = own.filter(pl.col("area_code") == area_code)
            area = own.row(0, named=True) if own.height else None
        nat = at.filter(pl.col("area_code") == NATIONAL)
        national = nat.row(0, named=True) if nat.height else None
    by_code = {r["area_code"]: r for r in compare.iter_rows(named=True)}
    members = _member_rows(by_code, group, names)
    simple, weighted, interval, vs_msg, vs_national, notes = _msg_core(
        ind, area_code, group, area, members, national)
    frame = pl.DataFrame(members, schema=compare.schema) if members else compare.clear()
    return MsgComparison(
        ind.id, area_code, names.get(area_code, area_code),
        compare["period_label"][0] if compare.height else "", group, area, frame, simple,
        weighted, interval, national, vs_msg, vs_national, notes)


def _stored_national(con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str,
                     grain: str, kind: str, end: date) -> pl.DataFrame | None:
    """England and Wales's row at ``end`` as the mart's comparison holds it (one row, or
    none when it has no figure then), or None when the mart does not answer for it."""
    if not reads.ready(con, registry):
        return None
    frame, national = reads.read_comparison(con, indicator_id, grain, kind)
    if not frame.height or frame["period_end"][0] != end:
        return None  # a comparison of another period: read England and Wales's rows
    return national.select(RESULT_COLUMNS).cast(  # type: ignore[arg-type]
        {c: RESULT_SCHEMA[c] for c in RESULT_COLUMNS})


def _msg_averages(area: dict[str, Any] | None, members: list[dict[str, Any]],
                  group: PeerGroup, ind: Indicator) -> tuple[float, float, tuple[float, float]]:
    if not group.members or area is None:
        return np.nan, np.nan, (np.nan, np.nan)

    def vals(col: str) -> np.ndarray:
        return np.array([np.nan if is_missing(r.get(col)) else r[col] for r in [area, *members]],
                        dtype=np.float64)

    v, d, x = vals("value"), vals("denominator"), vals("numerator")
    mask = np.ones(v.size, dtype=bool)
    simple, _ = peers.msg_average(v, d, mask, weighted=False)
    weighted, _ = peers.msg_average(v, d, mask, weighted=True)
    use = np.isfinite(x) & np.isfinite(d) & (d > 0)
    interval = (_pooled_interval(float(x[use].sum()), float(d[use].sum()), ind) if use.any()
                else (np.nan, np.nan))
    return float(simple), float(weighted), interval




