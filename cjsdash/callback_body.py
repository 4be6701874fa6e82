"""The shape of a Dash callback request, checked before Dash reads it.

Dash answers a malformed ``/_dash-update-component`` body (no ``output``, an output no
callback writes, inputs that are not ``{id, property, value}``, too few of them, a
``pathname`` that is a list) with a Python exception, so HTTP 500. :func:`body_problem`
says in words what is wrong with such a body, so the server answers 400 instead
(:mod:`cjsdash.server`); a body it passes reaches the callback, whose own check
(:func:`layouts.inputs.checked`) looks at the values' types for that callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CALLBACK_PATH = "/_dash-update-component"
MAX_ID = 500
# The properties whose type is the same for every component that has them.
PROPERTY_TYPES: dict[str, tuple[type, ...]] = {
    "pathname": (str,), "search": (str,), "hash": (str,), "href": (str,),
    "n_clicks": (int,), "n_clicks_timestamp": (int,), "contents": (str,),
    "filename": (str,), "max_size": (int,), "accept": (str,),
}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _item_problem(where: str, item: Any) -> str | None:
    if isinstance(item, list):  # a pattern-matching input: a list of items
        for part in item:
            problem = _item_problem(where, part)
            if problem:
                return problem
        return None
    if not isinstance(item, dict):
        return f"each of '{where}' must be an object with id, property and value"
    ident, prop = item.get("id"), item.get("property")
    if not isinstance(ident, str | dict) or not isinstance(prop, str):
        return f"each of '{where}' needs an id and a property (text)"
    if isinstance(ident, str) and len(ident) > MAX_ID:
        return f"an id in '{where}' is too long"
    value = item.get("value")
    if prop == "pathname" and not (isinstance(value, str) and value.startswith("/")):
        return f"a pathname must be a path beginning with '/', not {_kind(value)}"
    allowed = PROPERTY_TYPES.get(prop)
    if value is not None and allowed is not None and (
            not isinstance(value, allowed) or isinstance(value, bool)):
        return (f"'{ident if isinstance(ident, str) else 'a component'}.{prop}' must be "
                f"{'text' if str in allowed else 'a whole number'}, not {_kind(value)}")
    return None


def _output_names(output: str) -> list[str]:
    """``id.property`` of each output of a callback's key (``..a.x...b.y..`` for several)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [p.split("@", 1)[0] for p in parts]


def _outputs_problem(output: str, outputs: Any) -> str | None:
    expected = _output_names(output)
    several = output.startswith("..")
    sent = outputs if several else [outputs]
    if not isinstance(sent, list) or len(sent) != len(expected):
        return f"'outputs' must name the callback's {len(expected)} output(s)"
    for name, item in zip(expected, sent, strict=True):
        if isinstance(item, list) and name.startswith("{"):  # pattern-matching: Dash checks
            continue
        if not isinstance(item, dict) or not isinstance(item.get("property"), str):
            return "each of 'outputs' must be an object with id and property"
        if isinstance(item.get("id"), str) and \
                f"{item['id']}.{item['property'].split('@', 1)[0]}" != name:
            return f"'outputs' does not match the callback's output '{name}'"
    return None


def body_problem(body: Any, callbacks: Mapping[str, Mapping[str, Any]]) -> str | None:
    """What is wrong with a callback request body, in words; None if nothing is."""
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    output = body.get("output")
    if not isinstance(output, str):
        return "the request names no output"
    spec = callbacks.get(output)
    if spec is None or "callback" not in spec:
        return f"no callback on this server writes '{output[:120]}'"
    if "outputs" in body:
        problem = _outputs_problem(output, body["outputs"])
        if problem:
            return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "'changedPropIds' must be a list of text"
    for key, expected in (("inputs", spec.get("inputs", [])), ("state", spec.get("state", []))):
        items = body.get(key, [])
        if not isinstance(items, list):
            return f"'{key}' must be a list"
        if len(items) != len(expected):
            return f"this callback takes {len(expected)} {key}, not {len(items)}"
        for item in items:
            problem = _item_problem(key, item)
            if problem:
                return problem
    return None
