"""data.police.uk street-level crime: one row per crime or anti-social behaviour incident.

The monthly "street" download has one CSV per force and month
(``2021-06/2021-06-cumbria-street.csv``; the members of a ZIP of them are parsed one by one
and validated and counted together, :func:`read_batch`), UTF-8 with CRLF line endings and
exactly this header::

    Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,
    Crime type,Last outcome category,Context

Per force ("Falls within") and month the loader emits:

- ``recorded_crimes``: every row except crime type "Anti-social behaviour", in total
  (offence_group '') and by crime type (offence_group = the crime type);
- ``recorded_crimes`` by outcome = the last outcome category (offence_group ''), so that
  outcome shares are computable against the total. Crimes with no last outcome (British
  Transport Police and PSNI publish none) are outcome "Not stated";
- ``asb_incidents``: the "Anti-social behaviour" rows (they have no Crime ID and no outcome).

Counts are counts of rows, as data.police.uk publishes them (a Crime ID can repeat). British
Transport Police (``BTP``) and the Police Service of Northern Ireland (``N23000001``) are kept
and flagged in the load's notes: they are areas outside England and Wales, so they never enter
England and Wales totals (see ``cjsdash.core.rollup``).

Every accepted record is kept in ``raw.police_uk_street``; reloading a force and month
replaces that slice. A row whose force is unknown or empty, whose month is not YYYY-MM, whose
crime type is empty or whose coordinates are not numbers is rejected (``meta.rejects``, with
its line number in the file: the header is line 1). A file that is not UTF-8, has another
header or ends in a partial line is refused. The file does not say which release it came from
(later releases carry later outcomes for the same month), so the vintage names the month and
the file as loaded.

The helpers it shares with the other data.police.uk loaders live in :mod:`ingest.police_uk_records`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ingest.base import FileRefused, Loader, ReadContext, ReadResult, SourceSpec
from ingest.police_uk_records import (
    OBSERVATION_SCHEMA,
    OUTSIDE_ENGLAND_WALES,
    area_check,
    area_code_expr,
    coordinate_checks,
    coordinate_exprs,
    header_line,
    month_check,
    month_exprs,
    outside_notes,
    read_police_csv,
    replace_raw_slices,
    replace_raw_slices_runs,
    validate_files,
)
from ingest.police_uk_rollup import observations_of, rollup_frame

HEADER: tuple[str, ...] = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
SPEC = SourceSpec(
    name="police_uk_street",
    title="data.police.uk street-level crime (monthly, by force)",
    publisher="data.police.uk (Home Office)",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=HEADER,
)
RAW_TABLE = "raw.police_uk_street"
RAW_DDL = f"""CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
    month DATE NOT NULL,              -- first day of the file's Month
    area_code VARCHAR NOT NULL,       -- "Falls within", resolved (BTP, N23000001 included)
    crime_id VARCHAR USING COMPRESSION zstd,  -- NULL for anti-social behaviour rows; 64 hex
                                      -- digits: zstd, not DuckDB's dictionary + FSST: the insert
                                      -- 7% faster, the table 3% larger (decision 37, "Since")
    reported_by VARCHAR,
    falls_within VARCHAR NOT NULL,
    longitude DOUBLE,                 -- NULL for "No Location" rows
    latitude DOUBLE,
    location VARCHAR,
    lsoa_code VARCHAR,
    lsoa_name VARCHAR,
    crime_type VARCHAR NOT NULL,
    last_outcome VARCHAR,
    context VARCHAR,
    run_id BIGINT NOT NULL
)"""
_RAW_COLUMNS = {
    "month": "period_start", "area_code": "area_code", "crime_id": "Crime ID",
    "reported_by": "Reported by", "falls_within": "Falls within", "longitude": "lon",
    "latitude": "lat", "location": "Location", "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name", "crime_type": "Crime type",
    "last_outcome": "Last outcome category", "context": "Context",
}
# --- the street-level loader -------------------------------------------------------------------


def detect(path: Path, data: bytes) -> bool:
    return header_line(data) == ",".join(HEADER)


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    [outcome] = read_batch([(path, data, context)])
    if isinstance(outcome, FileRefused):
        raise outcome
    return outcome


FILE = "_file"
"""The column numbering each row's file in a batch."""


def read_batch(files: list[tuple[Path, bytes, ReadContext]]) -> list[ReadResult | FileRefused]:
    """Each file parsed on its own (its encoding, header and last line checked, its line
    numbers kept), then all validated and counted in one pass: for a ZIP of forty forces,
    one pass instead of forty."""
    outcomes: list[ReadResult | FileRefused | None] = [None] * len(files)
    frames, rows_in = [], {}
    for i, (path, data, _) in enumerate(files):
        try:
            frame = read_police_csv(path.name, data, HEADER, "street-level crime")
        except FileRefused as exc:
            outcomes[i] = exc
            continue
        rows_in[i] = frame.height
        frames.append(frame.with_columns(pl.lit(i, pl.Int64).alias(FILE)))
    if frames:
        contexts = [context for _, _, context in files]
        for i, result in _read_rows(pl.concat(frames), contexts, rows_in).items():
            outcomes[i] = result
    assert all(outcome is not None for outcome in outcomes)  # parsed files have rows
    return outcomes  # type: ignore[return-value]


def _read_rows(frame: pl.DataFrame, contexts: list[ReadContext], rows_in: dict[int, int]
               ) -> dict[int, ReadResult]:
    """The parsed rows of one or more files (``FILE`` numbers them in ``contexts``, in
    order; ``rows_in`` counts each file's rows)."""
    context = contexts[0]  # areas and measures are the warehouse's: the same for every file
    frame, rejects = validate_files(
        frame,
        [[area_code_expr(frame, "Falls within", context), *month_exprs(frame),
          *coordinate_exprs()]],
        [area_check("Falls within"), month_check(),
         ("Crime type", pl.col("Crime type").is_null(), "the crime type is empty"),
         *coordinate_checks()],
        FILE,
    )
    records = frame.select(*(pl.col(src).alias(dst) for dst, src in _RAW_COLUMNS.items()),
                           pl.col(FILE).alias("run_id"))
    del frame
    # Each file's months and forces, from one small count (a file is one force and month).
    per_file = records.group_by("run_id", "month", "area_code").len().group_by("run_id").agg(
        pl.col("month").min().alias("first"), pl.col("month").max().alias("last"),
        pl.col("area_code").filter(pl.col("area_code").is_in(list(OUTSIDE_ENGLAND_WALES)))
        .unique().alias("outside"), pl.col("len").sum().alias("kept"),
    ).sort("run_id")
    vintages, outside, kept = {}, {}, {}
    for i, first, last, codes, n in per_file.iter_rows():
        months = first.strftime("%Y-%m") + ("" if first == last else f" to {last:%Y-%m}")
        vintages[i] = f"police.uk street {months}; {contexts[i].default_vintage}"
        outside[i] = outside_notes(set(codes))
        kept[i] = n
    out, notes = observations_of(
        SPEC.name, rollup_frame(SPEC.name, records), context,
        pl.col("run_id").replace_strict(vintages, return_dtype=pl.String), keep_run=True)
    out_parts = _by_file(out.rename({"run_id": FILE}))
    raw_parts = _raw_by_file(records, kept)
    empty = pl.DataFrame(schema=OBSERVATION_SCHEMA)
    results = {}
    for i, n in rows_in.items():
        if i not in raw_parts:  # every row rejected
            results[i] = ReadResult("observations", empty, rejects.get(i, []), n, SPEC.name,
                                    contexts[i].default_vintage)
            continue
        results[i] = ReadResult(
            table="observations", frame=out_parts.get(i, empty), rejects=rejects.get(i, []),
            rows_in=n, source=SPEC.name, vintage=vintages[i], notes=notes + outside[i],
            raw={RAW_TABLE: raw_parts[i]},
        )
    return results


def _by_file(frame: pl.DataFrame) -> dict[int, pl.DataFrame]:
    return {key: part for (key,), part in
            frame.partition_by(FILE, as_dict=True, include_key=False).items()}


def _raw_by_file(records: pl.DataFrame, kept: dict[int, int]) -> dict[int, pl.DataFrame]:
    """Each file's records (without ``run_id``): slices of ``records``, not copies. The
    files were concatenated in order and validation keeps the order, so each file's rows
    are contiguous (checked; partitioned when they were not)."""
    if not records["run_id"].is_sorted():
        return {key: part for (key,), part in records.partition_by(
            "run_id", as_dict=True, include_key=False).items()}
    records = records.drop("run_id")
    parts, offset = {}, 0
    for i, n in sorted(kept.items()):
        parts[i] = records.slice(offset, n)
        offset += n
    return parts


def load_raw(con: duckdb.DuckDBPyConnection, result: ReadResult, run_id: int) -> int:
    return replace_raw_slices(con, RAW_TABLE, RAW_DDL, result.raw[RAW_TABLE], run_id)


def load_raw_runs(con: duckdb.DuckDBPyConnection, runs: list[tuple[ReadResult, int]]) -> int:
    return replace_raw_slices_runs(con, RAW_TABLE, RAW_DDL,
                                   [(result.raw[RAW_TABLE], run_id) for result, run_id in runs])


LOADER = Loader(spec=SPEC, detect=detect, read=read, load_raw=load_raw,
                load_raw_runs=load_raw_runs, read_batch=read_batch)
