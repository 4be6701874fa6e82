"""The scripts every page loads: Dash's, without the Babel polyfill (decision 53).

Dash links ``@babel/polyfill`` 7.12 before React on every page, for browsers without ES2015
(Internet Explorer 11, which React 18 does not run on either). It bundles core-js 2, whose
feature tests fail on current browsers for some built-ins and replace them with slower
JavaScript (``String.prototype.trim``: Unicode 6.3 took U+180E out of white space, and core-js
2 still expects it trimmed), and regenerator-runtime, the one part Dash's bundles need: the
renderer's and dcc's loaders of their lazy components call the global ``regeneratorRuntime``.

:func:`install` takes the polyfill out of the scripts Dash links and links
regenerator-runtime (0.14.1, MIT, ``layouts/assets/vendor/``) in its place, before the
renderer and the components' bundles.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, _dash_renderer

REGENERATOR = "vendor/regenerator-runtime-0.14.1.js"
REGENERATOR_VERSION = "0.14.1"
_POLYFILL = "polyfill@"


def _without_polyfill(paths: Any) -> Any:
    if isinstance(paths, dict):
        return {mode: _without_polyfill(each) for mode, each in paths.items()}
    if isinstance(paths, list):
        return [p for p in paths if _POLYFILL not in str(p)]
    return paths


def polyfill_linked() -> bool:
    """Whether Dash's renderer dependencies still name the Babel polyfill."""
    return any(_POLYFILL in str(dependency) for dependency in _dash_renderer._js_dist_dependencies)


def install(app: Dash) -> None:
    """Dash's renderer dependencies without the polyfill (every app in the process: Dash
    keeps them in a module; idempotent), and regenerator-runtime linked for ``app``."""
    _dash_renderer._js_dist_dependencies = [
        {key: (_without_polyfill(value) if key in ("relative_package_path", "external_url")
               else value) for key, value in dependency.items()}
        for dependency in _dash_renderer._js_dist_dependencies]
    src = f"{app.get_asset_url(REGENERATOR)}?v={REGENERATOR_VERSION}"
    if not any(isinstance(s, dict) and s.get("src") == src for s in app.config.external_scripts):
        app.config.external_scripts.append({"src": src})
