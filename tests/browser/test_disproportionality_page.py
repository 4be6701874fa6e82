"""The disproportionality page in a real headless Chromium: the stage matrix on screen is
:func:`metrics.disproportionality.stage_matrix` over the same warehouse (as ``cjsdash query``
prints it), changing the area changes the figures, and the console stays clean."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import plotly.offline
import polars as pl
import pytest
from playwright.sync_api import expect

from cjsdash.core.gateway import Warehouse
from layouts import disproportionality_text as dt
from metrics import disproportionality as dq
from metrics import views
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

LONDON_LCJB = "CJA01"
MATRIX_HEADERS = ["Stage", "Group", "Count", "Status", "Rate per 1,000 population (95% CI)",
                  "Disparity ratio per population (95% CI)", "Ratio significant",
                  "Previous stage count", "Stage rate (per previous stage)",
                  "RRI per previous stage (95% CI)", "RRI significant",
                  "Excess over reference rate", "Reduction for parity", "Note"]


def _wait_ready(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def _assert_console_clean(console: Any) -> None:
    assert console.problems() == [], f"browser console: {console.problems()}"


def _matrix_cells(page: Any) -> list[list[str]]:
    details = page.locator("details", has_text="Show the stage matrix figures")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    rows = page.locator("#dispro-matrix-table tbody tr")
    expect(rows.first).to_be_visible()
    return [[c.strip() for c in r.split("\t")] for r in rows.all_inner_texts()]


def _expected(matrix: pl.DataFrame, value: str, lower: str, upper: str
              ) -> dict[tuple[str, str], str]:
    return {(r["stage_title"], r["group"]): f"{dt.ratio_text(r[value])} "
            f"({dt.ci_text(r[lower], r[upper])})"
            for r in matrix.filter(pl.col("status") == "ok").iter_rows(named=True)}


def _expected_rri(matrix: pl.DataFrame) -> dict[tuple[str, str], str]:
    return _expected(matrix, "rri", "rri_lower", "rri_upper")


def _expected_ratio(matrix: pl.DataFrame) -> dict[tuple[str, str], str]:
    return _expected(matrix, "disparity_ratio", "ratio_lower", "ratio_upper")


def _shown(cells: list[list[str]], header: str) -> dict[tuple[str, str], str]:
    at = {h: i for i, h in enumerate(MATRIX_HEADERS)}
    return {(r[at["Stage"]], r[at["Group"]]): r[at[header]] for r in cells
            if r[at["Status"]] == "ok"}


def _shown_rri(cells: list[list[str]]) -> dict[tuple[str, str], str]:
    return _shown(cells, "RRI per previous stage (95% CI)")


def _shown_ratio(cells: list[list[str]]) -> dict[tuple[str, str], str]:
    return _shown(cells, "Disparity ratio per population (95% CI)")


def test_page_shows_the_stage_matrix_and_follows_the_area(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    con = browser_warehouse.reader()
    national = dq.stage_matrix(con, views.NATIONAL, grain="fy")
    london = dq.stage_matrix(con, LONDON_LCJB, grain="fy")
    assert national.height == london.height == 7 * 5  # population + six stages, five groups

    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if "plotly" in r.url else None)
    page.goto(app_url + "/disproportionality")
    _wait_ready(page)
    assert page.locator("h1").inner_text() == "Race disproportionality across the justice process"
    # the heatmap drawn by plotly.js's cartesian bundle, Dash's full one never fetched (decision 50)
    expect(page.locator("#dispro-matrix-chart .heatmaplayer")).to_have_count(1)
    assert page.evaluate("window.Plotly.version") == plotly.offline.get_plotlyjs_version()
    assert [u.split("?")[0].rsplit("/", 1)[-1] for u in scripts] == [
        "plotly_bundle.js", f"plotly-cartesian-{plotly.offline.get_plotlyjs_version()}.min.js"]
    expect(page.locator("[aria-current='page']")).to_have_text("Disproportionality")
    black = national.filter((pl.col("stage") == "stop_and_search")
                            & (pl.col("group") == "Black")).row(0, named=True)
    matrix_chart = page.locator("#dispro-matrix-chart")
    # Each cell leads with the disparity ratio per population, the RRI under it, labelled.
    per_population = dt.cell_text(black, "disparity_ratio")
    expect(matrix_chart).to_contain_text(per_population)
    expect(matrix_chart).to_contain_text("RRI " + dt.cell_text(black, "rri"))
    cell = matrix_chart.locator("text", has_text=per_population).first.text_content() or ""
    assert cell.index(per_population) < cell.index("RRI "), cell
    headers = page.locator("#dispro-matrix-table thead th").all_text_contents()
    assert headers == MATRIX_HEADERS
    assert headers.index("Disparity ratio per population (95% CI)") < headers.index(
        "RRI per previous stage (95% CI)")
    expect(page.locator("#dispro-grain-note")).to_contain_text(
        "Financial year by default: counts by ethnicity are small at a quarter")
    expect(page.locator("#dispro-matrix-hint")).to_contain_text(
        "leads with the disparity ratio per population")
    for stage in ("Stop and search", "Arrest", "Charge or summons", "Custodial sentence"):
        expect(matrix_chart).to_contain_text(stage)
    assert "England and Wales, 2025-26" in page.locator("#dispro-summary").inner_text()
    assert "Synthetic demo data" in page.locator("[role=status].cjs-banner").inner_text()
    heading = page.locator("#dispro-sensitivity-heading").inner_text()
    assert heading == "Sensitivity: assumptions, not confidence intervals"
    quality = page.locator("#dispro-quality-table tbody tr")
    assert quality.count() == 6
    cells = _matrix_cells(page)
    assert len(cells) == national.height
    assert _shown_rri(cells) == _expected_rri(national)
    assert _shown_ratio(cells) == _expected_ratio(national)
    page.wait_for_selector("#dispro-forest-chart svg.main-svg")
    screenshot("disproportionality")

    # Changing the area changes the figures, and the URL.
    page.click("#dispro-area")
    page.fill(".dash-dropdown-search", "London")
    page.locator(".dash-dropdown-option", has_text="London (LCJB)").first.click()
    page.wait_for_url(re.compile(rf"[?&]area={LONDON_LCJB}"))
    expect(page.locator("#dispro-summary")).to_contain_text("London (LCJB), 2025-26")
    _wait_ready(page)
    cells = _matrix_cells(page)
    assert _shown_rri(cells) == _expected_rri(london)
    assert _shown_rri(cells) != _expected_rri(national)
    london_black = london.filter((pl.col("stage") == "stop_and_search")
                                 & (pl.col("group") == "Black")).row(0, named=True)
    assert _shown_ratio(cells) == _expected_ratio(london)
    expect(page.locator("#dispro-matrix-chart")).to_contain_text(
        dt.cell_text(london_black, "disparity_ratio"))

    # The numbers are one click away: the CSV is the function's frame.
    with page.expect_download() as download_info:
        page.click("#dispro-download-matrix")
    path = Path(download_info.value.path())
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(records) == london.height
    got = {(r["stage"], r["group"]): r["rri"] for r in records if r["status"] == "ok"}
    want = {(r["stage"], r["group"]): str(r["rri"])
            for r in london.filter(pl.col("status") == "ok").iter_rows(named=True)}
    assert got == want
    _assert_console_clean(console)


def test_forest_and_settings(page: Any, screenshot: Any, app_url: str, console: Any,
                             browser_warehouse: Warehouse) -> None:
    page.goto(f"{app_url}/disproportionality?area={LONDON_LCJB}&reference=Black&chain=lammy")
    _wait_ready(page)
    expect(page.get_by_label("Without stop and search (as the Lammy Review)")).to_be_checked()
    assert "Reference group Black" in page.locator("#dispro-summary").inner_text()
    expect(page.locator("#dispro-matrix-chart")).to_contain_text("Custodial sentence")
    chart = page.locator("#dispro-matrix-chart").text_content() or ""
    assert "Stop and search" not in chart and "Arrest" in chart
    assert page.locator("#dispro-reach").count() == 0  # left out by choice, not missing

    page.click("#dispro-forest-stage")
    page.locator(".dash-dropdown-option", has_text="Arrest").first.click()
    expect(page.locator("#dispro-forest-chart")).to_contain_text("at arrest")
    _wait_ready(page)
    expect(page.get_by_label("White", exact=True).nth(1)).to_be_checked()  # not Black vs Black
    forest = dq.forest(browser_warehouse.reader(), "arrest", grain="fy", reference="Black",
                       group="White",
                       stages=[s for s in dq.default_stages().ids if s != "stop_and_search"])
    assert forest["status"].to_list().count("ok") > 10
    page.locator("details", has_text="Show the figures for every area").locator(
        "summary").click()
    rows = page.locator("#dispro-forest-table tbody tr")
    expect(rows).to_have_count(forest.height)
    screenshot("disproportionality-forest")
    _assert_console_clean(console)


def test_no_serious_accessibility_violations(
    page: Any, app_url: str, console: Any, axe_source: str
) -> None:
    """axe-core (installed by tests/browser/package.json) finds nothing serious or critical,
    with every <details> opened so the tables behind the charts are checked too."""
    page.goto(f"{app_url}/disproportionality?area={LONDON_LCJB}")
    _wait_ready(page)
    page.wait_for_selector("#dispro-forest-chart svg.main-svg")
    assert axe_violations(page, axe_source) == []
    _assert_console_clean(console)
