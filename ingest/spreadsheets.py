"""Reading a workbook's data sheet safely: bounded in memory and time, and once per file.

calamine builds a dense grid from A1 to the furthest cell, so a 1.6 KB XLSX with one cell at
XFD1048576 asks for 549 GB and aborts the process. Two guards (decision 0014):

1. Before reading, the ZIP is checked (a damaged container is refused with a message) and each
   XLSX worksheet's XML is streamed to find the furthest cell: a sheet reaching beyond
   ``MAX_ROWS`` rows, ``MAX_COLUMNS`` columns or ``MAX_CELLS`` cells is refused, naming the cell.
2. calamine runs in a child process with a memory ceiling and a time limit, so whatever the
   first guard cannot see (ODS repeats, old .xls) costs a refusal, never the dashboard.

The sheet comes back as rows of strings, cached by the bytes' hash: detection and reading
share one parse.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
import zipfile
import zlib
from collections import OrderedDict

from ingest.base import FileRefused

MAX_ROWS = 1_048_576
MAX_COLUMNS = 1_000
MAX_CELLS = 5_000_000
MAX_XML_BYTES = 512 * 1024 * 1024
"""A worksheet's XML, inflated: a larger one is refused before it is read."""
MEMORY_LIMIT = 1536 * 1024 * 1024
TIME_LIMIT = 30.0

_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d{1,7})"')
_CHUNK = 1 << 20
_CACHE: OrderedDict[str, list | FileRefused] = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()

_CHILD = r"""
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import io
from python_calamine import CalamineWorkbook

def cell(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10]
    return "" if value is None else str(value)

book = CalamineWorkbook.from_filelike(io.BytesIO(sys.stdin.buffer.read()))
out = []  # every sheet, in the workbook's order: one parse serves detection and reading
for name in book.sheet_names:
    rows = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
    out.append([name, [[cell(v) for v in row] for row in rows]])
sys.stdout.write(json.dumps(out))
"""


def column_number(letters: bytes) -> int:
    """b'A' → 1, b'XFD' → 16384."""
    number = 0
    for byte in letters:
        number = number * 26 + byte - 64
    return number


def check_zip(file_name: str, data: bytes, what: str = "spreadsheet") -> zipfile.ZipFile:
    """The ZIP container, every member's CRC checked; a damaged one is refused."""
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, OSError,
            NotImplementedError, ValueError) as exc:
        raise FileRefused(file_name, f"not a readable {what}: the ZIP container is damaged "
                          f"or cut short ({exc})") from None
    if bad is not None:
        raise FileRefused(file_name, f"not a readable {what}: member '{bad[:100]}' is "
                          "damaged (bad CRC): download or save it again")
    return archive


def check_sheet_extent(file_name: str, data: bytes) -> None:
    """Refuse an XLSX whose worksheets reach too far (before calamine sizes its grid)."""
    archive = check_zip(file_name, data)
    sheets = [i for i in archive.infolist()
              if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    for info in sheets:
        if info.file_size > MAX_XML_BYTES:
            raise FileRefused(file_name, f"sheet XML '{info.filename}' inflates to "
                              f"{info.file_size:,} bytes; cjsdash reads sheets up to "
                              f"{MAX_XML_BYTES:,} bytes")
        rows, columns, furthest = _extent(archive, info)
        if rows > MAX_ROWS or columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
            raise FileRefused(
                file_name,
                f"a sheet reaches cell {furthest} ({rows:,} rows × {columns:,} columns); "
                f"cjsdash reads sheets up to {MAX_COLUMNS:,} columns and {MAX_CELLS:,} cells: "
                "delete the stray cells far from the data, or save only the data",
            )


def _extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int, str]:
    """(last row, last column, furthest cell reference) of one worksheet, streamed."""
    rows = columns = 0
    furthest = "A1"
    tail = b""
    read = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                read += len(chunk)
                if read > MAX_XML_BYTES:
                    raise FileRefused(archive.filename or "", "sheet XML too large")
                text = tail + chunk
                for m in _CELL_REF.finditer(text):
                    row, col = int(m.group(2)), column_number(m.group(1))
                    if row > rows or col > columns:
                        furthest = f"{m.group(1).decode()}{row}"
                    rows, columns = max(rows, row), max(columns, col)
                for m in _ROW_REF.finditer(text):
                    rows = max(rows, int(m.group(1)))
                cut = text.rfind(b"<")
                tail = text[cut:] if cut >= 0 and len(text) - cut < 65536 else b""
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
        raise FileRefused(archive.filename or "", f"sheet damaged ({exc})") from None
    return rows, columns, furthest


DATA_SHEET_NAMES = ("data", "extract", "board extract")


def read_sheet_rows(file_name: str, data: bytes, sheet: str | None = None) -> list[list[str]]:
    """The data sheet (named Data/Extract, else the first; or the sheet named) as rows of
    strings. Every sheet is parsed once per file and kept (by the bytes' hash)."""
    sheets = _sheets(file_name, data)
    if not sheets:
        raise FileRefused(file_name, "the workbook has no sheets")
    if sheet is not None:
        found = next((rows for name, rows in sheets if name == sheet), None)
        if found is None:
            raise FileRefused(file_name, f"the workbook has no sheet '{sheet}'")
        return found
    return next((rows for name, rows in sheets
                 if name.strip().casefold() in DATA_SHEET_NAMES), sheets[0][1])


def sheet_headers(file_name: str, data: bytes) -> list[tuple[str, list[str]]]:
    """(name, first row) of every sheet, from the same single parse."""
    return [(name, rows[0] if rows else []) for name, rows in _sheets(file_name, data)]


def _sheets(file_name: str, data: bytes) -> list[tuple[str, list[list[str]]]]:
    key = hashlib.sha256(data).hexdigest()
    with _CACHE_LOCK:
        outcome = _CACHE.get(key)
    if outcome is None:
        try:
            outcome = [(name, rows) for name, rows in _read(file_name, data)]
        except FileRefused as exc:
            outcome = exc
        with _CACHE_LOCK:  # uploads are read on the server's threads
            _CACHE[key] = outcome
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    if isinstance(outcome, FileRefused):
        raise FileRefused(file_name, outcome.reason)
    return outcome


def _read(file_name: str, data: bytes) -> list:
    if data.startswith(b"PK\x03\x04"):
        check_sheet_extent(file_name, data)
    elif not data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(file_name, "not a spreadsheet: an .xlsx or .ods file is a ZIP and "
                          "an .xls an OLE container; these bytes are neither")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(MEMORY_LIMIT)], input=data,
            capture_output=True, timeout=TIME_LIMIT, check=False,
        )
    except subprocess.TimeoutExpired:
        raise FileRefused(file_name, f"not a readable spreadsheet: reading it took over "
                          f"{TIME_LIMIT:.0f} s") from None
    if done.returncode != 0:
        raise FileRefused(file_name, f"not a readable spreadsheet: {_why(done.stderr)}")
    return json.loads(done.stdout)


def _why(stderr: bytes) -> str:
    """The child's last error line, in words a user can act on."""
    text = stderr.decode("utf-8", "replace")
    if "MemoryError" in text or "memory allocation" in text:
        return (f"reading it needs more than {MEMORY_LIMIT // 2**20:,} MB "
                "(cells far from the data?)")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "the reader stopped"
    return last.split(": ", 1)[-1][:300] if "Error" in last.split(":", 1)[0] else last[:300]
