"""Every page on a phone (390 × 844) and on a desktop (1400 × 900).

For each page and width: the document never scrolls sideways, every table wider than its
column sits in a ``.cjs-table-scroll`` box (which scrolls inside itself), every drawn Plotly
chart fits its container, the console stays clean and axe-core finds nothing serious.
Full-page screenshots are saved as ``tests/artifacts/screenshots/<page>-390.png`` and
``<page>-1400.png`` to be looked at.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, axe_violations

pytestmark = pytest.mark.browser

FORCE = "E23000002"  # Cumbria police force area
IND = "crown_16_weeks"  # has an SPC chart and a funnel plot
PAGES = {
    "overview": "/",
    "indicator": f"/indicator/{IND}?area={FORCE}",
    "baseline": f"/baseline/{FORCE}",
    "disproportionality": "/disproportionality",
    "data": "/data",
    "export": "/export",
}
VIEWPORTS = {390: 844, 1400: 900}

LAYOUT_PROBLEMS = """() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) {
        problems.push(`document scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    }
    const name = el => el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}.${el.className}`;
    for (const table of document.querySelectorAll('table')) {
        if (table.offsetParent === null) continue;  // not displayed
        const parent = table.parentElement;
        const wide = table.offsetWidth > parent.clientWidth + 1;
        if (wide && !table.closest('.cjs-table-scroll')) {
            problems.push(`table in ${name(parent)} is ${table.offsetWidth}px wide in `
                          + `${parent.clientWidth}px with no scroll box`);
        }
    }
    for (const plot of document.querySelectorAll('.js-plotly-plot')) {
        const svg = plot.querySelector('svg.main-svg');
        if (!svg || plot.offsetParent === null) continue;
        const drawn = svg.getBoundingClientRect().width;
        const room = plot.parentElement.getBoundingClientRect().width;
        if (drawn > room + 1) {
            problems.push(`chart ${name(plot)} is ${Math.round(drawn)}px wide in ${Math.round(room)}px`);
        }
    }
    return problems;
}"""


def _ready(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_the_screen(name: str, width: int, chromium: Any, app_url: str,
                              axe_source: str) -> None:
    context = chromium.new_context(viewport={"width": width, "height": VIEWPORTS[width]},
                                   locale="en-GB", is_mobile=width < 600,
                                   has_touch=width < 600)
    console: list[tuple[str, str]] = []
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
        page.goto(app_url + PAGES[name])
        _ready(page)
        page.wait_for_timeout(300)  # Plotly's resize after the last callback
        problems = page.evaluate(LAYOUT_PROBLEMS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        assert problems == [], f"{name} at {width}px: {problems}"
        assert axe_violations(page, axe_source) == []
        errors = [(kind, text) for kind, text in console if kind in ("error", "pageerror")]
        assert errors == [], f"{name} at {width}px, browser console: {errors}"
    finally:
        context.close()


def test_on_a_phone_each_scorecard_row_is_a_card_and_still_a_table_row(
        chromium: Any, app_url: str) -> None:
    """At 390 px the overview's rows stack (the indicator above its figure, the figure beside
    its trend, the rest below), nothing scrolls sideways, and a screen reader still meets a
    table: its rows, row headers, cells and column headers."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-GB",
                                   is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(app_url + f"/?area={FORCE}")
        _ready(page)
        boxes = page.evaluate("""() => {
            const row = document.querySelector('table.cjs-scorecard tr.cjs-sc-row');
            const box = sel => row.querySelector(sel).getBoundingClientRect();
            const scroller = row.closest('.cjs-table-scroll');
            return {title: box('.cjs-sc-title'), value: box('.cjs-sc-value'),
                    spark: box('.cjs-sc-spark'), ci: box('.cjs-sc-ci'),
                    change: box('.cjs-sc-change'), width: innerWidth,
                    scrolls: scroller.scrollWidth > scroller.clientWidth,
                    label: getComputedStyle(row.querySelector('.cjs-sc-change'),
                                            '::before').content};
        }""")
        assert not boxes["scrolls"], boxes
        assert boxes["title"]["bottom"] <= boxes["value"]["top"] + 1, boxes
        assert abs(boxes["value"]["top"] - boxes["spark"]["top"]) < 30, boxes  # side by side
        assert boxes["value"]["bottom"] <= boxes["ci"]["top"] + 1, boxes
        assert boxes["ci"]["bottom"] <= boxes["change"]["top"] + 1, boxes
        assert all(b["right"] <= boxes["width"] for b in (
            boxes["title"], boxes["spark"], boxes["change"])), boxes
        assert "On the same period last year" in boxes["label"], boxes
        table = page.get_by_role("table").first
        rows = table.locator("tbody tr.cjs-sc-row")
        assert table.get_by_role("row").count() == rows.count() + 1  # the headings' row too
        assert table.get_by_role("columnheader").count() == 6
        assert table.get_by_role("rowheader").count() == rows.count() > 5
        first = table.get_by_role("row").nth(1)
        assert first.get_by_role("cell").count() == 5
    finally:
        context.close()
