"""What the pages read: the warehouse and the registry, set once by the app factory.

Pages call :func:`get_context` inside ``layout()`` and callbacks, never at import time, so the
same page modules serve any warehouse (the demo, a test fixture, a partnership's own file).

Loading a file is not the pages' business (``layouts`` never imports ``ingest``): the app
factory injects an :data:`Uploader`, a callable that saves and loads an uploaded file and
answers with an :class:`UploadOutcome` (see :mod:`cjsdash.uploads`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from cjsdash.core.gateway import Warehouse
from metrics.registry import Registry


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded file, in words the page can show as they are.

    ``status`` is ``loaded`` or ``unchanged`` (ingest ran and kept the warehouse whole),
    ``refused`` (the file was read and refused; the attempt is logged), ``skipped`` (not a
    format cjsdash recognises), ``rejected`` (refused before it was saved: type or size) or
    ``failed`` (an error while loading; nothing was changed). ``line`` is the one-line
    result (the line ``cjsdash ingest`` prints, for files that reached ingest);
    ``rejects`` the first rejected rows as (row, column, value, reason).
    """

    file_name: str
    status: str
    line: str
    saved_as: str = ""
    run_id: int | None = None
    rows_rejected: int = 0
    rejects: tuple[tuple[int | None, str | None, str | None, str], ...] = field(
        default_factory=tuple)
    can_accept: bool = False
    """Refused as cut short (it would replace figures loaded with far fewer) and kept as
    ``saved_as``: the page offers to load it anyway (:data:`Acceptor`)."""

    @property
    def changed_warehouse(self) -> bool:
        """Whether a load or its log may have changed what the page shows."""
        return self.status in ("loaded", "refused")


Uploader = Callable[[str, bytes], UploadOutcome]
"""uploader(original file name, file bytes) -> outcome. The name is for display only."""


Acceptor = Callable[[str, str], UploadOutcome]
"""acceptor(saved_as, file name shown) -> outcome: load an upload the server kept after
refusing it as cut short, accepting the drop (``cjsdash ingest --accept-shrink``)."""


def _no_uploader(file_name: str, content: bytes) -> UploadOutcome:
    return UploadOutcome(file_name, "rejected",
                         f"{file_name}: refused: this dashboard does not accept uploads")


@dataclass(frozen=True)
class Context:
    warehouse: Warehouse
    registry: Registry
    uploader: Uploader = _no_uploader
    exporter: Any = None
    """Renders board packs for ``/export`` (``cjsdash.exports.service.PackExporter``), or None."""
    acceptor: Acceptor | None = None
    """Loads a kept upload refused as cut short, when the user says the drop is real."""

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A read-only cursor for this thread (committed data only)."""
        return self.warehouse.reader()


_context: Context | None = None


def set_context(warehouse: Warehouse, registry: Registry,
                uploader: Uploader | None = None, exporter: Any = None,
                acceptor: Acceptor | None = None) -> Context:
    global _context
    _context = Context(warehouse, registry, uploader or _no_uploader, exporter, acceptor)
    return _context


def get_context() -> Context:
    if _context is None:
        raise RuntimeError(
            "layouts context not set: create the app with cjsdash.server.create_app(warehouse)"
        )
    return _context
