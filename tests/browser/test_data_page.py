"""The data page in a real Chromium: sources, coverage, and an upload through the file input.

What the page shows is compared with :mod:`metrics.provenance` over the same warehouse. The
upload is a small board extract for periods before the demo's (2013-14), so the figures the
other browser tests check are not touched; uploads are written under a temporary data
folder (``CJSDASH_DATA_DIR``), never under the repository's ``data/``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from cjsdash.core.config import Settings, get_settings
from cjsdash.core.gateway import Warehouse
from metrics import provenance, views
from metrics.registry import default_registry

pytestmark = pytest.mark.browser

IND = "ineffective_trial_rate_crown"
RUNS_SHOWN = 12  # the page lists the newest 12 files (layouts.pages.data.RUNS_SHOWN)
CUMBRIA_LCJB = "CJA03"
EXTRACT = """area,period,measure,numerator,denominator
Cumbria,2013-14 Q1,ineffective_trial_rate_crown,12,100
Cumbria,2013-14 Q2,ineffective_trial_rate_crown,15,120
Narnia,2013-14 Q1,ineffective_trial_rate_crown,5,50
Cumbria,2013-14 Q3,ineffective_trial_rate_crown,=1+2,100
"""


@pytest.fixture(scope="module")
def upload_settings(app_url: str, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[Settings]:
    """Settings whose data folder is temporary (the server reads them at each upload)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CJSDASH_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    # The upload below shows two rejected rows of four: allow that share (default 10%).
    patch.setenv("CJSDASH_MAX_REJECT_SHARE", "0.5")
    get_settings.cache_clear()
    yield get_settings()
    patch.undo()
    get_settings.cache_clear()


def _wait_ready(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")
    page.wait_for_selector("#data-coverage-group tbody tr")
    page.wait_for_selector("#data-runs-table tbody tr")


def _assert_console_clean(console: Any) -> None:
    assert console.problems() == [], f"browser console: {console.problems()}"


def _watch_status(page: Any) -> None:
    """Record every text the upload's status region shows (it is replaced quickly)."""
    page.evaluate("""() => {
        window.cjsStatusTexts = [];
        const el = document.getElementById("data-upload-status");
        new MutationObserver(() => window.cjsStatusTexts.push(el.innerText))
            .observe(el, {childList: true, subtree: true, characterData: true});
    }""")


def test_data_page_shows_sources_files_and_coverage(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse,
    upload_settings: Settings,
) -> None:
    registry = default_registry()
    con = browser_warehouse.reader()
    runs = provenance.runs_frame(con)
    lcjbs = [a for a in views.list_areas(con) if a.kind == "lcjb"]
    page.goto(app_url + "/data")
    _wait_ready(page)
    expect(page).to_have_title("Data – cjsdash")
    assert page.locator("h1").inner_text() == "Data"
    assert page.locator("[aria-current='page']").inner_text() == "Data"
    assert page.locator("#data-runs-table tbody tr").count() == min(runs.height, RUNS_SHOWN)
    first = page.locator("#data-runs-table tbody tr").first.inner_text()
    assert runs["file_name"][0] in first and "✓ loaded" in first
    sources = page.locator("#data-sources-table").inner_text()
    assert "Synthetic demo data (seeded, not real) ◆" in sources
    assert "Synthetic demo data" in page.locator("[role=status].cjs-banner").inner_text()
    rows = page.locator("#data-coverage-area tbody tr th[scope=row]")
    assert rows.count() == len(registry.indicators)
    assert page.locator("#data-coverage-group tbody tr").count() == len(lcjbs)
    caption = page.locator("#data-coverage-group caption").inner_text()
    assert f"{len(lcjbs)} LCJB areas × {len(registry.indicators)} indicators" in caption
    # a cell's symbol is drawn and named by its class (decision 49): seen as "✓ 4", heard
    # as "complete 4"; a cell with no figures heard as "none"
    full = page.locator("#data-coverage-area td.cjs-cov-full").first
    count = full.inner_text().strip()
    assert count.isdigit()
    expect(full).to_have_accessible_name(f"complete {count}")
    assert full.evaluate("c => getComputedStyle(c, '::before').content").startswith('"✓"')
    expect(page.locator("#data-coverage-group td.cjs-cov-full").first
           ).to_have_accessible_name("complete")
    expect(page.locator("#data-coverage-area td.cjs-cov-none").first
           ).to_have_accessible_name("none")
    assert page.locator("#data-rejects-table caption").inner_text().startswith(
        "Rejected rows for every file")
    # The drop zone's button is the keyboard route; the hidden file input is out of the tabs.
    assert page.locator("#data-upload button").inner_text() == "Choose a file"
    expect(page.locator("#data-upload input[type=file]")).to_have_attribute("tabindex", "-1")
    screenshot("data")
    page.locator("#data-template-button").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "data-targets-template-button"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "data-upload-button"
    page.evaluate("""() => document.querySelector("#data-upload input[type=file]")
        .addEventListener("click", () => { window.cjsChooserOpened = true; })""")
    page.keyboard.press("Enter")  # opens the file dialog: the zone clicks its file input
    page.wait_for_function("() => window.cjsChooserOpened === true")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "data-runs-download-button"

    with page.expect_download() as download:
        page.click("#data-runs-download-button")
    records = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert [int(r["run_id"]) for r in records] == runs["run_id"].to_list()
    assert download.value.suggested_filename.startswith("cjsdash_files_loaded_")
    with page.expect_download() as download:
        page.click("#data-coverage-download-button")
    records = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert {r["area_code"] for r in records} >= {a.code for a in lcjbs}
    assert {"indicator", "period_label", "figures", "months_covered", "months_expected",
            "synthetic", "area_name"} <= set(records[0])
    _assert_console_clean(console)


def test_upload_a_board_extract_and_see_it_everywhere(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse,
    upload_settings: Settings, tmp_path: Path,
) -> None:
    before = provenance.runs_frame(browser_warehouse.reader()).height
    extract = tmp_path / "cumbria extract.csv"
    extract.write_text(EXTRACT, encoding="utf-8")
    page.goto(f"{app_url}/data?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    _watch_status(page)
    page.locator("#data-upload input[type=file]").set_input_files(str(extract))

    line = page.locator("#data-upload-line")
    expect(line).to_contain_text("board_extract: 4 rows read, 2 rejected; 4 figures loaded, "
                                 "0 revised, 0 unchanged", timeout=60_000)
    texts = page.evaluate("window.cjsStatusTexts")
    assert any(t.startswith("Loading… checking and loading ‘cumbria extract.csv’")
               for t in texts), texts
    assert page.locator("#data-upload-status").inner_text().startswith(
        "‘cumbria extract.csv’ loaded as run")
    rejected = page.locator("#data-upload-rejects tbody tr")
    expect(rejected).to_have_count(2)
    assert re.match(r"4\s+area\s+Narnia\s+unknown area", rejected.nth(0).inner_text())
    assert re.match(r"5\s+numerator\s+=1\+2\s+not a number", rejected.nth(1).inner_text())

    # The run is logged under a name the server chose, in the temporary uploads folder only.
    runs = provenance.runs_frame(browser_warehouse.reader())
    assert runs.height == before + 1
    saved = runs["file_name"][0]
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{8}-cumbria-extract\.csv", saved)
    assert line.inner_text().startswith(saved)
    uploads = Path(upload_settings.data_dir) / "uploads"
    assert [p.name for p in uploads.iterdir()] == [saved]

    # The page's tables refresh: the new run, its rejects, and the coverage of 2013-14 (the
    # readers reopen on the new data with cold caches, on a machine shared with other jobs).
    expect(page.locator("#data-runs-table caption")).to_contain_text(f"{before + 1:,}",
                                                                     timeout=30_000)
    newest = page.locator("#data-runs-table tbody tr").first
    expect(newest).to_contain_text(saved)
    expect(newest).to_contain_text("✓ loaded")
    expect(page.locator("#data-rejects-table tbody tr").first).to_contain_text("Narnia",
                                                                            timeout=30_000)
    with page.expect_download() as download:
        page.click("#data-rejects-download-button")
    records = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert "'=1+2" in [r["value"] for r in records]  # a spreadsheet will not run it
    header = page.locator("#data-coverage-area thead th")
    expect(header.nth(1)).to_have_text("2013-14", timeout=30_000)
    cells = page.locator(f"#data-coverage-area tbody tr:has(a[href^='/indicator/{IND}?']) td")
    expect(cells.first).to_have_class("cjs-cov-part")  # two quarters: 6 of 12 months
    expect(cells.first).to_have_accessible_name("partial 2")
    expect(cells.first).to_have_attribute("title", re.compile(r": 6 of 12 months covered;"))
    expect(page.locator("#data-upload")).not_to_have_class(re.compile("cjs-upload-disabled"))
    screenshot("data-uploaded")
    _assert_console_clean(console)

    # …and the figure itself is on the indicator page.
    page.goto(f"{app_url}/indicator/{IND}?area={CUMBRIA_LCJB}&grain=fquarter")
    page.wait_for_selector("#indicator-figures tbody tr")
    row = page.locator("#indicator-figures tbody tr", has_text="2013-14 Q1")
    expect(row).to_have_count(1)
    assert "12.0%" in row.inner_text()  # 12 of 100
    assert "12.5%" in page.locator("#indicator-figures tbody tr",
                                   has_text="2013-14 Q2").inner_text()  # 15 of 120
    _assert_console_clean(console)


def test_refused_uploads_say_why_and_change_nothing(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse,
    upload_settings: Settings, tmp_path: Path,
) -> None:
    before = provenance.runs_frame(browser_warehouse.reader()).height
    page.goto(app_url + "/data")
    _wait_ready(page)
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00")
    page.locator("#data-upload input[type=file]").set_input_files(str(program))
    expect(page.locator("#data-upload-status")).to_have_text(
        "tool.exe: refused: a .exe file cannot be uploaded: choose a CSV (.csv) or a "
        "spreadsheet (.xlsx, .xlsm or .ods)")

    bad = tmp_path / "bad.csv"
    bad.write_text("area,period,measure,numerator,denominator\n"
                   "Narnia,2013-14 Q1,ineffective_trial_rate_crown,5,50\n", encoding="utf-8")
    page.locator("#data-upload input[type=file]").set_input_files(str(bad))
    line = page.locator("#data-upload-line")
    expect(line).to_contain_text("refused: no row could be loaded; first problem:",
                                 timeout=60_000)
    assert "‘bad.csv’ was refused: nothing was loaded." in page.locator(
        "#data-upload-status").inner_text()
    runs = provenance.runs_frame(browser_warehouse.reader())
    assert runs.height == before + 1 and runs["status"][0] == "refused"  # logged, not loaded
    assert runs["rows_loaded"][0] == 0
    expect(page.locator("#data-runs-table tbody tr").first).to_contain_text("✗ refused",
                                                                         timeout=30_000)
    _assert_console_clean(console)


def test_a_cut_upload_can_be_loaded_anyway_by_keyboard(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse,
    upload_settings: Settings, tmp_path: Path, axe_source: str,
) -> None:
    """A file that would replace figures with far fewer is refused and kept; the page says
    what loading it anyway does, and its button (reached and pressed by keyboard) loads it
    (decision 46). Periods before the other tests' (2012-13), so nothing else moves."""
    from tests.browser.conftest import axe_violations

    full, cut = tmp_path / "full.csv", tmp_path / "cut.csv"
    full.write_text("area,period,measure,numerator,denominator\n"
                    "Cumbria,2012-13 Q1,ineffective_trial_rate_crown,120,1000\n"
                    "Cumbria,2012-13 Q2,ineffective_trial_rate_crown,150,1100\n",
                    encoding="utf-8")
    cut.write_text("area,period,measure,numerator,denominator\n"
                   "Cumbria,2012-13 Q1,ineffective_trial_rate_crown,12,1000\n",
                   encoding="utf-8")
    page.goto(app_url + "/data")
    _wait_ready(page)
    page.locator("#data-upload input[type=file]").set_input_files(str(full))
    expect(page.locator("#data-upload-status")).to_contain_text("‘full.csv’ loaded as run",
                                                                timeout=60_000)
    expect(page.locator("#data-upload-offer")).to_be_hidden()  # until a file is cut short
    page.locator("#data-upload input[type=file]").set_input_files(str(cut))
    expect(page.locator("#data-upload-line")).to_contain_text(
        "would replace figures already loaded with far fewer", timeout=60_000)
    button = page.locator("#data-upload-accept")
    expect(button).to_be_visible()
    expect(button).to_have_text("Load ‘cut.csv’ anyway")
    assert "this file's figures replace those named above" in page.locator(
        "#data-upload-offer").inner_text()
    expect(page.locator("#data-upload-status")).to_contain_text(  # announced (aria-live)
        "You can load it anyway with the button below.")
    refused = provenance.runs_frame(browser_warehouse.reader()).row(0, named=True)
    assert refused["status"] == "refused"
    assert axe_violations(page, axe_source) == []
    screenshot("data-upload-cut")

    page.locator("#data-upload-button").focus()  # by keyboard: the next Tab stop, Enter
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "data-upload-accept"
    page.keyboard.press("Enter")
    expect(page.locator("#data-upload-status")).to_contain_text("‘cut.csv’ loaded as run",
                                                                timeout=60_000)
    expect(page.locator("#data-upload-offer")).to_be_hidden()
    # the pressed button went: focus is on the status region that says what became of it
    assert page.evaluate("document.activeElement.id") == "data-upload-status"
    assert "button below" not in page.locator("#data-upload-status").inner_text()
    loaded = provenance.runs_frame(browser_warehouse.reader()).row(0, named=True)
    assert (loaded["status"], loaded["file_name"]) == ("loaded", refused["file_name"])
    expect(page.locator("#data-runs-table tbody tr").first).to_contain_text("✓ loaded",
                                                                         timeout=30_000)
    _assert_console_clean(console)
