"""Why no loader recognised a file, in a sentence the user can act on.

Near misses get their own advice: a semicolon- or tab-separated export, UTF-16 text, a
board extract without one of its columns, an image or a ZIP named as a spreadsheet.
"""

from __future__ import annotations

from pathlib import Path

from ingest.base import FileRefused
from ingest.spreadsheets import MAX_COLUMNS
from ingest.textio import (
    SPREADSHEET_TYPES,
    first_line,
    normalise_header,
    read_spreadsheet_strings,
)

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"MZ": "a Windows program",
    b"\x7fELF": "a program",
    b"\x1f\x8b": "a gzip archive",
    b"PK\x03\x04": "a ZIP package",
    b"PK\x05\x06": "an empty ZIP package",
    b"\xd0\xcf\x11\xe0": "an old Office (OLE) file",
    b"<?xml": "an XML document",
    b"<html": "a web page",
    b"<!doctype": "a web page",
}
BOARD_COLUMNS = ("area", "period", "measure")
TEMPLATE = ("a board extract needs the columns area, period, measure and numerator or "
            "value (docs/board-extract-template.md)")


def why_unrecognised(path: Path, data: bytes) -> str:
    """The reason a file is not a format cjsdash recognises."""
    if not data.strip():
        return "the file is empty" if not data else "the file holds only blank space"
    head = data[:16].lstrip().lower()
    if path.suffix.casefold() in SPREADSHEET_TYPES and head.startswith((b"pk", b"\xd0\xcf")):
        return _spreadsheet(path, data)
    for magic, what in _MAGIC.items():
        if head.startswith(magic.lower()):
            return _binary(path, what)
    if data.startswith(b"PAR1"):
        return ("a Parquet file that 'cjsdash lake rollup' did not write: cjsdash loads "
                "Parquet only as a lake rollup's observations (engine and lake in its metadata)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > 20:
        header = first_line(data)
        return ("the file is UTF-16 text: save it as 'CSV UTF-8 (comma delimited)'"
                + _named_columns(header, ","))
    if b"\x00" in data[:4096]:
        return "the file is binary, not text: cjsdash reads CSV and spreadsheets"
    end = data.find(b"\n")
    width = data.count(b",", 0, end if end >= 0 else len(data)) + 1
    if width > MAX_COLUMNS:
        return (f"the header has {width:,} columns; cjsdash reads tables of up to "
                f"{MAX_COLUMNS:,} columns")
    header = first_line(data)
    for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if header.count(sep) >= 2 and header.count(",") < header.count(sep):
            return (f"the columns are separated by {what}, not commas: save it as 'CSV UTF-8 "
                    f"(comma delimited)'" + _named_columns(header, sep))
    return "not a format cjsdash recognises" + _named_columns(header, ",")


def _spreadsheet(path: Path, data: bytes) -> str:
    """A workbook no loader took: why it cannot be read, or what its first row holds."""
    try:
        frame = read_spreadsheet_strings(path.name, data)
    except FileRefused as exc:
        return exc.reason
    return ("the workbook's data sheet is not in a layout cjsdash recognises"
            + _named_columns(",".join(frame.columns), ","))


def _binary(path: Path, what: str) -> str:
    suffix = path.suffix.casefold()
    if what.startswith(("a ZIP", "an empty ZIP", "an old Office")):
        return (f"the file is {what} but not a sheet in a layout cjsdash recognises; "
                + TEMPLATE)
    return f"the file is {what}, not {suffix or 'data'}: cjsdash reads CSV and spreadsheets"


def _named_columns(header: str, sep: str) -> str:
    """': its header is …', and which board extract column is missing when it is close."""
    names = [normalise_header(c) for c in header.split(sep)]
    shown = header.strip()[:120] + ("…" if len(header.strip()) > 120 else "")
    text = f"; its first line is '{shown}'" if shown else ""
    found = [c for c in BOARD_COLUMNS if c in names]
    if len(found) >= 2:
        missing = [c for c in BOARD_COLUMNS if c not in names]
        if missing:
            return f"{text}. It looks like a board extract without column(s) {', '.join(missing)}"
        if not {"numerator", "value"} & set(names):
            return f"{text}. It looks like a board extract without numerator or value"
    return text + ". " + TEMPLATE[0].upper() + TEMPLATE[1:]
