"""Observations rolled up from a Parquet lake (``cjsdash lake rollup``), loaded back.

``police_uk_observations.parquet``: one row per measure, force, month and breakdown, the
columns of :data:`ingest.police_uk_rollup.OUTPUT_COLUMNS`, computed by the same SQL the
data.police.uk loaders run, on DuckDB or Spark. The file's Parquet metadata names the engine
and the lake (``cjsdash.police_uk_rollup``, ``cjsdash.lake``): the loader recognises the file
by it and keeps both in each observation's vintage and in the load's notes. Each row keeps the
source of its records (``police_uk_street``…), so a month loaded from the lake revises the
same observations a direct ingest of its files made.

A file with other columns or types is refused; a row whose force is not one cjsdash knows,
whose month is missing, whose value is not a count or whose source is not a data.police.uk
one is rejected (its row number in the file, counted from 1). Two rows with the same key
(a lake holding a force's month twice) refuse the file. Measures the registry does not list
are left out with a note.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cjsdash.core.schema import BREAKDOWNS, OBSERVATION_KEY
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, SourceSpec
from ingest.police_uk_records import OBSERVATION_SCHEMA, area_notes, validate
from ingest.police_uk_rollup import ENGINE_KEY, LAKE_KEY, MEASURES, OUTPUT_COLUMNS

SPEC = SourceSpec(
    name="police_uk_lake_rollup",
    title="data.police.uk observations rolled up from a Parquet lake (DuckDB or Spark)",
    publisher="data.police.uk (Home Office), rolled up by cjsdash lake",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=OUTPUT_COLUMNS,
    file_types=(".parquet",),
)
TYPES = {
    "measure": pl.String, "area_code": pl.String, "period_start": pl.Date,
    "period_end": pl.Date, **dict.fromkeys(BREAKDOWNS, pl.String), "value": pl.Float64,
    "source": pl.String, "run_id": pl.Int64,
}


def _metadata(data: bytes) -> dict[bytes, bytes] | None:
    try:
        return pq.read_schema(pa.BufferReader(data)).metadata or {}
    except (pa.ArrowInvalid, OSError):
        return None


def detect(path: Path, data: bytes) -> bool:
    metadata = _metadata(data)
    return metadata is not None and ENGINE_KEY in metadata


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    metadata = _metadata(data)
    if metadata is None or ENGINE_KEY not in metadata:
        raise FileRefused(path.name, "not a Parquet file written by 'cjsdash lake rollup'")
    engine = metadata[ENGINE_KEY].decode()
    lake = metadata.get(LAKE_KEY, b"an unnamed lake").decode()
    try:
        frame = pl.from_arrow(pq.read_table(pa.BufferReader(data)))
    except (pa.ArrowException, OSError) as exc:  # a damaged page or footer
        raise FileRefused(path.name, f"not a readable Parquet file ({str(exc).strip()[:200]})"
                          ) from None
    assert isinstance(frame, pl.DataFrame)
    for column, dtype in TYPES.items():
        if column not in frame.columns:
            raise FileRefused(path.name, f"no column '{column}': not a lake rollup's output")
        if frame.schema[column] != dtype:
            raise FileRefused(path.name, f"column '{column}' is {frame.schema[column]}, "
                                         f"expected {dtype}")
    rows_in = frame.height
    frame = frame.with_row_index("row", offset=1)
    codes = {c: context.resolve_area(c) for c in frame["area_code"].unique().to_list() if c}
    frame, rejects = validate(frame, [[
        pl.col("area_code").replace_strict(codes, default=None, return_dtype=pl.String)
        .alias("known_area"),
    ]], [
        ("measure", pl.col("measure").is_null(), "the measure is empty"),
        ("area_code", pl.col("known_area").is_null(), "not an area cjsdash knows"),
        ("period_start", pl.col("period_start").is_null(), "the month is empty"),
        ("period_end", pl.col("period_end").is_null(), "the month's end is empty"),
        ("value", ~(pl.col("value").is_finite() & (pl.col("value") >= 0)),
         "not a count (a finite number, 0 or more)"),
        ("source", ~pl.col("source").is_in(list(MEASURES)),
         f"not a data.police.uk source ({', '.join(MEASURES)})"),
        *[(b, pl.col(b).is_null(), "a breakdown is '' for all, never empty") for b in BREAKDOWNS],
    ])
    key = list(OBSERVATION_KEY)
    duplicated = frame.filter(pl.struct(key).is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise FileRefused(path.name, f"rows {', '.join(map(str, duplicated['row'][:5]))} repeat "
                          f"one key ({first['measure']}, {first['area_code']}, "
                          f"{first['period_start']}): the lake holds a month twice")
    measures = {m for ms in MEASURES.values() for m in ms}
    notes = [f"rolled up on {engine} from the lake {lake}"]
    notes += [f"measure '{m}' is not in the registry's measure catalogue: not loaded"
              for m in sorted(measures - context.measures)
              if m in set(frame["measure"].unique().to_list())]
    vintage = f"police.uk lake rollup on {engine} of {lake}; {context.default_vintage}"
    out = frame.filter(pl.col("measure").is_in(sorted(context.measures))).select(
        "measure", pl.col("known_area").alias("area_code"), "period_start", "period_end",
        *BREAKDOWNS, "value", pl.lit(None, dtype=pl.String).alias("value_note"), "source",
        pl.lit(vintage).alias("vintage"),
    ).cast(OBSERVATION_SCHEMA)  # type: ignore[arg-type]
    return ReadResult(
        table="observations", frame=out, rejects=rejects, rows_in=rows_in, source=SPEC.name,
        vintage=vintage, notes=notes + area_notes(out),
    )


LOADER = Loader(spec=SPEC, detect=detect, read=read)
