"""The indicator page leads with its verdict (issue 16): one sentence right under the controls,
then the charts, the figures table last. Screenshots: ``indicator_summary_1400.png`` and
``indicator_summary_390.png`` (the top of the page at each width)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from cjsdash.core.gateway import Warehouse
from layouts.indicator_summary import summary_sentence
from metrics import views
from metrics.registry import default_registry
from tests.browser.conftest import SCREENSHOTS, axe_violations

pytestmark = pytest.mark.browser

IND, AREA, NAME = "crown_16_weeks", "CJA03", "Cumbria (LCJB)"

FIRST_AFTER_CONTROLS = """() => {
  const controls = document.querySelector('.cjs-controls');
  const shown = [...document.querySelectorAll('p, h2, h3, figure, table, [role=status]')]
    .filter(e => !controls.contains(e) && e.innerText && e.innerText.trim()
            && (controls.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING));
  return shown[0] && shown[0].id;
}"""
FOLLOWS = """([a, b]) => !!(document.getElementById(a).compareDocumentPosition(
  document.getElementById(b)) & Node.DOCUMENT_POSITION_FOLLOWING)"""


def test_summary_leads_and_the_figures_table_comes_last(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse, axe_source: str
) -> None:
    registry = default_registry()
    ind = registry.get(IND)
    con = browser_warehouse.reader()
    both = views.series(con, registry, IND, [AREA, views.NATIONAL], grain="quarter")
    rows = both.filter(pl.col("area_code") == AREA)
    national = both.filter(pl.col("area_code") == views.NATIONAL)
    last = rows.filter(pl.col("breakdown") == "").sort("period_start").row(-1, named=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{app_url}/indicator/{IND}?area={AREA}")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#indicator-spc-chart svg.main-svg")
    page.wait_for_selector("#indicator-funnel-chart svg.main-svg")

    summary = page.locator("#indicator-summary").inner_text()
    assert f": {views.format_value(last['value'], ind)} in {last['period_label']}" in summary
    assert summary == summary_sentence(ind, NAME, rows, national)
    assert page.evaluate(FIRST_AFTER_CONTROLS) == "indicator-summary"
    for before, after in (("indicator-summary", "indicator-chart"),
                          ("indicator-chart", "indicator-spc-chart"),
                          ("indicator-spc-chart", "indicator-funnel-chart"),
                          ("indicator-funnel-chart", "indicator-figures")):
        assert page.evaluate(FOLLOWS, [before, after]), f"{after} should follow {before}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "indicator_summary_1400.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    page.locator("#indicator-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "indicator_summary_390.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert axe_violations(page, axe_source) == []
    assert console.problems() == [], f"browser console: {console.problems()}"
