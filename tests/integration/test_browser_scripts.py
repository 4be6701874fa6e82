"""Every page's scripts are Dash's without the Babel polyfill, with regenerator-runtime, the
one part of it Dash's bundles call, linked before the renderer (decision 53)."""

from __future__ import annotations

import re
from pathlib import Path

import dash
from dash import _dash_renderer

from cjsdash import browser_scripts
from cjsdash.server import ASSETS_DIR
from tests.integration.served_app import Served, served

__all__ = ["served"]  # the fixture, imported for pytest

RUNTIME = ASSETS_DIR / browser_scripts.REGENERATOR
DASH_DIR = Path(dash.__file__).parent


def test_pages_link_regenerator_runtime_before_the_renderer_and_no_polyfill(
        served: Served) -> None:
    status, _, page = served.request("GET", "/data")
    assert status == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.decode())
    assert not [s for s in scripts if "polyfill" in s], scripts
    runtime = [i for i, s in enumerate(scripts)
               if s == f"/assets/{browser_scripts.REGENERATOR}?v=0.14.1"]
    renderer = [i for i, s in enumerate(scripts) if "dash_renderer" in s]
    react = [i for i, s in enumerate(scripts) if "/react@" in s]
    assert runtime and renderer and react, scripts
    assert react[0] < runtime[0] < renderer[0]
    assert not browser_scripts.polyfill_linked()
    status, headers, body = served.request("GET", scripts[runtime[0]])
    assert status == 200 and body == RUNTIME.read_bytes()
    assert "immutable" in headers["Cache-Control"]


def test_the_runtime_is_regenerator_and_dash_still_needs_only_it(served: Served) -> None:
    """The vendored file is regenerator-runtime 0.14.1 under its MIT licence; the installed
    Dash's renderer and dcc still call the global it defines; and of Dash's renderer
    dependencies only the polyfill was taken out (for every app the process makes)."""
    text = RUNTIME.read_text("utf-8")
    assert "regeneratorRuntime = runtime" in text and "Facebook" in text[:200]
    assert "MIT License" in (RUNTIME.parent / "regenerator-runtime-LICENSE.txt").read_text()
    for bundle in ("dash-renderer/build/dash_renderer.min.js", "dcc/dash_core_components.js"):
        assert "regeneratorRuntime.mark" in (DASH_DIR / bundle).read_text("utf-8")
    assert (DASH_DIR / "deps" / "polyfill@7.12.1.min.js").exists()  # what Dash would link
    names = [p for d in _dash_renderer._js_dist_dependencies
             for p in d["relative_package_path"]["prod"]]
    assert [re.sub(r"@.*", "", p.rsplit("/", 1)[-1]) for p in names] == [
        "react", "react-dom", "prop-types"], names
