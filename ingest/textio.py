"""Turning the bytes of a CSV or spreadsheet into a frame of strings, or saying why not."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from ingest.base import FileRefused

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
    """A CSV as a frame of strings (header as found), plus the encoding that read it."""
    text, encoding = decode_text(file_name, data)
    try:
        frame = pl.read_csv(
            io.StringIO(text), infer_schema=False, truncate_ragged_lines=False,
            empty_string_is_null=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRefused(file_name, f"not a readable CSV: {first}") from None
    return frame, encoding


def read_spreadsheet_strings(file_name: str, data: bytes) -> pl.DataFrame:
    """The first sheet of an XLSX/ODS workbook as a frame of strings."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet_name = _data_sheet(book.sheet_names)
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=True)
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise FileRefused(file_name, f"not a readable spreadsheet: {exc}") from None
    rows = [r for r in rows if any(str(v).strip() for v in r)]
    if not rows:
        raise FileRefused(file_name, "the file is empty")
    header = [str(h).strip() for h in rows[0]]
    body = [[_cell(v) for v in r] + [""] * (len(header) - len(r)) for r in rows[1:]]
    return pl.DataFrame(body, schema=header, orient="row") if body else pl.DataFrame(
        schema={h: pl.String for h in header}
    )


def _data_sheet(names: list[str]) -> str:
    for name in names:
        if name.strip().casefold() in ("data", "extract", "board extract"):
            return name
    return names[0]


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10]
    return "" if value is None else str(value)


def read_table_strings(path: Path, data: bytes) -> tuple[pl.DataFrame, str]:
    """CSV or spreadsheet → frame of strings, by extension and magic bytes."""
    if path.suffix.casefold() in SPREADSHEET_TYPES or data.startswith(_ZIP_MAGIC):
        return read_spreadsheet_strings(path.name, data), "spreadsheet"
    return read_csv_strings(path.name, data)


def normalise_header(name: str) -> str:
    """'Numerator ' → 'numerator'; 'Age group' → 'age_group'."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").casefold()).strip("_")


def first_line(data: bytes, limit: int = 4096) -> str:
    """The header line of a text file, for detection (BOM and encoding tolerant)."""
    head = data[:limit]
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return head.decode(encoding).splitlines()[0] if head else ""
        except (UnicodeDecodeError, IndexError):
            continue
    return ""
