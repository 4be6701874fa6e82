"""Census populations by local authority district, rolled up to police force areas.

Shared by the census loaders (2011 Nomis, 2021 Nomis, the ONS custom-dataset and wide files):
the ONS "LAD → CSP → PFA (December 2016)" lookup shipped in
``ingest/reference/lad16_csp16_pfa16.csv``, codes not in it read through
``ingest/reference/lad_code_changes.csv`` (the 2016 districts each replaces), and the rollup
that loads a force only when its districts are all present exactly once.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from ingest.aggregate_tables import row_rejects
from ingest.base import ReadContext, Reject

REFERENCE_DIR = Path(__file__).with_name("reference")
LOOKUP_FILE = REFERENCE_DIR / "lad16_csp16_pfa16.csv"
CHANGES_FILE = REFERENCE_DIR / "lad_code_changes.csv"

POPULATION_COLUMNS = ("area_code", "year", "ethnicity", "sex", "age_group", "population",
                      "source", "vintage")

CATEGORIES: dict[str, str] = {
    "White: English, Welsh, Scottish, Northern Irish or British": "White",
    "White: Irish": "White",
    "White: Gypsy or Irish Traveller": "White",
    "White: Roma": "White",
    "White: Other White": "White",
    "Mixed or Multiple ethnic groups: White and Black Caribbean": "Mixed",
    "Mixed or Multiple ethnic groups: White and Black African": "Mixed",
    "Mixed or Multiple ethnic groups: White and Asian": "Mixed",
    "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups": "Mixed",
    "Asian, Asian British or Asian Welsh: Indian": "Asian",
    "Asian, Asian British or Asian Welsh: Pakistani": "Asian",
    "Asian, Asian British or Asian Welsh: Bangladeshi": "Asian",
    "Asian, Asian British or Asian Welsh: Chinese": "Asian",
    "Asian, Asian British or Asian Welsh: Other Asian": "Asian",
    "Black, Black British, Black Welsh, Caribbean or African: Caribbean": "Black",
    "Black, Black British, Black Welsh, Caribbean or African: African": "Black",
    "Black, Black British, Black Welsh, Caribbean or African: Other Black": "Black",
    "Other ethnic group: Arab": "Other",
    "Other ethnic group: Any other ethnic group": "Other",
}
"""The 19 TS021 categories (C2021_ETH_20_NAME) → the 5 broad groups."""
AGGREGATES: dict[str, str] = {
    "Total: All usual residents": "",
    "White": "White",
    "Mixed or Multiple ethnic groups": "Mixed",
    "Asian, Asian British or Asian Welsh": "Asian",
    "Black, Black British, Black Welsh, Caribbean or African": "Black",
    "Other ethnic group": "Other",
}
"""Aggregate categories (Nomis codes 0 and 1001-1005; the bulk file's totals) → the group they
total."""
GROUPS = ("", "White", "Mixed", "Asian", "Black", "Other")

LAD_CODE = re.compile(r"(?:E06|E07|E08|E09|W06)\d{6}")
FORCE_CODE = re.compile(r"(?:E23|W15)\d{6}")
SUMMARY_CODE = re.compile(r"(?:E10|E11|E12|E13|E92|W92|K02|K03|K04|E41|W41)\d{6}")
"""Counties, metropolitan counties, regions, Inner/Outer London, countries, GB/E&W: overlap."""


@dataclass(frozen=True)
class LadLookup:
    """The December 2016 LAD → PFA lookup with the code changes either side of it."""

    pfa_of: dict[str, str]
    """2016 district → police force area code."""
    lads_of: dict[str, frozenset[str]]
    """police force area code → its 2016 districts."""
    covers: dict[str, tuple[str, ...]]
    """any known district code (2011-era, 2016 or later) → the 2016 districts it covers."""
    names: dict[str, str]
    """district or force code → name."""
    changed: frozenset[str]
    """codes read through lad_code_changes.csv."""


@lru_cache(maxsize=1)
def lad_lookup() -> LadLookup:
    with open(LOOKUP_FILE, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    pfa_of = {r["LAD16CD"]: r["PFA16CD"] for r in rows}
    names = {r["LAD16CD"]: r["LAD16NM"] for r in rows} | {r["PFA16CD"]: r["PFA16NM"] for r in rows}
    lads_of: dict[str, set[str]] = {}
    for lad, pfa in pfa_of.items():
        lads_of.setdefault(pfa, set()).add(lad)
    covers = {lad: (lad,) for lad in pfa_of}
    with open(CHANGES_FILE, encoding="utf-8-sig", newline="") as f:
        changes = list(csv.DictReader(f))
    for r in changes:
        replaced = tuple(r["replaces"].split(";"))
        unknown = [c for c in replaced if c not in pfa_of]
        forces = {pfa_of[c] for c in replaced if c in pfa_of}
        if unknown or len(forces) != 1 or r["code"] in pfa_of:
            raise ValueError(f"lad_code_changes.csv: {r['code']} must replace 2016 districts of "
                             f"one force (unknown {unknown}, forces {sorted(forces)})")
        covers[r["code"]] = replaced
        names[r["code"]] = r["name"]
    return LadLookup(pfa_of, {k: frozenset(v) for k, v in lads_of.items()}, covers, names,
                     frozenset(r["code"] for r in changes))


def roll_up_to_forces(
    wide: pl.DataFrame, code_col: str, groups: dict[str, str], context: ReadContext,
    merged: dict[str, tuple[str, ...]] | None = None,
) -> tuple[pl.DataFrame, list[Reject], list[str]]:
    """Districts (and any force rows) → one population per force and group.

    ``wide`` has ``row``, ``code_col`` and, for each group, a Float64 column (non-null) named in
    ``groups`` (ethnicity → column). ``merged`` names codes published for several districts
    together (see :func:`merged_districts`). Returns (area_code, ethnicity, population) rows,
    the rejects and notes. Forces whose districts are not all present exactly once are
    rejected, and so are forces that share a merged row with another force, unless the forces
    together are an area of :data:`JOINT_AREAS` (London), which is then loaded instead.
    """
    merged = merged or {}
    lk = lad_lookup()
    kinds = {c: _kind(c, lk, context) for c in wide[code_col].unique().to_list()}
    frame = wide.with_columns(
        pl.col(code_col).replace_strict(kinds, return_dtype=pl.String).alias("_kind"))
    rejects = row_rejects(
        frame, pl.col("_kind") == "unknown", code_col,
        "unknown geography code: not a district in the ONS LAD→PFA lookup (December 2016) or in "
        "ingest/reference/lad_code_changes.csv, nor an area cjsdash knows",
    )
    notes = []
    summary = frame.filter(pl.col("_kind") == "summary").height
    if summary:
        notes.append(f"{summary:,} county, region or country rows not loaded: those populations "
                     "are the sums of their forces")
    lads = frame.filter(pl.col("_kind") == "lad")
    covers = {c: list(merged.get(c, lk.covers[c])) for c in lads[code_col].unique().to_list()}
    long = lads.select("row", code_col).with_columns(
        pl.col(code_col).replace_strict(covers, return_dtype=pl.List(pl.String)).alias("lad16")
    ).explode("lad16").with_columns(
        pl.col("lad16").replace_strict(lk.pfa_of, return_dtype=pl.String).alias("pfa"))
    long, incomplete = _forces_of(long, code_col, lk)
    if merged_here := sorted(set(lads[code_col].to_list()) & set(merged)):
        notes.append("districts published together: " + "; ".join(
            f"{c} = {' + '.join(merged[c])}" for c in merged_here))
    row_pfa = long.group_by("row").agg(pl.col("pfa").first())
    lads = lads.join(row_pfa, on="row", how="left")
    bad = pl.col("pfa").is_in(list(incomplete))
    rejects += row_rejects(lads, bad, code_col,
                           pl.col("pfa").replace_strict(incomplete, default=""))
    lads = lads.filter(~bad)
    changed = sorted(set(lads[code_col].to_list()) & lk.changed)
    if changed:
        notes.append("district codes read through lad_code_changes.csv: " + ", ".join(changed))
    value_cols = list(groups.values())
    rolled = lads.group_by("pfa").agg(pl.col(value_cols).sum(), pl.len().alias("_n"))
    if rolled.height:
        notes.append(f"{rolled['_n'].sum():,} districts rolled up to {rolled.height} police "
                     "force areas" + (" (or their joint LCJB)" if set(rolled["pfa"].to_list())
                                      & set(JOINT_AREAS.values()) else ""))
    if joints := sorted(set(rolled["pfa"].to_list()) & set(JOINT_AREAS.values())):
        notes.append(f"loaded as {', '.join(joints)}: its forces' districts are published "
                     "together, so the forces themselves are not loaded")
    force_codes = {p: context.resolve_area(p) for p in rolled["pfa"].to_list()}
    rolled = rolled.with_columns(
        pl.col("pfa").replace_strict(force_codes, return_dtype=pl.String).alias("area_code"))
    direct_codes = {c: context.resolve_area(c) for c, k in kinds.items() if k == "force"}
    direct = frame.filter(pl.col("_kind") == "force").with_columns(
        pl.col(code_col).replace_strict(direct_codes, default=None, return_dtype=pl.String)
        .alias("area_code"))
    clash = pl.col("area_code").is_in(rolled["area_code"].to_list())
    rejects += row_rejects(direct, clash, code_col,
                           "this force is also built from its districts in this file: the "
                           "district rollup is loaded")
    direct = direct.filter(~clash)
    wide_out = pl.concat([rolled.select("area_code", *value_cols),
                          direct.select("area_code", *value_cols)])
    out = pl.concat([
        wide_out.select("area_code", pl.lit(group).alias("ethnicity"),
                        pl.col(column).alias("population"))
        for group, column in groups.items()
    ])
    return out, rejects, notes


JOINT_AREAS: dict[frozenset[str], str] = {
    frozenset({"E23000001", "E23000034"}): "London LCJB",
}
"""Forces whose districts a file publishes together → the area that is exactly their union
(the Metropolitan and City of London forces are London's LCJB), loaded instead of them."""

MERGED_DISTRICTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("E06000052", "cornwall and isles of scilly"): ("E06000052", "E06000053"),
    ("E09000001", "city of london and westminster"): ("E09000001", "E09000033"),
}
"""(code, name) → the districts: ONS publishes some Census 2021 tables (those cross-classified
by sex or age) for these pairs together, under the first district's code."""


def merged_districts(frame: pl.DataFrame, code_col: str, name_col: str
                     ) -> dict[str, tuple[str, ...]]:
    """The codes of ``frame`` that stand for districts published together, read from the name
    (the code alone is the same as the single district's)."""
    pairs = frame.select(code_col, name_col).unique().iter_rows()
    return {code: MERGED_DISTRICTS[(code, " ".join(str(name).split()).casefold())]
            for code, name in pairs
            if (code, " ".join(str(name).split()).casefold()) in MERGED_DISTRICTS}


def _forces_of(long: pl.DataFrame, code_col: str, lk: LadLookup
               ) -> tuple[pl.DataFrame, dict[str, str]]:
    """``long`` (row, code, lad16, pfa) with forces published together renamed to their joint
    area, and force (or joint area) → why it cannot be built from this file's districts."""
    incomplete: dict[str, str] = {}
    members: dict[str, frozenset[str]] = {p: frozenset({p}) for p in lk.lads_of}
    for code, pfas in long.group_by(code_col).agg(pl.col("pfa").unique().sort()).iter_rows():
        if len(pfas) < 2:
            continue
        if (joint := JOINT_AREAS.get(frozenset(pfas))) is not None:
            members[joint] = frozenset(pfas)  # the forces are loaded as their joint area
            continue
        names = " and ".join(lk.names[p] for p in pfas)
        for pfa in pfas:
            incomplete[pfa] = (f"{code} is published for districts of {names} together: "
                               f"neither force's population can be told apart")
    joint_of = {p: j for j, ps in members.items() if len(ps) > 1 for p in ps}
    long = long.with_columns(pl.col("pfa").replace(joint_of))
    for pfa, found in long.group_by("pfa").agg(pl.col("lad16")).iter_rows():
        expected = frozenset().union(*(lk.lads_of[p] for p in members[pfa]))
        missing = sorted(expected - set(found))
        twice = sorted({c for c in found if found.count(c) > 1})
        if missing or twice:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(f"{c} {lk.names[c]}" for c in missing))
            if twice:
                parts.append("counted twice " + ", ".join(f"{c} {lk.names[c]}" for c in twice))
            incomplete[pfa] = (f"{lk.names.get(pfa, pfa)} cannot be built from its districts: "
                               + "; ".join(parts))
    return long, incomplete


def _kind(code: str, lk: LadLookup, context: ReadContext) -> str:
    """lad | force | summary (overlapping geography, not loaded) | unknown."""
    if not code:
        return "unknown"
    if code in lk.covers:
        return "lad"
    if LAD_CODE.fullmatch(code):
        return "unknown"
    if SUMMARY_CODE.fullmatch(code):
        return "summary"
    area = context.resolve_area(code)
    if area is None:
        return "unknown"
    return "force" if FORCE_CODE.fullmatch(area) else "summary"


def populations(frame: pl.DataFrame, year: int, source: str, vintage: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(year, dtype=pl.Int32).alias("year"), pl.lit("").alias("sex"),
        pl.lit("").alias("age_group"), pl.col("population").cast(pl.Float64),
        pl.lit(source).alias("source"), pl.lit(vintage).alias("vintage"),
    ).select(POPULATION_COLUMNS).sort("area_code", "ethnicity")


def per_geography(detail: pl.DataFrame, code_col: str, name_col: str, value_col: str,
                  ) -> tuple[pl.DataFrame, list[Reject]]:
    """Each geography's 19 detailed rows → one row of 5 groups and the total (or rejected).

    ``detail`` has ``row``, ``code_col``, ``name_col`` (the TS021 category), ``group`` (its
    broad group) and ``value_col`` (Float64, non-null)."""
    counts = detail.group_by(code_col).agg(
        pl.len().alias("_rows"), pl.col(name_col).n_unique().alias("_names"))
    detail = detail.join(counts, on=code_col, how="left")
    whole = (pl.col("_rows") == len(CATEGORIES)) & (pl.col("_names") == len(CATEGORIES))
    rejects = row_rejects(
        detail, ~whole, name_col,
        pl.lit("this geography does not have each of the 19 ethnic groups exactly once (")
        + pl.col("_rows").cast(pl.String) + pl.lit(" rows): it cannot be added up"),
    )
    detail = detail.filter(whole)
    wide = detail.group_by(code_col).agg(
        pl.col("row").min(),
        pl.col(value_col).sum().alias("pop_all"),
        *[pl.col(value_col).filter(pl.col("group") == g).sum().alias(f"pop_{g}")
          for g in GROUPS if g],
    )
    return wide, rejects


def check_aggregates(wide: pl.DataFrame, aggregates: pl.DataFrame, code_col: str,
                     value_name: str, value_col: str) -> tuple[pl.DataFrame, list[Reject]]:
    """A published total that differs from the sum of its groups rejects the geography.

    ``aggregates`` has ``row``, ``code_col``, ``aggregate`` (the group it totals, '' for all)
    and ``value_col``; rejects name the column ``value_name``."""
    if aggregates.height == 0:
        return wide, []
    long = wide.unpivot(index=[code_col, "row"], variable_name="_col",
                        value_name="_sum").with_columns(
        pl.col("_col").str.strip_prefix("pop_").replace("all", "").alias("aggregate"))
    check = aggregates.join(long.drop("row"), on=[code_col, "aggregate"], how="inner")
    off = pl.col(value_col) != pl.col("_sum")
    rejects = row_rejects(
        check, off, value_name,
        pl.lit("the published total differs from the sum of its groups (")
        + pl.col("_sum").cast(pl.Int64).cast(pl.String) + pl.lit("): the geography is not loaded"),
    )
    bad_codes = check.filter(off)[code_col].unique().to_list()
    return wide.filter(~pl.col(code_col).is_in(bad_codes)), rejects
