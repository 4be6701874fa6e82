"""The /export page in a real headless Chromium: choosing an area, pack and format and pressing
the button downloads a pack whose figures are ``cjsdash query``'s (the same
:func:`metrics.views.series`), with a clean console and no serious axe-core violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from cjsdash.core.gateway import Warehouse
from metrics import views
from metrics.registry import default_registry
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

CUMBRIA_LCJB = "CJA03"


def _wait_ready(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def test_export_page_downloads_a_workbook_with_the_query_figures(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse, screenshot: Any,
    tmp_path: Path, axe_source: str,
) -> None:
    page.goto(f"{app_url}/export?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    expect(page.locator("h1")).to_have_text("Export a board pack")
    page.get_by_label("Financial year").check()
    _wait_ready(page)
    page.get_by_label("Excel workbook (.xlsx)").check()
    assert axe_violations(page, axe_source) == []
    screenshot("export")
    with page.expect_download(timeout=120_000) as download_info:
        page.locator("#export-button").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    expect(page.locator("#export-done")).to_contain_text(download.suggested_filename)

    workbook = openpyxl.load_workbook(saved)
    assert workbook.sheetnames[0] == "Contents"
    registry = default_registry()
    con = browser_warehouse.reader()
    checked = 0
    for sheet in workbook.worksheets[1:-2]:
        header = [c.value for c in sheet[4]]
        for cells in sheet.iter_rows(min_row=5, values_only=True):
            if not cells[1]:
                break
            row = dict(zip(header, cells, strict=False))
            if row["Group"] != "All" or row["Suppressed"] != "no":
                continue
            frame = views.series(con, registry, row["Indicator id"], [CUMBRIA_LCJB], grain="fy")
            [figure] = [r for r in frame.iter_rows(named=True)
                        if r["period_label"] == row["Period"] and not r["breakdown"]]
            assert row["Value"] == pytest.approx(figure["value"]), row["Indicator id"]
            assert row["Numerator"] == pytest.approx(figure["numerator"])
            checked += 1
    assert checked >= 10
    assert console.problems() == [], console.problems()
