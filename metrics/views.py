"""The frames the pages show, the CLI prints and the exports write: one source of truth.

``overview`` is the scorecard (every indicator for one area and period); ``series`` is one
indicator's trend for one or more areas. Both return :data:`metrics.compute.RESULT_COLUMNS`
plus presentation columns (titles, formatted values), so a page and ``cjsdash query`` agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from cjsdash.core.gateway import fetch
from metrics import cache, mart
from metrics.compute import Options, compute_indicators
from metrics.registry import Indicator, Registry

NATIONAL = "K04000001"


@dataclass(frozen=True)
class AreaChoice:
    code: str
    name: str
    kind: str


def list_areas(con: duckdb.DuckDBPyConnection) -> list[AreaChoice]:
    """Every area in the usual order: read once per data version (every page asks)."""
    return list(cache.cached(con, ("list-areas",), lambda: tuple(
        AreaChoice(*r) for r in con.execute(
            "SELECT code, name, kind FROM core.areas ORDER BY sort_key").fetchall())))


def areas_by_code(con: duckdb.DuckDBPyConnection) -> dict[str, AreaChoice]:
    """Every area by its code in upper case: made once per data version."""
    return cache.cached(con, ("areas-by-code",),
                        lambda: {a.code.upper(): a for a in list_areas(con)})


def resolve_area(con: duckdb.DuckDBPyConnection, name_or_code: str) -> AreaChoice | None:
    """An area by code or any known spelling (forces before their LCJB twin). A code, what
    the pages' links carry, is found in the areas read once per data version (the query
    matches a code before any alias: the same answer, without its 5–6 ms)."""
    if (found := areas_by_code(con).get(name_or_code.strip().upper())) is not None:
        return found
    return resolved_by_query(con, name_or_code)


def resolved_by_query(con: duckdb.DuckDBPyConnection, name_or_code: str) -> AreaChoice | None:
    """:func:`resolve_area` in SQL alone: a code, else an alias."""
    from cjsdash.core.areas import normalise_area_name

    row = fetch(
        con,
        """SELECT a.code, a.name, a.kind FROM core.areas AS a
           LEFT JOIN core.area_aliases AS al ON al.code = a.code
           WHERE upper(a.code) = upper($1) OR al.alias_key = $2
           ORDER BY upper(a.code) = upper($1) DESC,
                    list_position(['force','lcjb','region','country','national','other'], a.kind)
           LIMIT 1""",
        [name_or_code.strip(), normalise_area_name(name_or_code)],
    ).rows()
    return AreaChoice(*row[0]) if row else None


def format_value(value: float | None, ind: Indicator, *, suppressed: bool = False) -> str:
    """How a figure is written everywhere: pages, CLI tables, exports."""
    if suppressed:
        return "[c]"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if ind.unit == "percent":
        return f"{value:,.{ind.decimals}f}%"
    if ind.unit == "pounds":
        return f"£{value:,.0f}"
    if ind.unit == "count":
        return f"{value:,.0f}"
    if ind.unit == "ratio":
        return f"{value:,.{ind.decimals}f}×"
    return f"{value:,.{ind.decimals}f}"


def target_text(row: dict, ind: Indicator) -> str:
    """How a figure's target is written everywhere: 'Target 83.0%' (the registry's national
    target), 'Local target 18.0%', 'Local trajectory 24.0%' (the analyst's own, which
    overrides the national one for its area); '' when there is none."""
    value = row.get("target")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    kind = row.get("target_kind") or "target"
    words = kind.capitalize()
    if row.get("target_scope") == "local":
        words = f"Local {kind}"
    return f"{words} {format_value(value, ind)}"


def vintages(*frames: pl.DataFrame | None) -> list[str]:
    """'source: vintage' for every source behind the figures shown, sorted (pages and packs)."""
    seen: set[str] = set()
    for f in frames:
        if f is None or f.height == 0 or "source" not in f.columns:
            continue
        for source, vintage in f.select("source", "vintage").unique().drop_nulls().rows():
            seen.add(f"{source}: {vintage}")
    return sorted(seen)


def unit_label(ind: Indicator) -> str:
    return {
        "percent": "%", "count": "count", "per_1000": "per 1,000 population", "days": "days",
        "pounds": "£", "ratio": "ratio (1 = parity)", "hearings": "hearings per case",
    }[ind.unit]


def present(frame: pl.DataFrame, registry: Registry, areas: dict[str, str]) -> pl.DataFrame:
    if frame.height == 0:
        return frame.with_columns(
            pl.lit(None, dtype=pl.String).alias(c)
            for c in ("indicator_title", "area_name", "display_value", "display_ci", "theme")
        )
    display, ci, titles, themes = [], [], [], []
    found: dict[str, Indicator] = {}
    for ind_id, value, lower, upper, suppressed in zip(
            *(frame.get_column(c).to_list()
              for c in ("indicator", "value", "lower", "upper", "suppressed")), strict=True):
        ind = found.get(ind_id) or found.setdefault(ind_id, registry.get(ind_id))
        display.append(format_value(value, ind, suppressed=bool(suppressed)))
        if lower is None or suppressed or math.isnan(lower):
            ci.append("")
        else:
            ci.append(f"{format_value(lower, ind)} to {format_value(upper, ind)}")
        titles.append(ind.title)
        themes.append(ind.theme)
    return frame.with_columns(
        pl.Series("indicator_title", titles, dtype=pl.String),
        pl.col("area_code").replace_strict(areas, default=pl.col("area_code")).alias("area_name"),
        pl.Series("display_value", display, dtype=pl.String),
        pl.Series("display_ci", ci, dtype=pl.String),
        pl.Series("theme", themes, dtype=pl.String),
    )


def _area_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {a.code: a.name for a in list_areas(con)}


def _from_mart(con: duckdb.DuckDBPyConnection, options: Options | None) -> bool:
    return mart.ready(con, options)


def series(
    con: duckdb.DuckDBPyConnection, registry: Registry, indicator_id: str, areas: list[str],
    *, grain: str = "quarter", by: str | None = None, options: Options | None = None,
) -> pl.DataFrame:
    """One indicator, every period, for each area (and breakdown group): read from the figure
    mart (:mod:`metrics.mart`) when it answers, else computed."""
    registry.get(indicator_id)  # an unknown id is a KeyError, wherever the figures come from
    if _from_mart(con, options):
        among, chosen = mart.one_of("area_code", areas)
        return mart.read(con, f"grain = ? AND by_breakdown = ? AND indicator = ? AND {among}",
                         [grain, by or "", indicator_id, *chosen])
    frame = compute_indicators(con, registry, [indicator_id], areas, grain=grain, by=by,
                               options=options)
    return present(frame, registry, _area_names(con))


def overview(
    con: duckdb.DuckDBPyConnection, registry: Registry, area: str, *, grain: str = "quarter",
    period_end: date | None = None, options: Options | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(headline, history) for every indicator at one area.

    ``headline`` has one row per indicator: the latest period ending on or before
    ``period_end`` (the latest available when None). ``history`` holds every period up to it,
    for sparklines.
    """
    if _from_mart(con, options):
        history = mart.read(
            con, "grain = ? AND by_breakdown = '' AND area_code = ? AND breakdown = '' "
                 "AND (CAST(? AS DATE) IS NULL OR period_end <= CAST(? AS DATE))",
            [grain, area, period_end, period_end])
    else:
        ids = [i.id for i in registry.indicators]
        frame = compute_indicators(con, registry, ids, [area], grain=grain, options=options)
        if period_end is not None:
            frame = frame.filter(pl.col("period_end") <= period_end)
        frame = frame.filter(pl.col("breakdown") == "")
        history = present(frame, registry, _area_names(con))
    headline = history.filter(
        pl.col("period_end") == pl.col("period_end").max().over("indicator")
    )
    return headline, history


def against_target(con: duckdb.DuckDBPyConnection, registry: Registry, area: str, *,
                   grain: str = "quarter") -> pl.DataFrame:
    """``indicator``, ``against_target`` ("Local trajectory 24.0%: not met") for each
    indicator with a target at the area's latest period (the baseline's column)."""
    headline, _ = overview(con, registry, area, grain=grain)
    rows = [(r["indicator"], f"{target_text(r, registry.get(r['indicator']))}: {r['status']}")
            for r in headline.iter_rows(named=True) if r.get("target") is not None]
    return pl.DataFrame(rows, schema={"indicator": pl.String, "against_target": pl.String},
                        orient="row")


def period_choices(con: duckdb.DuckDBPyConnection, registry: Registry, area: str,
                   grain: str) -> list[tuple[date, str]]:
    """Period ends with data at this area and grain, newest first, with their labels."""
    ids = [i.id for i in registry.indicators if i.type != "ratio"]
    if _from_mart(con, None):
        rows = con.execute(
            "SELECT DISTINCT period_end, period_label FROM mart.figures WHERE grain = ? "
            "AND by_breakdown = '' AND area_code = ? AND list_contains(?, indicator) "
            "ORDER BY period_end DESC", [grain, area, ids]).fetchall()
        return [(r[0], r[1]) for r in rows]
    frame = compute_indicators(con, registry, ids, [area], grain=grain)
    if frame.height == 0:
        return []
    ends = frame.select("period_end", "period_label").unique().sort("period_end",
                                                                    descending=True)
    return [(r[0], r[1]) for r in ends.rows()]
