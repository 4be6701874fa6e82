"""The board packs open in a real office suite: LibreOffice, headless.

The LCJB pack for Cumbria is built as XLSX and PPTX (the PDF is read with pypdf in
``test_exports``) and each file is converted to PDF by ``soffice --headless --convert-to pdf``
with a fresh user profile: a non-empty PDF means LibreOffice opened it. The XLSX's count
charts must plot England and Wales on their own (right-hand) axis, or the area's line lies on
zero. Page 1 of each converted PDF is rendered with ``pdftoppm`` to
``tests/artifacts/office/`` to be looked at.

LibreOffice is installed by ``scripts/ensure_office.sh`` (``make browser``). Without it the
tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cjsdash.exports.cli import export_app

AREA, PERIOD, PACK = "E23000002", "2024-25 Q1", "lcjb_default"  # Cumbria
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "office"
CONVERT_TIMEOUT_S = 300
NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"

pytestmark = [pytest.mark.slow,  # PPTX charts are drawn in a headless Chromium; soffice starts
              pytest.mark.filterwarnings("ignore:Sparkline Group extension:UserWarning")]


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        message = "LibreOffice (soffice) is not installed: run scripts/ensure_office.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _export(db: Path, out: Path, fmt: str) -> Path:
    result = CliRunner().invoke(export_app, [
        "pack", "--area", AREA, "--period", PERIOD, "--pack", PACK, "--format", fmt,
        "--out", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out


def _to_pdf(soffice: str, source: Path, outdir: Path) -> Path:
    profile = outdir / "lo-profile"
    completed = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, check=False)
    pdf = outdir / (source.stem + ".pdf")
    assert completed.returncode == 0, completed.stderr
    assert pdf.exists(), f"soffice wrote no PDF for {source.name}: {completed.stdout}"
    return pdf


def _check_pdf(pdf: Path, name: str) -> int:
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 1
    text = "".join(page.extract_text() or "" for page in reader.pages[:3])
    assert "Cumbria" in text, f"{name}: the converted PDF does not name the area"
    if shutil.which("pdftoppm"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for number in range(1, min(3, len(reader.pages)) + 1):  # the cover, then charts
            out = ARTIFACTS / f"{name}-page{number}"
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", str(number), "-l",
                            str(number), "-singlefile", str(pdf), str(out)],
                           check=True, timeout=120)
            assert out.with_suffix(".png").stat().st_size > 1000
    return len(reader.pages)


@pytest.fixture(scope="module")
def soffice() -> str:
    return _soffice()


def test_xlsx_pack_opens_in_libreoffice(demo_db: Path, tmp_path: Path, soffice: str) -> None:
    xlsx = _export(demo_db, tmp_path / "lcjb.xlsx", "xlsx")
    pages = _check_pdf(_to_pdf(soffice, xlsx, tmp_path), "lcjb-xlsx")
    assert pages >= 4  # a sheet per section at least


def test_xlsx_count_charts_put_england_and_wales_on_a_second_axis(
        demo_db: Path, tmp_path: Path) -> None:
    xlsx = _export(demo_db, tmp_path / "lcjb.xlsx", "xlsx")
    with zipfile.ZipFile(xlsx) as z:
        charts = {n: z.read(n).decode("utf-8") for n in z.namelist()
                  if re.fullmatch(r"xl/charts/chart\d+\.xml", n)}
    assert charts, "the pack has no native charts"
    two_axes = {n: x for n, x in charts.items() if x.count("<c:valAx>") == 2}
    # obtj and obtj_serious are counts with a trend chart in the pack's first section.
    assert len(two_axes) >= 2, f"{len(two_axes)} of {len(charts)} charts have a second axis"
    for name, xml in two_axes.items():
        plots = re.findall(r"<c:lineChart>(.*?)</c:lineChart>", xml, flags=re.S)
        assert len(plots) == 2, name  # xlsxwriter writes the y2 series as a second line chart
        primary, secondary = plots
        assert "England and Wales" not in primary, name
        assert "Cumbria" in primary, name
        assert re.search(r"<c:v>England and Wales \(right axis\)</c:v>", secondary), name
        # the two line charts reference different value axes
        ax_ids = [re.findall(r'<c:axId val="(\d+)"/>', p) for p in plots]
        assert ax_ids[0] != ax_ids[1], name
    # Charts of rates keep one axis: the two figures are on one scale.
    assert len(two_axes) < len(charts)


def test_pptx_pack_opens_in_libreoffice(demo_db: Path, tmp_path: Path, soffice: str) -> None:
    pptx = _export(demo_db, tmp_path / "lcjb.pptx", "pptx")
    pages = _check_pdf(_to_pdf(soffice, pptx, tmp_path), "lcjb-pptx")
    from pptx import Presentation

    assert pages == len(Presentation(str(pptx)).slides)  # a page per slide
