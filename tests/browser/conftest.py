"""Browser fixtures: the dashboard on a free localhost port, driven by Debian's Chromium.

The app is served by waitress in a background thread over a demo warehouse built for this
session (through ``build_demo``, the same path as ``cjsdash demo``). Chromium is the system
one at /usr/bin/chromium (``make browser`` installs it); Playwright never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cjsdash.core.gateway import Warehouse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser_warehouse(tmp_path_factory: pytest.TempPathFactory, demo_db: Path
                      ) -> Iterator[Warehouse]:
    """A copy of the session's demo warehouse (built once through ``build_demo``), so that
    the browser tests' uploads never change the warehouse other tests read."""
    path = tmp_path_factory.mktemp("browser") / "cjsdash.duckdb"
    shutil.copyfile(demo_db, path)
    warehouse = Warehouse(path)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def app_url(browser_warehouse: Warehouse) -> Iterator[str]:
    from waitress import create_server

    from cjsdash.server import create_app
    from metrics.registry import default_registry

    app = create_app(browser_warehouse, default_registry())  # reads the demo build's mart
    port = _free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, name="cjsdash-test-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield url
    server.close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Console:
    """Everything the page said on its console, and its uncaught errors."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    def problems(self) -> list[tuple[str, str]]:
        return [(kind, text) for kind, text in self.messages
                if kind in ("error", "warning", "pageerror")]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(chromium: object, console: Console) -> Iterator[object]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                                   accept_downloads=True, locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.on("console", lambda m: console.messages.append((m.type, m.text)))
    pg.on("pageerror", lambda e: console.messages.append(("pageerror", str(e))))
    yield pg
    context.close()


@pytest.fixture
def screenshot(page: object) -> Callable[[str], Path]:
    """``screenshot(name)`` saves a full-page PNG to tests/artifacts/screenshots/name.png."""

    def save(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return save


# --- axe-core (npm package pinned in tests/browser/package.json) -----------------------------

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source; `make test` runs `npm ci --prefix tests/browser`, and a bare pytest
    run installs it the same way. Without npm it skips, except in CI, where it fails."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI"):
                pytest.fail("axe-core is not installed and npm is not available")
            pytest.skip("axe-core is not installed and npm is not available")
        subprocess.run([npm, "ci", "--prefix", str(HERE), "--no-audit", "--no-fund"],
                       check=True, timeout=600, capture_output=True)
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is (details opened, so the
    tables behind the charts are checked too)."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    # Evaluated through the DevTools protocol: the app's Content-Security-Policy (no inline
    # scripts) would block a <script> tag, and the CSP must stay on for the pages under test.
    page.evaluate(source + "\n;0")
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in BLOCKING]
