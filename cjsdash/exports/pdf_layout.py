"""WeasyPrint's pagination of a pack's HTML, on its own so a worker process imports no more.

:func:`cjsdash.exports.pdf.pdf_html` makes the document (figures, charts drawn by kaleido);
laying it out is about four fifths of a PDF pack's time and needs nothing but the text, so
:mod:`.batch` runs it in worker processes that import only WeasyPrint (not polars, DuckDB or
plotly), while the main process computes and draws the next areas.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time


def layout_pdf(document: str) -> bytes:
    """The PDF's bytes: ``document`` (HTML with its CSS and images inline) paginated."""
    from weasyprint import HTML

    return HTML(string=document).write_pdf(pdf_tags=True)


def timed_layout(document: str) -> tuple[bytes, float]:
    """(:func:`layout_pdf`, the seconds it took): what a worker process hands back."""
    started = time.perf_counter()
    data = layout_pdf(document)
    return data, time.perf_counter() - started


def die_with_parent() -> None:
    """A worker's initializer: on Linux, end this worker when the process that started it
    ends, however it ends (a batch stopped with SIGTERM or SIGKILL leaves no layout running)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
