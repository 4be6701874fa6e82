"""Turning the bytes of a CSV or spreadsheet into a frame of strings, or saying why not."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import polars as pl

from ingest.base import FileRefused, Reject
from ingest.spreadsheets import MAX_COLUMNS, read_sheet_rows

SPREADSHEET_TYPES = (".xlsx", ".xlsm", ".xls", ".ods")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def decode_text(file_name: str, data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Returns (text, encoding used). Refuses bytes that are not text at all.
    """
    if not data.strip():
        raise FileRefused(file_name, "the file is empty")
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
        raise FileRefused(
            file_name, "this is a spreadsheet or archive, not a CSV: save it as .xlsx or .csv"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    if b"\x00" in data[:4096]:
        raise FileRefused(file_name, "the file is not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileRefused(
                file_name,
                f"the file is neither UTF-8 nor Windows-1252 text (bad byte at offset {exc.start})",
            ) from None
        return text, "Windows-1252"


def read_csv_strings(file_name: str, data: bytes) -> tuple[pl.DataFrame, str]:
    """A CSV as a frame of strings (header as found), plus the encoding that read it.

    A row polars cannot take (an extra field, a stray quote) is quarantined, not the file:
    see :func:`parse_csv_text`.
    """
    text, encoding = decode_text(file_name, data)
    return parse_csv_text(file_name, text, empty_is_null=False), encoding


def check_width(file_name: str, columns: int) -> None:
    """Refuse a header wider than any table cjsdash reads (bounds time and memory)."""
    if columns > MAX_COLUMNS:
        raise FileRefused(file_name, f"the header has {columns:,} columns; cjsdash reads "
                          f"tables of up to {MAX_COLUMNS:,} columns")


def parse_csv_text(file_name: str, text: str, *, empty_is_null: bool) -> pl.DataFrame:
    """CSV text → frame of strings. Rows polars cannot parse are quarantined one by one
    (:func:`quarantined_rows`) and kept as blank rows so later row numbers stay true;
    outside a quarantine collector, such a file is refused as before."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        text = normalise_line_endings(text.encode()).decode()
    header_end = text.find("\n")
    check_width(file_name, text.count(",", 0, header_end if header_end >= 0 else len(text)) + 1)
    try:
        # bytes, not a StringIO (which holds four bytes a character): a 29 MB file's read
        # peaks at 100 MB over its text, not 210, and is 40% faster; polars encodes either
        return pl.read_csv(text.encode(), infer_schema=False, truncate_ragged_lines=False,
                           empty_string_is_null=empty_is_null)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        collector = _QUARANTINE.get()
        if collector is None or not text.strip():
            raise FileRefused(file_name, f"not a readable CSV: {first[:300]}") from None
    frame, bad = _parse_row_by_row(text, empty_is_null)
    collector.setdefault(file_name, []).extend(bad)
    return frame


_QUARANTINE: ContextVar[dict[str, list[Reject]] | None] = ContextVar("quarantine", default=None)


@contextmanager
def quarantined_rows() -> Iterator[dict[str, list[Reject]]]:
    """Collect, by file name, the rows the CSV readers quarantine while files are read (the
    pipeline adds them to each file's rejects, in place of what the loader said about the
    blank row kept in their place)."""
    rows: dict[str, list[Reject]] = {}
    token = _QUARANTINE.set(rows)
    try:
        yield rows
    finally:
        _QUARANTINE.reset(token)


class _Lines:
    """Physical lines, consumed by csv.reader, with the position visible (to resync)."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.at = lines, start

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.at >= len(self.lines):
            raise StopIteration
        self.at += 1
        return self.lines[self.at - 1]


def _parse_row_by_row(text: str, empty_is_null: bool) -> tuple[pl.DataFrame, list[Reject]]:
    """The slow, careful path: csv.reader (strict), one record at a time; a record with the
    wrong number of fields or a stray quote is quarantined and reading resumes at the line
    after the one it started on (an unclosed quote swallows one line, not the file)."""
    lines = text.splitlines(keepends=True)
    header = next(csv.reader(lines[:1]), [])
    width = len(header)
    names = unique_header(header)
    source = _Lines(lines, 1)
    reader = csv.reader(source, strict=True)
    records: list[list[str]] = []
    bad: list[Reject] = []
    row = 2  # the header is row 1
    while True:
        start = source.at
        try:
            record: list[str] | None = next(reader)
            why = ""
        except StopIteration:
            break
        except csv.Error as exc:
            record, why = None, f"malformed CSV ({exc})"
        if record == []:
            continue  # a blank line is no row
        if record is not None and len(record) == width:
            records.append(record)
        else:
            if record is not None:
                why = f"the row has {len(record)} fields where the header has {width}"
            bad.append(Reject(row, None, lines[start].rstrip("\r\n"),
                              why + ": row quarantined (an unquoted comma or a stray quote?)"))
            records.append([""] * width)
            source.at = start + 1
            reader = csv.reader(source, strict=True)
        row += 1
    frame = pl.DataFrame(records, schema=dict.fromkeys(names, pl.String), orient="row")
    if empty_is_null:
        frame = frame.with_columns(pl.all().replace("", None))
    return frame, bad


def unique_header(names: list[str]) -> list[str]:
    """Column names polars accepts: a blank is 'column_N', a repeat 'name_duplicated_K'."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names, start=1):
        name = name or f"column_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_duplicated_{seen[name] - 1}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def read_spreadsheet_strings(file_name: str, data: bytes) -> pl.DataFrame:
    """The data sheet of an XLSX/ODS workbook as a frame of strings (read once per file,
    bounded in memory and time: ingest.spreadsheets)."""
    rows = [r for r in read_sheet_rows(file_name, data) if any(v.strip() for v in r)]
    if not rows:
        raise FileRefused(file_name, "the file is empty")
    header = unique_header([h.strip() for h in rows[0]])
    check_width(file_name, len(header))
    body = [r[: len(header)] + [""] * (len(header) - len(r)) for r in rows[1:]]
    return pl.DataFrame(body, schema=header, orient="row") if body else pl.DataFrame(
        schema={h: pl.String for h in header}
    )


def read_table_strings(path: Path, data: bytes) -> tuple[pl.DataFrame, str]:
    """CSV or spreadsheet → frame of strings, by extension and magic bytes."""
    if path.suffix.casefold() in SPREADSHEET_TYPES or data.startswith(_ZIP_MAGIC):
        return read_spreadsheet_strings(path.name, data), "spreadsheet"
    return read_csv_strings(path.name, data)


_LONE_CR = re.compile(rb"\r(?!\n)")


def normalise_line_endings(data: bytes) -> bytes:
    """CR LF and LF stay as they are (one search for a CR not ending a line decides, so a
    clean 80 MB file is not rewritten); '\\r\\r\\n' and a CR ending the file become LF; a
    lone CR inside a line is a space, unless the file has no LF at all (old Mac endings)."""
    if _LONE_CR.search(data) is None:  # every CR ends a line: 3.4× faster than two counts
        return data
    if b"\n" not in data:
        return data.replace(b"\r", b"\n")
    return re.sub(rb"\r+(\n|$)", b"\n", data).replace(b"\r", b" ")


def normalise_header(name: str) -> str:
    """'Numerator ' → 'numerator'; 'Age group' → 'age_group'."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").casefold()).strip("_")


def first_line(data: bytes, limit: int = 4096) -> str:
    """The header line of a text file, for detection (BOM and encoding tolerant)."""
    head = data[:limit]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (head[: len(head) // 2 * 2].decode("utf-16", "replace").splitlines() or [""])[0]
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return head.decode(encoding).splitlines()[0] if head else ""
        except (UnicodeDecodeError, IndexError):
            continue
    return ""
