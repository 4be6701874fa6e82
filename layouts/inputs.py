"""Callback inputs checked before a page uses them.

A callback's values come from the browser, so anyone can send any JSON. ``@checked`` (put
under ``@callback``) compares each value with the callback's type hints before the
function runs: ``str``, ``int``, ``float``, ``bool``, ``dict``, ``list[str]``, unions and
``Any``. ``None`` is always taken (Dash sends it for a property not yet set), as is an
``int`` for a ``float``. A value of the wrong type raises :class:`BadCallbackInput`, which
the server answers with 400 and the message (:mod:`cjsdash.server`), never a 500.

Values of the right type that mean nothing (an unknown area, a run id that is not a
number) are the pages' to handle: :func:`run_number` is the one for run ids.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
MAX_TEXT = 10_000  # no control value is longer; an upload's contents is checked by the page
TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
              dict: "an object", list: "a list"}


class BadCallbackInput(ValueError):
    """A callback was sent a value it cannot take; the message says which and why."""


def _describe(value: Any) -> str:
    return {type(None): "null", bool: "true/false", int: "a number", float: "a number",
            str: "text", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any or value is None:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(v is not None and _matches(v, item)
                                               for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a hint this checker does not know: the page checks it


def _hint_words(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_hint_words(h) for h in typing.get_args(hint) if h is not type(None))
    if origin is list:
        return "a list of " + _hint_words((typing.get_args(hint) or (Any,))[0]).removeprefix("a ")
    return TYPE_WORDS.get(hint, getattr(hint, "__name__", str(hint)))


def check_value(callback: str, name: str, value: Any, hint: Any,
                max_text: int = MAX_TEXT) -> None:
    """:class:`BadCallbackInput` unless ``value`` fits ``hint`` (see the module)."""
    if not _matches(value, hint):
        raise BadCallbackInput(f"{callback}: the value of '{name}' must be {_hint_words(hint)}, "
                               f"not {_describe(value)}")
    if isinstance(value, str) and len(value) > max_text:
        raise BadCallbackInput(f"{callback}: the value of '{name}' is {len(value):,} "
                               f"characters long, over the {max_text:,} a control sends")


def checked(func: F | None = None, *, long_text: tuple[str, ...] = ()) -> Any:
    """Check a callback's arguments against its type hints before it runs (see module).

    ``long_text`` names the arguments that may be longer than :data:`MAX_TEXT` (an
    upload's contents, which the page checks against the upload limit itself).
    """

    def decorate(f: F) -> F:
        signature = inspect.signature(f)
        hints = typing.get_type_hints(f)
        where = f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}"

        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                raise BadCallbackInput(f"{where}: the request sent the wrong number of "
                                       "values") from None
            for name, value in bound.arguments.items():
                param = signature.parameters[name]
                hint = hints.get(name, Any)
                limit = 1 << 62 if name in long_text else MAX_TEXT
                if param.kind is inspect.Parameter.VAR_POSITIONAL:
                    for i, item in enumerate(value):
                        check_value(where, f"{name}[{i}]", item, hint, limit)
                else:
                    check_value(where, name, value, hint, limit)
            return f(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


def run_number(run: str | None, every: str) -> int | None:
    """A run id from a control's value: None for ``every`` (or nothing); else the number,
    or :class:`BadCallbackInput` if it is not one."""
    if run in (None, "", every):
        return None
    text = str(run).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise BadCallbackInput(f"the run '{str(run)[:40]}' is not a run number")
    return int(text)


def period_end(period: str | None, latest: str) -> date | None:
    """A period control's value as a date: None for ``latest`` (or nothing); else the ISO
    date it holds, or :class:`BadCallbackInput` if it holds none."""
    if period in (None, "", latest):
        return None
    try:
        return date.fromisoformat(str(period))
    except ValueError:
        raise BadCallbackInput(f"the period '{str(period)[:40]}' is not a date") from None
