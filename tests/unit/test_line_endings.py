"""Line endings (ingest.textio.normalise_line_endings): a file whose every CR ends a line is
passed through untouched, decided by one search instead of two counts over every byte; every
other file is normalised as before. Checked against the rule it replaced on every string of
up to eight bytes from 'a', CR and LF, and on a real police.uk file."""

from __future__ import annotations

import itertools
import re
import zipfile

from ingest.textio import normalise_line_endings
from tests.conftest import REPO


def _before(data: bytes) -> bytes:
    """The rule as it was: two counts decide whether the file is left as it is."""
    if data.count(b"\r") == data.count(b"\r\n"):
        return data
    if b"\n" not in data:
        return data.replace(b"\r", b"\n")
    return re.sub(rb"\r+(\n|$)", b"\n", data).replace(b"\r", b" ")


def test_every_short_string_is_normalised_as_before() -> None:
    checked = 0
    for size in range(9):
        for chars in itertools.product(b"a\r\n", repeat=size):
            data = bytes(chars)
            assert normalise_line_endings(data) == _before(data), data
            checked += 1
    assert checked == sum(3 ** n for n in range(9))


def test_a_clean_file_is_passed_through_and_a_lone_cr_is_not() -> None:
    with zipfile.ZipFile(REPO / "tests" / "data" / "police_uk_all_forces"
                         / "2021-06-all-forces.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith("-street.csv"))
        data = archive.read(name)
    assert data.count(b"\r\n") > 1000  # CR LF throughout, as data.police.uk publishes
    assert normalise_line_endings(data) is data
    broken = data.replace(b"\r\n", b"\r", 1)  # one line ending lost its LF
    assert normalise_line_endings(broken) == _before(broken) != broken
