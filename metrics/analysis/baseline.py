"""The force (or LCJB) baseline: every indicator for one area at its latest period against
its most similar group and England & Wales, with the change on last year and the latest SPC
reading, and the summary sentences a board may read from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from metrics import cache, mart
from metrics import mart_analysis_reads as reads
from metrics.analysis import changes
from metrics.analysis.area_comparison import quartiles
from metrics.analysis.areas import (
    NATIONAL,
    area_codes,
    area_names,
    comparison_kind,
    is_missing,
    kind_frame,
    own_rows,
    rows_at,
)
from metrics.analysis.peer_groups import (
    PeerGroup,
    Position,
    _member_rows,
    _msg_core,
    peer_group,
    size_comparable,
)
from metrics.analysis.spc_readings import latest_spc_reading
from metrics.registry import Indicator, Registry
from metrics.statistics import spc_assurance, spc_signals
from metrics.views import format_value

# --- the force baseline ------------------------------------------------------------------------

BASELINE_COLUMNS: tuple[str, ...] = (
    "theme", "indicator", "title", "npcc_objective", "period_label", "value", "display_value",
    "display_ci", "suppressed", "national_value", "display_national", "msg_value",
    "display_msg", "msg_source", "vs_national", "vs_national_code", "vs_national_better",
    "vs_msg", "vs_msg_code", "vs_msg_better", "quartile", "quartile_of", "direction",
    "direction_code", "direction_significant", "spc_signal", "spc_rules", "assurance",
    "synthetic", "source", "vintage", "vs_national_short", "vs_msg_short", "direction_short",
    "direction_better", "readings", "readings_agree",
)
BASELINE_SCHEMA: dict[str, Any] = {c: pl.String for c in BASELINE_COLUMNS} | {
    "value": pl.Float64, "national_value": pl.Float64, "msg_value": pl.Float64,
    "suppressed": pl.Boolean, "synthetic": pl.Boolean, "quartile": pl.Int64,
    "quartile_of": pl.Int64, "vs_national_better": pl.Boolean, "vs_msg_better": pl.Boolean,
    "direction_significant": pl.Boolean, "direction_better": pl.Boolean,
    "readings_agree": pl.Boolean,
}


def short_position(pos: Position) -> str:
    """A table cell's words for a :class:`Position`: 'above, better', 'similar',
    'higher (not tested)', 'not compared (a total)'…"""
    if pos.code in ("above", "below"):
        return pos.code + ("" if pos.better is None else
                           (", better" if pos.better else ", worse"))
    if pos.code in ("higher", "lower", "the same"):
        return f"{pos.code} (not tested)"
    return {"similar": "similar", "not comparable": "not compared (a total)",
            "no msg": "no MSG", "self": "–"}.get(pos.code, "–")


@dataclass(frozen=True)
class Setting:
    """What every indicator's baseline row shares: read once per page."""

    area_code: str
    kind_codes: tuple[str, ...]
    names: dict[str, str]
    group: PeerGroup
    grain: str


Quartiles = dict[tuple[int, tuple[str, ...]], tuple[Any, np.ndarray, int]]
"""Every area's quartile per (``at`` dict, areas compared), kept by the mart's refresh, which
shares one ``at`` dict between the areas at the same period (the dict is held, so its id is
not reused)."""


def _area_quartile(at: dict[str, dict[str, Any]], setting: Setting, ind: Indicator,
                   memo: Quartiles | None = None) -> tuple[int, int]:
    if not size_comparable(ind) or setting.area_code not in setting.kind_codes:
        return 0, 0
    codes = list(setting.kind_codes)
    held = memo.get((id(at), setting.kind_codes)) if memo is not None else None
    if held is None:
        value = np.array([np.nan if is_missing(at.get(c, {}).get("value")) else at[c]["value"]
                          for c in codes], dtype=np.float64)
        held = (at, quartiles(value, ind), int(np.isfinite(value).sum()))
        if memo is not None:
            memo[(id(at), setting.kind_codes)] = held
    return int(held[1][codes.index(setting.area_code)]), held[2]


def no_data_row(ind: Indicator, theme_title: str, msg_source: str) -> dict[str, Any]:
    """An indicator's row of the baseline where the area has no figure (nor a suppressed
    one): what :func:`baseline_row` starts from."""
    out: dict[str, Any] = dict.fromkeys(BASELINE_COLUMNS)
    out.update(theme=theme_title, indicator=ind.id, title=ind.title,
               npcc_objective=ind.npcc_objective, msg_source=msg_source,
               display_value="no data", vs_national="", vs_msg="", direction="",
               quartile=0, quartile_of=0, spc_signal="", assurance="", suppressed=False)
    return out


def baseline_row(ind: Indicator, theme_title: str, mine: pl.DataFrame,
                  at: dict[str, dict[str, Any]], setting: Setting,
                  memo: Quartiles | None = None,
                  reading: tuple[str, str, str] | None = None) -> dict[str, Any]:
    """One indicator's row of the baseline (pure): ``mine`` the area's series, ``at`` every
    area's row at the area's latest period; ``reading``: its SPC reading (signal, rules,
    assurance) when already known (it depends on ``mine`` alone)."""
    out = no_data_row(ind, theme_title, setting.group.source)
    latest = at.get(setting.area_code)
    if latest is None:
        return out
    national = at.get(NATIONAL)
    members = _member_rows(at, setting.group, setting.names)
    _, weighted, _, vs_msg, vs_national, _ = _msg_core(
        ind, setting.area_code, setting.group, latest, members, national)
    if reading is None:
        reading = latest_spc_reading(mine, ind) if setting.grain != "r12" else ("", "", "")
    signal, rules, assurance = reading
    change = changes.change_on_last_year(latest, ind)
    quartile, of = _area_quartile(at, setting, ind, memo)
    ci = ("" if is_missing(latest["lower"]) or latest["suppressed"]
          else f"{format_value(latest['lower'], ind)} to {format_value(latest['upper'], ind)}")
    nat_value = national["value"] if national else None
    out.update(
        period_label=latest["period_label"], value=latest["value"],
        display_value=format_value(latest["value"], ind, suppressed=bool(latest["suppressed"])),
        display_ci=ci, suppressed=bool(latest["suppressed"]), national_value=nat_value,
        display_national=format_value(nat_value, ind),
        msg_value=None if is_missing(weighted) else weighted,
        display_msg=format_value(weighted, ind) if setting.group.members else "–",
        vs_national=vs_national.text, vs_national_code=vs_national.code,
        vs_national_better=vs_national.better, vs_msg=vs_msg.text, vs_msg_code=vs_msg.code,
        vs_msg_better=vs_msg.better, quartile=quartile, quartile_of=of, direction=change.text,
        direction_code=change.code, direction_significant=change.significant,
        direction_better=change.better, spc_signal=signal,
        readings=changes.paired_text(signal, rules, change),
        readings_agree=changes.readings_agree(signal, change),
        spc_rules=rules, assurance=assurance,
        synthetic=latest["synthetic"], source=latest["source"], vintage=latest["vintage"],
        vs_national_short=short_position(vs_national), vs_msg_short=short_position(vs_msg),
        direction_short=change.short,
    )
    return out


def _latest_ends(mine: pl.DataFrame) -> pl.DataFrame:
    """(indicator, period_end) of each indicator's latest period with a figure (or a
    suppressed one) in the area's series."""
    return mine.filter(pl.col("value").is_not_null() | pl.col("suppressed")).group_by(
        "indicator").agg(pl.col("period_end").max())


def baseline(con: duckdb.DuckDBPyConnection, registry: Registry, area_code: str,
             grain: str = "quarter") -> tuple[pl.DataFrame, PeerGroup]:
    """Every indicator for one area at its latest period, against its MSG and England &
    Wales: one row per indicator (:data:`BASELINE_COLUMNS`), in theme order, and the peer
    group used. Compared with areas of its own kind (LCJBs for an LCJB, forces otherwise);
    the weighted MSG average is the one tested against. Read from the mart where it holds it
    (:mod:`metrics.mart_analysis_reads`), else computed and cached per data version."""
    if grain in reads.BASELINE_GRAINS and reads.ready(con, registry):
        stored = reads.read_baseline(con, area_code, grain)
        if stored.height:
            return stored.cast(BASELINE_SCHEMA), peer_group(con, area_code)
    return cache.cached(con, ("baseline", id(registry), area_code, grain),
                        lambda: _baseline(con, registry, area_code, grain))


AT_COLUMNS = ("indicator", "area_code", "period_label", "numerator", "denominator", "value",
              "lower", "upper", "suppressed", "synthetic", "source", "vintage", "change",
              "change_significant")
"""What a baseline row reads of every area's row at the area's latest period."""


def _baseline(con: duckdb.DuckDBPyConnection, registry: Registry, area_code: str,
              grain: str) -> tuple[pl.DataFrame, PeerGroup]:
    kind = comparison_kind(con, area_code)
    ids = [i.id for i in registry.indicators]
    codes = tuple(area_codes(con, kind))
    setting = Setting(area_code, codes, area_names(con), peer_group(con, area_code), grain)
    if mart.ready(con):  # the area's series, then every area at its latest periods only
        mine_all = own_rows(con, registry, ids, area_code, grain)
        ends = _latest_ends(mine_all)
        frame = (rows_at(con, ends.rows(), list(dict.fromkeys([*codes, NATIONAL, area_code])),
                         grain) if ends.height else mine_all.clear())
    else:
        frame = kind_frame(con, registry, ids, kind, grain)
        if area_code not in codes and area_code != NATIONAL:
            frame = pl.concat([frame, own_rows(con, registry, ids, area_code, grain)],
                              how="diagonal_relaxed")
        mine_all = frame.filter(pl.col("area_code") == area_code)
        ends = _latest_ends(mine_all)
    at_all: dict[str, dict[str, dict[str, Any]]] = {}
    for r in frame.join(ends, on=["indicator", "period_end"], how="semi").select(
            AT_COLUMNS).iter_rows(named=True):
        at_all.setdefault(r["indicator"], {})[r["area_code"]] = r
    return baseline_rows(registry, setting, mine_all, at_all), setting.group


def baseline_rows(registry: Registry, setting: Setting, mine_all: pl.DataFrame,
                  at_all: dict[str, dict[str, dict[str, Any]]]) -> pl.DataFrame:
    """The baseline's rows (pure): ``mine_all`` the area's headline series of every
    indicator, ``at_all`` indicator → area → its row (:data:`AT_COLUMNS`) at the area's
    latest period. The figure mart makes the same rows from the same :func:`baseline_row`
    for every area at once (:func:`metrics.mart_baselines.compute`)."""
    mine = mine_all.partition_by("indicator", as_dict=True) if mine_all.height else {}
    none = mine_all.clear()
    rows = [
        baseline_row(ind, theme.title, mine.get((ind.id,), none), at_all.get(ind.id, {}),
                      setting)
        for theme, members in registry.by_theme() for ind in members
    ]
    return pl.DataFrame(rows, schema=BASELINE_SCHEMA)


def _listed(titles: list[str], limit: int = 6) -> str:
    if len(titles) <= limit:
        return "; ".join(titles)
    return "; ".join(titles[:limit]) + f"; and {len(titles) - limit} more"


_SUMMARY_CHECKS: tuple[tuple[str, Any, str, str], ...] = (
    ("vs_national_better", True, "Significantly better than England and Wales",
     " (95% confidence intervals do not overlap)"),
    ("vs_national_better", False, "Significantly worse than England and Wales",
     " (95% confidence intervals do not overlap)"),
    ("vs_msg_better", True, "Significantly better than its most similar group average",
     " (weighted average; 95% confidence intervals do not overlap)"),
    ("vs_msg_better", False, "Significantly worse than its most similar group average",
     " (weighted average; 95% confidence intervals do not overlap)"),
    ("_spc_improving", True, "Improving on both readings (an SPC improvement against the "
     "whole series, and no worse than the same period last year)", ""),
    ("_spc_concern", True, "Of concern on both readings (an SPC concern against the whole "
     "series, and no better than the same period last year)", ""),
    ("_spc_differs", True, "The two readings differ (an SPC signal against the whole series "
     "but a change the other way on the same period last year: read the row)", ""),
    ("assurance", spc_assurance.CONSISTENTLY_FAILS, "Will consistently fail the target unless the "
     "process changes (SPC assurance)", ""),
    ("assurance", spc_assurance.CONSISTENTLY_PASSES,
     "Consistently passes the target (SPC assurance)", ""),
)


def summarise_baseline(frame: pl.DataFrame, area_name: str) -> list[str]:
    """Short sentences of strengths and concerns that the tests support, and nothing else.

    "Significantly" means the 95% confidence intervals do not overlap (a conservative test);
    indicators without a CI, and totals, are never called better or worse. An indicator is
    counted as improving (of concern) only when both readings support it: the latest
    period's SPC signal against the whole series and the change on the same period last year
    (:func:`metrics.analysis.changes.readings_agree`); where they differ it is listed as such.
    Assurance is SPC's.
    """
    out: list[str] = []
    if frame.height:
        agree = pl.col("readings_agree").fill_null(False)
        signal = pl.col("spc_signal").is_in([spc_signals.IMPROVEMENT, spc_signals.CONCERN])
        frame = frame.with_columns(
            ((pl.col("spc_signal") == spc_signals.IMPROVEMENT) & agree).alias("_spc_improving"),
            ((pl.col("spc_signal") == spc_signals.CONCERN) & agree).alias("_spc_concern"),
            (signal & ~agree).alias("_spc_differs"))
    for column, wanted, lead, how in _SUMMARY_CHECKS:
        found = (frame.filter(pl.col(column) == wanted)["title"].to_list()
                 if frame.height else [])
        if found:
            word = "indicator" if len(found) == 1 else "indicators"
            out.append(f"{lead} on {len(found)} {word}{how}: {_listed(found)}.")
    if not out:
        out.append("No indicator differs significantly from England and Wales or the most "
                   "similar group, and none shows an SPC special cause in its latest period.")
    with_data = frame.filter(pl.col("display_value") != "no data").height if frame.height else 0
    tested = (frame.filter(pl.col("vs_national_code").is_in(["above", "below", "similar"]))
              .height if frame.height else 0)
    out.append(f"{area_name} has figures for {with_data} of {frame.height} indicators; "
               f"{tested} have confidence intervals that could be tested against England and "
               "Wales. Totals, means from totals and money are not called better or worse.")
    return out


