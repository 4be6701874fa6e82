"""The Dash app factory: ``create_app(warehouse)`` → a Dash app serving the ``layouts`` pages.

Everything is served from this machine: Dash's own scripts (``serve_locally``) and our
stylesheet ``layouts/assets/style.css``. No CDN stylesheet is linked: dash-bootstrap-components
ships no Bootstrap CSS (``dbc.themes.*`` are CDN addresses), so the pages use plain Dash
components styled by ``style.css``.

In front of it: :class:`cjsdash.compression.Gzipped` (text answers gzipped for browsers that
take it, decision 0047), :class:`cjsdash.guard.RequestGuard` (Host allow-list, request size
limit, security headers), then :mod:`cjsdash.cached_callbacks` (callback answers kept per data
version, decision 0027); a Content-Security-Policy that allows this server's scripts and the
hashes of Dash's inline ones only (:func:`content_security_policy`); and callback requests
checked before Dash reads them (:mod:`cjsdash.callback_body`, :mod:`layouts.inputs`), so a
malformed one is answered 400 with the reason, never 500.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import dash
import flask
from dash import Dash, Input, Output, dcc, html
from dash import _callback as dash_callback
from dash import exceptions as dash_exceptions

from cjsdash import browser_scripts, cached_callbacks, request_log, response_json
from cjsdash.callback_body import CALLBACK_PATH, body_problem
from cjsdash.compression import Gzipped
from cjsdash.core import allocators
from cjsdash.core.config import get_settings
from cjsdash.core.gateway import Warehouse
from cjsdash.exports.service import PackExporter
from cjsdash.guard import RequestGuard, allowed_hosts, request_body_limit
from cjsdash.uploads import make_acceptor, make_uploader
from layouts.context import Uploader, set_context
from layouts.inputs import BadCallbackInput
from metrics.registry import Registry, default_registry

LAYOUTS_DIR = Path(__file__).resolve().parent.parent / "layouts"
PAGES_DIR = LAYOUTS_DIR / "pages"
ASSETS_DIR = LAYOUTS_DIR / "assets"
ASSETS_NOT_LINKED = [r"^vendor$"]
"""Assets folders served but not linked into every page: plotly.js's cartesian bundle, loaded by the
first chart drawn (``assets/plotly_bundle.js``, decision 50)."""
PAGES_LOCATION = "_pages_location"  # the dcc.Location that dash.page_container holds
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/_favicon.ico", "/_reload-hash")
DEPENDENCIES_PATH = "/_dash-dependencies"
"""Where Dash lists its callbacks; asked once by :func:`create_app` so Dash sets up."""

INDEX_STRING = """<!DOCTYPE html>
<html lang="en-GB">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def nav_pages() -> list[dict[str, Any]]:
    """Pages for the navigation bar: every registered page with a fixed path, by order."""
    pages = [p for p in dash.page_registry.values() if not p.get("path_template")]
    return sorted(pages, key=lambda p: (p.get("order") if p.get("order") is not None else 50,
                                        p["name"]))


CARRIED = ("area", "grain", "period")
"""The choices a link to another page carries from the current page's URL."""


def carried_query(search: str | None) -> str:
    """``?area=…&grain=…&period=…`` from the current URL, for links to the other pages."""
    found = parse_qs((search or "").lstrip("?"))
    kept = {k: found[k][0] for k in CARRIED if found.get(k) and found[k][0]}
    return f"?{urlencode(kept)}" if kept else ""


def nav_links(pathname: str | None, search: str | None = None) -> html.Ul:
    """Links to every page, carrying the area, grain and period chosen on this one; the
    current one carries ``aria-current="page"``."""
    items = []
    carried = carried_query(search)
    for page in nav_pages():
        path = page["relative_path"]
        if pathname == path:
            link: Any = html.A(page["name"], href=path + carried,
                               className="cjs-nav-link active", **{"aria-current": "page"})
        else:
            link = dcc.Link(page["name"], href=path + carried, className="cjs-nav-link")
        items.append(html.Li(link))
    return html.Ul(items, className="cjs-nav-list")


def _shell() -> html.Div:
    return html.Div([
        html.A("Skip to main content", href="#main-content", className="cjs-skip-link"),
        html.Header(html.Div([
            html.Div([
                dcc.Link("cjsdash", href="/", className="cjs-brand"),
                html.Span("Criminal justice partnership performance", className="cjs-tagline"),
            ], className="cjs-brand-block"),
            html.Nav(nav_links("/"), id="site-nav", className="cjs-nav",
                     **{"aria-label": "Main"}),
        ], className="cjs-header-inner"), className="cjs-header"),
        html.Main(dash.page_container, id="main-content", tabIndex="-1", className="cjs-main"),
    ], className="cjs-app")


def _hold_readers_per_request(server: flask.Flask, warehouse: Warehouse) -> None:
    """Each request that may read holds ``warehouse.reading()`` until it is torn down.

    An upload (``warehouse.writer()``) then waits for the requests in flight and holds new
    ones back until its load has committed, so no request uses a connection it closes.
    """

    @server.before_request
    def _start_reading() -> None:
        if not flask.request.path.startswith(STATIC_PREFIXES):
            stack = ExitStack()
            stack.enter_context(warehouse.reading())
            flask.g.cjsdash_reading = stack

    @server.teardown_request
    def _stop_reading(_exc: BaseException | None) -> None:
        stack = flask.g.pop("cjsdash_reading", None)
        if stack is not None:
            stack.close()


def content_security_policy(app: Dash) -> str:
    """Scripts only from this server, plus Dash's own inline scripts by hash (its clientside
    callbacks and renderer start-up; no 'unsafe-inline' or 'unsafe-eval' for scripts).
    Styles may be inline: Plotly and Dash set element styles. Nothing may frame the page."""
    scripts = " ".join(["'self'", *app.csp_hashes()])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def _plain(text: str, status: int) -> flask.Response:
    return flask.Response(text + "\n", status=status, mimetype="text/plain")


def _check_requests(app: Dash) -> None:
    """Callback bodies checked before Dash reads them; a callback's bad value answered 400;
    the Content-Security-Policy on every response (computed once Dash has set up)."""
    server = app.server
    policy: list[str] = []

    @server.before_request
    def _check_callback_body() -> flask.Response | None:
        if flask.request.path != CALLBACK_PATH or flask.request.method != "POST":
            return None
        body = flask.request.get_json(silent=True)
        if body is None:
            return _plain("refused: a callback request must be a JSON object", 400)
        problem = body_problem(body, app.callback_map)
        return _plain(f"refused: {problem}", 400) if problem else None

    @server.errorhandler(BadCallbackInput)
    def _bad_input(exc: BadCallbackInput) -> flask.Response:
        return _plain(f"refused: {exc}", 400)

    @server.errorhandler(dash_exceptions.CallbackException)
    def _mismatch(exc: dash_exceptions.CallbackException) -> flask.Response:
        # Dash raises the bare class when a request's outputs or inputs do not match the
        # callback (its subclasses, e.g. a callback returning the wrong shape, are ours: 500)
        if type(exc) is not dash_exceptions.CallbackException:
            raise exc
        return _plain("refused: the request's outputs or inputs do not match the callback "
                      f"({exc})", 400)

    @server.after_request
    def _policy(response: flask.Response) -> flask.Response:
        if not policy:
            policy.append(content_security_policy(app))
        response.headers.setdefault("Content-Security-Policy", policy[0])
        return response


def create_app(warehouse: Warehouse, registry: Registry | None = None,
               uploader: Uploader | None = None, exporter: Any = None,
               bound_hosts: Iterable[str] = ()) -> Dash:
    """The dashboard over ``warehouse`` (read-only), with the default registry if none given.

    ``bound_hosts``: the address(es) the server listens on, answered as ``Host`` besides
    the local names and ``CJSDASH_ALLOWED_HOSTS`` (:mod:`cjsdash.guard`).

    The data page's uploads go through ``uploader`` (default: :mod:`cjsdash.uploads`, which
    saves under ``<data_dir>/uploads`` and loads as ``cjsdash ingest`` does); ``/export``
    renders packs through ``exporter`` (default: :class:`cjsdash.exports.service.PackExporter`).
    """
    registry = registry or default_registry()
    upload = uploader if uploader is not None else make_uploader(warehouse)
    set_context(warehouse, registry, upload,
                exporter if exporter is not None else PackExporter(),
                make_acceptor(warehouse) if uploader is None else None)
    # Dash imports the page modules afresh for each app; callbacks they registered for an
    # earlier app that never served a request would otherwise be registered twice.
    dash_callback.GLOBAL_CALLBACK_LIST.clear()
    dash_callback.GLOBAL_CALLBACK_MAP.clear()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR),
        assets_path_ignore=ASSETS_NOT_LINKED,
        title="cjsdash",
        suppress_callback_exceptions=True,
        serve_locally=True,
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = INDEX_STRING
    browser_scripts.install(app)  # no Babel polyfill: regenerator-runtime alone (decision 53)
    response_json.install()  # one orjson pass per answer (decision 0045)
    app.layout = _shell()
    _hold_readers_per_request(app.server, warehouse)
    _check_requests(app)
    settings = get_settings()
    app.server.wsgi_app = Gzipped(RequestGuard(  # type: ignore[method-assign]
        cached_callbacks.install(app.server.wsgi_app, app, warehouse,  # gzip, guard, cache
                                 settings.response_cache_mb),
        hosts=allowed_hosts(settings, bound_hosts),
        max_body=request_body_limit(settings), upload_max_bytes=settings.upload_max_bytes))
    request_log.install(app.server)

    @app.callback(Output("site-nav", "children"), Input(PAGES_LOCATION, "pathname"),
                  Input(PAGES_LOCATION, "search"))
    def _mark_current(pathname: str | None, search: str | None) -> html.Ul:
        return nav_links(pathname, search if isinstance(search, str) else None)

    _finish_setup(app)
    return app


def _finish_setup(app: Dash) -> None:
    """Let Dash finish setting up now, before any request is served.

    Dash completes its set-up on the first request (the pages' callbacks join the app's
    callback map, the page router is registered), marking it done before doing it: a request
    that arrives while another is setting up sees the map still empty and its callback is
    refused ("no callback on this server writes …"). A browser sends several at once, so
    every server (``cjsdash serve``, each ``--workers`` process, a test's) makes one request
    here, alone, before it takes any."""
    answer = app.server.test_client().get(DEPENDENCIES_PATH)
    if answer.status_code != 200:
        raise RuntimeError(f"the dashboard did not set up: {DEPENDENCIES_PATH} answered "
                           f"{answer.status_code}: {answer.get_data(as_text=True)[:300]}")


def settle() -> None:
    """Before a server takes requests: lay the landing page out once and read what the
    other pages' first views share (:func:`prime`), then collect once and move every object
    alive into the interpreter's permanent generation (:func:`gc.freeze`). The ~180,000
    objects of the modules, Dash and plotly are never garbage, but each full collection
    walked them all: about 100 ms of CPU, landing in whichever callback was running
    (decision 33). Called by ``cjsdash serve``, ``app.py``, each ``--workers`` process
    (:func:`cjsdash.worker_app.dashboard`) and the page benchmarks after
    :func:`create_app`; not by tests, which make many apps in one process. The pages DuckDB
    freed while priming are given back to the system first
    (:func:`cjsdash.core.allocators.release`, decision 41). The frozen objects are handed
    back to the collector at exit, so that the interpreter's last collections free them."""
    prime()
    gc.collect()
    allocators.release(polars=False)  # DuckDB's pages freed while priming: 4 MB, under 1 ms
    gc.freeze()
    atexit.register(gc.unfreeze)


def prime() -> bool:
    """Lay the overview out once for its default view (England and Wales), the answer
    discarded, so that a process's first request does not pay what every process pays once:
    pyarrow's import (0.1 s, DuckDB needs it for its first result read into a frame), the
    read-only connection, DuckDB's first read of the figure mart and the first pass through
    the page's code; the process's first call cost 2.0–2.8× the same call warm (decision
    0039). Then read what every other page's first view reads whatever its inputs
    (:func:`prime_pages`, decision 0041). It holds no figures: DuckDB's buffers, the
    interpreter and :mod:`metrics.cache` keep what any first requests would have left. A
    warehouse the page cannot lay out yet (no figures, a file being replaced) is logged and
    skipped: the first request shows why. True when primed."""
    try:
        from layouts.context import get_context

        landing = next(page for page in dash.page_registry.values() if page["path"] == "/")
        with get_context().warehouse.reading():
            response_json.to_json(landing["layout"]())
    except Exception as exc:  # a start must not fail on what a page shows
        logging.getLogger(__name__).warning(
            "could not lay out the overview before the first request (%s: %s); serving on",
            type(exc).__name__, exc)
        return False
    return prime_pages()


def prime_pages() -> bool:
    """Read, once, the results kept per data version that the pages' first views read
    whatever their area, grain or indicator: the lookups the pages share
    (:func:`metrics.lookups.prime`: the area table, whether the mart's analyses and stage
    tables answer, every area's populations) and each page's own, by the ``prime()`` a page
    module may define (the data page's tables). A page's first view in a process computed
    them and its later views did not: the data page's layout was 1.8× its warm view at p50
    (65 ms against 37, 2.15× at worst), a worker's first disproportionality update 2.0×;
    now 1.2× and 1.5×. With :func:`settle`'s purge they cost a process 19–24 ms and 3 MB;
    laying every page out instead took 0.34 s and 41 MB (decision 0041). A lookup that
    cannot be read is logged and serving goes on. True when every one was read."""
    from layouts.context import get_context
    from metrics import lookups

    try:
        context = get_context()
        with context.warehouse.reading():
            lookups.prime(context.reader(), context.registry)
            for page in dash.page_registry.values():
                page_prime = getattr(sys.modules.get(page["module"]), "prime", None)
                if callable(page_prime):
                    page_prime()
    except Exception as exc:  # a start must not fail on what a page shows
        logging.getLogger(__name__).warning(
            "could not read the pages' lookups before the first request (%s: %s); serving on",
            type(exc).__name__, exc)
        return False
    return True
