"""Links and state as an analyst uses them (issue 16): every spelling the CLI accepts works in a
page's URL, a percent-encoded baseline path is decoded, the navigation carries the area, grain
and period to the next page, and /export keeps its choices in the URL, names the real period
and keeps the commentary typed for a pack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

CUMBRIA_FORCE = "E23000002"


def _ready(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def _area_shown(page: Any, prefix: str) -> str:
    return page.locator(f"#{prefix}-area").inner_text()


@pytest.mark.parametrize(("path", "prefix"), [
    ("/?area=Cumbria", "overview"),
    ("/?area=devon-and-cornwall", "overview"),
    ("/indicator/charge_rate?area=Cumbria", "indicator"),
    ("/export?area=Cumbria", "export"),
])
def test_every_cli_spelling_works_in_the_url(page: Any, app_url: str, console: Any,
                                             path: str, prefix: str) -> None:
    page.goto(app_url + path)
    _ready(page)
    shown = _area_shown(page, prefix)
    assert "England and Wales" not in shown
    want = "Devon" if "devon" in path else "Cumbria"
    assert want in shown, shown
    assert console.problems() == [], console.problems()


def test_a_percent_encoded_baseline_path_is_decoded(page: Any, app_url: str,
                                                    console: Any) -> None:
    page.goto(app_url + "/baseline/Devon%20%26%20Cornwall")
    _ready(page)
    expect(page.locator("h1")).to_contain_text("Devon")
    expect(page.locator("body")).not_to_contain_text("no area called")
    assert console.problems() == [], console.problems()


def test_no_baseline_link_for_england_and_wales(page: Any, app_url: str) -> None:
    page.goto(app_url + "/indicator/charge_rate")
    _ready(page)
    expect(page.locator("#indicator-baseline")).to_be_hidden()
    page.goto(app_url + f"/indicator/charge_rate?area={CUMBRIA_FORCE}")
    _ready(page)
    expect(page.locator("#indicator-baseline-link")).to_be_visible()


def test_navigation_carries_the_choices_and_export_remembers(
    page: Any, app_url: str, console: Any, tmp_path: Path, axe_source: str, screenshot: Any,
) -> None:
    page.goto(app_url + f"/?area={CUMBRIA_FORCE}&grain=fy")
    _ready(page)
    page.locator("#site-nav a", has_text="Export").click()
    _ready(page)
    query = parse_qs(urlparse(page.url).query)
    assert query.get("area") == [CUMBRIA_FORCE] and query.get("grain") == ["fy"], page.url
    assert "Cumbria" in _area_shown(page, "export")
    expect(page.get_by_label("Financial year")).to_be_checked()
    # the latest period is named, in the control and in the pack
    latest = page.locator("#export-period").inner_text()
    assert "Latest available (" in latest, latest
    # choices go into the URL
    page.get_by_label("Excel workbook (.xlsx)").check()
    _ready(page)
    # commentary typed for a section is kept across a reload and goes into the pack
    page.locator("#export-commentary details").first.locator("summary").click()
    box = page.locator("#export-commentary textarea").first
    box.fill("Fewer ineffective trials since the listing change.")
    box.blur()
    # kept once the browser's store holds it (the save is a callback: reloading before its
    # answer arrives would lose what was typed, as a person reloading mid-save would)
    page.wait_for_function(
        "() => (localStorage.getItem('export-notes') || '').includes('listing change')")
    page.reload()
    _ready(page)
    page.locator("#export-commentary details").first.locator("summary").click()
    expect(page.locator("#export-commentary textarea").first).to_have_value(
        "Fewer ineffective trials since the listing change.")
    assert axe_violations(page, axe_source) == []
    screenshot("export-commentary")
    with page.expect_download(timeout=120_000) as download_info:
        page.locator("#export-button").click()
    download = download_info.value
    name = download.suggested_filename
    assert "latest" not in name.lower() and name.endswith(".xlsx"), name
    saved = tmp_path / name
    download.save_as(saved)
    cells = [str(c) for ws in openpyxl.load_workbook(saved).worksheets
             for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("Fewer ineffective trials since the listing change." in c for c in cells)
    assert not any("latest available period" in c.lower() for c in cells)
    assert console.problems() == [], console.problems()


def test_the_area_picker_works_by_keyboard_alone(page: Any, app_url: str, console: Any,
                                                axe_source: str) -> None:
    """Tab to the picker, type to search, arrow to an option (it shows the focus colours),
    Enter: the area changes and the URL says so (WCAG 2.1.1, 2.4.7, 2.4.11)."""
    page.goto(app_url + "/")
    _ready(page)
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "overview-area":
            break
    else:
        pytest.fail("the area picker cannot be reached with Tab")
    page.keyboard.press("C")  # typing on the picker opens it with the keyboard in its search
    search = page.locator(".dash-dropdown-search")
    expect(search).to_be_focused()
    page.keyboard.type("umb", delay=40)
    expect(search).to_have_value(re.compile(r"^C?umb$"))
    page.locator(".dash-dropdown-option", has_text="Cumbria").first.wait_for()
    page.keyboard.press("ArrowDown")
    focused = page.locator(".dash-dropdown-option:has(input:focus)")
    expect(focused).to_have_count(1)
    expect(focused).to_contain_text("Cumbria")
    colour = focused.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(255, 221, 0)", colour  # the focus colour, not the list's white
    assert axe_violations(page, axe_source) == []
    page.keyboard.press("Enter")
    page.wait_for_url("**area=CJA03*")
    assert "Cumbria" in page.locator("#overview-area").inner_text()
    assert console.problems() == [], console.problems()
