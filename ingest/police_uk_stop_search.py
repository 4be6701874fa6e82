"""data.police.uk stop and search: one row per search, one file per force and month.

The monthly download names each file ``YYYY-MM-<force>-stop-and-search.csv``
(``2019-06-greater-manchester-stop-and-search.csv``). The force is in the file name only, never
in the rows: the slug after the month is resolved as an area, and a file whose name has no
resolvable force slug is refused. UTF-8, CRLF, exactly this header::

    Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,
    Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,
    Outcome,Outcome linked to object of search,Removal of more than just outer clothing

Months are Europe/London local time. ``Date`` is a UTC timestamp
(``2019-05-31T23:01:00+00:00``); each search is assigned to the month of its UK local time, so
that search (00:01 BST on 1 June) counts in June 2019, as data.police.uk files it. A search
whose local month is not the month in the file name is rejected (it belongs to another file,
and counting it here would overwrite that month's figures).

Every accepted record is kept in ``raw.police_uk_stop_search`` (reloading a force and month
replaces that slice). Per force and month the loader emits:

- ``stop_searches``: in total; by ethnicity (officer-defined: White, Black, Asian, Other, Mixed;
  blank → "Not stated"); by sex (Gender; blank → "Not stated"); by age_group (Age range; blank
  → "Not stated"); and by outcome (Outcome; blank → "Not stated");
- ``stop_searches_ethnicity_recorded``: searches with a known officer-defined ethnicity;
- ``stop_searches_self_defined``: in total and by the self-defined ethnicity's five groups
  ("White - …" → White, "Black/African/Caribbean/Black British - …" → Black, "Asian/Asian
  British - …" → Asian, "Mixed/Multiple ethnic groups - …" → Mixed, "Other ethnic group - Not
  stated" and blank → Not stated, other "Other ethnic group - …" → Other);
- ``stop_search_arrests``: searches with outcome "Arrest", in total and by officer-defined
  ethnicity. These are not the Home Office arrests statistics (measure ``arrests``).

Outcomes: before April 2018 forces used other words ("Suspect arrested", "Nothing found - no
further action", "Local resolution", "Offender given drugs possession warning", "Suspect
summonsed to court", "Offender given penalty notice", "Article found - Detailed outcome
unavailable"); both vocabularies map to one outcome set (``OUTCOMES``), so arrests count in
every month; a word in neither is a reject. Blank flags ("Part of a policing operation",
"Outcome linked to object of search", "Removal of more than just outer clothing") are *not
recorded* (null), never False. A file re-saved by Excel loads where its changes are
unambiguous: TRUE/FALSE for True/False, and "Oct-17" for the age range 10-17.

Vehicle-only searches are searches too: they count in every total, and as they usually have no
person, under "Not stated". Measures that the registry does not list yet are left out with a
note (the records are still kept).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from ingest.base import FileRefused, Loader, ReadContext, ReadResult, SourceSpec
from ingest.police_uk_records import (
    NOT_STATED,
    OBSERVATION_SCHEMA,
    Check,
    area_notes,
    header_line,
    month_end,
    read_police_csv,
    replace_raw_slices,
    validate,
)
from ingest.police_uk_rollup import observations_of, rollup_frame

HEADER: tuple[str, ...] = (
    "Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
    "Longitude", "Gender", "Age range", "Self-defined ethnicity", "Officer-defined ethnicity",
    "Legislation", "Object of search", "Outcome", "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)
SPEC = SourceSpec(
    name="police_uk_stop_search",
    title="data.police.uk stop and search (monthly, by force)",
    publisher="data.police.uk (Home Office)",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=HEADER,
)
FILE_NAME = re.compile(r"^(\d{4})-(\d{2})-(.+)-stop-and-search\.csv$", re.IGNORECASE)
LOCAL_TIME = "Europe/London"
SEARCH_TYPES = ("Person search", "Person and Vehicle search", "Vehicle search")
OFFICER_ETHNICITY = {g: g for g in ("White", "Black", "Asian", "Other", "Mixed")}
SELF_DEFINED_PREFIX = {
    "White": "White",
    "Black/African/Caribbean/Black British": "Black",
    "Asian/Asian British": "Asian",
    "Mixed/Multiple ethnic groups": "Mixed",
    "Other ethnic group": "Other",
    # The 2001-census wording data.police.uk used before the 2011 categories:
    "Black or Black British": "Black",
    "Asian or Asian British": "Asian",
    "Mixed": "Mixed",
}
SELF_DEFINED_NOT_STATED = "Other ethnic group - Not stated"
GENDERS = ("Male", "Female", "Other")
AGE_RANGES = ("under 10", "10-17", "18-24", "25-34", "over 34")
AGE_RESAVED = {"Oct-17": "10-17"}
"""Excel reads "10-17" as a date (October 2017) and writes it back as "Oct-17": unambiguous,
as no other age range looks like a date."""
BOOLEANS = {"True": True, "False": False, "TRUE": True, "FALSE": False, "true": True,
            "false": False}
"""As published (True/False), and as Excel re-saves them (TRUE/FALSE). Blank is null: not
recorded (Merseyside left "Part of a policing operation" blank in every row of 2018), never
False."""
ARREST = "Arrest"
OUTCOMES: dict[str, str] = {
    # the outcome set data.police.uk has used since April 2018 (Home Office ASB 2017/18)
    ARREST: ARREST,
    "Summons / charged by post": "Summons / charged by post",
    "Caution (simple or conditional)": "Caution (simple or conditional)",
    "Khat or Cannabis warning": "Khat or Cannabis warning",
    "Penalty Notice for Disorder": "Penalty Notice for Disorder",
    "Community resolution": "Community resolution",
    "A no further action disposal": "A no further action disposal",
    # the words used before April 2018, mapped to the same outcomes
    "Suspect arrested": ARREST,
    "Suspect summonsed to court": "Summons / charged by post",
    "Offender cautioned": "Caution (simple or conditional)",
    "Offender given drugs possession warning": "Khat or Cannabis warning",
    "Offender given penalty notice": "Penalty Notice for Disorder",
    "Local resolution": "Community resolution",
    "Nothing found - no further action": "A no further action disposal",
    # no counterpart in the current set: an outcome of its own
    "Article found - Detailed outcome unavailable": "Article found - outcome unavailable",
}
"""Every outcome word seen → one outcome set, so that arrests count in every month. The older
"Article found - Detailed outcome unavailable" says an item was found but not what followed:
it is not an arrest and not "no further action", so it stays a group of its own."""
RAW_TABLE = "raw.police_uk_stop_search"
RAW_DDL = f"""CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
    month DATE NOT NULL,              -- the month of the search in Europe/London local time
    area_code VARCHAR NOT NULL,       -- the force named in the file name, resolved
    force_slug VARCHAR NOT NULL,      -- as in the file name, e.g. greater-manchester
    search_type VARCHAR NOT NULL,
    searched_at_utc TIMESTAMP NOT NULL,
    part_of_operation BOOLEAN,
    policing_operation VARCHAR,
    latitude DOUBLE,
    longitude DOUBLE,
    gender VARCHAR,
    age_range VARCHAR,
    self_defined_ethnicity VARCHAR,
    officer_defined_ethnicity VARCHAR,
    legislation VARCHAR,
    object_of_search VARCHAR,
    outcome VARCHAR,                  -- in the one outcome set (OUTCOMES), whichever words the file used
    outcome_linked_to_object BOOLEAN,
    removal_more_than_outer_clothing BOOLEAN,
    run_id BIGINT NOT NULL
)"""
_RAW_COLUMNS = {
    "month": "period_start", "area_code": "area_code", "force_slug": "force_slug",
    "search_type": "Type", "searched_at_utc": "searched_at_utc",
    "part_of_operation": "part_of_operation", "policing_operation": "Policing operation",
    "latitude": "lat", "longitude": "lon", "gender": "Gender", "age_range": "age_range",
    "self_defined_ethnicity": "Self-defined ethnicity",
    "officer_defined_ethnicity": "Officer-defined ethnicity", "legislation": "Legislation",
    "object_of_search": "Object of search", "outcome": "outcome_set",
    "outcome_linked_to_object": "outcome_linked",
    "removal_more_than_outer_clothing": "removal",
}
_BOOLEAN_COLUMNS = {
    "Part of a policing operation": "part_of_operation",
    "Outcome linked to object of search": "outcome_linked",
    "Removal of more than just outer clothing": "removal",
}


def detect(path: Path, data: bytes) -> bool:
    return header_line(data) == ",".join(HEADER)


def force_from_file_name(file_name: str, context: ReadContext) -> tuple[date, str, str]:
    """(month, force slug, area code) from ``YYYY-MM-<force>-stop-and-search.csv``."""
    match = FILE_NAME.match(file_name)
    if not match or not 1 <= int(match[2]) <= 12:
        raise FileRefused(
            file_name,
            "a data.police.uk stop-and-search file names its force only in the file name, and "
            "this name is not 'YYYY-MM-<force>-stop-and-search.csv' as downloaded: rename it "
            "(e.g. 2019-06-greater-manchester-stop-and-search.csv)",
        )
    slug = match[3]
    code = context.resolve_area(slug)
    if code is None:
        raise FileRefused(
            file_name,
            f"the force in the file name ('{slug}') is not a police force cjsdash knows: "
            "use the data.police.uk force id, e.g. greater-manchester",
        )
    return date(int(match[1]), int(match[2]), 1), slug, code


def _outcome() -> pl.Expr:
    """The published outcome word → the one outcome set (null when blank or unknown)."""
    return pl.col("Outcome").str.strip_chars().replace_strict(OUTCOMES, default=None)


def _derived(file_month: date, slug: str, code: str) -> list[list[pl.Expr]]:
    utc = pl.col("Date").str.to_datetime("%Y-%m-%dT%H:%M:%S%z", strict=False, time_zone="UTC")
    local = pl.col("searched_at").dt.convert_time_zone(LOCAL_TIME)
    prefix = pl.col("Self-defined ethnicity").str.split_exact(" - ", 1).struct.field("field_0")
    self_group = (
        pl.when(pl.col("Self-defined ethnicity").is_null()
                | (pl.col("Self-defined ethnicity") == SELF_DEFINED_NOT_STATED))
        .then(pl.lit(NOT_STATED))
        .otherwise(prefix.replace_strict(SELF_DEFINED_PREFIX, default=None))
    )
    first = [
        pl.lit(code).alias("area_code"), pl.lit(slug).alias("force_slug"),
        pl.lit(file_month).alias("file_month"),
        pl.lit(month_end(file_month)).alias("period_end"),
        utc.alias("searched_at"),
        pl.when(pl.col("Officer-defined ethnicity").is_null()).then(pl.lit(NOT_STATED))
        .otherwise(pl.col("Officer-defined ethnicity").replace_strict(OFFICER_ETHNICITY,
                                                                       default=None))
        .alias("officer_group"),
        self_group.alias("self_group"),
        pl.col("Gender").fill_null(NOT_STATED).alias("sex"),
        pl.col("Age range").replace(AGE_RESAVED).alias("age_range"),
        pl.col("Age range").replace(AGE_RESAVED).fill_null(NOT_STATED).alias("age_group"),
        _outcome().alias("outcome_set"),
        pl.when(pl.col("Outcome").is_null()).then(pl.lit(NOT_STATED)).otherwise(_outcome())
        .alias("outcome"),
        pl.col("Latitude").cast(pl.Float64, strict=False).alias("lat"),
        pl.col("Longitude").cast(pl.Float64, strict=False).alias("lon"),
        *[pl.col(c).replace_strict(BOOLEANS, default=None, return_dtype=pl.Boolean).alias(a)
          for c, a in _BOOLEAN_COLUMNS.items()],
    ]
    second = [
        pl.date(local.dt.year(), local.dt.month(), 1).alias("period_start"),
        pl.col("searched_at").dt.replace_time_zone(None).alias("searched_at_utc"),
    ]
    return [first, second]


def _checks(file_month: date) -> list[Check]:
    checks: list[Check] = [
        ("Type", ~pl.col("Type").is_in(SEARCH_TYPES).fill_null(False),
         f"unknown search type (expected one of: {', '.join(SEARCH_TYPES)})"),
        ("Date", pl.col("searched_at").is_null(),
         "not a timestamp like 2019-06-01T12:30:00+00:00"),
        ("Date", pl.col("period_start") != pl.lit(file_month),
         f"the search is not in {file_month:%B %Y} ({LOCAL_TIME} time), the month in the "
         "file name"),
        ("Officer-defined ethnicity", pl.col("officer_group").is_null(),
         f"unknown officer-defined ethnicity (expected {', '.join(OFFICER_ETHNICITY)} or blank)"),
        ("Self-defined ethnicity", pl.col("self_group").is_null(),
         "unknown self-defined ethnicity: not one of the census groups"),
        ("Gender", pl.col("Gender").is_not_null() & ~pl.col("Gender").is_in(GENDERS),
         f"unknown gender (expected {', '.join(GENDERS)} or blank)"),
        ("Age range", pl.col("age_range").is_not_null() & ~pl.col("age_range").is_in(AGE_RANGES),
         f"unknown age range (expected {', '.join(AGE_RANGES)} or blank)"),
        ("Outcome", pl.col("Outcome").is_not_null() & pl.col("outcome_set").is_null(),
         "unknown outcome: neither the current data.police.uk outcomes nor the words used "
         "before April 2018"),
    ]
    checks += [(c, pl.col(a).is_null() & pl.col(c).is_not_null(), "not a number")
               for c, a in (("Latitude", "lat"), ("Longitude", "lon"))]
    checks += [(c, pl.col(a).is_null() & pl.col(c).is_not_null(),
                "expected True, False (TRUE, FALSE) or blank")
               for c, a in _BOOLEAN_COLUMNS.items()]
    return checks


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    file_month, slug, code = force_from_file_name(path.name, context)
    frame = read_police_csv(path.name, data, HEADER, "stop and search")
    rows_in = frame.height
    frame, rejects = validate(frame, _derived(file_month, slug, code), _checks(file_month))
    if frame.height == 0:
        return ReadResult("observations", pl.DataFrame(schema=OBSERVATION_SCHEMA), rejects,
                          rows_in, SPEC.name, context.default_vintage)
    vintage = f"police.uk stop and search {file_month:%Y-%m} {slug}; {context.default_vintage}"
    raw = frame.select(pl.col(src).alias(dst) for dst, src in _RAW_COLUMNS.items())
    out, notes = observations_of(
        SPEC.name, rollup_frame(SPEC.name, raw.with_columns(run_id=pl.lit(0, pl.Int64))),
        context, vintage)
    notes.append(f"searches assigned to months in {LOCAL_TIME} local time")
    return ReadResult(
        table="observations", frame=out, rejects=rejects, rows_in=rows_in, source=SPEC.name,
        vintage=vintage, notes=notes + area_notes(frame), raw={RAW_TABLE: raw},
    )


def load_raw(con: duckdb.DuckDBPyConnection, result: ReadResult, run_id: int) -> int:
    return replace_raw_slices(con, RAW_TABLE, RAW_DDL, result.raw[RAW_TABLE], run_id)


LOADER = Loader(spec=SPEC, detect=detect, read=read, load_raw=load_raw)
