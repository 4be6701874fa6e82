"""Dash's HTML components made without its per-instance checks, for the pages' longest lists.

Constructing ``html.Td("x", className="c")`` costs about 10 µs: Dash's generated ``__init__``
goes through a signature wrapper, works out which arguments were given, checks each name
against the class's properties and its wildcards and warns of deprecation, every time. The
overview lays out about 800 such components a view (its scorecard rows), 8 ms of a 30 ms
callback. :func:`element` makes the same instance (the same ``__dict__``, so the same
``to_plotly_json`` and the same answer) in under a microsecond: it copies what Dash's
``__init__`` stores on every instance of the class (its property lists, read once from an
empty instance) and checks the names given against a set. Only ``dash.html`` classes, whose
properties are all optional; the rest (``dcc``) keep their own constructors.
"""

from __future__ import annotations

from typing import Any

from dash.development.base_component import Component

_HTML_NAMESPACE = "dash_html_components"

_TEMPLATES: dict[type[Component], tuple[dict[str, Any], frozenset[str], tuple[str, ...]]] = {}
"""Per class: an empty instance's attributes, its property names and its wildcard prefixes."""


def _template(kind: type[Component]) -> tuple[dict[str, Any], frozenset[str], tuple[str, ...]]:
    known = _TEMPLATES.get(kind)
    if known is None:
        if getattr(kind, "_namespace", None) != _HTML_NAMESPACE:
            raise TypeError(f"{kind.__name__} is not a dash.html component")
        empty = kind()
        held = dict(empty.__dict__)
        known = _TEMPLATES[kind] = (held, frozenset(held["_prop_names"]),
                                    tuple(held["_valid_wildcard_attributes"]))
    return known


def element(kind: type[Component], children: Any = None, /, **props: Any) -> Component:
    """``kind(children, **props)`` for a ``dash.html`` class, without Dash's checks per
    instance; a property the class does not have is refused as Dash refuses it (TypeError)."""
    held, names, wildcards = _template(kind)
    for name in props:
        if name not in names and not name.startswith(wildcards):
            raise TypeError(f"{kind.__name__} has no property {name!r}")
    made = object.__new__(kind)
    attributes = made.__dict__
    attributes.update(held)  # the class's property lists, shared: Dash only reads them
    attributes["children"] = children
    attributes.update(props)
    return made
