"""ZIP members inflated by ISA-L: the same bytes as zipfile, and the same refusals."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from ingest.archives import zip_members
from ingest.base import FileRefused

REAL_ZIP = Path(__file__).parents[1] / "data" / "police_uk_all_forces" / "2021-06-all-forces.zip"
CSV = b"Crime ID,Month\r\n" + b"abc,2021-06\r\n" * 2_000


def test_members_are_the_bytes_zipfile_reads() -> None:
    members = zip_members(REAL_ZIP)
    with zipfile.ZipFile(REAL_ZIP) as archive:
        assert [(p.as_posix(), b) for _, p, b in members] == sorted(
            (name, archive.read(name)) for name in archive.namelist() if not name.endswith("/"))
    assert len(members) == 40


def _deflated(tmp_path: Path, patch: tuple[int, int, int] | None = None) -> Path:
    """A deflated one-member ZIP; ``patch`` = (local offset, central offset, value) writes a
    4-byte little-endian field in both headers (a CRC or a size that lies)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2021-06-x-street.csv", CSV)
    data = bytearray(buffer.getvalue())
    if patch:
        local, central, value = patch
        at = data.index(b"PK\x01\x02")
        struct.pack_into("<I", data, local, value)
        struct.pack_into("<I", data, at + central, value)
    path = tmp_path / "x.zip"
    path.write_bytes(bytes(data))
    return path


def test_a_deflated_member_loads(tmp_path: Path) -> None:
    [(name, _, data)] = zip_members(_deflated(tmp_path))
    assert name == "x.zip!2021-06-x-street.csv" and data == CSV


def test_a_deflated_member_with_a_bad_crc_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="damaged"):
        zip_members(_deflated(tmp_path, (14, 16, 0x12345678)))


def test_a_member_that_inflates_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="damaged") as caught:
        zip_members(_deflated(tmp_path, (22, 24, 1_000)))
    assert "1,000 bytes declared" in caught.value.reason
