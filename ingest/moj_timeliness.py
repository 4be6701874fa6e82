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

This module also holds the helpers the other MoJ loaders share (LCJB names, periods, rejects).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from cjsdash.core.periods import PeriodError, parse_period
from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.textio import decode_text, first_line, read_csv_strings
from ingest.values import parse_numbers

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
NOT_APPLICABLE = ("-", "")
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
    "value", "value_note", "source", "vintage",
)

# --- helpers shared by the MoJ and CJS loaders ----------------------------------------------

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


def normalise_label(text: str) -> str:
    return " ".join(str(text).replace("\u2019", "'").replace("\ufeff", "").split()).casefold()


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


def row_rejects(frame: pl.DataFrame, mask: pl.Expr, column: str, reason: str | pl.Expr,
                value_col: str | None = None) -> list[Reject]:
    """A Reject for every row of ``frame`` where ``mask`` holds (``frame`` has a ``row``)."""
    bad = frame.filter(mask.fill_null(False))
    if bad.height == 0:
        return []
    reasons = (bad.select(reason.alias("_r")).to_series().to_list()
               if isinstance(reason, pl.Expr) else [reason] * bad.height)
    source = value_col or column
    values = bad[source].cast(pl.String).to_list() if source in bad.columns else [None] * bad.height
    return [Reject(int(r), column, v, why)
            for r, v, why in zip(bad["row"].to_list(), values, reasons, strict=True)]


def read_checked_csv(file_name: str, data: bytes,
                     check_header: Callable[[tuple[str, ...]], str | None],
                     ) -> tuple[pl.DataFrame, str]:
    """Decode, check the header (``check_header`` returns why it is wrong, or None), refuse a
    truncated last line, then read: a frame of strings named by the header, and the encoding."""
    text, encoding = decode_text(file_name, data)
    first = text.split("\n", 1)[0].rstrip("\r")
    header = tuple(f.replace("\ufeff", "").strip() for f in next(csv.reader([first]), []))
    problem = check_header(header)
    if problem:
        raise FileRefused(file_name, problem)
    refuse_ragged_last_line(file_name, text, len(header))
    frame, _ = read_csv_strings(file_name, data)
    return frame.rename(dict(zip(frame.columns, header, strict=True))), encoding


def read_exact_csv(file_name: str, data: bytes, header: tuple[str, ...],
                   what: str) -> tuple[pl.DataFrame, str]:
    """A CSV whose header must be exactly ``header``: strings frame and encoding, or refused."""

    def check(found: tuple[str, ...]) -> str | None:
        if found == header:
            return None
        missing = [c for c in header if c not in found]
        extra = [c for c in found if c not in header]
        detail = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else [])
        return (f"not the {what} header ({'; '.join(detail) or 'columns out of order'}); "
                f"expected exactly: {','.join(header)}")

    return read_checked_csv(file_name, data, check)


def refuse_ragged_last_line(file_name: str, text: str, n_columns: int) -> None:
    """A last line with fewer fields than the header is a truncated download: refuse it."""
    lines = [line for line in text[-65536:].splitlines() if line.strip()]
    if len(lines) < 2:
        return
    fields = next(csv.reader([lines[-1]]))
    if len(fields) < n_columns:
        raise FileRefused(
            file_name,
            f"the last line has {len(fields)} field(s) where the header has {n_columns}: the file "
            "looks truncated (download it again)",
        )


def period_table(labels: list[str]) -> pl.DataFrame:
    """label → period_start, period_end, period_error (None when the label reads)."""
    rows = []
    for label in labels:
        try:
            p = parse_period(label)
            rows.append((label, p.start, p.end, None))
        except PeriodError as exc:
            rows.append((label, None, None, str(exc)))
    return pl.DataFrame(rows, schema={"label": pl.String, "period_start": pl.Date,
                                      "period_end": pl.Date, "period_error": pl.String},
                        orient="row")


def parse_counts(frame: pl.DataFrame, columns: list[str] | tuple[str, ...],
                 markers: tuple[str, ...]) -> tuple[pl.DataFrame, list[Reject]]:
    """Each column → ``<col>__v`` (Float64) and ``<col>__n`` (marker note); garbage and negative
    numbers reject their row."""
    rejects: list[Reject] = []
    for col in columns:
        values, notes, errors = parse_numbers(frame[col], markers)
        frame = frame.with_columns(values.alias(f"{col}__v"), notes.alias(f"{col}__n"),
                                   errors.alias("_err"))
        rejects += row_rejects(frame, pl.col("_err"), col, "not a number")
        frame = frame.filter(~pl.col("_err"))
        negative = pl.col(f"{col}__v") < 0
        rejects += row_rejects(frame, negative, col, "negative: a count cannot be below 0")
        frame = frame.filter(~negative.fill_null(False))
    return frame.drop("_err", strict=False), rejects


def sum_or_null(value: str = "value", note: str = "value_note") -> list[pl.Expr]:
    """Group aggregations: the sum, or null (with the notes) when any part is withheld."""
    return [
        pl.when(pl.col(value).null_count() > 0).then(None).otherwise(pl.col(value).sum())
        .alias(value),
        pl.col(note).drop_nulls().unique().sort().str.join("; ").alias(note),
    ]


def observations(frame: pl.DataFrame, source: str, vintage: str) -> pl.DataFrame:
    """A long frame (measure, area_code, period_start/end, some breakdowns, value, value_note)
    → exactly the observation columns."""
    missing = [b for b in BREAKDOWNS if b not in frame.columns]
    return frame.with_columns(
        *[pl.lit("").alias(b) for b in missing],
        pl.col("value").cast(pl.Float64),
        pl.col("value_note").replace("", None).cast(pl.String),
        pl.lit(source).alias("source"), pl.lit(vintage).alias("vintage"),
    ).select(OBSERVATION_COLUMNS)


def header_fields(data: bytes) -> tuple[str, ...]:
    line = first_line(data)
    try:
        fields = next(csv.reader([line]))
    except StopIteration:
        return ()
    return tuple(f.replace("\ufeff", "").strip() for f in fields)


# --- the timeliness loader ------------------------------------------------------------------


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
