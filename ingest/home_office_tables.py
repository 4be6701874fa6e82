"""Helpers the Home Office open data loaders share (not a loader: nothing here is detected).

Reading a published table (CSV, gzip-compressed CSV, or the data sheet of the ODS as
published), cheap header detection, area and period resolution, counts with publisher markers,
and the observation frame. Used by ``ingest.home_office_outcomes`` and
``ingest.home_office_stop_search``; no loader imports another.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from cjsdash.core.periods import PeriodError, grain_of, parse_period
from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, ReadContext, Reject
from ingest.spreadsheets import read_sheet_rows, sheet_headers
from ingest.textio import decode_text, normalise_header
from ingest.values import parse_numbers

_GZIP_MAGIC = b"\x1f\x8b"
_END = "\x1e"  # end-of-line marker (ASCII record separator), see read_utf8_csv
SPREADSHEET_TYPES = (".ods", ".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
DATA_SHEETS = ("open_data", "s&s_od", "od_5+1")
"""The data sheets' names in the ODS as published (stop and search: ``open_data``, older
``S&S_OD``; arrests: ``OD_5+1``), tried first; any other sheet whose first row is a known
header is found too (e.g. the outcomes tables' ``Outcomes_open_data__2017-18``)."""
NOT_STATED = "Not stated"
VEHICLE_SEARCH = "N/A - vehicle search"
"""A search of a vehicle alone: no person, so no ethnicity to record. Its own group (the
snake_case tables publish it so), not Not stated and not a reject; it counts in the total but
not in the searches whose ethnicity was recorded."""
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other", NOT_STATED, VEHICLE_SEARCH)
SEXES = ("Male", "Female", "Other", NOT_STATED)
OBSERVATION_COLUMNS = (
    "measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
    "value", "value_note", "source", "vintage",
)

def is_gzip(data: bytes) -> bool:
    return data[:2] == _GZIP_MAGIC


def gunzip(file_name: str, data: bytes) -> bytes:
    """The decompressed bytes of a gzip file (in memory), or the bytes as they are."""
    if not is_gzip(data):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise FileRefused(
            file_name, f"the gzip file is truncated or damaged ({exc}); download it again"
        ) from None


def head_text(data: bytes, limit: int = 65_536) -> str:
    """The first line of a (possibly gzip-compressed) text file, cheaply, for detection."""
    head = data[:limit]
    if is_gzip(head):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16_384)
        except zlib.error:
            return ""
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            lines = head.decode(encoding).splitlines()
        except UnicodeDecodeError:
            continue
        return lines[0] if lines else ""
    return ""


def header_key(line: str) -> frozenset[str]:
    """A header line as the set of its normalised column names (quotes and case aside)."""
    try:
        names = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return frozenset()
    return frozenset(normalise_header(n) for n in names)


def read_utf8_csv(file_name: str, data: bytes) -> tuple[pl.DataFrame, list[Reject]]:
    """A published UTF-8 CSV as a frame of strings, columns renamed to normalised names, with a
    ``row`` column (file line number: the header is line 1).

    Refuses text that is not UTF-8 (the Home Office publishes UTF-8; a file re-saved as
    Windows-1252 has mangled dashes) and a truncated file (a short last line). A short line
    elsewhere is a rejected row. The CSV reader pads short lines with empty cells, so every
    line gets an end marker as an extra last field first: on a short line the marker lands in
    an earlier column. (These tables have no line breaks inside quoted cells.) The bytes are
    read as they are, without a decoded copy: the reader checks the UTF-8.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = decode_text(file_name, data)[0].encode("utf-8")
    elif not data.strip() or data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or (
            b"\x00" in data[:4096]):
        decode_text(file_name, data)  # raises FileRefused saying what the file is instead
    data = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    long_rows: list[Reject] = []
    try:
        frame = _marked_csv(data)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        _refuse_encoding(file_name, data)
        data, long_rows = _blank_long_lines(data)
        if not long_rows:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FileRefused(file_name, f"not a readable CSV: {first}") from None
        frame = _marked_csv(data)  # the over-long lines blanked: their rows are rejects
    if frame.columns[-1] != _END:
        raise FileRefused(file_name, "not a readable CSV: the header line could not be read")
    frame = frame.rename({c: normalise_header(c) for c in frame.columns[:-1]})
    frame = frame.with_row_index("row", offset=2).with_columns(pl.col("row").cast(pl.Int64))
    if frame.height == 0:
        raise FileRefused(file_name, "the file has a header but no data rows")
    short = pl.col(_END) != _END
    if frame.tail(1).select(short).item():
        raise FileRefused(
            file_name,
            f"the file looks truncated: its last line (line {frame['row'][-1]}) has fewer "
            "fields than the header",
        )
    long = {r.row for r in long_rows}
    rejects = [*long_rows, *(Reject(int(r), None, None, "the line has fewer fields than the header")
                             for r in frame.filter(short)["row"] if int(r) not in long)]
    rejects.sort(key=lambda r: r.row or 0)
    return frame.filter(~short & ~pl.col("row").is_in(list(long))).drop(_END), rejects


def _marked_csv(data: bytes) -> pl.DataFrame:
    return pl.read_csv(data.replace(b"\n", b"," + _END.encode() + b"\n"), infer_schema=False,
                       truncate_ragged_lines=False, empty_string_is_null=False)


def _blank_long_lines(data: bytes) -> tuple[bytes, list[Reject]]:
    """Lines with more fields than the header (an extra comma, a stray quote), each replaced by
    an empty line of the header's width so the file's other rows load and keep their line
    numbers; (data, one reject per such line). These tables have no line breaks in cells."""
    lines = data.decode("utf-8").split("\n")
    width = len(next(csv.reader([lines[0]]), []))
    rejects: list[Reject] = []
    for i, line in enumerate(lines[1:], start=2):
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error as exc:  # a stray carriage return or quote inside the line
            reason = f"the line cannot be read as CSV ({exc}): the row is left out"
        else:
            if len(fields) <= width:
                continue
            reason = (f"the line has {len(fields)} fields, more than the header's {width}: "
                      "the row is left out")
        rejects.append(Reject(i, None, line[:200], reason))
        lines[i - 1] = "," * (width - 1)
    return "\n".join(lines).encode("utf-8"), rejects


def _refuse_encoding(file_name: str, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            file_name,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "the Home Office publishes these tables as UTF-8: save the sheet as 'CSV UTF-8'",
        ) from None


# --- CSV or the data sheet of an ODS/XLSX, as published -------------------------------------

Match = Callable[[frozenset[str]], bool]
"""Whether a header (its set of normalised column names) is a layout the caller reads."""


def is_spreadsheet(path: Path, data: bytes) -> bool:
    return path.suffix.casefold() in SPREADSHEET_TYPES or data[:4] == _ZIP_MAGIC


def table_key(path: Path, data: bytes, match: Match) -> frozenset[str] | None:
    """The header of a CSV (gzip or plain), or of the first sheet of a workbook whose header
    ``match`` accepts; None when there is none."""
    if not is_spreadsheet(path, data):
        key = header_key(head_text(data))
        return key if match(key) else None
    return next((key for _, key in _sheet_headers(data) if match(key)), None)


def read_table(path: Path, data: bytes, match: Match
               ) -> tuple[pl.DataFrame, list[Reject], str | None]:
    """A published table as a frame of strings with normalised column names and a ``row``
    column (the line or sheet row number), its short-line rejects, and the sheet read (None
    for a CSV)."""
    if not is_spreadsheet(path, data):
        frame, rejects = read_utf8_csv(path.name, gunzip(path.name, data))
        return frame, rejects, None
    sheet = next((name for name, key in _sheet_headers(data) if match(key)), None)
    if sheet is None:
        raise FileRefused(path.name, "no sheet of this workbook has the columns of a Home "
                          f"Office open data table (sheets named {', '.join(DATA_SHEETS)} are "
                          "the data sheets as published)")
    return _sheet_frame(path.name, data, sheet), [], sheet


def _sheet_headers(data: bytes) -> tuple[tuple[str, frozenset[str]], ...]:
    """(sheet, header key) for each sheet, the published data sheets first, read through the
    bounded reader (:mod:`ingest.spreadsheets`: a stray cell at XFD1048576 is refused, not a
    549 GB allocation); cached there, so the loaders' detections share one parse."""
    try:
        sheets = sheet_headers("workbook", data)
    except FileRefused:  # detection says no; reading refuses with the reason
        return ()
    names = sorted(sheets, key=lambda s: s[0].strip().casefold() not in DATA_SHEETS)
    return tuple((name, frozenset(normalise_header(c) for c in first if c.strip()))
                 for name, first in names if first)


def _sheet_frame(file_name: str, data: bytes, sheet: str) -> pl.DataFrame:
    rows = read_sheet_rows(file_name, data, sheet)  # FileRefused says why it cannot be read
    if not rows:
        raise FileRefused(file_name, f"the sheet '{sheet}' is empty")
    header = [normalise_header(str(c)) for c in rows[0]]
    width = len(header)
    numbered = [(i, [_cell(v) for v in r[:width]] + [""] * (width - len(r)))
                for i, r in enumerate(rows[1:], start=2) if any(str(v).strip() for v in r)]
    if not numbered:
        raise FileRefused(file_name, f"the sheet '{sheet}' has a header but no data rows")
    frame = pl.DataFrame([r for _, r in numbered], schema=header, orient="row")
    return frame.with_columns(pl.Series("row", [i for i, _ in numbered], pl.Int64)).select(
        "row", *header)


def _cell(value: object) -> str:
    """A cell as the CSV would show it: 7.0 → '7', a date → its ISO date, empty → ''."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10]
    return "" if value is None else str(value).strip()


def row_rejects(frame: pl.DataFrame, mask: pl.Expr, column: str | None,
                reason: str | pl.Expr, value_col: str | None = None) -> list[Reject]:
    """A Reject per row of ``frame`` where ``mask`` holds (rows are few: a loop is fine)."""
    bad = frame.filter(mask)
    if bad.height == 0:
        return []
    why = (bad.select(reason).to_series().to_list() if isinstance(reason, pl.Expr)
           else [reason] * bad.height)
    values = bad[value_col or column] if (value_col or column) in bad.columns else None
    return [
        Reject(int(r), column, None if values is None else values[i], why[i])
        for i, r in enumerate(bad["row"].to_list())
    ]


def resolve_areas(frame: pl.DataFrame, name_col: str, context: ReadContext,
                  code_col: str | None = None) -> tuple[pl.DataFrame, list[Reject]]:
    """Add ``area_code`` from a force name (and an ONS code column where the file has one).

    Where both the code and the name resolve they must agree; an unknown area is a reject.
    """
    def lookup(col: str) -> pl.Expr:
        names = frame[col].unique().to_list()
        codes = {n: context.resolve_area(n) for n in names}
        return pl.col(col).replace_strict(codes, default=None, return_dtype=pl.String)

    by_name = lookup(name_col)
    if code_col is None:
        frame = frame.with_columns(by_name.alias("area_code"))
        conflict = pl.lit(False)
    else:
        frame = frame.with_columns(by_name.alias("_by_name"), lookup(code_col).alias("_by_code"))
        conflict = (pl.col("_by_name") != pl.col("_by_code")).fill_null(False)
        frame = frame.with_columns(pl.coalesce("_by_code", "_by_name").alias("area_code"))
    rejects = row_rejects(
        frame, conflict, code_col, pl.lit("the code names a different area from the force name '")
        + pl.col(name_col) + pl.lit("'"),
    )
    frame = frame.filter(~conflict)
    missing = pl.col("area_code").is_null()
    rejects += row_rejects(
        frame, missing, name_col,
        pl.when(pl.col(name_col) == "").then(pl.lit("the force name is empty")).otherwise(
            pl.lit("unknown area: not a police force name or ONS code cjsdash knows")),
    )
    frame = frame.filter(~missing)
    if code_col is not None:
        frame = frame.drop("_by_name", "_by_code")
    return frame, rejects


def resolve_periods(frame: pl.DataFrame, label: pl.Expr, column: str,
                    grain: str) -> tuple[pl.DataFrame, list[Reject]]:
    """Add ``period_start``/``period_end`` from a period label; only ``grain`` periods pass."""
    frame = frame.with_columns(label.alias("_period"))
    parsed: dict[str, tuple[object, object, str]] = {}
    for text in frame["_period"].unique().to_list():
        try:
            p = parse_period(text)
        except PeriodError as exc:
            parsed[text] = (None, None, f"unreadable period: {exc}")
            continue
        ok = grain_of(p.start, p.end) == ("quarter" if grain == "fquarter" else grain)
        parsed[text] = (p.start, p.end, "") if ok else (
            None, None, f"'{text}' is not a financial {'quarter' if grain == 'fquarter' else 'year'}")
    labels = list(parsed)
    lookup = pl.DataFrame(
        {"_period": labels, "period_start": [parsed[k][0] for k in labels],
         "period_end": [parsed[k][1] for k in labels],
         "_period_error": [parsed[k][2] for k in labels]},
        schema={"_period": pl.String, "period_start": pl.Date, "period_end": pl.Date,
                "_period_error": pl.String},
    )
    frame = frame.join(lookup, on="_period", how="left", maintain_order="left")
    bad = pl.col("period_start").is_null()
    rejects = row_rejects(frame, bad, column, pl.col("_period_error"), value_col="_period")
    return frame.filter(~bad).drop("_period", "_period_error"), rejects


def parse_counts(frame: pl.DataFrame, column: str,
                 allow_negative: bool = False) -> tuple[pl.DataFrame, list[Reject]]:
    """Add ``value`` (Float64) and ``note`` from a count column; markers are null with a note."""
    values, notes, errors = parse_numbers(frame[column])
    frame = frame.with_columns(values.alias("value"), notes.alias("note"), errors.alias("_err"))
    rejects = row_rejects(frame, pl.col("_err"), column, "not a number")
    frame = frame.filter(~pl.col("_err")).drop("_err")
    if not allow_negative:
        negative = (pl.col("value") < 0).fill_null(False)
        rejects += row_rejects(frame, negative, column, "negative: a count cannot be below 0")
        frame = frame.filter(~negative)
    return frame, rejects


def sum_counts(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sum ``value`` by ``keys``; a group with a withheld (null) figure is withheld, with the
    publisher's notes."""
    return frame.group_by(keys).agg(
        pl.when(pl.col("value").is_null().any()).then(None)
        .otherwise(pl.col("value").sum()).alias("value"),
        pl.col("note").drop_nulls().unique().sort().str.join("; ").alias("value_note"),
    ).with_columns(pl.col("value_note").replace("", None))


def observations(frame: pl.DataFrame, source: str, vintage: str | pl.Expr) -> pl.DataFrame:
    """Fill the breakdown columns a frame lacks with '' and select the observation columns."""
    fill = [pl.lit("").alias(b) for b in BREAKDOWNS if b not in frame.columns]
    vintage_expr = vintage if isinstance(vintage, pl.Expr) else pl.lit(vintage)
    return frame.with_columns(
        *fill, pl.lit(source).alias("source"), vintage_expr.alias("vintage"),
    ).select(OBSERVATION_COLUMNS).with_columns(
        pl.col("value").cast(pl.Float64), pl.col("value_note").cast(pl.String),
    )


def sort_rejects(rejects: list[Reject]) -> list[Reject]:
    return sorted(rejects, key=lambda r: (r.row or 0, r.column or ""))


# --- conforming the published groups ---------------------------------------------------------

_UNKNOWN = r"^(n/?a|null|)$|not stated|not recorded|not known|unknown"


def ethnic_group(label: pl.Expr) -> pl.Expr:
    """A published ethnicity label → one of ETHNIC_GROUPS, or null when it fits none.

    Order matters: "Mixed - White and Black Caribbean" is Mixed, "Asian - Chinese" is
    Asian (2011 onwards), "Chinese or other" (older tables) is Other, "Gypsy or Irish
    Traveller" and "Roma" are White (as in the census), and "Other ethnic group - Not stated"
    is Not stated.
    """
    text = label.str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.str.contains("vehicle search")).then(pl.lit(VEHICLE_SEARCH))
        .when(text.str.contains(_UNKNOWN)).then(pl.lit(NOT_STATED))
        .when(text.str.contains("mixed")).then(pl.lit("Mixed"))
        .when(text.str.contains("asian")).then(pl.lit("Asian"))
        .when(text.str.contains("black")).then(pl.lit("Black"))
        .when(text.str.contains(r"white|gypsy|traveller|\broma\b|\birish\b")).then(pl.lit("White"))
        .when(text.str.contains(r"other|chinese|arab")).then(pl.lit("Other"))
        .otherwise(None)
    )


def sex_group(label: pl.Expr) -> pl.Expr:
    text = label.str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.str.contains("vehicle search")).then(pl.lit(VEHICLE_SEARCH))
        .when(text.str.contains(_UNKNOWN)).then(pl.lit(NOT_STATED))
        .when(text.is_in(["male", "m", "men"])).then(pl.lit("Male"))
        .when(text.is_in(["female", "f", "women"])).then(pl.lit("Female"))
        .when(text == "other").then(pl.lit("Other"))
        .otherwise(None)
    )


def age_group(label: pl.Expr) -> pl.Expr:
    """"10 - 17 years" → "10-17"; "Under 10 years" → "Under 10"; unknown → Not stated."""
    text = label.str.strip_chars()
    tidy = (
        text.str.replace(r"(?i)\s*(years?|yrs)(\s+old)?$", "")
        .str.replace_all(r"\s*[-–]\s*", "-").str.replace_all(r"\s+", " ")
    )
    tidy = pl.when(tidy.str.slice(0, 1).str.contains(r"[a-z]")).then(
        tidy.str.slice(0, 1).str.to_uppercase() + tidy.str.slice(1)
    ).otherwise(tidy)
    lower = text.str.to_lowercase()
    return (pl.when(lower.str.contains("vehicle search")).then(pl.lit(VEHICLE_SEARCH))
            .when(lower.str.contains(_UNKNOWN)).then(pl.lit(NOT_STATED)).otherwise(tidy))
