"""Callback answers serialised by orjson in one pass say what Dash's own encoder says
(:mod:`cjsdash.fast_json`, decision 0027)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import _callback as dash_callback
from dash import dcc, html
from dash._utils import to_json as dash_to_json

from cjsdash import fast_json
from cjsdash.core.config import get_settings

VALUES: dict[str, Any] = {
    "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"),
    "numpy nan": np.float64("nan"), "numpy int": np.int64(3), "numpy bool": np.bool_(True),
    "float array with nan": np.array([1.5, np.nan, 3.0]), "int array": np.array([1, 2]),
    "float32 array": np.array([0.1], dtype=np.float32), "text array": np.array(["a", "b"]),
    "object array": np.array([1, "x", None], dtype=object),
    "timestamp": pd.Timestamp("2024-01-02 03:04:05"), "NaT": pd.NaT, "NA": pd.NA,
    "date": dt.date(2024, 1, 2), "datetime": dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
    "aware datetime": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
    "decimal": decimal.Decimal("1.25"), "tuple": (1, 2), "series": pd.Series([1.0, None]),
    "date index": pd.DatetimeIndex(["2024-01-01"]),
    "markup": "</script><b>x\u2028y\u2029</b>", "number keys": {1: "a", 2.5: "b"},
    "float": 0.1 + 0.2, "negative zero": -0.0, "big int": 2**63 - 1, "empty": [],
    "unicode": "Ynys Môn – £5", "none": None, "bools": [True, False],
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_values_are_written_as_dash_writes_them(name: str) -> None:
    value = VALUES[name]
    with_component = {"a": html.Div(id="x", children=[value]), "b": value}
    assert fast_json.to_json(with_component) == dash_to_json(with_component)
    assert fast_json.to_json({"b": value}) == dash_to_json({"b": value})


def test_a_figure_and_components_are_written_as_dash_writes_them() -> None:
    figure = go.Figure(go.Scatter(x=[dt.date(2024, 1, 1), dt.date(2024, 4, 1)],
                                  y=np.array([0.12, np.nan]), name="<rate>"))
    answer = {"multi": True, "response": {
        "page-content": {"children": [html.H2("Cumbria & co"), dcc.Graph(figure=figure),
                                      html.Table([html.Tr([html.Td(1.5), html.Td(None)])])]},
        "page-url": {"search": "?area=E23000002&grain=fy"}}}
    fast = fast_json.to_json(answer)
    assert fast == dash_to_json(answer)
    assert "</" not in fast and json.loads(fast)["multi"] is True


def test_what_orjson_refuses_is_refused_as_dash_refuses_it() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError) as ours:
        fast_json.to_json({"a": Opaque()})
    with pytest.raises(TypeError) as dashs:
        dash_to_json({"a": Opaque()})
    assert str(ours.value) == str(dashs.value)


def test_where_dash_contradicts_itself_the_answer_is_its_component_free_form() -> None:
    """A numpy float32 scalar: Dash writes 1.1 alone, 1.100000023841858 beside a component."""
    alone = {"b": np.float32(1.1)}
    assert fast_json.to_json(alone) == dash_to_json(alone) == '{"b":1.1}'
    assert fast_json.to_json({"a": html.Div(), **alone}).endswith('"b":1.1}')


@pytest.fixture
def small_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from cjsdash.bootstrap import prepare
    from cjsdash.core.gateway import Warehouse
    from cjsdash.server import create_app
    from ingest.pipeline import ingest_paths
    from tests.conftest import write_csv
    from tests.integration.served_app import FIRST

    monkeypatch.setenv("CJSDASH_RESPONSE_CACHE_MB", "0")  # every answer computed
    monkeypatch.setenv("CJSDASH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.writer() as con:
        prepare(con)
        ingest_paths(con, [write_csv(tmp_path / "first.csv", FIRST)])
    yield create_app(warehouse)
    warehouse.close()
    get_settings.cache_clear()


def _bodies(app: Any) -> Iterator[dict[str, Any]]:
    from tests.integration.served_app import body_for

    pages = {"overview-content": ("area", "grain", "period"), "data-head": ("version",),
             "data-coverage": ("area", "grain", "group", "period", "version")}
    values = {"area": ["K04000001", "E23000002"], "grain": ["quarter", "fy"],
              "period": ["latest"], "group": ["lcjb"], "version": [0]}
    for output, spec in app.callback_map.items():
        first = output.lstrip(".").split(".", 1)[0]
        if first not in pages:
            continue
        for area in values["area"]:
            for grain in values["grain"]:
                chosen = {"area": area, "grain": grain, "period": "latest", "group": "lcjb",
                          "version": 0}
                yield body_for(output, spec, {("inputs", n): chosen[name]
                                              for n, name in enumerate(pages[first])})


def test_page_answers_are_byte_for_byte_dashs(small_app: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client = small_app.server.test_client()
    compared = 0
    for body in _bodies(small_app):
        assert dash_callback.to_json is fast_json.to_json  # create_app installed it
        ours = client.post("/_dash-update-component", json=body)
        with monkeypatch.context() as mp:
            mp.setattr(dash_callback, "to_json", dash_to_json)
            dashs = client.post("/_dash-update-component", json=body)
        assert ours.status_code == dashs.status_code == 200, ours.get_data(as_text=True)[:300]
        assert ours.data == dashs.data
        compared += len(ours.data) > 1000
    assert compared >= 8
