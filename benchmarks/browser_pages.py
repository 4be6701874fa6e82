"""What a person waits for in the browser: every page loaded afresh in headless Chromium.

The server-side benchmarks time callbacks; this times what follows them on the client. For each
page (a fresh tab each load, the browser's HTTP cache warm after the first round, as a
returning user's): seconds from navigation until the page is drawn (the end of its last
response or long task, once it has been quiet for a second); the longest main-thread task (a
click or key press waits for it) and the sum of tasks over 50 ms (PerformanceObserver
``longtask``); the bytes of the callbacks' answers (decoded). p50 and p95 over ``--rounds``
loads, after one untimed round. It serves the warehouse itself (``cjsdash serve`` on a copy of
``--db``, one worker) unless ``--url`` names a running server. Also times, in a blank tab,
evaluating plotly.js as the charts load it (the cartesian bundle, decision 50) against the full
bundle Dash would serve.

Usage: ``python benchmarks/browser_pages.py --db data/cjsdash.duckdb [--rounds 5]
[--width 1400] [--url http://127.0.0.1:8050]``. Needs Debian's ``chromium`` and playwright.
Measure, don't assert: never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import plotly
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
PAGES = ("/", "/indicator/ineffective_trial_rate_crown?area=CJA03", "/baseline?area=CJA03",
         "/disproportionality?area=CJA03", "/data", "/data?grain=month", "/export")
LONG_TASKS = ("window.__tasks = []; new PerformanceObserver(l => { for (const e of "
              "l.getEntries()) window.__tasks.push([e.startTime, e.duration]); }).observe("
              "{type: 'longtask', buffered: true});")
QUIET = ("() => { const t = window.__tasks, end = t.length ? t[t.length - 1][0] + "
         "t[t.length - 1][1] : 0; return performance.now() - end > 1000; }")
READY = ("Math.max(...window.__tasks.map(([s, d]) => s + d), ...performance.getEntriesByType("
         "'resource').map(e => e.responseEnd), performance.getEntriesByType('navigation')[0]"
         ".domContentLoadedEventEnd)")
SETTLED = "!document.querySelector('[data-dash-is-loading=true]')"
ANSWERS = ("performance.getEntriesByType('resource').filter(e => e.name.includes("
           "'_dash-update-component')).reduce((a, e) => a + e.decodedBodySize, 0)")
CHROMIUM = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def serve(db: Path, folder: Path, port: int) -> subprocess.Popen[bytes]:
    copy = folder / "bench.duckdb"
    shutil.copy(db, copy)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "cjsdash.cli", "serve", "--db", str(copy),
                             "--port", str(port)], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not answer within 60 s")


def load(browser: object, url: str, width: int) -> tuple[float, float, float, float]:
    """(seconds to ready, longest task ms, long tasks' sum ms, answers' kB) of one load.
    Ready: the end of the last long task or response, whichever is later, once the page has
    been quiet for a second (no Dash component loading, no request, no long task): a table
    written as HTML is drawn by a task after its answer arrives."""
    page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    page.add_init_script(LONG_TASKS)
    page.goto(url, wait_until="networkidle")
    page.wait_for_function(SETTLED, timeout=60_000)
    page.wait_for_function(QUIET, timeout=60_000, polling=100)
    seconds = page.evaluate(READY) / 1000
    tasks = [duration for _, duration in page.evaluate("window.__tasks")]
    answers = page.evaluate(ANSWERS) / 1000
    page.close()
    return seconds, max(tasks, default=0.0), sum(tasks), answers


def plotly_eval(browser: object, base: str, repeats: int = 3) -> dict[str, float]:
    """Median ms to evaluate each bundle's text in a blank tab of the dashboard's origin."""
    bundles = {
        "cartesian (served)": next((REPO / "layouts" / "assets" / "vendor").glob(
            "plotly-cartesian-*.min.js")),
        "full (Dash's)": Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
    }
    out = {}
    for name, path in bundles.items():
        text, times = path.read_text("utf-8"), []
        for _ in range(repeats):
            page = browser.new_page()  # type: ignore[attr-defined]
            page.goto(base + "/export")
            times.append(page.evaluate("s => { const t = performance.now(); (0, eval)(s); "
                                       "return performance.now() - t; }", text))
            page.close()
        out[name] = sorted(times)[len(times) // 2]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=REPO / "data" / "cjsdash.duckdb")
    parser.add_argument("--url", help="a running server (else one is started on --db)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cjsdash-browser-"))
    proc = None if args.url else serve(args.db, folder, args.port)
    base = args.url or f"http://127.0.0.1:{args.port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM)
            for page in PAGES:  # untimed: the server's first views, the browser's cache
                load(browser, base + page, args.width)
            runs: dict[str, list[tuple[float, float, float, float]]] = {p: [] for p in PAGES}
            for _ in range(args.rounds):
                for page in PAGES:
                    runs[page].append(load(browser, base + page, args.width))
            print(f"{args.rounds} loads a page at {args.width} px; load average "
                  f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
            print(f"{'page':<52} {'ready p50/p95 s':>18} {'longest task p50/p95 ms':>24} "
                  f"{'tasks sum p50 ms':>17} {'answers kB':>11}")
            for page, rows in runs.items():
                settled, longest, total, answers = zip(*rows, strict=True)
                print(f"{page:<52} {pct(list(settled), .5):>8.2f} / {pct(list(settled), .95):<7.2f}"
                      f" {pct(list(longest), .5):>12.0f} / {pct(list(longest), .95):<9.0f}"
                      f" {pct(list(total), .5):>17.0f} {pct(list(answers), .5):>11.0f}")
            for name, ms in plotly_eval(browser, base).items():
                print(f"plotly.js {name}: evaluated in {ms:.0f} ms (median of 3)")
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
