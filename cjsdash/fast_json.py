"""Dash's callback answers serialised by orjson in one pass (decision 0027).

Dash serialises every callback answer with ``plotly.io.json.to_json_plotly``. With orjson
installed it first tries ``orjson.dumps``, which fails on the first Dash component in the
answer (a ``html.Div`` is not JSON), and then walks the whole answer in Python
(``clean_to_json_compatible``) before serialising it again: on the demo overview (148 KB of
JSON) 7.6 ms of CPU, of which the walk is half. :func:`to_json` gives orjson a ``default``
hook instead, so only the objects orjson cannot write itself (components, pandas values,
``Decimal``, …) go through Dash's own conversion, one at a time, and the answer is written
once.

The JSON is Dash's: the same options (numpy arrays, non-string keys), NaN and infinities as
``null``, dates and datetimes as orjson writes them, components as ``to_plotly_json()``,
everything else as ``clean_to_json_compatible`` makes it, and the same escapes of ``<``,
``>``, ``/``, U+2028 and U+2029 (so an answer never closes a ``<script>``). One difference,
where Dash is not consistent with itself: a numpy *scalar* of ``float32`` or ``datetime64``
(or a ``datetime64`` array) is written as orjson writes it, which is what Dash does for an
answer without a component in it; with a component elsewhere in the answer Dash converts it
first (``1.100000023841858`` for ``float32(1.1)``). The pages send neither: their figures
come from polars as Python values (decision 0006). Anything orjson refuses is handed to
Dash's own encoder, which then raises as it always did.

:func:`install` makes Dash's callback dispatch use it; a no-op without orjson.
"""

from __future__ import annotations

from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; Dash works without it
    orjson = None

import numpy as np
import pandas as pd
from dash import _callback as dash_callback
from dash import _utils as dash_utils
from plotly.io._json import _safe, _swap_orjson, clean_to_json_compatible

OPTIONS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY) if orjson else 0
"""The options plotly gives orjson."""
_MODULES = {"sage_all": None, "np": np, "pd": pd, "image": None}


def _default(obj: Any) -> Any:
    """What orjson cannot write: a component's dict, or Dash's conversion of the value."""
    to_plotly = getattr(obj, "to_plotly_json", None)
    if to_plotly is not None:
        return to_plotly()
    cleaned = clean_to_json_compatible(obj, numpy_allowed=True, datetime_allowed=True,
                                       modules=_MODULES)
    if cleaned is obj:
        raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")
    return cleaned


def to_json(value: Any) -> str:
    """``value`` (a callback's answer) as Dash's JSON text (see the module)."""
    if orjson is None:
        return dash_utils.to_json(value)
    try:
        text = orjson.dumps(value, default=_default, option=OPTIONS).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError too: Dash's encoder says what is wrong
        return dash_utils.to_json(value)
    return _safe(text, _swap_orjson)


def install() -> bool:
    """Serialise Dash's callback answers with :func:`to_json`; False without orjson."""
    if orjson is None:
        return False
    dash_callback.to_json = to_json  # type: ignore[attr-defined]
    return True
