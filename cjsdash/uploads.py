"""Files uploaded on the data page: check them, save them, and load them as the CLI does.

A composition module (like :mod:`cjsdash.cli`): it joins ``ingest`` to the dashboard, which
may not import ``ingest`` itself. :func:`make_uploader` gives the app factory the callable
the page calls (:data:`layouts.context.Uploader`).

What an upload can and cannot do:

- Only ``.csv``, ``.xlsx``, ``.xlsm`` and ``.ods`` are taken (by the name's extension, any
  case); a spreadsheet must also be a ZIP package, as those formats are. Anything else, an
  empty file or one over ``upload_max_bytes`` is refused before anything is written.
- The file is written only under ``<data_dir>/uploads``, under a name chosen here (time,
  random token, and the original name reduced to letters, digits, ``-`` and ``_``); the
  name the browser sent is never used as a path, and an existing file is never overwritten.
- Nothing in it is executed: CSV is read as text and spreadsheets by calamine, which reads
  cell values only (an ``.xlsm``'s macros are never run).
- It is loaded by :func:`ingest.pipeline.ingest_paths` inside :meth:`Warehouse.writer`
  after :func:`cjsdash.bootstrap.prepare`: the same path as ``cjsdash ingest``, one
  transaction, so a refused or failing file leaves the warehouse as it was.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cjsdash.bootstrap import prepare, refresh_figures
from cjsdash.core import allocators
from cjsdash.core.config import Settings, get_settings
from cjsdash.core.gateway import Warehouse, WarehouseBusy
from layouts.context import Acceptor, Uploader, UploadOutcome

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport

ALLOWED_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".xlsm", ".ods")
SPREADSHEET_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm", ".ods")
ZIP_MAGIC = b"PK\x03\x04"
UPLOAD_FOLDER = "uploads"
REJECTS_SHOWN = 10
_STEM_CHARS = 48
MAX_SHOWN_CHARS = 120
MAX_SUFFIX_CHARS = 16

log = logging.getLogger(__name__)


class UploadRefused(ValueError):
    """The upload was refused before it was saved; the message says why, for the user."""


def upload_dir(settings: Settings) -> Path:
    """The one folder uploads are written to."""
    return Path(settings.data_dir) / UPLOAD_FOLDER


def _base_name(file_name: str) -> str:
    """The last part of whatever path was sent, printable characters only, stripped."""
    base = re.split(r"[\\/]", file_name or "")[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()


def _split_suffix(base: str) -> tuple[str, str]:
    """(stem, suffix) of a base name; the suffix is "" for a name without one, or for a
    "suffix" too long to be an extension (no allowed one is over 5 characters)."""
    suffix = Path(base).suffix if "." in base.strip(".") else ""
    if len(suffix) > MAX_SUFFIX_CHARS:
        suffix = ""
    return (base[: -len(suffix)] if suffix else base), suffix


def display_name(file_name: str) -> str:
    """The name to show: the last part of whatever path was sent, printable, at most
    :data:`MAX_SHOWN_CHARS`; a longer one keeps its extension and loses the end of its stem."""
    base = _base_name(file_name)
    if len(base) > MAX_SHOWN_CHARS:
        stem, suffix = _split_suffix(base)
        base = stem[: MAX_SHOWN_CHARS - len(suffix) - 1].rstrip() + "\u2026" + suffix
    return base or "upload"


def _suffix(file_name: str) -> str:
    """The extension of the name sent (lower case), from the whole name, never a shortened one."""
    return _split_suffix(_base_name(file_name))[1].casefold()


def _safe_stem(file_name: str) -> str:
    stem = _split_suffix(_base_name(file_name))[0]
    ascii_only = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_only).strip("-_")
    return slug[:_STEM_CHARS].strip("-_") or "upload"


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):,.1f} MB"
    if n >= 1024:
        return f"{n / 1024:,.0f} KB"
    return f"{n:,} bytes"


def check_upload(file_name: str, size: int, settings: Settings) -> str:
    """The file's (lower-case) extension if it may be uploaded; else :class:`UploadRefused`."""
    suffix = _suffix(file_name)
    if suffix not in ALLOWED_SUFFIXES:
        what = f"a {suffix} file" if suffix else "a file without an extension"
        raise UploadRefused(
            f"{what} cannot be uploaded: choose a CSV (.csv) or a spreadsheet "
            "(.xlsx, .xlsm or .ods)")
    if size <= 0:
        raise UploadRefused("the file is empty")
    if size > settings.upload_max_bytes:
        raise UploadRefused(
            f"the file is {_size_text(size)}, over the {_size_text(settings.upload_max_bytes)} "
            "limit for uploads; load it with `cjsdash ingest` instead")
    return suffix


def save_upload(file_name: str, content: bytes, settings: Settings) -> Path:
    """Check ``content`` and write it under ``<data_dir>/uploads`` with a name chosen here.

    ``file_name`` is what the browser sent: only its extension decides anything, and a
    cleaned-up form of its last part is kept in the new name so that people recognise it.
    """
    suffix = check_upload(file_name, len(content), settings)
    if suffix in SPREADSHEET_SUFFIXES and not content.startswith(ZIP_MAGIC):
        raise UploadRefused(
            f"this is not a {suffix} spreadsheet (the file's contents are not a spreadsheet "
            "package); save it from the spreadsheet program again, or as CSV")
    folder = upload_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{secrets.token_hex(4)}-{_safe_stem(file_name)}{suffix}"
    if path.resolve().parent != folder.resolve():  # cannot happen with the name above
        raise UploadRefused("the file could not be saved safely")
    with path.open("xb") as out:  # never overwrite
        out.write(content)
    return path


def ingest_upload(warehouse: Warehouse, path: Path, shrink_floor: float | None = None
                  ) -> IngestReport:
    """Load one saved upload exactly as ``cjsdash ingest PATH`` does (one transaction);
    ``shrink_floor`` 0 as ``--accept-shrink``."""
    from ingest.pipeline import ingest_paths  # here: the readers never need the loaders

    # freed pages given back as they are freed while it loads (decision 54)
    with allocators.eager_return(), warehouse.writer() as con:
        prepare(con)
        [report] = ingest_paths(con, [Path(path)], shrink_floor=shrink_floor)
        # a refused or unchanged file is logged too (a run, its rejects): the mart's tables
        # and version follow it, else its stamp no longer matches and pages fall back to
        # computing (the whole-set plan alone takes minutes)
        refresh_figures(con)
    return report


def outcome(shown: str, path: Path, report: IngestReport) -> UploadOutcome:
    """The page's view of an ingest report (the line is the CLI's line)."""
    line = report.line()
    if report.status == "unchanged":  # the copy just saved is removed: name the user's file
        line = f"{shown}: unchanged: {report.message}"
    if report.status == "skipped":
        line = (f"{shown}: refused: {report.message}. Upload a board performance "
                "extract (area, period, measure, numerator, denominator) or a published "
                "format cjsdash reads.")
    return UploadOutcome(
        file_name=shown, status=report.status, line=line, saved_as=path.name,
        run_id=report.run_id, rows_rejected=report.rows_rejected,
        rejects=tuple((r.row, r.column, r.value, r.reason)
                      for r in report.rejects[:REJECTS_SHOWN]),
        can_accept=report.status == "refused" and report.shrinking,
    )


def handle_upload(warehouse: Warehouse, file_name: str, content: bytes,
                  settings: Settings) -> UploadOutcome:
    """Save and load one upload; never raises for a bad file (the outcome says what happened)."""
    shown = display_name(file_name)
    try:
        path = save_upload(file_name, content, settings)
    except UploadRefused as exc:
        return UploadOutcome(shown, "rejected", f"{shown}: refused: {exc}")
    return _load(warehouse, shown, path, None, keep=False)


def _load(warehouse: Warehouse, shown: str, path: Path, shrink_floor: float | None, *,
          keep: bool) -> UploadOutcome:
    """Ingest a saved upload; never raises for a bad file. Unless ``keep``, a file nothing
    will refer to (not logged, a copy of a load, or the warehouse busy) is removed."""
    try:
        report = ingest_upload(warehouse, path, shrink_floor)
    except WarehouseBusy as exc:
        if not keep:
            path.unlink(missing_ok=True)
        return UploadOutcome(shown, "failed", f"{shown}: not loaded: {exc}",
                             saved_as=path.name if keep else "")
    except Exception as exc:  # a loader bug must not take the page down; nothing was committed
        log.exception("loading upload %s (%s) failed", shown, path.name)
        return UploadOutcome(shown, "failed", f"{shown}: not loaded: {type(exc).__name__} "
                             "while loading; nothing was changed", saved_as=path.name)
    if report.status in ("skipped", "unchanged") and not keep:
        path.unlink(missing_ok=True)  # nothing refers to it: not logged, or a copy of a load
    return outcome(shown, path, report)


SAVED_NAME = re.compile(
    rf"[0-9]{{8}}T[0-9]{{6}}-[0-9a-f]{{8}}-[A-Za-z0-9_-]{{1,{_STEM_CHARS}}}\.(?:csv|xlsx|xlsm|ods)")
"""The names :func:`save_upload` gives, and the only names :func:`accept_upload` loads."""


def accept_upload(warehouse: Warehouse, saved_as: str, file_name: str,
                  settings: Settings) -> UploadOutcome:
    """Load an upload kept under ``<data_dir>/uploads`` after it was refused as cut short,
    accepting the drop as ``cjsdash ingest --accept-shrink`` does: the user has said it is
    real. ``saved_as`` comes back from the browser, so it is trusted only as a name this
    module gives to a file that is in the uploads folder itself, whose latest run the run log
    says was refused as cut short; anything else is refused without being opened."""
    from ingest.pipeline_shrink import REFUSAL  # here: the readers never need the loaders

    shown = display_name(file_name)
    folder = upload_dir(settings).resolve()
    path = folder / str(saved_as)
    try:
        kept = (isinstance(saved_as, str) and SAVED_NAME.fullmatch(saved_as) is not None
                and path.resolve().parent == folder and path.is_file())
    except OSError:
        kept = False
    if not kept:
        return UploadOutcome(shown, "rejected", f"{shown}: refused: that upload is not kept "
                             "here any more; upload the file again")
    latest = warehouse.reader().execute(
        "SELECT status, message FROM meta.ingest_runs WHERE file_name = ? "
        "ORDER BY run_id DESC LIMIT 1", [saved_as]).fetchall()
    if not latest or latest[0][0] != "refused" or not latest[0][1].startswith(REFUSAL):
        return UploadOutcome(shown, "rejected", f"{shown}: refused: that upload was not "
                             "refused as cut short, so there is nothing to load anyway")
    return _load(warehouse, shown, path, 0.0, keep=True)


def make_uploader(warehouse: Warehouse) -> Uploader:
    """The callable the data page calls; settings are read at each upload."""

    def upload(file_name: str, content: bytes) -> UploadOutcome:
        return handle_upload(warehouse, file_name, content, get_settings())

    return upload


def make_acceptor(warehouse: Warehouse) -> Acceptor:
    """The callable the data page calls to load a kept upload anyway; settings at each call."""

    def accept(saved_as: str, file_name: str) -> UploadOutcome:
        return accept_upload(warehouse, saved_as, file_name, get_settings())

    return accept
