"""LCJB areas and court types as the MoJ and CJS publications spell them.

Shared by the MoJ loaders (timeliness, trial effectiveness) and the CJS delivery dashboard:
court-type labels, LCJB names (London in nine magistrates' sub-areas plus its Crown Court), and
the check that a London total has all its parts.
"""

from __future__ import annotations

import re

import polars as pl

from ingest.aggregate_tables import NOT_APPLICABLE, row_rejects
from ingest.base import ReadContext, Reject

COURT_TYPES: dict[str, str] = {
    "all courts": "",
    "all": "",
    "magistrates' courts": "Magistrates' courts",
    "magistrates' court": "Magistrates' courts",
    "magistrates courts": "Magistrates' courts",
    "magistrates court": "Magistrates' courts",
    "magistrates": "Magistrates' courts",
    "crown court": "Crown Court",
    "crown courts": "Crown Court",
    "crown": "Crown Court",
}
"""Court types as MoJ spells them → the ``court_type`` breakdown ('' is all courts)."""

LONDON_LCJB = re.compile(
    r"(?:(?:central|east|north east|north|north west|south east|south|south west|west) london"
    r"|london crown courts?|london crown court centres?)(?: lcjb)?",
    re.IGNORECASE,
)
"""London's LCJB sub-areas as MoJ publishes them: all are London (CJA01)."""

LONDON_MAGISTRATES_AREAS = frozenset({
    "central london", "east london", "north east london", "north london", "north west london",
    "south east london", "south london", "south west london", "west london",
})
"""The nine London magistrates' LCJB sub-areas: a London total needs every one of them."""

MOJ_LCJB_ALIASES: dict[str, str] = {
    "hampshire and isle of wight": "Hampshire",
    "hampshire and iow": "Hampshire",
    "hampshire & isle of wight": "Hampshire",
}
"""LCJB spellings MoJ uses that the area aliases do not know yet (reported for the registry)."""


def resolve_lcjb(name: str, context: ReadContext) -> str | None:
    """An LCJB area name ("Cumbria LCJB", "Central London LCJB", "Cumbria") → its LCJB code.

    A London sub-area is London (CJA01). Anything that is not an LCJB (or a force, whose LCJB
    it then is) is None: the caller rejects it.
    """
    text = " ".join(str(name).replace("\ufeff", "").split())
    if not text or text in NOT_APPLICABLE:
        return None
    if LONDON_LCJB.fullmatch(text.replace("&", "and")):
        return context.resolve_area("London LCJB")
    base = re.sub(r"\s+(?:lcjb|cja)$", "", text, flags=re.IGNORECASE)
    base = MOJ_LCJB_ALIASES.get(base.casefold(), base)
    return context.resolve_area(f"{base} LCJB")


def london_part(name: str) -> str | None:
    """"Central London LCJB" → "central london"; "London Crown Courts" → "london crown courts";
    None for anything that is not a London sub-area."""
    text = " ".join(str(name).replace("&", "and").split())
    if not LONDON_LCJB.fullmatch(text):
        return None
    return re.sub(r"\s+lcjb$", "", text.casefold())


def incomplete_london(frame: pl.DataFrame, name_col: str, key: list[str]) -> list[Reject]:
    """London sub-area rows whose (``key``) group lacks one of the nine magistrates' sub-areas.

    London is published in parts; a sum of some parts is not London, so the group is rejected.
    A group of only "London Crown Courts" is whole (the Crown Court is one London area).
    """
    parts = {n: london_part(n) for n in frame[name_col].unique().to_list()}
    london = frame.with_columns(
        pl.col(name_col).replace_strict(parts, default=None, return_dtype=pl.String).alias("_part")
    ).filter(pl.col("_part").is_not_null())
    if london.height == 0:
        return []
    groups = london.group_by(key).agg(pl.col("_part").unique().alias("_parts"))
    short = {}
    for row in groups.iter_rows(named=True):
        present = set(row["_parts"])
        missing = LONDON_MAGISTRATES_AREAS - present
        if present & LONDON_MAGISTRATES_AREAS and missing:
            short[tuple(row[k] for k in key)] = sorted(missing)
    if not short:
        return []
    keys = pl.DataFrame([(*k, ", ".join(m)) for k, m in short.items()],
                        schema=[*key, "_missing"], orient="row")
    bad = london.join(keys, on=key, how="inner")
    return row_rejects(bad, pl.lit(True), name_col,
                       pl.lit("London incomplete: this period and court type lacks the London "
                              "LCJB sub-area(s) ") + pl.col("_missing")
                       + pl.lit(", so London's total cannot be built"))


def lcjb_areas(frame: pl.DataFrame, context: ReadContext) -> tuple[pl.DataFrame, list[Reject]]:
    """``area_code`` for each row's "LCJB area" (any spelling); unknown areas are rejected.
    Shared by the MoJ loaders, which name areas the same way."""
    codes = {n: resolve_lcjb(n, context) for n in frame["LCJB area"].unique().to_list()}
    frame = frame.with_columns(
        pl.col("LCJB area").replace_strict(codes, default=None, return_dtype=pl.String)
        .alias("area_code")
    )
    bad = pl.col("area_code").is_null()
    rejects = row_rejects(frame, bad, "LCJB area",
                          "unknown LCJB area: not a local criminal justice board cjsdash knows")
    return frame.filter(~bad), rejects
