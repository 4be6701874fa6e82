"""Dash's answers serialised in one orjson pass give plotly's text byte for byte (decision
0045), and anything orjson cannot take goes to plotly's function, errors included."""

from __future__ import annotations

import datetime as dt
import decimal
import math

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


@pytest.mark.parametrize("odd", [decimal.Decimal("1.25"), pd.Timestamp("2024-01-02"),
                                 pd.Series([1, 2]), np.array(["a", None], dtype=object)])
def test_what_orjson_cannot_take_goes_to_plotly(odd: object) -> None:
    value = html.Div([html.Span("a"), dcc.Store(id="s", data={"odd": odd})])
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
