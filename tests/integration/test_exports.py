"""Board packs: every format opened with a reader and checked against ``cjsdash query``.

Built from the demo warehouse (``demo_db``) for Cumbria (E23000002) in 2024-25 Q1, where
the disproportionality pack has suppressed groups. XLSX and CSV are checked for both the
default and the disproportionality pack; PPTX and PDF (which draw charts in a headless
Chromium through kaleido) for the disproportionality pack.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import shutil
import subprocess
import sys
import types
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cjsdash.cli import app as cjsdash_app
from cjsdash.core.areas import normalise_area_name
from cjsdash.core.gateway import Warehouse
from cjsdash.exports import write as atomic
from cjsdash.exports.cells import FORMULA_TRIGGERS, neutralise
from cjsdash.exports.cli import export_app
from cjsdash.exports.content import build_content
from cjsdash.exports.images import ImageError
from cjsdash.exports.pack_inputs import ContentError, resolve_period
from cjsdash.exports.pack_notes import SYNTHETIC_TEXT
from cjsdash.exports.packs import list_packs, load_pack, validate_packs
from metrics import views
from metrics.registry import default_registry

AREA, PERIOD, GRAIN = "E23000002", "2024-25 Q1", "fquarter"
runner = CliRunner()
pytestmark = [pytest.mark.slow,  # PPTX and PDF draw charts in a headless Chromium
              pytest.mark.filterwarnings("ignore:Sparkline Group extension:UserWarning")]


# --- helpers ----------------------------------------------------------------------------------

def export(db: Path, out: Path, fmt: str, pack: str, *extra: str, area: str = AREA) -> Path:
    result = runner.invoke(export_app, [
        "pack", "--area", area, "--period", PERIOD, "--pack", pack, "--format", fmt,
        "--out", str(out), "--db", str(db), *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"wrote {out}" in result.output
    return out


class Query:
    """``cjsdash query … --format json`` rows, cached."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.cache: dict[tuple, list[dict[str, Any]]] = {}

    def rows(self, indicator: str, area: str = AREA, by: str | None = None
             ) -> list[dict[str, Any]]:
        key = (indicator, area, by)
        if key not in self.cache:
            args = ["query", indicator, "--area", area, "--grain", GRAIN, "--format", "json",
                    "--db", str(self.db)] + (["--by", by] if by else [])
            result = runner.invoke(cjsdash_app, args)
            assert result.exit_code == 0, result.output
            self.cache[key] = json.loads(result.stdout)
        return self.cache[key]

    def row(self, indicator: str, period_label: str, group: str = "", by: str | None = None,
            area: str = AREA) -> dict[str, Any]:
        hits = [r for r in self.rows(indicator, area, by)
                if r["period_label"] == period_label and (r["breakdown"] or "") == group]
        assert len(hits) == 1, (indicator, period_label, group, area, len(hits))
        return hits[0]


def close(a: Any, b: Any) -> bool:
    """Equal figures; missing (None, NaN, an empty cell) equals missing."""
    a, b = (None if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else v
            for v in (a, b))
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def query(demo_db: Path) -> Query:
    return Query(demo_db)


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("packs")


@pytest.fixture(scope="module")
def content(demo_db: Path):
    wh = Warehouse(demo_db)
    return {pack: build_content(wh.reader(), default_registry(), load_pack(pack), area=AREA,
                                period=PERIOD)
            for pack in ("lcjb_default", "disproportionality")}


def by_of(group: str, indicator: str, content) -> str | None:
    return "ethnicity" if group and indicator in {
        i.indicator.id for i in content.items if i.item.by} else None


# --- packs and periods ------------------------------------------------------------------------

def test_the_shipped_packs_are_sound() -> None:
    assert set(list_packs()) >= {"lcjb_default", "force_baseline", "disproportionality"}
    assert validate_packs(default_registry()) == []
    default = load_pack("lcjb_default")
    assert {s.theme for s in default.sections} == {"justice", "confidence", "victims",
                                                   "processes"}
    dispro = {i.indicator for s in load_pack("disproportionality").sections
              for i in s.indicators}
    assert dispro == {"stop_search_rate", "arrest_rate", "disparity_ratio",
                      "ethnicity_recorded"}


def test_validate_names_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({
        "id": "not_bad", "title": "Bad", "sections": [
            {"id": "a", "title": "A", "theme": "nope",
             "indicators": ["obtj", "obtj", "no_such_indicator",
                            {"indicator": "obtj_serious", "by": "ethnicity"}]},
            {"id": "a", "title": "Again", "indicators": []},
        ]}), encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump({"id": "wrong", "title": "W",
                                                         "sections": [], "extra": 1}))
    rules = {(p.rule, p.subject) for p in validate_packs(default_registry(), tmp_path)}
    assert ("pack_id_matches_file", "pack:not_bad") in rules
    assert ("pack_themes_known", "pack:not_bad/a") in rules
    assert ("pack_ids_unique", "pack:not_bad/a") in rules
    assert ("pack_ids_unique", "pack:not_bad") in rules
    assert ("pack_indicators_known", "pack:not_bad/a") in rules
    assert ("pack_breakdowns_declared", "pack:not_bad/a") in rules
    assert ("pack_not_empty", "pack:not_bad/a") in rules
    assert ("pack_readable", "pack:broken") in rules
    assert ("pack_readable", "pack:wrong") in rules


@pytest.mark.parametrize(("text", "grain", "end"), [
    ("2024-25 Q1", "fquarter", date(2024, 6, 30)),
    ("2024-25", "fy", date(2025, 3, 31)),
    ("Jun 2024", "month", date(2024, 6, 30)),
    ("2024 Q2", "quarter", date(2024, 6, 30)),
    ("year ending June 2024", "r12", date(2024, 6, 30)),
    ("latest", "fquarter", None),
])
def test_periods_name_their_grain(text: str, grain: str, end: date | None) -> None:
    chosen = resolve_period(text)
    assert (chosen.grain, chosen.end) == (grain, end)


def test_bad_choices_are_refused(demo_db: Path, tmp_path: Path) -> None:
    with pytest.raises(ContentError):
        resolve_period("the twelfth of never")
    for args, words in [
        (["--area", "Narnia"], "unknown area"),
        (["--pack", "nope"], "no pack"),
        (["--format", "docx"], "unknown format"),
        (["--out", str(tmp_path / "missing" / "x.xlsx")], "no folder"),
    ]:
        base = {"--area": AREA, "--pack": "lcjb_default", "--format": "xlsx",
                "--out": str(tmp_path / "x.xlsx")}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        argv = ["pack", "--period", PERIOD, "--db", str(demo_db)]
        for k, v in base.items():
            argv += [k, v]
        result = runner.invoke(export_app, argv)
        assert result.exit_code == 1, result.output
        assert words in result.output
    assert not (tmp_path / "x.xlsx").exists()


# --- XLSX -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workbooks(demo_db: Path, outdir: Path) -> dict[str, Path]:
    return {pack: export(demo_db, outdir / f"{pack}.xlsx", "xlsx", pack)
            for pack in ("lcjb_default", "disproportionality")}


def _sheet_rows(ws) -> list[dict[str, Any]]:
    header = [c.value for c in ws[4]]
    out = []
    for cells in ws.iter_rows(min_row=5, values_only=True):
        if not cells[1]:
            break
        out.append(dict(zip(header, cells, strict=False)))
    return out


@pytest.mark.parametrize("pack", ["lcjb_default", "disproportionality"])
def test_xlsx_figures_are_the_query_figures(workbooks, query: Query, content, pack: str
                                            ) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(workbooks[pack])
    pc = content[pack]
    assert wb.sheetnames[0] == "Contents" and wb.sheetnames[-2:] == ["Chart data", "Notes"]
    assert len(wb.sheetnames) == len(pc.sections) + 3
    seen = 0
    for ws in wb.worksheets[1:-2]:
        assert ws.freeze_panes == "B5"
        for row in _sheet_rows(ws):
            ind, group = row["Indicator id"], "" if row["Group"] == "All" else row["Group"]
            q = query.row(ind, row["Period"], group, by_of(group, ind, pc))
            assert row["Synthetic"] == ("◆ yes" if q["synthetic"] else "no")
            if q["suppressed"]:
                assert row["Suppressed"] == "[c] yes"
                for col in ("Numerator", "Denominator", "Value", "Lower 95% CI",
                            "Upper 95% CI"):
                    assert row[col] == "[c]", (ind, group, col)
            else:
                assert row["Suppressed"] == "no"
                assert close(row["Value"], q["value"]), (ind, group)
                assert close(row["Numerator"], q["numerator"]), (ind, group)
                assert close(row["Denominator"], q["denominator"]), (ind, group)
                assert close(row["Lower 95% CI"], q["lower"]), (ind, group)
            if not group:
                national = query.row(ind, row["Period"], area=views.NATIONAL)
                assert close(row["England and Wales"], national["value"]) or (
                    national["suppressed"] and row["England and Wales"] == "[c]")
            seen += 1
    assert seen == pc.figures.height
    contents = " ".join(str(c.value) for r in wb["Contents"].iter_rows() for c in r if c.value)
    assert SYNTHETIC_TEXT in contents and "Disclosure control" in contents
    notes = " ".join(str(c.value) for r in wb["Notes"].iter_rows() for c in r if c.value)
    assert "What it measures" in notes and "Wilson" in notes


def test_xlsx_has_native_charts_number_formats_and_suppressed_cells(workbooks, content) -> None:
    import openpyxl

    path = workbooks["disproportionality"]
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        sheets = "".join(z.read(n).decode() for n in z.namelist()
                         if n.startswith("xl/worksheets/sheet"))
    trends = [i for i in content["disproportionality"].items
              if i.item.chart == "trend" and i.has_figures]
    assert len(charts) == len(trends)
    assert "<x14:sparkline>" in sheets  # native sparklines in the Trend column
    ws = openpyxl.load_workbook(path).worksheets[1]
    shown = [row[6] for row in ws.iter_rows(min_row=5)  # column 1: the indicator id
             if row[1].value == "stop_search_rate" and isinstance(row[6].value, float)]
    assert shown, "some stop and search rates should be published"
    value = shown[0]  # the first published rate (a withheld one reads "[c]")
    assert value.number_format == "0.00"  # stop and search rate per 1,000: two decimals
    suppressed = content["disproportionality"].figures.filter("suppressed")
    assert suppressed.height, "the demo extract should suppress some groups here"


# --- CSV --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def csvs(demo_db: Path, outdir: Path) -> dict[str, Path]:
    return {pack: export(demo_db, outdir / f"{pack}.csv", "csv", pack)
            for pack in ("lcjb_default", "disproportionality")}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("pack", ["lcjb_default", "disproportionality"])
def test_csv_rows_are_the_query_figures(csvs, query: Query, content, pack: str) -> None:
    rows = _read_csv(csvs[pack])
    pc = content[pack]
    assert len(rows) == pc.figures.height
    for row in rows:
        q = query.row(row["indicator"], row["period_label"], row["breakdown"],
                      by_of(row["breakdown"], row["indicator"], pc))
        assert row["synthetic"] == ("true" if q["synthetic"] else "false")
        assert row["source"] == q["source"]
        if q["suppressed"]:
            assert row["suppressed"] == "true"
            for col in ("numerator", "denominator", "value", "lower", "upper"):
                assert row[col] == "[c]"
            assert row["display_value"] == "[c]" and not re.search(r"\d", row["display_ci"])
        else:
            assert close(row["value"], q["value"])
            assert close(row["numerator"], q["numerator"])
            assert row["display_value"] == q["display_value"]


def test_csv_sidecar_names_sources_methods_and_the_synthetic_flag(csvs, content) -> None:
    path = csvs["disproportionality"]
    meta = json.loads((path.parent / (path.name + "-metadata.json")).read_text("utf-8"))
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert meta["@context"] == "http://www.w3.org/ns/csvw"
    assert meta["url"] == path.name
    assert [c["name"] for c in meta["tableSchema"]["columns"]] == header
    assert meta["cjsdash:synthetic"] is True and meta["cjsdash:syntheticNote"]
    assert meta["cjsdash:suppression"]["marker"] == "[c]"
    assert "counts below 5" in meta["cjsdash:suppression"]["rule"]
    assert [s["name"] for s in meta["dc:source"]] == ["synthetic_demo"]
    ids = {i["id"] for i in meta["cjsdash:indicators"]}
    assert ids == {i.id for i in content["disproportionality"].indicators}
    assert all("Confidence interval" in i for i in meta["cjsdash:indicators"])


def test_rounding_option_rounds_counts_and_says_so(demo_db: Path, tmp_path: Path) -> None:
    out = export(demo_db, tmp_path / "r.csv", "csv", "lcjb_default", "--rounding", "5")
    rows = _read_csv(out)
    money = {i.id for i in default_registry().indicators if i.type == "amount"}
    numbers = [float(r[c]) for r in rows for c in ("numerator", "denominator")
               if r[c] not in ("", "[c]") and r["indicator"] not in money]
    assert numbers and all(n % 5 == 0 for n in numbers)
    meta = json.loads((tmp_path / "r.csv-metadata.json").read_text("utf-8"))
    assert meta["cjsdash:suppression"]["rounding"] == 5
    assert "rounded to the nearest 5" in meta["cjsdash:suppression"]["rule"]


def test_rounding_reaches_every_count(demo_db: Path) -> None:
    from metrics.options import Options

    pc = build_content(Warehouse(demo_db).reader(), default_registry(),
                       load_pack("lcjb_default"), area=AREA, period=PERIOD,
                       options=Options(rounding=5), with_msg=False)
    counts = {i.id for i in pc.indicators if i.type in ("count", "ratio")}
    for r in pc.figures.iter_rows(named=True):
        if r["indicator"] in counts and not r["suppressed"]:
            assert r["numerator"] % 5 == 0 and (r["value"] % 5 == 0 or r["indicator"]
                                                == "disparity_ratio"), r["indicator"]
            if r["indicator"] == "disparity_ratio":
                assert r["denominator"] % 5 == 0


# --- PPTX -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deck(demo_db: Path, outdir: Path) -> Path:
    return export(demo_db, outdir / "dispro.pptx", "pptx", "disproportionality")


def _slide_text(slide) -> str:
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts += [c.text for r in shape.table.rows for c in r.cells]
    return "\n".join(parts)


def test_pptx_has_a_slide_per_indicator_with_the_query_figures(deck, query: Query, content
                                                               ) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation(str(deck))
    pc = content["disproportionality"]
    assert (prs.slide_width, prs.slide_height) == (Inches(13.333), Inches(7.5))
    slides = list(prs.slides)
    titles = [s.shapes.title.text_frame.text if s.shapes.title else "" for s in slides]
    assert titles[0] == pc.pack.title
    pictures = 0
    section_titles = {s.section.title for s in pc.sections}
    assert len(slides) == 1 + len(section_titles) + len(pc.items)
    for item in pc.items:
        slide = slides[titles.index(item.title)]
        text = _slide_text(slide)
        for r in item.rows.iter_rows(named=True):
            q = query.row(item.indicator.id, r["period_label"], r["breakdown"],
                          "ethnicity" if item.item.by else None)
            assert q["display_value"] in text, (item.title, r["breakdown"])
            if not item.item.by:
                assert q["status"] in text
        assert "◆" in text
        notes = slide.notes_slide.notes_text_frame.text
        assert "What the sub-group should note" in notes and "What it measures" in notes
        pics = [s for s in slide.shapes if s.shape_type == 13]
        pictures += len(pics)
        for pic in pics:
            assert pic._element.nvPicPr.cNvPr.get("descr")
    trends = [i for i in pc.items if i.item.chart == "trend" and i.has_figures]
    assert pictures == len(trends)
    assert SYNTHETIC_TEXT in _slide_text(slides[0])


# --- PDF --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf(demo_db: Path, outdir: Path) -> Path:
    return export(demo_db, outdir / "dispro.pdf", "pdf", "disproportionality")


def test_pdf_pages_carry_numbers_dates_vintages_and_vector_charts(pdf, query: Query, content
                                                                   ) -> None:
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    pages = [p.extract_text() for p in reader.pages]
    n = len(pages)
    assert n >= 4
    for i, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"Page {i} of {n}" in flat
        assert "Generated" in flat and "Data vintages: synthetic_demo: synthetic-v1" in flat
        assert "synthetic demo data" in flat
    everything = " ".join(" ".join(pages).split())
    pc = content["disproportionality"]
    for item in pc.items:
        assert item.title in everything
        for r in item.rows.iter_rows(named=True):
            q = query.row(item.indicator.id, r["period_label"], r["breakdown"],
                          "ethnicity" if item.item.by else None)
            assert q["display_value"] in everything
    assert SYNTHETIC_TEXT in everything
    # charts are vector (SVG), not pictures
    assert sum(len(page.images) for page in reader.pages) == 0
    assert reader.metadata.title.startswith(pc.pack.title)


def test_pdf_first_page_renders(pdf, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    pngs = list(tmp_path.glob("page*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 1000


# --- safety -----------------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1", "-1", "@SUM(A1:A2)", "\tx", "\rx"]


@pytest.fixture(scope="module")
def hostile_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo warehouse whose Cumbria is called, and aliased, =HYPERLINK(…)."""
    path = tmp_path_factory.mktemp("hostile") / "cjsdash.duckdb"
    shutil.copy(demo_db, path)
    wh = Warehouse(path)
    with wh.writer() as con:
        con.execute("UPDATE core.areas SET name = ? WHERE code = ?", [HOSTILE[0], AREA])
        con.execute("INSERT INTO core.area_aliases VALUES (?, ?, ?, 'test')",
                    [normalise_area_name(HOSTILE[0]), HOSTILE[0], AREA])
    wh.close()
    return path


@pytest.fixture(scope="module")
def hostile_commentary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("commentary") / "commentary.yaml"
    items = ["obtj", "obtj_serious", "charge_rate", "sanction_detection_rate",
             "fine_payment_rate", "fta_warrants_executed_in_time"]
    path.write_text(yaml.safe_dump({ind: {"summary": text, "actions": text}
                                    for ind, text in zip(items, HOSTILE, strict=True)}),
                    encoding="utf-8")
    return path


def test_neutralise() -> None:
    for text in HOSTILE:
        assert neutralise(text) == "'" + text
    assert neutralise("Cumbria") == "Cumbria" and neutralise("") == ""
    assert neutralise("−1 (a true minus)") == "−1 (a true minus)"


def _xlsx_texts(data: bytes | Path) -> list[str]:
    """Every text cell of a workbook; fails on any formula cell or formula element."""
    import openpyxl

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    wb = openpyxl.load_workbook(source)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    # Excel decodes OOXML's _xHHHH_ escapes (a CR is _x000D_); openpyxl not
                    value = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)),
                                   cell.value)
                    assert value[:1] not in FORMULA_TRIGGERS, (ws.title, cell.coordinate)
                    texts.append(value)
    with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name
    return texts


def test_a_hostile_area_alias_and_commentary_stay_text_in_xlsx_and_csv(
        hostile_db: Path, hostile_commentary: Path, tmp_path: Path) -> None:
    """End to end: the area is found by its hostile alias, named =HYPERLINK(…), and the
    commentary file holds a hostile string for each trigger."""
    xlsx = export(hostile_db, tmp_path / "h.xlsx", "xlsx", "lcjb_default", "--commentary",
                  str(hostile_commentary), area=HOSTILE[0])
    texts = _xlsx_texts(xlsx)
    for text in HOSTILE:  # each one alone in a commentary cell
        assert "'" + text in texts, text
    assert any(t.startswith("'" + HOSTILE[0] + " (police force area) · ")  # the subtitle
               for t in texts)
    out = export(hostile_db, tmp_path / "h.csv", "csv", "lcjb_default", "--commentary",
                 str(hostile_commentary), area=HOSTILE[0])
    rows = _read_csv(out)
    for row in rows:
        for key, value in row.items():
            assert value[:1] not in FORMULA_TRIGGERS, (key, value)
    assert {r["area_name"] for r in rows} == {"'" + HOSTILE[0]}
    meta = json.loads((tmp_path / "h.csv-metadata.json").read_text("utf-8"))
    assert meta["cjsdash:area"]["name"] == HOSTILE[0]  # JSON is data, not a spreadsheet


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_trigger_is_neutralised_in_xlsx_and_csv(content, hostile: str) -> None:
    """Each trigger as the area's name (at the start of many cells) and as commentary."""
    from dataclasses import replace

    import polars as pl

    from cjsdash.exports.csv import render_csv
    from cjsdash.exports.xlsx import render_xlsx

    pc = content["disproportionality"]
    first = pc.items[0]
    item = replace(first, commentary=tuple((p, hostile) for p, _ in first.commentary))
    section = replace(pc.sections[0], items=(item, *pc.sections[0].items[1:]))
    pc = replace(pc, area=views.AreaChoice(AREA, hostile, "force"),
                 sections=(section, *pc.sections[1:]),
                 figures=pc.figures.with_columns(pl.lit(hostile).alias("area_name"),
                                                 pl.lit(hostile).alias("commentary")))
    texts = _xlsx_texts(render_xlsx(pc))
    assert "'" + hostile in texts  # the chart data's column for the area, and commentary
    rows = list(csv.DictReader(io.StringIO(render_csv(pc).decode("utf-8-sig"))))
    assert rows and all(r["area_name"] == "'" + hostile for r in rows)
    assert all(r["commentary"] == "'" + hostile for r in rows)
    for row in rows:
        assert all(v[:1] not in FORMULA_TRIGGERS for v in row.values())


def test_hostile_text_is_escaped_in_the_pdf_html(hostile_db: Path) -> None:
    from cjsdash.exports.pdf import render_html

    wh = Warehouse(hostile_db)
    pc = build_content(wh.reader(), default_registry(), load_pack("lcjb_default"), area=AREA,
                       period=PERIOD, commentary={"obtj": {"summary": "<script>x()</script>"}},
                       with_msg=False)
    page = render_html(pc)
    assert "<script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page


def test_atomic_write_keeps_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "pack.xlsx"
    out.write_bytes(b"previous")

    def half_then_fail(temp: Path) -> None:
        temp.write_bytes(b"half a wor")
        raise RuntimeError("renderer failed")

    with pytest.raises(RuntimeError):
        atomic.write_with(out, half_then_fail)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.xlsx"]
    atomic.write_bytes(out, b"new")
    assert out.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.xlsx"]


def test_a_failing_renderer_leaves_no_file_and_the_old_one_intact(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cjsdash.exports.pptx as pptx_module

    def broken(*_: Any, **__: Any) -> list[bytes]:
        raise ImageError("charts could not be rendered by kaleido: Chromium crashed")

    monkeypatch.setattr(pptx_module, "render_images", broken)
    fresh, kept = tmp_path / "fresh.pptx", tmp_path / "kept.pptx"
    kept.write_bytes(b"last month's pack")
    for out in (fresh, kept):
        result = runner.invoke(export_app, [
            "pack", "--area", AREA, "--period", PERIOD, "--pack", "disproportionality",
            "--format", "pptx", "--out", str(out), "--db", str(demo_db)])
        assert result.exit_code == 1 and "Chromium crashed" in result.output
    assert not fresh.exists()
    assert kept.read_bytes() == b"last month's pack"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.pptx"]


def test_a_csv_and_its_sidecar_are_written_together(tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    out.write_bytes(b"old")
    (tmp_path / "f.csv-metadata.json").mkdir()  # the sidecar cannot be written
    with pytest.raises(atomic.ExportPathError):
        atomic.write_many({out: b"new", tmp_path / "f.csv-metadata.json": b"{}"})
    assert out.read_bytes() == b"old"


# --- the /export page -------------------------------------------------------------------------

def test_export_page_renders_into_a_temp_dir_and_sends_bytes(demo_db: Path) -> None:
    import dash

    import layouts.context as context
    from cjsdash.exports.service import PackExporter
    from cjsdash.server import create_app

    wh = Warehouse(demo_db)
    create_app(wh)
    page = next(p for p in dash.page_registry.values() if p["path"] == "/export")
    module = sys.modules[page["module"]]
    saved = context._context
    try:
        context._context = types.SimpleNamespace(
            warehouse=wh, registry=default_registry(), reader=wh.reader,
            exporter=PackExporter())
        assert module.layout(area=AREA) is not None
        options, value = module.periods(AREA, "fy")
        assert value == "latest" and len(options) > 2
        data, message = module.build(1, AREA, "fy", options[1]["value"], "disproportionality",
                                     "csv", ["5"])
        assert data["filename"].endswith(".zip") and "/" not in data["filename"]
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(data["content"]))) as z:
            names = sorted(z.namelist())
        assert names[0].endswith(".csv") and names[1].endswith(".csv-metadata.json")
        assert "Ready" in str(message)
        for bad in [dict(pack="../../etc/passwd"), dict(fmt="exe"),
                    dict(period="1999-12-31")]:
            args = {"pack": "lcjb_default", "fmt": "csv", "period": "latest", **bad}
            data, message = module.build(1, AREA, "fy", args["period"], args["pack"],
                                         args["fmt"], [])
            assert data is dash.no_update and "could not be built" in str(message)
    finally:
        context._context = saved
