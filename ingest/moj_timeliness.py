"""MoJ criminal court statistics: the timeliness transparency CSV, by LCJB area.

One row per court type, quarter and level (England and Wales, HMCTS region, LCJB area, local
justice area or court), as published on gov.uk, e.g. ``timeliness-transparency-april-june-2018.csv``::

    Year,Period,Court type,National,Region,LCJB area,LJA or Court name,Defendants,
    Mean offence to charge,Mean charge to first list,Mean first list to completion,
    Mean offence to completion,Median offence to charge,Median charge to first list,
    Median first list to completion,Median offence to completion

``-`` marks a level that does not apply. Only LCJB-level rows are loaded (LCJB area given, "LJA
or Court name" ``-``): national and regional figures come from cjsdash's own rollup, and the
court-level rows would count the same defendants twice.

The registry's timeliness indicators are means (total days / defendants), so each published
mean becomes a **total**: ``days_* = mean × defendants``, and ``defendants_timeliness`` is the
defendants. London is published as nine magistrates' LCJB sub-areas (Central, East, North East
… London LCJB) plus London Crown Courts; all are London (CJA01), so their rows are summed: the
defendants add up and the means are weighted by defendants. Medians cannot be summed across
areas or quarters and are not loaded.

Shared helpers live in :mod:`ingest.aggregate_tables` and :mod:`ingest.lcjb_areas`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.aggregate_tables import (
    NOT_APPLICABLE,
    header_fields,
    normalise_label,
    observations,
    parse_counts,
    period_table,
    read_exact_csv,
    row_rejects,
    sum_or_null,
)
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.lcjb_areas import COURT_TYPES, incomplete_london, lcjb_areas

HEADER: tuple[str, ...] = (
    "Year", "Period", "Court type", "National", "Region", "LCJB area", "LJA or Court name",
    "Defendants", "Mean offence to charge", "Mean charge to first list",
    "Mean first list to completion", "Mean offence to completion", "Median offence to charge",
    "Median charge to first list", "Median first list to completion",
    "Median offence to completion",
)
SPEC = SourceSpec(
    name="moj_court_timeliness",
    title="MoJ criminal court statistics: timeliness transparency data (by LCJB area)",
    publisher="Ministry of Justice",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=HEADER,
)
DEFENDANTS = "Defendants"
MEANS: dict[str, str] = {
    "Mean offence to charge": "days_offence_to_charge",
    "Mean charge to first list": "days_charge_to_first_listing",
    "Mean first list to completion": "days_first_listing_to_completion",
    "Mean offence to completion": "days_offence_to_completion",
}
MEASURES: tuple[str, ...] = ("defendants_timeliness", *MEANS.values())


def detect(path: Path, data: bytes) -> bool:
    return header_fields(data) == HEADER


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    raw, encoding = read_exact_csv(path.name, data, HEADER, "MoJ criminal courts timeliness")
    if raw.height == 0:
        raise FileRefused(path.name, "the file has a header but no data rows")
    frame = raw.with_row_index("row", offset=2).with_columns(
        pl.col(pl.String).str.strip_chars()
    )
    notes = [f"read as {encoding}"] if encoding != "UTF-8" else []
    rejects: list[Reject] = []

    lcjb_level = ~pl.col("LCJB area").is_in(NOT_APPLICABLE) & pl.col("LJA or Court name").is_in(
        NOT_APPLICABLE)
    court_level = ~pl.col("LJA or Court name").is_in(NOT_APPLICABLE)
    skipped_courts = frame.filter(court_level).height
    skipped_summary = frame.filter(~lcjb_level & ~court_level).height
    frame = frame.filter(lcjb_level)
    if skipped_summary or skipped_courts:
        notes.append(
            f"{skipped_summary:,} national/regional and {skipped_courts:,} local justice area or "
            "court rows not loaded: cjsdash loads LCJB areas and builds the rest by rollup"
        )

    frame, bad = _court_types(frame)
    rejects += bad
    frame, bad = _periods(frame)
    rejects += bad
    frame, bad = lcjb_areas(frame, context)
    rejects += bad
    frame, bad = parse_counts(frame, [DEFENDANTS, *MEANS], SPEC.suppression_markers)
    rejects += bad
    frame, bad = _duplicates(frame)
    rejects += bad
    bad = incomplete_london(frame, "LCJB area", ["Period", "court_type"])
    rejects += bad
    frame = frame.filter(~pl.col("row").is_in([r.row for r in bad]))

    measures = [m for m in MEASURES if m in context.measures]
    unknown = [m for m in MEASURES if m not in context.measures]
    if unknown:
        notes.append(f"not in the registry, not loaded: {', '.join(unknown)}")
    if not measures:
        raise FileRefused(path.name, "none of the timeliness measures is in the registry", rejects)
    long = _long(frame, measures)
    london = frame.filter(pl.col("area_code") == context.resolve_area("London LCJB"))
    if london.height:
        parts = london["LCJB area"].n_unique()
        notes.append(f"London: {parts} LCJB sub-areas summed into London (CJA01); "
                     "means weighted by defendants")
    key = ["measure", "area_code", "period_start", "period_end", "court_type"]
    out = long.group_by(key, maintain_order=True).agg(sum_or_null())
    latest = frame.sort("period_start")["Period"].to_list()
    vintage = ("MoJ criminal courts timeliness transparency, data to "
               f"{latest[-1] if latest else 'no period'}")
    notes.append("days totals are the published mean (whole days) × defendants; the medians are "
                 "not loaded (a median cannot be summed across areas or quarters)")
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sorted(rejects, key=lambda r: (r.row or 0, r.column or "")),
        rows_in=raw.height, source=SPEC.name, vintage=vintage, notes=notes,
    )


def _court_types(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    labels = {t: COURT_TYPES.get(normalise_label(t)) for t in frame["Court type"].unique()}
    frame = frame.with_columns(
        pl.col("Court type").replace_strict(labels, default=None, return_dtype=pl.String)
        .alias("court_type")
    )
    bad = pl.col("court_type").is_null()
    rejects = row_rejects(frame, bad, "Court type",
                          "unknown court type (expected All courts, Magistrates' courts or "
                          "Crown Court)")
    return frame.filter(~bad), rejects


def _periods(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    table = period_table(frame["Period"].unique().to_list()).rename({"label": "Period"})
    frame = frame.join(table, on="Period", how="left", maintain_order="left")
    unread = pl.col("period_start").is_null()
    rejects = row_rejects(frame, unread, "Period",
                          pl.lit("unreadable period: ") + pl.col("period_error"))
    frame = frame.filter(~unread)
    wrong_year = pl.col("period_start").dt.year().cast(pl.String) != pl.col("Year")
    rejects += row_rejects(frame, wrong_year, "Year",
                           pl.lit("the Year does not match the Period ") + pl.col("Period"))
    return frame.filter(~wrong_year).drop("period_error"), rejects


def _duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """The same LCJB area, quarter and court type twice: the first row stands."""
    key = ["LCJB area", "Period", "court_type"]
    frame = frame.with_columns(pl.col("row").min().over(key).alias("_first"))
    repeat = pl.col("row") != pl.col("_first")
    rejects = row_rejects(
        frame, repeat, "LCJB area",
        pl.lit("duplicate: the same LCJB area, period and court type as row ")
        + pl.col("_first").cast(pl.String),
    )
    return frame.filter(~repeat).drop("_first"), rejects


def _long(frame: pl.DataFrame, measures: list[str]) -> pl.DataFrame:
    base = ["area_code", "period_start", "period_end", "court_type"]
    parts = []
    if "defendants_timeliness" in measures:
        parts.append(frame.select(
            *base, pl.lit("defendants_timeliness").alias("measure"),
            pl.col(f"{DEFENDANTS}__v").alias("value"), pl.col(f"{DEFENDANTS}__n").alias("value_note"),
        ))
    for column, measure in MEANS.items():
        if measure not in measures:
            continue
        parts.append(frame.select(
            *base, pl.lit(measure).alias("measure"),
            pl.when(pl.col(f"{DEFENDANTS}__v") == 0).then(0.0)
            .otherwise(pl.col(f"{column}__v") * pl.col(f"{DEFENDANTS}__v")).alias("value"),
            pl.when(pl.col(f"{DEFENDANTS}__v") == 0).then(None)
            .otherwise(pl.coalesce(f"{DEFENDANTS}__n", f"{column}__n")).alias("value_note"),
        ))
    return pl.concat(parts)


LOADER = Loader(spec=SPEC, detect=detect, read=read)
