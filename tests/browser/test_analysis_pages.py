"""The analysis views in a real headless Chromium: SPC, comparison, rebase, the baseline page,
and axe-core on every page.

Figures on screen are compared with :mod:`metrics.analysis` over the same warehouse. axe-core
comes from npm (``tests/browser/package.json``, pinned); if it is not installed the test runs
``npm ci --prefix tests/browser`` (CI has the npm registry), and skips only when npm is absent.
Screenshots: ``tests/artifacts/screenshots/spc.png`` (the SPC section), ``spc_proportion.png``,
``funnel.png``, ``rank.png`` and ``baseline.png``.
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
from metrics import analysis, views
from metrics.registry import default_registry
from tests.browser.conftest import SCREENSHOTS, axe_violations

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
IND = "crown_16_weeks"  # a counted proportion with a national target: p-chart, assurance, RAG
CUMBRIA_LCJB, DURHAM_LCJB, CUMBRIA_FORCE = "CJA03", "CJA11", "E23000002"


def _wait_ready(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")


def _choose(page: Any, control: str, search: str | None, label: str) -> None:
    """Pick an option through a dropdown's UI: open it, type to search, click the option."""
    page.click(f"#{control}")
    if search is not None:
        page.fill(".dash-dropdown-search", search)
    page.locator(".dash-dropdown-option", has_text=label).first.click()


def _assert_console_clean(console: Any) -> None:
    assert console.problems() == [], f"browser console: {console.problems()}"


def _series(warehouse: Warehouse, area: str, grain: str = "quarter") -> pl.DataFrame:
    frame = views.series(warehouse.reader(), default_registry(), IND, [area], grain=grain)
    return frame.filter(pl.col("area_code") == area)


def _cells(page: Any, table: str, heading: str) -> list[str]:
    """One column of a table by its heading (text content: the table may sit in a closed
    ``<details>``)."""
    headers = [h.strip() for h in page.locator(f"#{table} thead th").all_text_contents()]
    index = headers.index(heading)
    return page.locator(f"#{table} tbody tr").evaluate_all(
        "(rows, i) => rows.map(r => r.querySelectorAll('th, td')[i].textContent.trim())",
        index)


def _rank_text(frame: pl.DataFrame, area: str, name: str) -> str:
    row = frame.filter(pl.col("area_code") == area).row(0, named=True)
    return (f"{name}: median rank {row['rank']:g} of {row['ranked']}, 95% rank interval "
            f"{row['rank_lower']:g} to {row['rank_upper']:g}.")


# --- the indicator page ---------------------------------------------------------------------------

def test_indicator_page_shows_spc_funnel_and_ranking(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse, axe_source: str
) -> None:
    registry = default_registry()
    ind = registry.get(IND)
    con = browser_warehouse.reader()
    spc = analysis.spc_frame(_series(browser_warehouse, CUMBRIA_LCJB), ind)
    compare = analysis.compare_areas(con, registry, IND, None, "quarter", kind="lcjb")
    page.goto(f"{app_url}/indicator/{IND}?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    for chart in ("spc", "funnel", "rank"):
        page.wait_for_selector(f"#indicator-{chart}-chart svg.main-svg")
    assert spc["chart"][0] in analysis.PROPORTION_CHARTS  # p, or Laney p′ if overdispersed
    assert "p-chart" in page.locator("#indicator-spc-note").inner_text()
    assert page.locator("#indicator-spc-figures tbody tr").count() == spc.height
    assert _cells(page, "indicator-spc-figures", "Centre line") == [
        views.format_value(v, ind) for v in spc["centre"]]
    assurance = analysis.assurance_for(spc, ind)
    assert assurance.text in page.locator("#indicator-assurance").inner_text()
    assert page.locator("#indicator-rag").inner_text().startswith("RAG (board-pack rule):")
    caption = page.locator("#indicator-spc-chart + p + figcaption").inner_text()
    for part in ("Source:", "Denominator:", "Confidence intervals:", "Suppression:"):
        assert part in caption
    spc_text = page.locator("#indicator-spc-chart").text_content() or ""
    assert "Process limits" in spc_text and "Special-cause rules" in spc_text
    # How do we compare?
    assert page.locator("#indicator-funnel-figures tbody tr").count() == compare.height == 42
    expect(page.locator("#indicator-rank-position")).to_have_text(
        _rank_text(compare, CUMBRIA_LCJB, "Cumbria (LCJB)"))
    group = analysis.peer_group(con, CUMBRIA_LCJB)
    names = analysis.area_names(con)
    msg_text = page.locator("#indicator-msg-group").inner_text()
    assert group.label in msg_text
    assert all(names[c] in msg_text for c in group.members)
    assert page.locator("#indicator-msg-figures tbody tr").count() == len(group.members) + 4
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for chart in ("spc", "funnel", "rank"):  # spc_proportion.png, funnel.png, rank.png
        page.locator(f"#indicator-{chart}-chart").scroll_into_view_if_needed()
        name = "spc_proportion" if chart == "spc" else chart
        page.locator(f"figure:has(#indicator-{chart}-chart)").screenshot(
            path=str(SCREENSHOTS / f"{name}.png"))
    assert axe_violations(page, axe_source) == []
    _assert_console_clean(console)


def test_spc_signals_are_coloured_and_shaped_by_polarity(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    """Fine payment (money: an XmR chart) in Cumbria, with its target and both kinds of signal
    in the demo data; the screenshot of this chart is spc.png."""
    ind = default_registry().get("fine_payment_rate")
    rows = views.series(browser_warehouse.reader(), default_registry(), ind.id, [CUMBRIA_LCJB])
    spc = analysis.spc_frame(rows, ind)
    assert spc["chart"][0] == "xmr"
    page.goto(f"{app_url}/indicator/{ind.id}?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    page.wait_for_selector("#indicator-spc-chart svg.main-svg")
    legend = page.locator("#indicator-spc-chart .legendtext").all_text_contents()
    for signal in ("improvement", "concern"):
        assert (f"Special cause: {signal}" in legend) == (signal in spc["signal"].to_list())
    assert "Target" in legend
    assert "XmR" in page.locator("#indicator-spc-note").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#indicator-spc-chart").scroll_into_view_if_needed()
    page.locator("figure:has(#indicator-spc-chart)").screenshot(path=str(SCREENSHOTS / "spc.png"))
    _assert_console_clean(console)


def test_changing_area_updates_spc_funnel_and_ranking(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    registry = default_registry()
    con = browser_warehouse.reader()
    lcjbs = analysis.compare_areas(con, registry, IND, None, "quarter", kind="lcjb")
    forces = analysis.compare_areas(con, registry, IND, None, "quarter", kind="force")
    page.goto(f"{app_url}/indicator/{IND}?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    rank = page.locator("#indicator-rank-position")
    expect(rank).to_have_text(_rank_text(lcjbs, CUMBRIA_LCJB, "Cumbria (LCJB)"))

    _choose(page, "indicator-area", "Durham", "Durham (LCJB)")
    page.wait_for_url(re.compile(rf"[?&]area={DURHAM_LCJB}"))
    expect(rank).to_have_text(_rank_text(lcjbs, DURHAM_LCJB, "Durham (LCJB)"))
    expect(page.locator("#indicator-spc-chart")).to_contain_text("Durham (LCJB)")
    spc = analysis.spc_frame(_series(browser_warehouse, DURHAM_LCJB), registry.get(IND))
    expect(page.locator("#indicator-spc-figures tbody tr")).to_have_count(spc.height)
    expect(page.locator("#indicator-funnel-chart")).to_contain_text("Durham")

    # A police force area is compared with the 43 police force areas.
    _choose(page, "indicator-area", "Cumbria", "Cumbria (police force area)")
    page.wait_for_url(re.compile(rf"[?&]area={CUMBRIA_FORCE}"))
    expect(rank).to_have_text(_rank_text(forces, CUMBRIA_FORCE, "Cumbria (police force area)"))
    expect(page.locator("#indicator-funnel-figures tbody tr")).to_have_count(43)
    expect(page.locator("#indicator-compare-lead")).to_contain_text("police force areas")
    _assert_console_clean(console)


def test_rebase_control_updates_the_url_and_the_limits(
    page: Any, app_url: str, console: Any, browser_warehouse: Warehouse
) -> None:
    ind = default_registry().get(IND)
    rows = _series(browser_warehouse, CUMBRIA_LCJB)
    plain = analysis.spc_frame(rows, ind)
    rebased = analysis.spc_frame(rows, ind, rebase_at=["2020-04-01"])
    assert plain["centre"][-1] != rebased["centre"][-1]
    page.goto(f"{app_url}/indicator/{IND}?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    page.locator("#indicator-spc-details summary").click()  # show the SPC figures
    centre = page.locator("#indicator-spc-figures tbody tr").last.locator("td").nth(3)
    assert page.locator("#indicator-spc-figures thead th").nth(4).inner_text() == "Centre line"
    expect(centre).to_have_text(views.format_value(plain["centre"][-1], ind))

    _choose(page, "indicator-rebase", None, "From Apr–Jun 2020")
    page.wait_for_url(re.compile(r"[?&]rebase=2020-04-01"))
    expect(centre).to_have_text(views.format_value(rebased["centre"][-1], ind))
    expect(page.locator("#indicator-spc-note")).to_contain_text("Rebased from the period")
    expect(page.locator("#indicator-spc-chart")).to_contain_text("rebased here")

    page.reload()  # the URL is the view
    _wait_ready(page)
    expect(page.locator("#indicator-rebase")).to_contain_text("From Apr–Jun 2020")
    expect(centre).to_have_text(views.format_value(rebased["centre"][-1], ind))
    page.go_back()
    page.wait_for_url(re.compile(rf"\?area={CUMBRIA_LCJB}$"))
    expect(centre).to_have_text(views.format_value(plain["centre"][-1], ind))

    with page.expect_download() as download_info:
        page.locator("#indicator-spc-details summary").click()
        page.click("#indicator-spc-download-button")
    records = list(csv.DictReader(io.StringIO(
        Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert len(records) == plain.height
    assert float(records[-1]["centre"]) == pytest.approx(plain["centre"][-1])
    _assert_console_clean(console)


def test_rolling_twelve_months_explains_why_there_is_no_spc(
    page: Any, app_url: str, console: Any
) -> None:
    page.goto(f"{app_url}/indicator/{IND}?area={CUMBRIA_LCJB}&grain=r12")
    _wait_ready(page)
    expect(page.locator("#indicator-spc-note")).to_contain_text("not drawn for rolling")
    assert page.locator("#indicator-spc-chart").count() == 0
    page.wait_for_selector("#indicator-funnel-chart svg.main-svg")
    _assert_console_clean(console)


# --- the baseline page ----------------------------------------------------------------------------

def test_baseline_page_four_themes_and_a_summary(
    page: Any, screenshot: Any, app_url: str, console: Any, browser_warehouse: Warehouse,
    axe_source: str,
) -> None:
    registry = default_registry()
    con = browser_warehouse.reader()
    frame, group = analysis.baseline(con, registry, CUMBRIA_FORCE, "quarter")
    updates: list[str] = []
    page.on("request", lambda r: updates.append(r.url) if "_dash-update-component" in r.url
            else None)
    page.goto(f"{app_url}/baseline/{CUMBRIA_FORCE}")
    _wait_ready(page)
    expect(page.locator("h1")).to_have_text("Baseline: Cumbria (police force area)")
    expect(page).to_have_title("Baseline: Cumbria – cjsdash")
    headings = page.locator("h2.cjs-theme-heading").all_inner_texts()
    assert headings == [t.title for t, _ in registry.by_theme()] and len(headings) == 4
    summary = page.locator("#baseline-summary li").all_inner_texts()
    assert summary == analysis.summarise_baseline(frame, "Cumbria (police force area)")
    assert any(s.startswith("Significantly") for s in summary)
    assert group.label in page.locator("#baseline-group").inner_text()
    rows = page.locator("table[id^='baseline-table-'] tbody tr")
    assert rows.count() == len(registry.indicators)
    shown = dict(zip(_cells(page, "baseline-table-processes", "Indicator"),
                     _cells(page, "baseline-table-processes", "Against England and Wales"),
                     strict=True))
    expected = frame.filter(pl.col("theme") == registry.theme("processes").title)
    assert shown == dict(zip(expected["title"], [v or "–" for v in
                                                  expected["vs_national_short"]], strict=True))
    screenshot("baseline")
    assert axe_violations(page, axe_source) == []

    updates.clear()
    page.get_by_label("Financial year").check()
    page.wait_for_url(re.compile(rf"/baseline/{CUMBRIA_FORCE}\?grain=fy$"))
    fy, _ = analysis.baseline(con, registry, CUMBRIA_FORCE, "fy")
    expect(page.locator("#baseline-summary li").first).to_have_text(
        analysis.summarise_baseline(fy, "Cumbria (police force area)")[0])
    page.wait_for_timeout(500)
    assert len(updates) == 1, updates  # writing the URL does not render the page again

    _choose(page, "baseline-area", "Durham", "Durham (LCJB)")
    page.wait_for_url(re.compile(rf"/baseline/{DURHAM_LCJB}\?grain=fy$"))
    expect(page.locator("h1")).to_have_text("Baseline: Durham (LCJB)")
    with page.expect_download() as download_info:
        page.click("#baseline-download-button")
    records = list(csv.DictReader(io.StringIO(
        Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert len(records) == len(registry.indicators)
    assert {r["area_code"] for r in records} == {DURHAM_LCJB}
    _assert_console_clean(console)


def test_baseline_accepts_any_spelling_and_is_linked_from_the_overview(
    page: Any, app_url: str, console: Any
) -> None:
    page.goto(f"{app_url}/baseline/devon-and-cornwall")
    _wait_ready(page)
    expect(page.locator("h1")).to_have_text("Baseline: Devon and Cornwall (police force area)")
    page.goto(f"{app_url}/baseline/nowhere-at-all")
    _wait_ready(page)
    expect(page.locator("h1")).to_have_text("Page not found")
    page.goto(f"{app_url}/?area={CUMBRIA_LCJB}")
    _wait_ready(page)
    link = page.locator("#overview-baseline-link")
    assert link.get_attribute("href") == f"/baseline/{CUMBRIA_LCJB}"
    link.click()
    page.wait_for_url(re.compile(rf"/baseline/{CUMBRIA_LCJB}$"))
    # The first baseline of a kind and grain computes every indicator for every area.
    expect(page.locator("h1")).to_have_text("Baseline: Cumbria (LCJB)", timeout=30_000)
    _assert_console_clean(console)


# --- axe-core on every page -----------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/indicator/{IND}?area={CUMBRIA_LCJB}",
    f"/indicator/stop_search_rate?area={CUMBRIA_FORCE}&grain=month",
    f"/baseline/{CUMBRIA_LCJB}?grain=fy",
    "/data",
    "/",
    f"/disproportionality?area={CUMBRIA_FORCE}",
    f"/export?area={CUMBRIA_LCJB}",
])
def test_axe_finds_no_serious_violations(
    page: Any, app_url: str, axe_source: str, path: str
) -> None:
    page.goto(app_url + path)
    _wait_ready(page)
    violations = axe_violations(page, axe_source)
    assert violations == [], violations
