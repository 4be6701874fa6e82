"""Dash's answers serialised in one orjson pass over the component tree (decision 0045).

Dash turns every callback answer and the page shell into JSON with
``plotly.io.json.to_json_plotly``. For an answer made of Dash components that function
tries orjson, fails on the first component, then walks the whole tree in Python
(``clean_to_json_compatible``) and serialises the cleaned copy: the overview's answer
(about 800 components) took 11.8 ms at p50, the data page's layout 10.0 ms, more than the
standard library's encoder (7.1 and 5.1 ms). :func:`to_json` gives the same text in one
orjson pass that asks each component for its ``to_plotly_json`` as it meets it (5.3 and
1.8 ms), with the same escapes of ``<``, ``>``, ``/`` and the line separators that keep
JSON inside HTML safe. Anything orjson cannot take (a type no component or figure
explains) goes to plotly's function as before, so the answer and its errors are Dash's.

:func:`install` points Dash's callback dispatch and layout at it (their module-level
``to_json`` names); :func:`installed` says whether they are, for the tests that hold it
to Dash's own answers.
"""

from __future__ import annotations

from typing import Any

import dash._callback
import dash.dash
import orjson
from plotly.io.json import to_json_plotly

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
"""plotly's own options for orjson."""
_ESCAPES = tuple((unsafe.encode(), safe.encode()) for unsafe, safe in (
    ("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"),
    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")))
"""plotly's escapes after orjson (``plotly.io._json._swap_orjson``), made on the UTF-8 bytes:
the data page's coverage answer is a 1.1 MB table of HTML, whose slashes and angle brackets
grow it to 1.5 MB; replacing them in the bytes before the one decode took 2–3 ms less than in
the decoded text, which holds non-ASCII symbols (✓, ◐) and so four bytes a character... """
_USERS = (dash._callback, dash.dash)
"""Dash's modules that serialise answers (callbacks) and the page shell (layout)."""


def _component(value: Any) -> Any:
    """What orjson cannot take by itself: a Dash component or a plotly figure, as its JSON
    form; anything else refused (then the whole answer goes to plotly's function)."""
    to_plotly_json = getattr(value, "to_plotly_json", None)
    if to_plotly_json is None:
        raise TypeError(type(value).__name__)
    return to_plotly_json()


def to_json(value: Any) -> str:
    """``value`` as the JSON text ``to_json_plotly`` gives for it."""
    try:
        raw = orjson.dumps(value, default=_component, option=_OPTIONS)
    except TypeError:
        return str(to_json_plotly(value))
    for unsafe, safe in _ESCAPES:
        if unsafe in raw:
            raw = raw.replace(unsafe, safe)
    return raw.decode()


def install() -> bool:
    """Dash's callbacks and layout serialised by :func:`to_json` (idempotent); only names
    Dash has (a Dash that renamed them keeps its own function: slower, still correct, and
    :func:`installed` is then False, which the tests assert against)."""
    for module in _USERS:
        if hasattr(module, "to_json"):
            module.to_json = to_json
    return installed()


def installed() -> bool:
    return all(getattr(module, "to_json", None) is to_json for module in _USERS)
