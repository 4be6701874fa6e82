"""The batch's pure choices: file names made safe and told apart, formats parsed."""

from __future__ import annotations

import pytest

from cjsdash.exports.batch import file_names, is_batch, parse_formats, safe_name
from cjsdash.exports.render import FormatError
from metrics.views import AreaChoice


def test_names_are_safe_and_two_areas_of_one_name_are_told_apart() -> None:
    assert safe_name("Ynys Môn / Anglesey") == "ynys-mon-anglesey"
    assert safe_name("../../etc") == "etc"
    areas = [AreaChoice("CJA03", "Cumbria", "lcjb"), AreaChoice("E23000002", "Cumbria", "force"),
             AreaChoice("CJA52", "Avon and Somerset", "lcjb")]
    names = file_names(areas, "lcjb_default", "2024-25 Q1", ["xlsx", "pdf"])
    assert names[("CJA52", "pdf")] == "avon-and-somerset_lcjb-default_2024-25-q1.pdf"
    assert names[("CJA03", "xlsx")] == "cumbria-cja03_lcjb-default_2024-25-q1.xlsx"
    assert names[("E23000002", "xlsx")] == "cumbria-e23000002_lcjb-default_2024-25-q1.xlsx"
    assert len(set(names.values())) == 6
    assert all("/" not in n and not n.startswith(".") for n in names.values())


def test_formats_and_when_a_run_is_a_batch() -> None:
    assert parse_formats(" XLSX, pdf,xlsx ") == ("xlsx", "pdf")
    with pytest.raises(FormatError, match="unknown format 'docx'"):
        parse_formats("xlsx,docx")
    with pytest.raises(FormatError):
        parse_formats(" , ")
    assert is_batch("all", ["xlsx"]) and is_batch("LCJB", ["xlsx"])
    assert is_batch("Cumbria,Kent", ["pdf"]) and is_batch("Cumbria", ["xlsx", "pdf"])
    assert not is_batch("Cumbria", ["pdf"])
