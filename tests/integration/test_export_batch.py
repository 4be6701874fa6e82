"""``cjsdash export pack --area all``: one file per LCJB, each with the figures the single-area
command writes; a failing area is named, the others written, and the exit status non-zero.

Real demo warehouse (``demo_db``); a small pack (a trend, a sparkline, a table and a
breakdown, with the MSG average) keeps the 42 workbooks quick. The single-area workbooks are
made first with every cache emptied, so they compute their area alone; the batch computes
every area at once (``batch.prefetch_figures``) and slices it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from cjsdash.core.gateway import Warehouse
from cjsdash.exports.batch import file_names
from cjsdash.exports.cli import export_app
from metrics import cache, views

PERIOD = "2024-25 Q1"
TWO = ("CJA03", "CJA52")  # Cumbria and Avon and Somerset LCJBs
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore:Sparkline Group extension:UserWarning")

SMALL_PACK = """\
id: small_batch
title: A small pack for the batch tests
description: Four indicators of two themes.
grain: fquarter
commentary:
  - {id: summary, label: What the board should note, prompt: Two sentences.}
sections:
  - id: justice
    title: Effective in bringing offences to justice
    chart: sparkline
    indicators:
      - {indicator: charge_rate, chart: trend}
      - sanction_detection_rate
  - id: processes
    title: Simple, efficient processes
    indicators:
      - {indicator: pyo_arrest_to_sentence, chart: table}
      - {indicator: witness_attendance, by: ethnicity, chart: table}
"""
GENERATED = re.compile(r"\d{2} [A-Z][a-z]+ \d{4} \d{2}:\d{2}")  # content.generated_text


@pytest.fixture(scope="module")
def small_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pack") / "small_batch.yaml"
    path.write_text(SMALL_PACK, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lcjbs(demo_db: Path) -> dict[str, str]:
    wh = Warehouse(demo_db)
    try:
        return {a.code: a.name for a in views.list_areas(wh.reader()) if a.kind == "lcjb"}
    finally:
        wh.close()


def invoke(db: Path, pack: Path, area: str, fmt: str, out: Path, *extra: str):
    return runner.invoke(export_app, [
        "pack", "--area", area, "--period", PERIOD, "--pack", str(pack), "--format", fmt,
        "--out", str(out), "--db", str(db), *extra])


def cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values, the generation time (to the minute) blanked."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(GENERATED.sub("<generated>", v) if isinstance(v, str) else v
                                 for v in row) for row in ws.iter_rows(values_only=True)]
                for ws in book.worksheets}
    finally:
        book.close()


def test_all_writes_a_workbook_per_lcjb_with_the_single_area_figures(
        demo_db: Path, small_pack: Path, lcjbs: dict[str, str], tmp_path: Path) -> None:
    cache.clear_cache()
    singles = {}
    for code in TWO:
        result = invoke(demo_db, small_pack, code, "xlsx", tmp_path / f"{code}.xlsx")
        assert result.exit_code == 0, result.output
        singles[code] = cells(tmp_path / f"{code}.xlsx")
    cache.clear_cache()

    folder = tmp_path / "all"
    result = invoke(demo_db, small_pack, "all", "xlsx", folder)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "42 of 42 packs" in result.output
    assert len(re.findall(r"^\[\d+/42\] .* xlsx: wrote ", result.output, re.M)) == 42

    written = sorted(p.name for p in folder.iterdir())
    assert len(written) == 42 == len(lcjbs)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left
    assert "avon-and-somerset_small-batch_2024-25-q1.xlsx" in written
    for code in TWO:
        name = lcjbs[code]
        path = next(folder.glob(f"{re.sub(r'[^a-z]+', '-', name.lower())}_*.xlsx"))
        batch = cells(path)
        assert batch == singles[code], name
        # and the figures are really this area's: its name and a value are in the sheets
        assert any(name in str(v) for rows in batch.values() for row in rows for v in row)
    assert cells(next(folder.glob("cumbria_*.xlsx"))) != cells(
        next(folder.glob("avon-and-somerset_*.xlsx")))


def test_a_failing_area_is_named_the_others_written_and_the_exit_non_zero(
        demo_db: Path, small_pack: Path, lcjbs: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "some"
    folder.mkdir()
    wh = Warehouse(demo_db)
    try:
        areas = [views.resolve_area(wh.reader(), c) for c in TWO]
    finally:
        wh.close()
    names = file_names(areas, "small_batch", PERIOD, ["xlsx"])
    blocked = folder / names[(TWO[1], "xlsx")]
    blocked.mkdir()  # a folder where Avon and Somerset's workbook should go: it cannot be written
    result = invoke(demo_db, small_pack, ",".join(TWO), "xlsx", folder)
    assert result.exit_code == 1, result.output
    assert (folder / names[(TWO[0], "xlsx")]).is_file()  # Cumbria is still written
    assert blocked.is_dir() and not list(blocked.iterdir())
    assert "1 of 2 packs failed" in result.output
    assert f"{lcjbs[TWO[1]]} (xlsx)" in result.output and "is a folder" in result.output
    assert f"{lcjbs[TWO[0]]} (xlsx)" not in result.output.split("packs failed")[-1]


def test_unknown_areas_are_named_before_anything_is_written(
        demo_db: Path, small_pack: Path, tmp_path: Path) -> None:
    folder = tmp_path / "none"
    result = invoke(demo_db, small_pack, "Cumbria,Narnia,Atlantis", "xlsx", folder)
    assert result.exit_code == 1
    assert "unknown areas: 'Narnia', 'Atlantis'" in result.output
    assert not folder.exists()
    result = invoke(demo_db, small_pack, "all", "xlsx,docx", folder)
    assert result.exit_code == 1 and "unknown format 'docx'" in result.output


def _registry():
    from metrics.registry import default_registry

    return default_registry()


@pytest.mark.slow  # Chromium draws the charts; a worker process lays the PDFs out
def test_pdfs_of_several_areas_are_laid_out_in_a_worker_and_each_is_its_own_area(
        demo_db: Path, small_pack: Path, lcjbs: dict[str, str], tmp_path: Path) -> None:
    import pypdf

    folder = tmp_path / "pdf"
    result = invoke(demo_db, small_pack, ",".join(TWO), "pdf,xlsx", folder, "--jobs", "1")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "4 of 4 packs" in result.output
    pdfs = sorted(folder.glob("*.pdf"))
    assert len(pdfs) == 2 and len(list(folder.glob("*.xlsx"))) == 2
    for code in TWO:
        path = next(p for p in pdfs if p.name.startswith(
            re.sub(r"[^a-z]+", "-", lcjbs[code].lower())))
        reader = pypdf.PdfReader(path)
        first = reader.pages[0].extract_text()
        assert f"{lcjbs[code]} (LCJB)" in first and "2024-25 Q1" in first
        assert len(reader.pages) >= 3
