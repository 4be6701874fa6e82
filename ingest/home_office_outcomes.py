"""Home Office crime outcomes open data tables: outcomes by force, quarter and offence.

The Home Office publishes "Police recorded crime and outcomes open data tables" (ODS, one row
per force × financial quarter × offence code × outcome type). Two layouts are read, matched
on the exact set of column names (case and punctuation aside):

* **published**: ``Financial Year, Financial Quarter, Force Name, Offence Description,
  Offence Group, Offence Subgroup, Offence Code, Outcome Description, Outcome Group,
  Outcome Type, Force outcomes for offences recorded in quarter, Force outcomes recorded in
  quarter`` (the ODS sheet saved as CSV);
* **snake_case copy**: ``financial_year, financial_quarter, force_name, …, offence_code_expired,
  …, offences, force_outcomes_recorded_in_quarter`` — a third party's ``janitor::clean_names``
  copy of the 2017/18 sheet in which "Force outcomes for offences recorded in quarter" became
  ``offences``; R's ``NA`` marks empty cells.

Either may be gzip-compressed (``.csv.gz``; recognised by its magic bytes, decompressed in
memory).

**Which count.** Figures are the column *Force outcomes recorded in quarter*
(``force_outcomes_recorded_in_quarter``): every outcome the force assigned during the quarter,
whatever quarter the crime was recorded in. The registry defines the charge rate and its
siblings as outcomes *assigned in the period* over all outcomes *assigned in the period*, and
this column is exactly that, final once the quarter is published. The other column, *Force
outcomes for offences recorded in quarter*, follows the cohort of crimes recorded in the
quarter: it includes type 0 "not yet assigned an outcome" and changes with every later
refresh, so it is not used. Outcome type 0 has no figure in this column (blank or ``NA``).

Measures, per force and financial quarter, in total (``offence_group`` '') and by offence
group (the published "Offence Group"):

==================================  ===============================================
measure                             outcome types
==================================  ===============================================
crime_outcomes_assigned             1-22 (every outcome; 0 "not yet assigned" is not one)
crime_outcomes_charged              1
crime_outcomes_victim_withdrawal    14, 16
crime_outcomes_no_suspect           18
crime_outcomes_oocr                 2, 3, 6, 7, 8, 22
==================================  ===============================================

A few published counts are negative (outcomes re-classified after an earlier return); they
are summed as published and counted in the read notes. British Transport Police loads as
area ``BTP``, outside the England and Wales totals.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path

import polars as pl

from cjsdash.core.periods import PeriodError, grain_of, label_period, parse_period
from cjsdash.core.schema import BREAKDOWNS
from ingest.base import FileRefused, Loader, ReadContext, ReadResult, Reject, SourceSpec
from ingest.textio import decode_text, normalise_header
from ingest.values import parse_numbers

SPEC = SourceSpec(
    name="home_office_crime_outcomes",
    title="Home Office police recorded crime and outcomes open data tables (crime outcomes)",
    publisher="Home Office",
    licence="Open Government Licence v3.0",
    kind="published",
    priority=30,
    required_columns=(
        "Financial Year", "Financial Quarter", "Force Name", "Offence Group", "Outcome Type",
        "Force outcomes recorded in quarter",
    ),
    optional_columns=(
        "Offence Description", "Offence Subgroup", "Offence Code", "Outcome Description",
        "Outcome Group", "Force outcomes for offences recorded in quarter",
    ),
    file_types=(".csv", ".gz"),
)

PUBLISHED_COLUMNS = (
    "Financial Year", "Financial Quarter", "Force Name", "Offence Description", "Offence Group",
    "Offence Subgroup", "Offence Code", "Outcome Description", "Outcome Group", "Outcome Type",
    "Force outcomes for offences recorded in quarter", "Force outcomes recorded in quarter",
)
SNAKE_COLUMNS = (
    "financial_year", "financial_quarter", "force_name", "offence_description", "offence_group",
    "offence_subgroup", "offence_code", "offence_code_expired", "outcome_description",
    "outcome_group", "outcome_type", "offences", "force_outcomes_recorded_in_quarter",
)
LAYOUTS: dict[frozenset[str], str] = {
    frozenset(normalise_header(c) for c in PUBLISHED_COLUMNS): "published",
    frozenset(normalise_header(c) for c in SNAKE_COLUMNS): "snake_case copy",
}
COUNT = "force_outcomes_recorded_in_quarter"

MEASURE_TYPES: dict[str, tuple[int, ...]] = {
    "crime_outcomes_assigned": tuple(range(1, 23)),
    "crime_outcomes_charged": (1,),
    "crime_outcomes_victim_withdrawal": (14, 16),
    "crime_outcomes_no_suspect": (18,),
    "crime_outcomes_oocr": (2, 3, 6, 7, 8, 22),
}
NOT_YET_ASSIGNED = 0
NA_VALUES = ("", "NA")
"""Empty cells: blank in the published sheet, ``NA`` in the R-written copy."""

_GZIP_MAGIC = b"\x1f\x8b"
_END = "\x1e"  # end-of-line marker (ASCII record separator), see read_utf8_csv
OBSERVATION_COLUMNS = (
    "measure", "area_code", "period_start", "period_end", *BREAKDOWNS,
    "value", "value_note", "source", "vintage",
)


# --- shared by the Home Office open data loaders ---------------------------------------------

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
    try:
        frame = pl.read_csv(
            data.replace(b"\n", b"," + _END.encode() + b"\n"), infer_schema=False,
            truncate_ragged_lines=False, empty_string_is_null=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        _refuse_encoding(file_name, data)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRefused(file_name, f"not a readable CSV: {first}") from None
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
    rejects = [Reject(int(r), None, None, "the line has fewer fields than the header")
               for r in frame.filter(short)["row"]]
    return frame.filter(~short).drop(_END), rejects


def _refuse_encoding(file_name: str, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            file_name,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "the Home Office publishes these tables as UTF-8: save the sheet as 'CSV UTF-8'",
        ) from None


def row_rejects(frame: pl.DataFrame, mask: pl.Expr, column: str | None,
                reason: str | pl.Expr, value_col: str | None = None) -> list[Reject]:
    """A Reject per row of ``frame`` where ``mask`` holds (rows are few: a loop is fine)."""
    bad = frame.filter(mask)
    if bad.height == 0:
        return []
    why = bad.select(reason if isinstance(reason, pl.Expr) else pl.lit(reason)).to_series()
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


# --- this loader ------------------------------------------------------------------------------

def detect(path: Path, data: bytes) -> bool:
    """Exactly the published or the snake_case copy's column names (gzip or plain)."""
    return header_key(head_text(data)) in LAYOUTS


def read(path: Path, data: bytes, context: ReadContext) -> ReadResult:
    """Validate every row; sum outcome types into the five measures per force and quarter."""
    text = gunzip(path.name, data)
    frame, rejects = read_utf8_csv(path.name, text)
    layout = LAYOUTS.get(frozenset(frame.columns) - {"row"})
    if layout is None:
        raise FileRefused(
            path.name,
            "not a Home Office crime outcomes open data table: expected the columns "
            f"{', '.join(PUBLISHED_COLUMNS)}; found {', '.join(frame.columns[1:]) or 'none'}",
        )
    rows_in = frame.height + len(rejects)
    frame = frame.with_columns(pl.all().exclude("row").str.strip_chars())
    empty = pl.all_horizontal(pl.all().exclude("row").is_in(NA_VALUES))
    rejects += row_rejects(frame, empty, None, "an empty row (every field is blank or NA)")
    frame = frame.filter(~empty)

    frame, bad = resolve_areas(frame, "force_name", context)
    rejects += bad
    label = pl.col("financial_year") + pl.lit(" Q") + pl.col("financial_quarter")
    frame, bad = resolve_periods(frame, label, "financial_quarter", "fquarter")
    rejects += bad
    frame, bad = _outcome_types(frame)
    rejects += bad
    frame, bad = _counts(frame)
    rejects += bad

    out, negative = _measures(frame)
    notes = [f"read the {layout} layout"]
    if negative:
        rows = "1 row has" if negative == 1 else f"{negative:,} rows have"
        notes.append(f"{rows} a negative count (outcomes re-classified after an earlier "
                     "return); summed as published")
    vintage = _vintage(frame, layout)
    return ReadResult(
        table="observations", frame=observations(out, SPEC.name, vintage),
        rejects=sort_rejects(rejects), rows_in=rows_in, source=SPEC.name, vintage=vintage,
        notes=notes,
    )


def _outcome_types(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    frame = frame.with_columns(pl.col("outcome_type").cast(pl.Int64, strict=False).alias("type"))
    bad = ~pl.col("type").is_between(0, 22).fill_null(False)
    rejects = row_rejects(frame, bad, "outcome_type", "not an outcome type 0-22")
    frame = frame.filter(~bad)
    missing_group = pl.col("offence_group").is_in(NA_VALUES) & (pl.col("type") != NOT_YET_ASSIGNED)
    rejects += row_rejects(frame, missing_group, "offence_group", "the offence group is empty")
    return frame.filter(~missing_group), rejects


def _counts(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """Type 0 has no count in this column by design and is dropped; types 1-22 need one."""
    frame = frame.filter(pl.col("type") != NOT_YET_ASSIGNED).with_columns(
        pl.when(pl.col(COUNT) == "NA").then(pl.lit("")).otherwise(pl.col(COUNT)).alias(COUNT)
    )
    frame, rejects = parse_counts(frame, COUNT, allow_negative=True)
    missing = pl.col("value").is_null() & pl.col("note").is_null()
    rejects += row_rejects(frame, missing, COUNT, "missing count for an assigned outcome")
    return frame.filter(~missing), rejects


def _measures(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    keys = ["measure", "area_code", "period_start", "period_end"]
    parts = [
        frame.filter(pl.col("type").is_in(types)).with_columns(pl.lit(m).alias("measure"))
        for m, types in MEASURE_TYPES.items()
    ]
    long = pl.concat(parts).select(*keys, "offence_group", "value", "note")
    by_group = sum_counts(long, [*keys, "offence_group"])
    total = sum_counts(long, keys).with_columns(pl.lit("").alias("offence_group"))
    out = pl.concat([total, by_group.select(total.columns)])
    negative = frame.filter((pl.col("value") < 0).fill_null(False)).height
    return out, negative


def _vintage(frame: pl.DataFrame, layout: str) -> str:
    if frame.height == 0:
        return "Home Office crime outcomes open data tables"
    last = frame.select(pl.col("period_start").max(), pl.col("period_end").max()).row(0)
    text = f"Home Office crime outcomes open data tables, data to {label_period(*last, 'fquarter')}"
    return text + (" (third-party snake_case copy)" if layout != "published" else "")


LOADER = Loader(spec=SPEC, detect=detect, read=read)
