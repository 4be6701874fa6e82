"""Figures drafted as plain plotly JSON, validated in the tests rather than on every request.

``plotly.graph_objects.Figure`` checks every property through its validators as it is set:
for the pages' charts that cost 20–150 ms a figure, more than the figures' statistics. A
:class:`Draft` offers the few ``go.Figure`` methods the chart factories use, collects plain
dicts and hands Dash (which accepts a dict as ``dcc.Graph.figure``) the JSON plotly.js reads:
:meth:`Draft.spec`. The same JSON makes a validated ``go.Figure`` (:meth:`Draft.figure`, or
``go.Figure(spec)``): the tests build one from every chart they look at, so a misspelt
property still fails a test, and the board-pack exporters draw the spec with kaleido.

Semantics kept from ``go.Figure``: ``update_layout``/``update_xaxes``/``update_yaxes`` merge
nested dicts; "magic underscore" keys are written out as nested dicts (``line_shape="hv"`` →
``line: {shape: "hv"}``: plotly.js reads no ``line_shape``, and ``go.Figure(spec)`` would
quietly accept one, so a test could not tell); ``add_hline``/``add_vline``/``add_vrect``
draw across the plot's domain, with their ``annotation_text``/``annotation_position``
label placed as plotly places it;
:meth:`Draft.grid` lays out subplots as ``plotly.subplots.make_subplots`` does (axis domains,
anchors, shared y axes, titles as annotations; tested equal to it).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.shapeannotation import axis_spanning_shape_annotation

from layouts import theme

Spec = dict[str, Any]


def merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Merge ``more`` into ``into`` as ``go.Figure.update_*`` does (nested dicts merged; a
    None unsets the property; a dict of ``more`` is copied in, so a later merge never
    changes the caller's)."""
    for key, value in more.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(into.get(key), dict):
                into[key] = {}
            merge(into[key], value)
        else:
            into[key] = value


# The property names with an underscore of their own (plotly's ``_UNDERSCORE_ATTRS``): every
# other underscore in a keyword is a path, as in ``line_width`` or ``title_font_size``.
_UNDERSCORE_NAMES = frozenset({"error_x", "error_y", "error_z", "copy_xstyle", "copy_ystyle",
                               "copy_zstyle", "paper_bgcolor", "plot_bgcolor"})


def _path(key: str) -> list[str]:
    if "_" not in key or key in _UNDERSCORE_NAMES:
        return [key]
    parts, path, i = key.split("_"), [], 0
    while i < len(parts):
        pair = "_".join(parts[i:i + 2])
        if i + 1 < len(parts) and pair in _UNDERSCORE_NAMES:
            path.append(pair)
            i += 2
        else:
            path.append(parts[i])
            i += 1
    return path


def nested(props: dict[str, Any]) -> dict[str, Any]:
    """``props`` with plotly's "magic underscore" keys written out as nested dicts, applied
    after the plain keys as ``go.Figure`` does (``line={...}, line_shape="hv"`` → one
    ``line``). Dicts the caller passed are copied, never changed."""
    out: dict[str, Any] = {}
    paths: list[tuple[list[str], Any]] = []
    for key, value in props.items():
        path = _path(key)
        if len(path) == 1:
            out[key] = value
        else:
            paths.append((path, value))
    for path, value in paths:
        node = out
        for part in path[:-1]:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, dict) else {}
            node = node[part]
        node[path[-1]] = value
    return out


@cache
def _template_json(name: str) -> dict[str, Any]:
    return pio.templates[name].to_plotly_json()


def template_json(name: str | None = None) -> dict[str, Any]:
    """A registered template as plotly JSON (the default template when ``name`` is None)."""
    return copy.deepcopy(_template_json(name or pio.templates.default))


def _axis_name(axis: str, index: int) -> str:
    return axis if index == 1 else f"{axis}{index}"


def _clamp(edge: float) -> float:
    """A domain edge a rounding error outside [0, 1] brought back, as make_subplots does."""
    return min(1.0, max(0.0, edge))


class Draft:
    """A figure being drafted: traces and layout as plain dicts (see the module docstring)."""

    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}
        self._axes = 1  # subplots laid out by grid(): every axis pair update_*axes reaches
        self._cols = 1

    # --- traces ---------------------------------------------------------------------------

    def add_trace(self, trace: dict[str, Any], *, row: int | None = None,
                  col: int | None = None) -> None:
        """A trace as a dict with its ``type``; on subplot (row, col) of a :meth:`grid`."""
        if row is not None and col is not None:
            index = (row - 1) * self._cols + col
            trace = {**trace, "xaxis": _axis_name("x", index), "yaxis": _axis_name("y", index)}
        self.data.append(nested(trace))

    def add_scatter(self, *, row: int | None = None, col: int | None = None,
                    **trace: Any) -> None:
        self.add_trace({"type": "scatter", **trace}, row=row, col=col)

    def add_bar(self, *, row: int | None = None, col: int | None = None, **trace: Any) -> None:
        self.add_trace({"type": "bar", **trace}, row=row, col=col)

    def add_heatmap(self, **trace: Any) -> None:
        self.add_trace({"type": "heatmap", **trace})

    # --- shapes and annotations ---------------------------------------------------------------

    def add_annotation(self, **annotation: Any) -> None:
        self.layout.setdefault("annotations", []).append(nested(annotation))

    def add_shape(self, **shape: Any) -> None:
        self.layout.setdefault("shapes", []).append(nested(shape))

    def _add_spanning(self, kind: str, shape: dict[str, Any], style: dict[str, Any],
                      annotation: dict[str, Any] | None) -> None:
        """A shape spanning the plot's domain one way, and the label ``go.Figure`` makes of
        ``annotation`` and the ``annotation_*`` keywords (placed by plotly's own rules)."""
        label = {k: style.pop(k) for k in [k for k in style if k.startswith("annotation_")]}
        self.add_shape(**shape, **{k: v for k, v in style.items() if v is not None})
        note = axis_spanning_shape_annotation(
            dict(annotation) if annotation else None, kind, shape, label)
        if note is not None:
            self.add_annotation(**{**note, "xref": shape["xref"], "yref": shape["yref"]})

    def add_hline(self, *, y: Any, line: dict[str, Any] | None = None,
                  annotation: dict[str, Any] | None = None, **style: Any) -> None:
        """A line across the plot at ``y`` (data value: on a log axis, the value itself)."""
        self._add_spanning("hline", {"type": "line", "xref": "x domain", "yref": "y", "x0": 0,
                                     "x1": 1, "y0": y, "y1": y}, {"line": line, **style},
                           annotation)

    def add_vline(self, *, x: Any, line: dict[str, Any] | None = None,
                  annotation: dict[str, Any] | None = None, **style: Any) -> None:
        """A line up the plot at ``x`` (data value: on a log axis, the value itself)."""
        self._add_spanning("vline", {"type": "line", "xref": "x", "yref": "y domain", "x0": x,
                                     "x1": x, "y0": 0, "y1": 1}, {"line": line, **style},
                           annotation)

    def add_vrect(self, *, x0: Any, x1: Any, annotation: dict[str, Any] | None = None,
                  **style: Any) -> None:
        """A band up the plot from ``x0`` to ``x1`` (``line_width`` as in ``go.Figure``)."""
        self._add_spanning("vrect", {"type": "rect", "xref": "x", "yref": "y domain", "x0": x0,
                                     "x1": x1, "y0": 0, "y1": 1}, style, annotation)

    # --- layout -----------------------------------------------------------------------------

    def update_layout(self, **layout: Any) -> None:
        merge(self.layout, nested(layout))

    def _update_axes(self, axis: str, settings: dict[str, Any], col: int | None) -> None:
        for index in range(1, self._axes + 1):
            if col is None or (index - 1) % self._cols + 1 == col:
                merge(self.layout.setdefault(_axis_name(axis, index), {}), nested(settings))

    def update_xaxes(self, *, col: int | None = None, **axis: Any) -> None:
        """Every x axis (or those in column ``col``), as ``go.Figure.update_xaxes``."""
        self._update_axes("xaxis", axis, col)

    def update_yaxes(self, *, col: int | None = None, **axis: Any) -> None:
        """Every y axis (or those in column ``col``), as ``go.Figure.update_yaxes``."""
        self._update_axes("yaxis", axis, col)

    def grid(self, rows: int, cols: int, *, titles: list[str] | None = None,
             horizontal_spacing: float = 0.2, vertical_spacing: float = 0.3,
             shared_yaxes: bool = False, title_size: int = 16) -> None:
        """Lay out ``rows`` × ``cols`` subplots as ``make_subplots`` does (top-left first;
        its default spacings are 0.2 / cols and 0.3 / rows — pass the ones wanted). The
        domains are summed in make_subplots' order, so they are equal to its floats."""
        width = (1.0 - horizontal_spacing * (cols - 1)) / cols
        height = (1.0 - vertical_spacing * (rows - 1)) / rows
        self._axes, self._cols = rows * cols, cols
        annotations = []
        for r in range(rows):
            below = rows - 1 - r  # make_subplots counts rows up from the bottom
            y0 = sum([height] * below) + below * vertical_spacing
            y_domain = [_clamp(y0), _clamp(y0 + height)]
            for c in range(cols):
                index = r * cols + c + 1
                x0 = sum([width] * c) + c * horizontal_spacing
                x_domain = [x0, x0 + width]
                x_name, y_name = _axis_name("xaxis", index), _axis_name("yaxis", index)
                anchor_x, anchor_y = _axis_name("x", index), _axis_name("y", index)
                merge(self.layout.setdefault(x_name, {}), {"anchor": anchor_y,
                                                           "domain": x_domain})
                y_axis: dict[str, Any] = {"anchor": anchor_x, "domain": y_domain}
                if shared_yaxes and c > 0:
                    y_axis |= {"matches": _axis_name("y", r * cols + 1),
                               "showticklabels": False}
                merge(self.layout.setdefault(y_name, {}), y_axis)
                if titles and index <= len(titles) and titles[index - 1]:
                    annotations.append({
                        "font": {"size": title_size}, "showarrow": False,
                        "text": titles[index - 1], "x": sum(x_domain) / 2.0,
                        "xanchor": "center", "xref": "paper", "y": y_domain[1],
                        "yanchor": "bottom", "yref": "paper"})
        self.layout["annotations"] = annotations + self.layout.get("annotations", [])

    # --- out ----------------------------------------------------------------------------------

    def empty(self, message: str, *, size: int = 16) -> Spec:
        """The spec with no axes and ``message`` in the middle (a chart with nothing to draw
        says why)."""
        self.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                            text=message, font={"size": size, "color": theme.SECONDARY_TEXT})
        self.update_xaxes(visible=False)
        self.update_yaxes(visible=False)
        return self.spec()

    def spec(self) -> Spec:
        """The figure as plotly JSON (the template written out, as ``go.Figure`` does)."""
        layout = dict(self.layout)
        template = layout.get("template")
        if template is None or isinstance(template, str):
            layout["template"] = template_json(template)
        return {"data": self.data, "layout": layout}

    def figure(self) -> go.Figure:
        """A validated ``go.Figure`` of the same JSON (for tests and image exports)."""
        return go.Figure(self.spec())


def height(spec: Spec | go.Figure, default: int) -> int:
    """The figure's layout height, or ``default``."""
    if isinstance(spec, go.Figure):
        return spec.layout.height or default
    return spec.get("layout", {}).get("height") or default
