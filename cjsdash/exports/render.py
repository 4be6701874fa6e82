"""Render a pack's content to a format and write it atomically.

:func:`export_pack` is what the command line and the ``/export`` page call: build the
content once (:func:`content.build_content`), render it to bytes in memory, and only then
write the file(s) with :mod:`.write`, so a failing renderer never leaves a file at ``out``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from metrics.options import Options
from metrics.registry import Registry

from .content import PackContent, build_content
from .pack_inputs import Commentary
from .packs import draws_charts, load_pack
from .write import write_bytes, write_many

FORMATS: tuple[str, ...] = ("xlsx", "pptx", "pdf", "csv")
MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pdf": "application/pdf",
    "csv": "text/csv",
}


class FormatError(ValueError):
    """An unknown export format."""


def renderer(fmt: str) -> Callable[[PackContent], bytes]:
    """The function that turns content into ``fmt`` bytes (imported only when asked for)."""
    if fmt == "xlsx":
        from .xlsx import render_xlsx
        return render_xlsx
    if fmt == "pptx":
        from .pptx import render_pptx
        return render_pptx
    if fmt == "pdf":
        from .pdf import render_pdf
        return render_pdf
    if fmt == "csv":
        from .csv import render_csv
        return render_csv
    raise FormatError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")


@dataclass(frozen=True)
class ExportResult:
    content: PackContent
    paths: tuple[Path, ...]
    seconds: float


def write_content(content: PackContent, fmt: str, out: Path) -> tuple[Path, ...]:
    """Render ``content`` as ``fmt`` and write it to ``out`` (CSV: and its metadata sidecar)."""
    data = renderer(fmt)(content)
    if fmt == "csv":
        from .csv import render_metadata, sidecar_path

        meta = render_metadata(content, out.name)
        return tuple(write_many({out: data, sidecar_path(out): meta}))
    return (write_bytes(out, data),)


def export_pack(
    con: duckdb.DuckDBPyConnection, registry: Registry, *, pack: str, area: str,
    period: str | None, fmt: str, out: Path, grain: str | None = None,
    options: Options | None = None, commentary: Commentary | None = None,
) -> ExportResult:
    """Build ``pack`` for ``area`` and ``period`` and write it to ``out`` as ``fmt``."""
    started = datetime.now()
    if fmt not in FORMATS:
        raise FormatError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    chosen = load_pack(pack)
    if fmt in ("pptx", "pdf") and draws_charts(chosen):
        from .images import start_browser

        start_browser()  # Chromium starts while the figures are computed
    content = build_content(con, registry, chosen, area=area, period=period,
                            grain=grain, options=options, commentary=commentary)
    paths = write_content(content, fmt, Path(out))
    return ExportResult(content, paths, (datetime.now() - started).total_seconds())
