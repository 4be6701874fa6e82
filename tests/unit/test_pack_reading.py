"""A pack file is parsed once while it is unchanged (the /export page lists every pack on
each view) and read afresh when it changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cjsdash.exports.packs import PACKS_DIR, PackError, load_pack, read_pack


def test_a_pack_is_read_again_only_when_its_file_changes(tmp_path: Path) -> None:
    path = shutil.copy(PACKS_DIR / "lcjb_default.yaml", tmp_path / "mine.yaml")
    first = read_pack(Path(path))
    assert read_pack(Path(path)) is first  # unchanged: not parsed again
    text = Path(path).read_text(encoding="utf-8")
    Path(path).write_text(text.replace(f"title: {first.title}", "title: Our own pack", 1),
                          encoding="utf-8")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert read_pack(Path(path)).title == "Our own pack"
    assert load_pack("lcjb_default").title == first.title
    Path(path).write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(PackError, match="mine.yaml: not valid YAML"):
        read_pack(Path(path))
    Path(path).unlink()
    with pytest.raises(PackError, match="mine.yaml: cannot be read"):
        read_pack(Path(path))
