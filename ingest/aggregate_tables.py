"""Generic helpers for published aggregate tables read as CSV (MoJ, CJS, ONS, Nomis).

Reading a CSV whose header must match, refusing a truncated download, parsing count columns with
their suppression markers, rejecting rows with a reason, reading period labels, and shaping a
long frame into ``core.observations`` columns. Every loader of an aggregate table uses these; no
loader imports another.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

import polars as pl

from cjsdash.core.periods import PeriodError, parse_period
from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, Reject
from ingest.textio import decode_text, first_line, read_csv_strings
from ingest.values import parse_numbers

NOT_APPLICABLE = ("-", "")
"""Cells that mark a level or figure that does not apply."""
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
    "value", "value_note", "source", "vintage",
)


def normalise_label(text: str) -> str:
    return " ".join(str(text).replace("\u2019", "'").replace("\ufeff", "").split()).casefold()


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


def columns_problem(columns: tuple[str, ...], required: tuple[str, ...],
                    allowed: tuple[str, ...], what: str) -> str | None:
    """Why a header is not ``what`` (a required column missing, one not allowed, one repeated),
    or None: every column of ``required`` and the others only from ``allowed``."""
    missing = [c for c in required if c not in columns]
    extra = [c for c in columns if c not in required and c not in allowed]
    if not missing and not extra and len(set(columns)) == len(columns):
        return None
    return f"not {what}: " + "; ".join(
        ([f"missing {', '.join(missing)}"] if missing else [])
        + ([f"unexpected {', '.join(extra)}"] if extra else [])
        + ([] if missing or extra else ["a column is repeated"]))


def read_rows(file_name: str, data: bytes,
              check_header: Callable[[tuple[str, ...]], str | None],
              ) -> tuple[pl.DataFrame, list[str]]:
    """:func:`read_checked_csv` as the aggregate loaders read it: cells stripped, a ``row``
    column (the file's line number; the header is line 1), refused when there are no rows;
    with the load's notes (the encoding, when it is not UTF-8)."""
    raw, encoding = read_checked_csv(file_name, data, check_header)
    if raw.height == 0:
        raise FileRefused(file_name, "the file has a header but no data rows")
    frame = raw.with_row_index("row", offset=2).with_columns(pl.col(pl.String).str.strip_chars())
    return frame, ([f"read as {encoding}"] if encoding != "UTF-8" else [])


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
