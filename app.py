"""WSGI entry point: ``app`` (the Dash app) and ``server`` (its Flask server).

Serve it with ``python app.py`` (the same as ``cjsdash serve``: waitress on
127.0.0.1:8050, with the request size limit). Another WSGI server must be told the address,
since waitress-serve's own default is every address (0.0.0.0:8080)::

    waitress-serve --listen=127.0.0.1:8050 --max-request-body-size=70953643 app:server

(70953643 is :func:`cjsdash.guard.request_body_limit` at the default 50 MB upload limit.)
Whatever serves it, ``server`` checks the Host header, refuses oversize bodies before
reading them and sends the security headers (:mod:`cjsdash.guard`).

The warehouse is ``CJSDASH_DB`` or ``data/cjsdash.duckdb``; the demo warehouse is built there
on first use if there is none. The app is built when ``app`` or ``server`` is first looked
up, not at import, so that ``python app.py`` — which runs ``cjsdash serve`` with the same
arguments — builds exactly one app.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.server import create_app, settle

_built: dict[str, Any] = {}


def build() -> Any:
    """The Dash app over the configured warehouse (building the demo one if missing)."""
    if "app" not in _built:
        path = Path(get_settings().db)
        if not path.exists():
            from cjsdash.demo.build import build_demo

            print(build_demo(path))
        _built["app"] = create_app(Warehouse(path))
        settle()
    return _built["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        return build()
    if name == "server":
        return build().server
    raise AttributeError(name)


if __name__ == "__main__":
    from cjsdash.cli import app as cli

    cli(["serve", *sys.argv[1:]])
