"""Real browser callbacks: load each page in headless Chromium and record every
``/_dash-update-component`` request body it sends, with the answer's status and size.

Chromium is the Debian one at /usr/bin/chromium (Playwright never downloads a browser). The
bodies are saved as JSON so that a later run can replay the same requests (``--bodies``).
Used by ``benchmarks/serving.py``; never part of the test suite.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from serving_process import CALLBACK_PATH

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
NATIONAL = "K04000001"
AREAS = (NATIONAL, "CJA03", "E23000002", "CJA01", "E12000002")  # E&W, Cumbria ×2, London, NW
INDICATORS = ("ineffective_trial_rate_crown", "stop_search_rate")


def page_plan(areas: tuple[str, ...] = AREAS) -> list[str]:
    """The pages loaded: every page, for a mix of areas (E&W, LCJBs, a force, a region) and
    grains (quarter, financial year; each page is then switched to the other grain)."""
    urls = []
    for n, area in enumerate(areas):
        grain = ("quarter", "fy")[n % 2]
        urls.append(f"/?area={area}&grain={grain}")
        if n < 3:
            urls += [f"/indicator/{INDICATORS[n % 2]}?area={area}&grain={grain}",
                     f"/baseline/{area}?grain={grain}"]
    urls += [f"/disproportionality?area={a}" for a in areas[:2]]
    return urls + [f"/data?area={areas[1]}", f"/export?area={areas[1]}"]


def page_of(url: str) -> str:
    """``/indicator/x?area=…`` → ``/indicator``: the page a request came from."""
    path = urlsplit(url).path
    return "/" + path.strip("/").split("/")[0]


def _settle(page: Any, pending: set[Any], sent: list[int], before: int,
            timeout_s: float) -> None:
    """Wait until the page has sent a callback since ``before`` and none has been in flight
    for a second (Dash chains callbacks); ``timeout_s`` at most."""
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(200)
        if pending or sent[0] == before:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return


def _read_answers(records: list[dict[str, Any]]) -> None:
    """The size of each answer not yet read (read here, outside the event handlers)."""
    for record in records:
        response = record.pop("response", None)
        if response is not None:
            try:
                record["answer_bytes"] = len(response.body() or b"")
            except Exception:  # an answer without a body (204)
                record["answer_bytes"] = 0


SWITCH_GRAIN = """() => {
    const checked = document.querySelector("[id$='-grain'] input[type=radio]:checked");
    if (!checked) { return null; }
    const target = checked.value === "quarter" ? "fy" : "quarter";
    const other = document.querySelector(`[id$='-grain'] input[value='${target}']`);
    if (!other) { return null; }
    other.click();
    return target;
}"""


def _switch_grain(page: Any, pending: set[Any], sent: list[int], timeout_s: float) -> None:
    """Choose the other grain (quarter ↔ financial year), as a reader does: the page's
    update callbacks run."""
    before = sent[0]
    if page.evaluate(SWITCH_GRAIN):
        _settle(page, pending, sent, before, timeout_s)


def capture(base_url: str, urls: list[str], *, timeout_s: float = 120.0,
            echo: Any = print) -> list[dict[str, Any]]:
    """Load every URL in one Chromium tab and switch its grain where it has one; each
    callback request it sent, in order."""
    from playwright.sync_api import sync_playwright

    records: list[dict[str, Any]] = []
    pending: set[Any] = set()
    sent = [0]  # callback requests sent so far
    current = {"url": ""}

    def on_request(request: Any) -> None:
        if request.method == "POST" and urlsplit(request.url).path.endswith(CALLBACK_PATH):
            pending.add(request)
            sent[0] += 1

    def on_response(response: Any) -> None:
        request = response.request
        if request not in pending:
            return
        pending.discard(request)
        body = request.post_data or ""
        records.append({"page": page_of(current["url"]), "url": current["url"],
                        "body": body, "status": response.status, "response": response})

    def on_failed(request: Any) -> None:
        pending.discard(request)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        for url in urls:
            current["url"] = url
            before, sent_before = len(records), sent[0]
            started = time.perf_counter()
            page.goto(base_url + url, wait_until="load", timeout=timeout_s * 1000)
            _settle(page, pending, sent, sent_before, timeout_s)
            _switch_grain(page, pending, sent, timeout_s)
            _read_answers(records)
            echo(f"  {url}: {len(records) - before} callbacks "
                 f"({time.perf_counter() - started:.1f} s)")
        _read_answers(records)
        browser.close()
    for record in records:  # answered while the browser closed: not read
        if record.pop("response", None) is not None:
            record["answer_bytes"] = 0
    return records


def save(records: list[dict[str, Any]], path: Path) -> None:
    path.write_text(json.dumps({"bodies": records}, indent=1))


def load(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["bodies"])


def _short_output(output: str) -> str:
    parts = [p.split("@")[0] for p in output.strip(".").split("...")]
    return parts[0] + (f" (+{len(parts) - 1})" if len(parts) > 1 else "")


def label(record: dict[str, Any]) -> str:
    """A callback's name: its first output (and how many more), and for Dash's own page
    container (``_pages_content``: the page's ``layout()``) the page it laid out."""
    body = json.loads(record["body"])
    name = _short_output(body.get("output", "?"))
    if name.startswith("_pages"):
        name = f"{record['page']} layout ({name})"
    return name


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in body.get("inputs", []) + body.get("state", []):
        out.extend(item if isinstance(item, list) else [item])
    return out


def areas_of(record: dict[str, Any]) -> list[str]:
    """The areas a callback reads, from its inputs (an ``…-area`` value, the URL's
    ``?area=`` or ``/baseline/<area>``), with England and Wales (pages compare with it)."""
    found: set[str] = set()
    for item in _inputs(json.loads(record["body"])):
        ident, value = str(item.get("id", "")), item.get("value")
        if ident.endswith("-area") and item.get("property") == "value" and value:
            found.add(str(value))
        if item.get("property") == "search" and value:
            found.update(parse_qs(str(value).lstrip("?")).get("area", []))
        if item.get("property") == "pathname" and str(value).startswith("/baseline/"):
            found.add(str(value).rstrip("/").rsplit("/", 1)[-1])
    if not found:
        found.update(parse_qs(urlsplit(record["url"]).query).get("area", []))
    return sorted(found | {NATIONAL})
