"""Atomic writes: never a half-written file at the destination.

Each file is written to a temporary file in the destination's own folder (so the final
``os.replace`` is a rename on one file system, atomic on POSIX and Windows), flushed and
fsynced, then moved over the destination; the folder is fsynced so the rename survives a
crash. If rendering or writing fails, the temporary file is removed and whatever was at the
destination before is left untouched.

A written file gets the mode a new file would get from ``open()`` (0666 less the umask:
usually 0644, readable by the others who share a board-pack folder), not the 0600 that
``tempfile.mkstemp`` gives its temporary file (decision 30). A folder whose files must stay
private is kept so by its umask or its own permissions.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path


class ExportPathError(ValueError):
    """The destination cannot be written (missing folder, a folder, …)."""


def _check(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ExportPathError(f"{path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise ExportPathError(f"no folder {path.parent} to write {path.name} into")
    return path


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: put it straight back
    os.umask(mask)
    return mask


_UMASK_AT_IMPORT = _read_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (other threads may
    be creating files); else the one it had when this module was imported."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status",
                                                        encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return _UMASK_AT_IMPORT


def _temp_beside(path: Path) -> Path:
    """An empty temporary file beside ``path``, with the mode ``open(path, "w")`` would give."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return Path(name)


def write_with(path: Path, render: Callable[[Path], None]) -> Path:
    """Call ``render(temp_path)`` to write the file, then move it to ``path`` atomically."""
    path = _check(path)
    temp = _temp_beside(path)
    try:
        render(temp)
        with open(temp, "rb+") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_with(path, lambda temp: temp.write_bytes(data))


def write_many(files: Mapping[Path, bytes]) -> list[Path]:
    """Write several files (a CSV and its metadata): all are rendered before any is moved.

    Each file is atomic on its own; the set is written only once every temporary file is
    complete, so a failure while writing leaves every destination as it was.
    """
    checked = {_check(p): data for p, data in files.items()}
    temps: dict[Path, Path] = {}
    try:
        for path, data in checked.items():
            temp = _temp_beside(path)
            temps[path] = temp
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for path, temp in temps.items():
            os.replace(temp, path)
    except BaseException:
        for temp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        raise
    for folder in {p.parent for p in checked}:
        _fsync_dir(folder)
    return list(checked)
