"""Static images of the chart factories' figures, through kaleido (headless Chromium).

PowerPoint gets PNGs, the PDF SVGs (vector). One Chromium serves the whole process: it runs
in a background thread with its own event loop, is started by :func:`start_browser` as soon
as a pack that draws charts is asked for (the figures are computed meanwhile), and is reused
by every later batch, so a command-line run pays for one start-up and a long-running
dashboard only for its first download. It is closed when the process exits.

Two settings make a chart about 0.3 s rather than 0.75 s on this machine, with byte-identical
images: kaleido 1.5 reloads its page (and plotly.js) after every figure, which we do only
every :data:`RELOAD_EVERY` figures (``_return_kaleido_tab``, kaleido's own hook, is
overridden; kaleido is pinned), and MathJax is off (the charts use no LaTeX, and kaleido
would otherwise fetch it from a CDN). One tab: on this two-core machine a second tab cost
more to open than it saved. One batch runs at a time. A browser that fails or hangs is
closed, the error raised as :class:`ImageError`, and the next batch starts a fresh one.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

RELOAD_EVERY = 50
START_TIMEOUT_S = 90.0
FIGURE_TIMEOUT_S = 60.0

_CREATE = threading.Lock()  # guards _browser
_RENDER = threading.Lock()  # one batch at a time
_browser: _Browser | None = None


class ImageError(RuntimeError):
    """A chart could not be rendered (kaleido or Chromium missing or failing)."""


def _kaleido_class() -> type:
    import kaleido

    class _Kaleido(kaleido.Kaleido):
        """Kaleido that reloads its tab every RELOAD_EVERY figures, not after each one."""

        _served = 0

        async def _return_kaleido_tab(self, tab: Any) -> None:
            self._served += 1
            if self._served % RELOAD_EVERY == 0:
                await tab.reload()
            await self.tabs_ready.put(tab)

    return _Kaleido


class _Browser:
    """One Chromium (through kaleido) on an event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="cjsdash-kaleido",
                                       daemon=True)
        self.thread.start()
        self.opened: Future = asyncio.run_coroutine_threadsafe(self._open(), self.loop)

    @staticmethod
    async def _open() -> Any:
        k = _kaleido_class()(n=1, mathjax=False, timeout=FIGURE_TIMEOUT_S)
        await k.open()
        return k

    def render(self, figs: Sequence[go.Figure], opts: dict[str, Any]) -> list[bytes]:
        k = self.opened.result(timeout=START_TIMEOUT_S)
        out = []
        for fig in figs:
            job = asyncio.run_coroutine_threadsafe(k.calc_fig(fig, opts=opts), self.loop)
            out.append(job.result(timeout=FIGURE_TIMEOUT_S + 5))
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a browser that is already gone
            if self.opened.done() and self.opened.exception() is None:
                asyncio.run_coroutine_threadsafe(self.opened.result().close(),
                                                 self.loop).result(timeout=15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def start_browser() -> None:
    """Start Chromium now, in the background, unless it is running; later batches reuse it."""
    global _browser
    with _CREATE:
        if _browser is None:
            _browser = _Browser()


def stop_browser() -> None:
    global _browser
    with _CREATE:
        browser, _browser = _browser, None
    if browser is not None:
        browser.close()


atexit.register(stop_browser)


def render_images(figs: Sequence[go.Figure], *, fmt: str, width: int, height: int,
                  scale: float = 1.0) -> list[bytes]:
    """Each figure as ``fmt`` ('png' or 'svg') bytes, in order."""
    if not figs:
        return []
    opts = {"format": fmt, "width": width, "height": height, "scale": scale}
    with _RENDER:
        try:
            start_browser()
            assert _browser is not None
            return _browser.render(figs, opts)
        except ImportError as exc:
            raise ImageError("kaleido is not installed: pip install kaleido") from exc
        except Exception as exc:
            stop_browser()  # the next batch starts a fresh browser
            reason = str(exc) or type(exc).__name__
            raise ImageError(f"charts could not be rendered by kaleido: {reason}") from exc
