"""The exporter the ``/export`` page calls, put in ``layouts.context`` by the app factory.

The page never imports this package (layouts may not depend on the exporters); it calls
``get_context().exporter``. Paths are never taken from the user: the pack is rendered into a
fresh temporary folder on the server with a file name made here, read back as bytes and the
folder removed; the browser gets the bytes. Area, pack and format are checked against the
known lists before anything is built.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from metrics.options import Options
from metrics.registry import Registry

from .content import build_content, default_filename
from .pack_inputs import clean_commentary
from .packs import PACKS_DIR, PackError, draws_charts, list_packs, load_pack, resolve_items
from .render import FORMATS, MEDIA_TYPES, FormatError, write_content

FORMAT_LABELS: dict[str, str] = {
    "xlsx": "Excel workbook (.xlsx)",
    "pptx": "PowerPoint slides (.pptx)",
    "pdf": "PDF document (.pdf)",
    "csv": "CSV with metadata (.zip)",
}


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes
    media_type: str
    summary: str


class PackExporter:
    """Lists packs and formats; renders one pack to bytes for a download.

    The first slides or PDF with charts starts one headless Chromium (kaleido), which the
    process keeps for later downloads (about 200 MB; it ends with the process)."""

    formats: tuple[str, ...] = FORMATS
    format_labels: dict[str, str] = FORMAT_LABELS

    def __init__(self, directory: Path = PACKS_DIR) -> None:
        self.directory = directory
        self.packs()  # read once here (a few ms), not by the first view of /export

    def packs(self) -> list[tuple[str, str]]:
        """(id, title) of every shipped pack."""
        out = []
        for ident in list_packs(self.directory):
            try:
                out.append((ident, load_pack(ident, self.directory).title))
            except PackError:
                continue  # `cjsdash validate` reports it
        return out

    def commentary_fields(self, pack: str, registry: Registry
                          ) -> list[tuple[str, list[tuple[str, str, str, str, str]]]]:
        """The pack's commentary placeholders, by section: ``(section title, [(indicator id,
        indicator title, placeholder id, label, prompt), …])`` — what the /export page offers
        for the producer to type (the same fields ``--commentary notes.yaml`` fills)."""
        if pack not in list_packs(self.directory):
            raise PackError(f"no pack '{pack}'")
        chosen = load_pack(pack, self.directory)
        out = []
        for section in chosen.sections:
            fields = [(item.indicator, registry.get(item.indicator).title, p.id, p.label, p.prompt)
                      for item in resolve_items(chosen, section, registry)
                      for p in item.commentary]
            if fields:
                out.append((section.title, fields))
        return out

    def render(self, con: duckdb.DuckDBPyConnection, registry: Registry, *, area: str,
               period: str | date | None, pack: str, fmt: str, grain: str | None = None,
               rounding: int | None = None,
               commentary: Mapping[str, Mapping[str, str]] | None = None) -> Download:
        """The pack as a download. ``period``: a label, 'latest' or the period's end date;
        ``commentary``: ``{indicator id: {placeholder id: text}}`` as ``--commentary``."""
        if fmt not in FORMATS:
            raise FormatError(f"unknown format '{fmt}'")
        if pack not in list_packs(self.directory):
            raise PackError(f"no pack '{pack}'")
        chosen = load_pack(pack, self.directory)
        if fmt in ("pptx", "pdf") and draws_charts(chosen):
            from .images import start_browser

            start_browser()  # Chromium starts while the figures are computed
        content = build_content(con, registry, chosen, area=area, period=period, grain=grain,
                                options=Options() if rounding is None else Options(rounding=rounding),
                                commentary=clean_commentary(commentary or {}))
        name = default_filename(content, fmt)
        with tempfile.TemporaryDirectory(prefix="cjsdash-export-") as folder:
            paths = write_content(content, fmt, Path(folder) / name)
            if fmt == "csv":
                data = _zip(paths)
                name, media = name.removesuffix(".csv") + ".zip", "application/zip"
            else:
                data, media = paths[0].read_bytes(), MEDIA_TYPES[fmt]
        rows = content.figures.height
        summary = (f"{content.pack.title} for {content.area_label}, {content.period_text}: "
                   f"{len(content.items)} indicators, {rows} figures"
                   + (" (synthetic demo data)" if content.synthetic else "") + ".")
        return Download(name, data, media, summary)


def _zip(paths: tuple[Path, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, arcname=path.name)
    return buffer.getvalue()
