"""The pages in a real headless Chromium: content, controls, URL state, console.

Figures on screen are compared with :mod:`metrics.views` over the same warehouse, so the page
and ``cjsdash query`` cannot drift apart. A full-page screenshot of each page is saved under
``tests/artifacts/screenshots``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from playwright.sync_api import expect

from cjsdash.core.gateway import Warehouse
from metrics import views
from metrics.registry import default_registry

pytestmark = pytest.mark.browser

NAMED = "ineffective_trial_rate_crown"
CUMBRIA_LCJB = "CJA03"


def _wait_ready(page: Any) -> None:
    """The page has rendered and no Dash callback is still running."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def _headline(warehouse: Warehouse, area: str, indicator: str) -> str:
    headline, _ = views.overview(warehouse.reader(), default_registry(), area)
    row = headline.filter(pl.col("indicator") == indicator)
    assert row.height == 1, f"no headline for {indicator} at {area}"
    return row["display_value"][0]


def _choose_area(page: Any, prefix: str, search: str, label: str) -> None:
    """Pick an area through the dropdown UI: open it, type to search, click the option."""
    page.click(f"#{prefix}-area")
    page.fill(".dash-dropdown-search", search)
    page.locator(".dash-dropdown-option", has_text=label).first.click()


def _assert_console_clean(console: Any) -> None:
    assert console.problems() == [], f"browser console: {console.problems()}"


def test_overview_shows_every_theme_and_indicator(
    page: Any, screenshot: Any, app_url: str, console: Any
) -> None:
    registry = default_registry()
    page.goto(app_url + "/")
    _wait_ready(page)
    headings = page.locator("h2.cjs-theme-heading").all_inner_texts()
    assert headings == [theme.title for theme, _ in registry.by_theme()]
    assert len(headings) == 4
    for theme, _ in registry.by_theme():
        assert page.locator(f"text={theme.psa}").count() >= 1
    rows = page.locator("tr.cjs-sc-row")
    assert rows.count() == len(registry.indicators)
    for ind in registry.indicators:
        assert page.locator(f"#overview-row-{ind.id}").count() == 1, ind.id
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert page.locator("[aria-current='page']").inner_text() == "Overview"
    assert "Synthetic demo data" in page.locator("[role=status].cjs-banner").inner_text()
    assert "Open Government Licence v3.0" in page.locator(".cjs-page-footer").inner_text()
    screenshot("overview")
    _assert_console_clean(console)


def test_changing_area_updates_the_headline_and_the_url(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    national = _headline(browser_warehouse, views.NATIONAL, NAMED)
    cumbria = _headline(browser_warehouse, CUMBRIA_LCJB, NAMED)
    assert national != cumbria, "choose an indicator whose figures differ"
    updates: list[str] = []
    page.on("request", lambda r: updates.append(r.url) if "_dash-update-component" in r.url
            else None)
    page.goto(app_url + "/")
    _wait_ready(page)
    value = page.locator(f"#overview-row-{NAMED} .scorecard-value")
    assert value.inner_text() == national
    updates.clear()

    _choose_area(page, "overview", "Cumbria", "Cumbria (LCJB)")
    page.wait_for_url(re.compile(rf"[?&]area={CUMBRIA_LCJB}"))
    expect(value).to_have_text(cumbria)
    assert "Cumbria (LCJB)" in page.locator("#overview-summary").inner_text()
    # One update for the change: writing the URL must not re-render the page or loop.
    page.wait_for_timeout(500)
    assert len(updates) == 1, updates
    screenshot("overview-cumbria")

    # The URL is the view: reloading it shows the same area, and Back returns to the last one.
    page.reload()
    _wait_ready(page)
    assert page.locator(f"#overview-row-{NAMED} .scorecard-value").inner_text() == cumbria
    assert "Cumbria (LCJB)" in page.locator("#overview-area").inner_text()
    page.get_by_label("Financial year").check()
    page.wait_for_url(re.compile(rf"\?area={CUMBRIA_LCJB}&grain=fy$"))
    _wait_ready(page)
    page.go_back()
    page.wait_for_url(re.compile(rf"\?area={CUMBRIA_LCJB}$"))
    expect(page.get_by_label("Calendar quarter")).to_be_checked()
    # Back re-renders the scorecard; on a busy machine that can take longer than 5 s.
    expect(page.locator(f"#overview-row-{NAMED} .scorecard-value")).to_have_text(
        cumbria, timeout=30_000)
    _assert_console_clean(console)


def test_indicator_page_chart_and_table_match_the_series(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    registry = default_registry()
    expected = views.series(browser_warehouse.reader(), registry, NAMED, [CUMBRIA_LCJB])
    assert expected.height > 0
    page.goto(f"{app_url}/indicator/{NAMED}?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    page.wait_for_selector("#indicator-chart svg.main-svg")
    assert page.locator("h1").inner_text() == registry.get(NAMED).title
    chart_text = page.locator("#indicator-chart").text_content() or ""
    assert "Cumbria (LCJB)" in chart_text and "England and Wales" in chart_text
    rows = page.locator("#indicator-figures tbody tr")
    assert rows.count() == expected.height
    shown = [[cell.strip() for cell in row.split("\t")] for row in rows.all_inner_texts()]
    headers = page.locator("#indicator-figures thead th").all_inner_texts()
    period, value, ci = (headers.index(h) for h in ("Period", "Value", "95% CI"))
    assert [(r[period], r[value], r[ci]) for r in shown] == [
        (r["period_label"], r["display_value"], r["display_ci"])
        for r in expected.iter_rows(named=True)
    ]
    screenshot("indicator")

    with page.expect_download() as download_info:
        page.click("#indicator-download-button")
    path = Path(download_info.value.path())
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["display_value"] for r in records] == expected["display_value"].to_list()
    assert download_info.value.suggested_filename.endswith(".csv")
    _assert_console_clean(console)


def test_indicator_by_ethnicity_and_grain(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    registry = default_registry()
    ind = next(i for i in registry.indicators if "ethnicity" in i.breakdowns and
               i.comparison is None)
    page.goto(f"{app_url}/indicator/{ind.id}")
    _wait_ready(page)
    page.get_by_label("By ethnicity").check()
    page.wait_for_url(re.compile(r"by=ethnicity"))
    _wait_ready(page)
    expected = views.series(browser_warehouse.reader(), registry, ind.id, [views.NATIONAL],
                            by="ethnicity")
    assert page.locator("#indicator-figures tbody tr").count() == expected.height
    legend = page.locator("#indicator-chart .legendtext").all_text_contents()
    assert sorted(legend) == sorted(expected["breakdown"].unique().to_list())
    screenshot("indicator-by-ethnicity")
    page.get_by_label("Financial year").check()
    page.wait_for_url(re.compile(r"grain=fy"))
    _wait_ready(page)
    expected = views.series(browser_warehouse.reader(), registry, ind.id, [views.NATIONAL],
                            grain="fy", by="ethnicity")
    assert page.locator("#indicator-figures tbody tr").count() == expected.height
    _assert_console_clean(console)


def test_unknown_indicator_is_a_page_not_found(
    page: Any, screenshot: Any, app_url: str, console: Any
) -> None:
    page.goto(app_url + "/indicator/no_such_thing")
    _wait_ready(page)
    assert page.locator("h1").inner_text() == "Page not found"
    links = page.locator(".cjs-not-found a[href^='/indicator/']")
    assert links.count() == len(default_registry().indicators)
    screenshot("indicator-not-found")
    _assert_console_clean(console)


def test_skip_link_is_first_and_reaches_main(
    page: Any, screenshot: Any, app_url: str, console: Any
) -> None:
    page.goto(app_url + "/")
    _wait_ready(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    assert page.locator("main#main-content").count() == 1
    screenshot("skip-link-focused")
    _assert_console_clean(console)


def test_links_carry_the_area_between_pages(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    registry = default_registry()
    page.goto(f"{app_url}/?area={CUMBRIA_LCJB}&grain=fy")
    _wait_ready(page)
    page.locator(f"#overview-row-{NAMED} a.cjs-indicator-link").click()
    page.wait_for_url(re.compile(rf"/indicator/{NAMED}\?area={CUMBRIA_LCJB}&grain=fy$"))
    expect(page.locator("h1")).to_have_text(registry.get(NAMED).title)
    expect(page).to_have_title(f"{registry.get(NAMED).title} – cjsdash")
    expected = views.series(browser_warehouse.reader(), registry, NAMED, [CUMBRIA_LCJB],
                            grain="fy")
    expect(page.locator("#indicator-figures tbody tr")).to_have_count(expected.height)
    assert page.locator("[aria-current='page']").count() == 0
    page.locator("a", has_text="← Overview").click()
    page.wait_for_url(re.compile(rf"/\?area={CUMBRIA_LCJB}&grain=fy$"))
    expect(page).to_have_title("Overview – cjsdash")
    expect(page.get_by_label("Financial year")).to_be_checked()
    expect(page.locator("[aria-current='page']")).to_have_text("Overview")
    _assert_console_clean(console)


def test_choosing_a_period_shows_that_period(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    registry = default_registry()
    _, history = views.overview(browser_warehouse.reader(), registry, CUMBRIA_LCJB)
    ends = history.select("period_end", "period_label").unique().sort("period_end",
                                                                      descending=True)
    end, label = ends.row(1)  # the period before the latest
    headline, _ = views.overview(browser_warehouse.reader(), registry, CUMBRIA_LCJB,
                                 period_end=end)
    expected = headline.filter(pl.col("indicator") == NAMED)["display_value"][0]
    page.goto(f"{app_url}/?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    page.click("#overview-period")
    options = page.locator(".dash-dropdown-option").all_inner_texts()
    assert options[1:] == ends["period_label"].to_list()  # newest first, after "Latest"
    page.locator(".dash-dropdown-option", has_text=label).first.click()
    page.wait_for_url(re.compile(rf"period={end.isoformat()}"))
    expect(page.locator(f"#overview-row-{NAMED} .scorecard-value")).to_have_text(expected)
    expect(page.locator(f"#overview-row-{NAMED} .cjs-period")).to_have_text(label)
    with page.expect_download() as download_info:
        page.click("#overview-download-button")
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    records = {r["indicator"]: r for r in csv.DictReader(io.StringIO(text))}
    assert len(records) == headline.height
    assert records[NAMED]["display_value"] == expected
    assert records[NAMED]["period_label"] == label
    _assert_console_clean(console)
