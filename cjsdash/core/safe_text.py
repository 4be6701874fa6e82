"""Text made safe for the two places user-supplied strings end up: HTML tables and spreadsheets.

- :func:`markup` escapes text for HTML written into a ``dcc.Markdown`` with
  ``dangerously_allow_html``: the markdown's HTML is parsed as JSX, where ``{`` and ``}`` must be
  entities as well as ``<``, ``>``, ``&`` and quotes. An area alias or a commentary field from
  an uploaded file can therefore never inject markup.
- :func:`neutralise` stops a text cell being read as a formula by Excel, LibreOffice or Google
  Sheets (CSV/formula injection, OWASP): text beginning with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return is prefixed with an apostrophe. Numbers pass through unchanged.
"""

from __future__ import annotations

import html
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``'=1+1'`` → ``"'=1+1"``; other values unchanged."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def markup(value: Any) -> str:
    """Escaped text for JSX-parsed HTML: entities for ``& < > " '`` and for braces."""
    return html.escape("" if value is None else str(value)).replace("{", "&#123;").replace(
        "}", "&#125;")


def count_of(n: int, singular: str, plural: str | None = None) -> str:
    """"1 row", "2 rows", "1,015 searches": a count with its noun in the right number."""
    word = singular if n == 1 else (plural or f"{singular}s")
    return f"{n:,} {word}"
