"""The charts' plotly.js is the cartesian bundle, served by the dashboard and loaded by the
first chart drawn, never linked into every page (decision 50): the same version as the
plotly Python package's, holding every trace type a chart of cjsdash draws."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import plotly.offline

from cjsdash.server import ASSETS_DIR
from layouts.figure_draft import Draft
from tests.integration.served_app import Served, served

__all__ = ["served"]  # the fixture, imported for pytest

VENDOR = ASSETS_DIR / "vendor"
LOADER = (ASSETS_DIR / "plotly_bundle.js").read_text("utf-8")


def _bundle() -> Path:
    (bundle,) = VENDOR.glob("plotly-cartesian-*.min.js")
    return bundle


def test_the_bundle_is_the_python_packages_plotly_js_version() -> None:
    version = plotly.offline.get_plotlyjs_version()
    bundle = _bundle()
    assert bundle.name == f"plotly-cartesian-{version}.min.js"
    assert f"plotly.js (cartesian - minified) v{version}\n" in bundle.read_text("utf-8")[:200]
    assert f"'assets/vendor/{bundle.name}?v={version}'" in LOADER
    assert "MIT License" in (VENDOR / "plotly.js-LICENSE.txt").read_text("utf-8")


def test_every_trace_type_a_chart_draws_is_in_the_bundle() -> None:
    """Every chart is a :class:`Draft`; its ``add_*`` methods name the trace types."""
    drawn = set(re.findall(r'\{"type": "([a-z0-9]+)", \*\*trace\}', inspect.getsource(Draft)))
    assert drawn == {"scatter", "bar", "heatmap"}
    text = _bundle().read_text("utf-8")
    registered = set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', text))
    assert drawn <= registered
    assert "scattergl" not in registered  # a partial bundle: what a trace outside it would miss


def test_served_immutable_and_linked_by_no_page(served: Served) -> None:
    status, _, page = served.request("GET", "/indicator/ineffective_trial_rate_crown")
    assert status == 200
    html = page.decode()
    assert re.search(r'src="/assets/plotly_bundle\.js\?m=[0-9.]+"', html)
    assert "vendor/plotly" not in html and "plotly.min.js" not in html
    name = _bundle().name
    version = name.removeprefix("plotly-cartesian-").removesuffix(".min.js")
    status, headers, body = served.request("GET", f"/assets/vendor/{name}?v={version}")
    assert status == 200 and body == _bundle().read_bytes()
    assert "immutable" in headers["Cache-Control"]
    assert headers["Content-Type"].startswith("text/javascript")
