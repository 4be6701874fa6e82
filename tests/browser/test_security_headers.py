"""The Content-Security-Policy in Chromium: every page draws its charts with no violation.

The policy (``cjsdash.server.content_security_policy``) allows scripts from the server and
Dash's inline scripts by hash only, with no 'unsafe-eval'; a violation would be reported by
the browser as a ``securitypolicyviolation`` event and a console error.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

PAGES = [
    ("/", 0), ("/data", 0), ("/indicator/ineffective_trial_rate_crown", 3),
    ("/baseline/CJA03", 0), ("/disproportionality", 3), ("/export", 0),
]
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.__cspViolations.push(
    e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "")));
"""


def test_every_page_runs_under_the_policy(page: Any, app_url: str, console: Any) -> None:
    """… and without the Babel polyfill (decision 53): its lazy components load through the
    regenerator-runtime linked in its place, and the browser keeps its own built-ins."""
    page.add_init_script(RECORD_VIOLATIONS)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    for path, charts in PAGES:
        response = page.goto(app_url + path)
        headers = response.headers
        assert "sha256-" in headers["content-security-policy"], path
        assert "unsafe-eval" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        page.wait_for_load_state("networkidle")
        page.wait_for_function(
            "() => !document.querySelector('[data-dash-is-loading=\"true\"]')")
        if charts:
            page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot .main-svg')"
                                   f".length >= {charts}")
        assert page.evaluate("window.__cspViolations") == [], path
        assert page.evaluate("() => [typeof regeneratorRuntime.mark, "
                             "/native code/.test(String.prototype.trim.toString())]") == [
            "function", True], path
    assert any("regenerator-runtime" in url for url in fetched)
    assert not [url for url in fetched if "polyfill" in url]
    assert console.problems() == [], f"browser console: {console.problems()}"
