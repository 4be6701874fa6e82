"""Reading a Home Office open data table as published: plain or gzip-compressed CSV (UTF-8,
refused with the reason when it is not), or the data sheet of the ODS/XLSX, with cheap header
detection. Shared by ``ingest.home_office_outcomes`` and ``ingest.home_office_stop_search``
(not a loader: nothing here is detected); what they do with the rows is in
``ingest.home_office_tables``.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from ingest.base import FileRefused, Reject
from ingest.spreadsheets import read_sheet_rows, sheet_headers
from ingest.textio import decode_text, normalise_header

_GZIP_MAGIC = b"\x1f\x8b"
_END = "\x1e"  # end-of-line marker (ASCII record separator), see read_utf8_csv
SPREADSHEET_TYPES = (".ods", ".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
DATA_SHEETS = ("open_data", "s&s_od", "od_5+1")
"""The data sheets' names in the ODS as published (stop and search: ``open_data``, older
``S&S_OD``; arrests: ``OD_5+1``), tried first; any other sheet whose first row is a known
header is found too (e.g. the outcomes tables' ``Outcomes_open_data__2017-18``)."""

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
