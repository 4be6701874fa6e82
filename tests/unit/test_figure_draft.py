"""The figure draft: plain plotly JSON equal to what ``go.Figure`` and ``make_subplots`` make."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

from layouts import theme
from layouts.figure_draft import Draft, height, template_json


def _json(fig: go.Figure) -> dict:
    return fig.to_plotly_json()


@pytest.mark.parametrize(("rows", "cols", "h", "v", "shared"), [
    (2, 3, 0.06, 0.19, False), (1, 3, 0.03, 0.3, True), (1, 1, 0.2, 0.3, False),
    (3, 2, 0.1, 0.05, True)])
def test_grid_lays_out_subplots_as_make_subplots(rows: int, cols: int, h: float, v: float,
                                                  shared: bool) -> None:
    titles = [f"panel {i}" for i in range(rows * cols - (1 if rows * cols > 1 else 0))]
    expected = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                             horizontal_spacing=h, vertical_spacing=v, shared_yaxes=shared)
    expected.add_trace(go.Bar(x=["a"], y=[1]), row=rows, col=cols)
    expected.update_yaxes(rangemode="tozero", col=1)
    draft = Draft()
    draft.grid(rows, cols, titles=titles, horizontal_spacing=h, vertical_spacing=v,
               shared_yaxes=shared)
    draft.add_bar(x=["a"], y=[1], row=rows, col=cols)
    draft.update_yaxes(rangemode="tozero", col=1)
    got, want = _json(draft.figure()), _json(expected)
    assert got["data"] == want["data"]
    for key, axis in want["layout"].items():
        if key.startswith(("xaxis", "yaxis")):
            assert got["layout"][key]["anchor"] == axis["anchor"]
            assert got["layout"][key]["domain"] == pytest.approx(axis["domain"])
            for extra in ("matches", "showticklabels", "rangemode"):
                assert got["layout"][key].get(extra) == axis.get(extra), (key, extra)
    assert len(got["layout"]["annotations"]) == len(titles)
    for mine, theirs in zip(got["layout"]["annotations"], want["layout"]["annotations"],
                            strict=True):
        assert mine["text"] == theirs["text"]
        assert (mine["x"], mine["y"]) == pytest.approx((theirs["x"], theirs["y"]))


def test_lines_bands_and_updates_match_go_figure() -> None:
    expected = go.Figure()
    expected.add_scatter(x=[1, 2], y=[3, 4], name="a")
    expected.add_hline(y=1, line={"color": "#000000", "width": 1})
    expected.add_vline(x=1.5, line={"dash": "dash"})
    expected.add_vrect(x0=0.5, x1=1.5, fillcolor="#eeeeee", line_width=0, layer="below")
    expected.update_layout(template=theme.TEMPLATE_NAME, title={"text": "t"}, height=300)
    expected.update_layout(title={"subtitle": {"text": "s"}})
    expected.update_xaxes(type="log")
    draft = Draft()
    draft.add_scatter(x=[1, 2], y=[3, 4], name="a")
    draft.add_hline(y=1, line={"color": "#000000", "width": 1})
    draft.add_vline(x=1.5, line={"dash": "dash"})
    draft.add_vrect(x0=0.5, x1=1.5, fillcolor="#eeeeee", line_width=0, layer="below")
    draft.update_layout(template=theme.TEMPLATE_NAME, title={"text": "t"}, height=300)
    draft.update_layout(title={"subtitle": {"text": "s"}})
    draft.update_xaxes(type="log")
    assert _json(draft.figure()) == _json(expected)
    assert height(draft.spec(), 460) == 300 and height(go.Figure(), 460) == 460


def test_spec_writes_the_template_out_and_is_not_shared() -> None:
    draft = Draft()
    draft.update_layout(template=theme.TEMPLATE_NAME)
    spec = draft.spec()
    assert spec["layout"]["template"] == template_json(theme.TEMPLATE_NAME)
    spec["layout"]["template"]["layout"]["font"]["size"] = 99  # a caller's change stays theirs
    assert template_json(theme.TEMPLATE_NAME)["layout"]["font"]["size"] != 99


def test_a_misspelt_property_fails_when_the_spec_is_validated() -> None:
    draft = Draft()
    draft.add_scatter(x=[1], y=[1], colour="red")
    with pytest.raises(ValueError, match="colour"):
        draft.figure()


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("cols", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("rows", [1, 2, 3, 4])
def test_grid_layout_is_make_subplots_to_the_last_bit(rows: int, cols: int,
                                                     shared: bool) -> None:
    """Domains summed in make_subplots' order: the same floats, not merely close ones (the
    disproportionality pages' rates grid is 0.06 / (0.22 / rows + 0.08))."""
    for h, v in ((0.06, 0.22 / rows + 0.08), (0.03, 0.3), (0.2 / cols, 0.3 / rows)):
        titles = [f"panel {i}" for i in range(rows * cols)]
        titles[-1] = ""  # an empty title gets no annotation, as in make_subplots
        expected = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                                 horizontal_spacing=h, vertical_spacing=v, shared_yaxes=shared)
        draft = Draft()
        draft.grid(rows, cols, titles=titles, horizontal_spacing=h, vertical_spacing=v,
                   shared_yaxes=shared)
        assert _json(draft.figure())["layout"] == _json(expected)["layout"], (h, v)


def test_none_unsets_a_property_as_go_figure_update_does() -> None:
    expected = go.Figure()
    expected.update_layout(height=300, title={"text": "t"}, margin={"t": 90})
    expected.update_layout(height=None, margin={"t": None, "b": 40})
    expected.update_yaxes(type="category", title={"text": "y"})
    expected.update_yaxes(title=None)
    draft = Draft()
    draft.update_layout(height=300, title={"text": "t"}, margin={"t": 90})
    draft.update_layout(height=None, margin={"t": None, "b": 40})
    draft.update_yaxes(type="category", title={"text": "y"})
    draft.update_yaxes(title=None)
    spec = draft.spec()
    assert "height" not in spec["layout"] and spec["layout"]["margin"] == {"b": 40}
    assert "title" not in spec["layout"]["yaxis"]  # no null for plotly.js to read
    # go.Figure leaves the unset title as {}; its own constructor drops an empty one
    assert _json(draft.figure()) == _json(go.Figure(expected.to_plotly_json()))
def _sent(spec: dict) -> dict:
    """What the browser gets: the spec as Dash serialises it (no validation)."""
    return json.loads(json.dumps(spec, cls=PlotlyJSONEncoder))


def _validated(spec: dict) -> dict:
    return json.loads(pio.to_json(go.Figure(spec)))


def test_magic_underscores_are_written_out_as_go_figure_does() -> None:
    expected = go.Figure()
    expected.add_scatter(x=[1, 2], y=[3, 4], line={"color": "#000000", "width": 2},
                         line_shape="hv", error_y_color="#111111", marker_line_width=1)
    expected.add_annotation(x=1, y=3, text="a", font_size=12, bgcolor="#ffffff")
    expected.add_shape(type="rect", x0=0, x1=1, y0=0, y1=1, line_width=0, line_dash="dot")
    expected.update_layout(title_text="t", title_font_size=20, paper_bgcolor="#fafafa",
                           yaxis_title_text="y", legend={"x": 0}, legend_y=1)
    expected.update_xaxes(title_standoff=4)
    style = {"color": "#000000", "width": 2}
    draft = Draft()
    draft.add_scatter(x=[1, 2], y=[3, 4], line=style, line_shape="hv",
                      error_y_color="#111111", marker_line_width=1)
    draft.add_annotation(x=1, y=3, text="a", font_size=12, bgcolor="#ffffff")
    draft.add_shape(type="rect", x0=0, x1=1, y0=0, y1=1, line_width=0, line_dash="dot")
    draft.update_layout(title_text="t", title_font_size=20, paper_bgcolor="#fafafa",
                        yaxis_title_text="y", legend={"x": 0}, legend_y=1)
    draft.update_xaxes(title_standoff=4)
    spec = draft.spec()
    assert _sent(spec) == _validated(spec) == json.loads(pio.to_json(expected))
    assert spec["data"][0]["line"] == {"color": "#000000", "width": 2, "shape": "hv"}
    assert style == {"color": "#000000", "width": 2}  # the caller's dict is not changed


@pytest.mark.parametrize("position", [None, "top left", "top right", "bottom left", "bottom",
                                      "left", "right"])
def test_spanning_shapes_label_themselves_as_go_figure_does(position: str | None) -> None:
    label = {"annotation_text": "label", "annotation_font_size": 11}
    if position:
        label["annotation_position"] = position
    expected = go.Figure()
    expected.add_scatter(x=[1, 2, 3], y=[1, 2, 3])
    expected.add_hline(y=1, line={"color": "#000000", "width": 1}, **label)
    expected.add_vline(x=2, line_dash="dash", **label)
    expected.add_vrect(x0=1.5, x1=2.5, fillcolor="#eeeeee", line_width=0, layer="below",
                       annotation={"text": "band", "font": {"size": 10}},
                       annotation_position=position.replace("left", "right")
                       if position else None)
    expected.add_vline(x=3)
    draft = Draft()
    draft.add_scatter(x=[1, 2, 3], y=[1, 2, 3])
    draft.add_hline(y=1, line={"color": "#000000", "width": 1}, **label)
    draft.add_vline(x=2, line_dash="dash", **label)
    draft.add_vrect(x0=1.5, x1=2.5, fillcolor="#eeeeee", line_width=0, layer="below",
                    annotation={"text": "band", "font": {"size": 10}},
                    annotation_position=position.replace("left", "right") if position else None)
    draft.add_vline(x=3)
    spec = draft.spec()
    assert _sent(spec) == _validated(spec) == json.loads(pio.to_json(expected))
    assert len(spec["layout"]["annotations"]) == 3
