"""data.police.uk outcomes: one row per outcome recorded in the month, one file per force.

The monthly download's ``YYYY-MM-<force>-outcomes.csv``: UTF-8, CRLF, exactly this header::

    Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,
    Outcome type

``Month`` is the month the outcome was recorded (not the month of the crime). Every record is
kept in ``raw.police_uk_outcomes`` (reloading a force and month replaces that slice). Per force
("Falls within") and month the loader emits ``police_uk_outcomes``: in total and by outcome
(outcome = the Outcome type, e.g. "Investigation complete; no suspect identified").

data.police.uk outcome types are not the Home Office outcome framework types (1-22) behind the
``crime_outcomes_*`` measures, so they are never loaded as those. The Police Service of
Northern Ireland publishes no outcomes. If the registry does not list ``police_uk_outcomes``
the file is refused with that reason.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ingest.base import FileRefused, Loader, ReadContext, ReadResult, SourceSpec
from ingest.police_uk_records import (
    OBSERVATION_SCHEMA,
    area_check,
    area_code_expr,
    area_notes,
    coordinate_checks,
    coordinate_exprs,
    header_line,
    month_check,
    month_exprs,
    month_label,
    read_police_csv,
    replace_raw_slices,
    validate,
)
from ingest.police_uk_rollup import observations_of, rollup_frame

HEADER: tuple[str, ...] = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Outcome type",
)
SPEC = SourceSpec(
    name="police_uk_outcomes",
    title="data.police.uk outcomes (monthly, by force)",
    publisher="data.police.uk (Home Office)",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=HEADER,
)
MEASURE = "police_uk_outcomes"
RAW_TABLE = "raw.police_uk_outcomes"
RAW_DDL = f"""CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
    month DATE NOT NULL,              -- first day of the month the outcome was recorded
    area_code VARCHAR NOT NULL,       -- "Falls within", resolved
    crime_id VARCHAR,
    reported_by VARCHAR,
    falls_within VARCHAR NOT NULL,
    longitude DOUBLE,                 -- NULL for "No Location" rows
    latitude DOUBLE,
    location VARCHAR,
    lsoa_code VARCHAR,
    lsoa_name VARCHAR,
    outcome_type VARCHAR NOT NULL,
    run_id BIGINT NOT NULL
)"""
_RAW_COLUMNS = {
    "month": "period_start", "area_code": "area_code", "crime_id": "Crime ID",
    "reported_by": "Reported by", "falls_within": "Falls within", "longitude": "lon",
    "latitude": "lat", "location": "Location", "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name", "outcome_type": "Outcome type",
}


def detect(path: Path, data: bytes) -> bool:
    return header_line(data) == ",".join(HEADER)


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    if MEASURE not in context.measures:
        raise FileRefused(
            path.name,
            f"measure '{MEASURE}' is not in the registry's measure catalogue: add it to "
            "metrics/definitions before loading data.police.uk outcomes files",
        )
    frame = read_police_csv(path.name, data, HEADER, "outcomes")
    rows_in = frame.height
    frame, rejects = validate(
        frame,
        [[area_code_expr(frame, "Falls within", context), *month_exprs(frame),
          *coordinate_exprs()]],
        [area_check("Falls within"), month_check(),
         ("Outcome type", pl.col("Outcome type").is_null(), "the outcome type is empty"),
         *coordinate_checks()],
    )
    if frame.height == 0:
        return ReadResult("observations", pl.DataFrame(schema=OBSERVATION_SCHEMA), rejects,
                          rows_in, SPEC.name, context.default_vintage)
    vintage = f"police.uk outcomes {month_label(frame)}; {context.default_vintage}"
    raw = frame.select(pl.col(src).alias(dst) for dst, src in _RAW_COLUMNS.items())
    out, notes = observations_of(
        SPEC.name, rollup_frame(SPEC.name, raw.with_columns(run_id=pl.lit(0, pl.Int64))),
        context, vintage)
    return ReadResult(
        table="observations", frame=out, rejects=rejects, rows_in=rows_in, source=SPEC.name,
        vintage=vintage, notes=notes + area_notes(frame), raw={RAW_TABLE: raw},
    )


def load_raw(con: duckdb.DuckDBPyConnection, result: ReadResult, run_id: int) -> int:
    return replace_raw_slices(con, RAW_TABLE, RAW_DDL, result.raw[RAW_TABLE], run_id)


LOADER = Loader(spec=SPEC, detect=detect, read=read, load_raw=load_raw)
