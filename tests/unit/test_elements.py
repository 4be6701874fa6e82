"""layouts.elements.element makes the instance Dash's own constructor makes."""

from __future__ import annotations

import pytest
from dash import dcc, html

from cjsdash.response_json import component_json, to_json
from layouts.elements import element

CASES = [
    (html.Td, "x", {"className": "cjs-sc-ci"}),
    (html.Td, None, {}),
    (html.Th, ["a", html.Div("b")], {"scope": "row", "className": "t"}),
    (html.Tr, [html.Td("1")], {"id": "overview-row-obtj", "className": "cjs-sc-row"}),
    (html.Span, "▲", {"className": "s", "aria-hidden": "true", "title": None}),
    (html.Img, None, {"id": "spark", "src": "data:,", "alt": "a trend", "width": 140}),
    (html.Div, "", {"data-state": "on", "role": "group"}),
]


@pytest.mark.parametrize(("kind", "children", "props"), CASES)
def test_element_is_what_dash_constructs(kind: type, children: object, props: dict) -> None:
    made, dash_made = element(kind, children, **props), kind(children, **props)
    assert type(made) is kind
    assert made.to_plotly_json() == dash_made.to_plotly_json()
    assert component_json(made) == component_json(dash_made)
    assert to_json(made) == to_json(dash_made)
    assert made.__dict__ == dash_made.__dict__


def test_instances_do_not_share_what_they_were_given() -> None:
    first, second = element(html.Td, "a", id="one"), element(html.Td, "b")
    assert (first.children, first.id) == ("a", "one")
    assert second.children == "b" and not hasattr(second, "id")


def test_a_property_the_class_has_not_is_refused() -> None:
    with pytest.raises(TypeError, match="colspan"):
        element(html.Td, "x", colspan=2)  # Dash's name is colSpan
    with pytest.raises(TypeError):
        html.Td("x", colspan=2)


def test_only_html_components() -> None:
    with pytest.raises(TypeError, match="not a dash.html component"):
        element(dcc.Store)
