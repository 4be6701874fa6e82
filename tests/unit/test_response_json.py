"""Dash's answers serialised in one orjson pass give plotly's text byte for byte (decision
0045), and anything orjson cannot take goes to plotly's function, errors included."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import dcc, html
from plotly.io.json import to_json_plotly

from cjsdash import response_json


def _tree() -> object:
    figure = go.Figure(go.Scatter(x=[dt.date(2024, 3, 31), dt.date(2024, 6, 30)],
                                  y=np.array([0.25, math.nan]), name="</script><b>"))
    figure.update_layout(title="Ineffective trials \u2028 a/b")
    return [html.Div([
        html.H1("Cumbria <LCJB> & friends", id="x", className="cjs-h"),
        html.Table([html.Tr([html.Td(str(n), title=f"{n:,}") for n in range(40)])]),
        dcc.Graph(figure=figure, config={"displaylogo": False}),
        dcc.Store(id="s", data={"when": dt.datetime(2024, 1, 2, 3, 4, 5), "n": np.int64(7),
                        "x": np.float64(1.5), "none": None, "nan": math.nan, 3: "key"}),
        "plain text / with a slash",
    ]), {"label": "Latest", "value": "latest"}, None, 12, [1.0, math.inf]]


def test_the_same_text_as_plotly() -> None:
    value = _tree()
    assert response_json.to_json(value) == to_json_plotly(value)


@dataclasses.dataclass
class _Shown:
    value: int

    def to_plotly_json(self) -> dict:
        return {"shown": self.value}


@dataclasses.dataclass
class _Plain:
    value: int


@pytest.mark.parametrize("odd", [
    decimal.Decimal("1.25"), pd.Timestamp("2024-01-02"), pd.Series([1, 2]),
    np.array(["a", None], dtype=object), np.datetime64("2021-01-01"),
    np.datetime64("2021-01-01T00:00:03.5", "ns"), np.array(["2021-01-01", "2021-02-01"],
                                                          dtype="datetime64[D]"),
    np.float32(0.1), np.array([0.1, 0.2], dtype=np.float32), np.float16(0.1),
    np.int64(7), np.bool_(True), np.uint8(200), np.array([1, 2], dtype=np.int8),
    np.arange(10.0)[::3], np.array([1 + 2j]), np.array([1, 2], dtype="timedelta64[s]"),
    np.ma.masked_array([1.0, 2.0], mask=[False, True]), np.ma.masked,
    np.array([np.datetime64("2021-01-01"), np.float32(0.1), None], dtype=object),
    np.array(["a", "b"]), _Shown(3), _Plain(4), float("inf")])
def test_what_orjson_cannot_take_goes_to_plotly(odd: object) -> None:
    """The same text as plotly's function, or the same error (a complex or timedelta array
    is not JSON to plotly either)."""
    value = html.Div([html.Span("a"), dcc.Store(id="s", data={"odd": odd})])
    try:
        expected = to_json_plotly(value)
    except TypeError:
        with pytest.raises(TypeError):
            response_json.to_json(value)
        return
    assert response_json.to_json(value) == expected


def test_a_date_series_in_a_figure_is_written_as_plotly_writes_it() -> None:
    import polars as pl

    days = pl.Series([dt.date(2021, 1, 1), dt.date(2021, 2, 1)])
    value = html.Div(dcc.Graph(figure=go.Figure(go.Scatter(x=days, y=[1.0, 2.0]))))
    assert response_json.to_json(value) == to_json_plotly(value)


def test_an_unserialisable_answer_fails_as_dash_expects() -> None:
    with pytest.raises(TypeError):
        to_json_plotly(html.Div(dcc.Store(id="s", data=object())))
    with pytest.raises(TypeError):
        response_json.to_json(html.Div(dcc.Store(id="s", data=object())))


def test_install_points_dash_at_it() -> None:
    import dash._callback
    import dash.dash

    response_json.install()
    assert response_json.installed()
    assert dash._callback.to_json is response_json.to_json
    assert dash.dash.to_json is response_json.to_json


def _every_component() -> list[object]:
    """One instance of every html and dcc component class, with wildcard properties."""
    from dash.development.base_component import Component

    made = []
    for module in (html, dcc):
        for name in sorted(dir(module)):
            kind = getattr(module, name)
            if not (isinstance(kind, type) and issubclass(kind, Component)):
                continue
            props: dict[str, object] = {"id": f"c-{name}", "aria-label": "a", "data-n": "1"}
            while True:
                try:
                    made.append(kind(**props))
                    break
                except TypeError as exc:  # a required property, or no wildcards
                    required = re.search(r"Required argument `(\w+)`", str(exc))
                    if required:
                        props[required[1]] = "x"
                    elif "aria-label" in props:
                        props = {k: v for k, v in props.items() if "-" not in k}
                    else:
                        raise
    return made


@pytest.mark.parametrize("component", _every_component(), ids=lambda c: type(c).__name__)
def test_a_component_read_from_its_attributes_as_dash_gives_it(component: object) -> None:
    """The same dict as Dash's ``to_plotly_json``, its keys in the same order (they are the
    JSON's): for every html and dcc class, with and without children and wildcards."""
    expected = component.to_plotly_json()  # type: ignore[attr-defined]
    found = response_json.component_json(component)  # type: ignore[arg-type]
    assert found == expected
    assert list(found["props"]) == list(expected["props"])
    assert response_json._dict_readable(component)  # type: ignore[arg-type]


def test_a_component_class_that_answers_for_itself_is_asked() -> None:
    """A subclass with its own ``to_plotly_json`` or a ``__getattr__`` is not read from its
    attributes: its own method answers, as in Dash."""

    class Shown(html.Span):
        def to_plotly_json(self) -> dict:
            return {"shown": self.children}

    class Lazy(html.Span):
        def __getattr__(self, name: str) -> object:
            if name == "title":
                return "from __getattr__"
            raise AttributeError(name)

    value = html.Div([Shown("a"), Lazy("b")])
    assert not response_json._dict_readable(Shown("a"))
    assert not response_json._dict_readable(Lazy("b"))
    assert response_json.to_json(value) == to_json_plotly(value)
    assert "from __getattr__" in response_json.to_json(value)
