"""A written pack gets the mode a new file gets (0666 less the umask), not mkstemp's 0600:
the others sharing a board-pack folder can read it unless the umask says otherwise
(decision 30)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from cjsdash.exports import write


@pytest.fixture
def umask():
    """Set the process's umask for one test and put it back."""
    old = os.umask(0o022)
    os.umask(old)
    try:
        yield lambda mask: os.umask(mask)
    finally:
        os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_pack_gets_the_mode_open_would_give(tmp_path: Path, umask, mask: int,
                                              mode: int) -> None:
    umask(mask)
    one = write.write_bytes(tmp_path / "pack.pdf", b"%PDF-1.7")
    csv, meta = write.write_many({tmp_path / "pack.csv": b"a,b\n",
                                  tmp_path / "pack.csv-metadata.json": b"{}"})
    plain = tmp_path / "plain"
    plain.write_bytes(b"")  # what open() gives, for comparison
    for path in (one, csv, meta):
        assert stat.S_IMODE(path.stat().st_mode) == mode == stat.S_IMODE(plain.stat().st_mode)


def test_the_umask_is_read_without_being_changed(umask) -> None:
    umask(0o027)
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(write._umask()))
    thread.start()
    thread.join()
    assert seen == [0o027]
    assert os.umask(0o027) == 0o027  # still what the test set
