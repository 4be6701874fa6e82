"""Which files an ingest reads: batches (one per loose file, one per ZIP) and the loader
that recognises each file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.archives import zip_members
from ingest.base import (
    FileRefused,
    Loader,
    SourceSpec,
)
from ingest.catalogue import LOADERS

NOT_A_DATA_FILE = "not a data file"
SKIP_SUFFIXES = (".md", ".txt", ".json", ".yaml", ".yml", ".py", ".pdf", ".png")


def detect_loader(path: Path, data: bytes) -> Loader | None:
    for loader in LOADERS.values():
        if path.suffix.casefold() in loader.spec.file_types and _detects(loader, path, data):
            return loader
    return None


def _detects(loader: Loader, path: Path, data: bytes) -> bool:
    """A loader's detect, where a hostile file's surprise means 'not this format'."""
    try:
        return bool(loader.detect(path, data))
    except FileRefused:
        return False
    except Exception:  # detection must not take the ingest down
        return False


UNRECOGNISED = Loader(
    spec=SourceSpec(name="unrecognised", title="A file no loader recognised", publisher="",
                    licence="", kind="local", priority=99, required_columns=()),
    detect=lambda path, data: False,
    read=lambda path, data, context: (_ for _ in ()).throw(FileRefused(path.name, "unread")),
)
"""The loader named in the run log for a file that was refused before any loader read it."""


Batch = Iterator[tuple[str, Path, bytes]]
"""(display name, path, bytes) of the files loaded in one transaction."""


def iter_batches(paths: list[Path]) -> Iterator[Batch]:
    """One batch per loose file (folders recursively) and one per ZIP: the ZIP is the file
    the user offered, so its members load all or nothing, in one transaction."""
    for batch, _ in named_batches(paths, named=True):
        yield batch


def named_batches(paths: list[Path], *, named: bool) -> Iterator[tuple[Batch, bool]]:
    """:func:`iter_batches`, saying of each batch whether its files were named by the user
    (refused when unrecognised) or found in a folder or ZIP (skipped, and listed)."""
    for path in paths:
        if path.is_dir():
            yield from named_batches(sorted(p for p in path.rglob("*") if p.is_file()), named=False)
        elif path.suffix.casefold() == ".zip":
            yield _zip_members(path), False
        else:
            yield iter([(path.name, path, path.read_bytes())]), named


def _zip_members(path: Path) -> Batch:
    """A ZIP's members in name order (all read and checked before any is loaded)."""
    yield from zip_members(path)
