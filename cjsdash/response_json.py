"""Dash's answers serialised in one orjson pass over the component tree (decision 0045).

Dash turns every callback answer and the page shell into JSON with
``plotly.io.json.to_json_plotly``. For an answer made of Dash components that function
tries orjson, fails on the first component, then walks the whole tree in Python
(``clean_to_json_compatible``) and serialises the cleaned copy: the overview's update (about
800 components) took 11.6 ms at p50, the data page's layout 11.4 ms. :func:`to_json` gives the
same text in one orjson pass (5.7 and 7.5 ms; the data page's time is mostly the escapes of
its HTML tables), taking each component's JSON form as it meets it (read from the
component's attributes as ``to_plotly_json`` would give it, in a third of its time:
:func:`component_json`), with plotly's escapes of ``<``, ``>``, ``/`` and the line
separators that keep JSON inside HTML safe.

Same text, not merely the same JSON: what orjson does not take by itself goes through
:func:`_plain`, which converts it as ``clean_to_json_compatible`` does (numpy arrays and
scalars, datetime64 as numpy prints it), and anything else (float32 arrays, which orjson and
Python print differently; pandas objects; unknown types) sends the whole answer to plotly's
own function, whose answer and errors are then Dash's.

:func:`install` points Dash's callback dispatch and layout at it (their module-level
``to_json`` names); :func:`installed` says whether they are, for the tests that hold it
to Dash's own answers.
"""

from __future__ import annotations

from typing import Any

import dash._callback
import dash.dash
import numpy as np
import orjson
from dash.development.base_component import Component
from plotly.io.json import to_json_plotly

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
"""Keys as plotly's (not strings too); numpy and dataclasses through :func:`_plain`."""
_ESCAPES = tuple((unsafe.encode(), safe.encode()) for unsafe, safe in (
    ("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"),
    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")))
"""plotly's escapes after orjson (``plotly.io._json._swap_orjson``), made on the UTF-8 bytes
before the one decode: 2–3 ms less than in the decoded text for the data page's coverage
answer (1.1 MB of HTML tables, 1.5 MB once escaped)."""
_USERS = (dash._callback, dash.dash)
"""Dash's modules that serialise answers (callbacks) and the page shell (layout)."""


def component_json(component: Component) -> dict[str, Any]:
    """``Component.to_plotly_json`` read from the instance's ``__dict__``: the same dict, keys
    in the same order, about a third of the time (the overview's 800 components).

    Dash asks ``hasattr`` of each of the class's property names and ``any(startswith)`` of
    every attribute for its wildcards (``data-*``, ``aria-*``); both lists live on the
    instance, set by its ``__init__``. Only for classes that keep Dash's method and have no
    class attribute named as a property (:func:`_plain` checks, once a class)."""
    held = component.__dict__
    props = {name: held[name] for name in held["_prop_names"] if name in held}
    wildcards = tuple(held["_valid_wildcard_attributes"])
    for name in held:
        if name.startswith(wildcards):
            props[name] = held[name]
    return {"props": props, "type": component._type, "namespace": component._namespace}


_READ_FROM_DICT: dict[type, bool] = {}
"""Per component class: whether :func:`component_json` gives its ``to_plotly_json``."""


def _dict_readable(component: Component) -> bool:
    """Whether :func:`component_json` may answer for this component: its class keeps Dash's
    ``to_plotly_json`` and has no ``__getattr__`` or class attribute named as a property
    (the property names are the generated class's, the same for each instance: asked once a
    class); the instance holds both lists."""
    held = component.__dict__
    if "_prop_names" not in held or "_valid_wildcard_attributes" not in held:
        return False
    kind = type(component)
    known = _READ_FROM_DICT.get(kind)
    if known is None:
        known = _READ_FROM_DICT[kind] = (
            kind.to_plotly_json is Component.to_plotly_json
            and not any("__getattr__" in vars(base) for base in kind.__mro__[:-1])
            and not any(hasattr(kind, name) for name in held["_prop_names"]))
    return known


def _plain(value: Any) -> Any:
    """What orjson cannot take by itself, as plotly's cleaning makes it: a component or a
    figure as its JSON form, numpy as plotly converts it; anything else refused (then the
    whole answer goes to plotly's function)."""
    if isinstance(value, Component) and _dict_readable(value):
        return component_json(value)
    to_plotly_json = getattr(value, "to_plotly_json", None)
    if to_plotly_json is not None:
        return to_plotly_json()
    if type(value) is np.ndarray:  # not a subclass (a masked array is plotly's to clean)
        kind = value.dtype.kind  # integers, booleans, float64: orjson prints tolist() alike
        if kind in "iubUO" or (kind == "f" and value.dtype.itemsize == 8):
            return value.tolist()
        if kind == "M":
            return np.datetime_as_string(value).tolist()
    elif isinstance(value, np.datetime64):
        return str(value)
    elif isinstance(value, np.generic) and value.dtype.kind in "iubf":
        return value.item()
    raise TypeError(type(value).__name__)


def to_json(value: Any) -> str:
    """``value`` as the JSON text ``to_json_plotly`` gives for it."""
    try:
        raw = orjson.dumps(value, default=_plain, option=_OPTIONS)
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
