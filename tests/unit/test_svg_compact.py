"""The compacted chart SVG draws the same shapes as plotly's, with fewer elements.

The fixtures under tests/data/svg are kaleido's SVGs of the chart factories' figures (the
LCJB pack's trend charts for Cumbria: a count, a CI band, a ratio with gaps, a target line;
the disproportionality pack's breakdown by ethnicity). The test walks each SVG as a renderer
does (styles and presentation attributes, inheritance, group opacity, translations) and
lists every subpath that paints something, with the style it is painted in, in paint order;
the compacted SVG must give the same list (the same subpaths, points within a hundredth of a
pixel, in the same order of styles) and the same texts at the same places.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from cjsdash.exports import svg_paths
from cjsdash.exports.svg_compact import compact_svg

FIXTURES = sorted((Path(__file__).parents[1] / "data" / "svg").glob("plotly_*.svg"))
NS = "{http://www.w3.org/2000/svg}"
PAINT = ("fill", "fill-opacity", "stroke", "stroke-opacity", "stroke-width",
         "stroke-dasharray", "stroke-linejoin", "stroke-linecap", "stroke-miterlimit",
         "fill-rule")
INHERITED = set(PAINT) | {"font-family", "font-size", "font-weight", "text-anchor"}
SKIPPED = {"defs", "clipPath", "style", "title", "desc"}
TRANSLATE = re.compile(r"translate\(([-\d.e]+)(?:[ ,]+([-\d.e]+))?\)")


def _own(element: ET.Element) -> dict[str, str]:
    """The element's properties: presentation attributes, then its style (which wins)."""
    props = {k: v.strip() for k, v in element.attrib.items() if k != "style"}
    for part in element.get("style", "").split(";"):
        name, _, value = part.partition(":")
        if name.strip():
            props[name.strip()] = value.strip()
    return props


def _paints(props: dict[str, str], d: str) -> bool:
    fill = (props.get("fill", "black") != "none" and float(props.get("fill-opacity", 1)) > 0
            and not _zero_area(d))
    stroke = (props.get("stroke", "none") != "none"
              and float(props.get("stroke-opacity", 1)) > 0
              and float(props.get("stroke-width", "1").removesuffix("px")) > 0)
    return fill or stroke


def _zero_area(d: str) -> bool:
    return all(len({(round(x, 6), round(y, 6)) for x, y in shape}) <= 2
               for shape in svg_paths.subpaths(d)) and not re.search(r"[AaCcQqSsTt]", d)


def drawn(svg: bytes) -> tuple[list[tuple[tuple, list[tuple[float, float]]]], list[tuple]]:
    """(every painted subpath as (style, points), in paint order; every text as (text,
    x, y, transform left, style))."""
    shapes: list[tuple[tuple, list[tuple[float, float]]]] = []
    texts: list[tuple] = []

    def walk(element: ET.Element, inherited: dict[str, str], dx: float, dy: float,
             other: tuple[str, ...], alpha: float, clip: tuple[str, ...]) -> None:
        tag = element.tag.removeprefix(NS)
        if tag in SKIPPED:
            return
        props = _own(element)
        style = {k: v for k, v in inherited.items()} | {k: v for k, v in props.items()
                                                         if k in INHERITED}
        alpha *= float(props.get("opacity", 1))
        if alpha == 0 or props.get("display") == "none":
            return
        transform = props.get("transform", "").strip()
        match = TRANSLATE.fullmatch(transform) if transform else None
        if match:
            dx, dy = dx + float(match[1]), dy + float(match[2] or 0)
        elif transform:
            other = (*other, f"{dx:.2f},{dy:.2f}:{transform}")
            dx = dy = 0.0
        if "clip-path" in props:
            clip = (*clip, props["clip-path"])
        key = (tuple(style.get(p, "") for p in PAINT), round(alpha, 6), other, clip)
        if tag == "path" and _paints(style, props.get("d", "")):
            shapes.extend((key, [(round(x, 2), round(y, 2)) for x, y in shape])
                          for shape in svg_paths.subpaths(props["d"], dx, dy))
        elif tag == "rect" and _paints(style, "M0,0H1V1Z"):
            x, y = float(props.get("x", 0)) + dx, float(props.get("y", 0)) + dy
            w, h = float(props.get("width", 0)), float(props.get("height", 0))
            if w > 0 and h > 0:
                shapes.append((key, [(round(x, 2), round(y, 2)),
                                     (round(x + w, 2), round(y + h, 2))]))
        elif tag == "text":
            x = float(props.get("x", 0)) + dx
            y = float(props.get("y", 0)) + dy
            texts.append(("".join(element.itertext()), round(x, 2), round(y, 2), other,
                          tuple(sorted(style.items()))))
            return
        for child in element:
            walk(child, style, dx, dy, other, alpha, clip)

    walk(ET.fromstring(svg), {}, 0.0, 0.0, (), 1.0, ())
    return shapes, texts


def _close(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(abs(p[0] - q[0]) <= 0.011 and abs(p[1] - q[1]) <= 0.011
                                    for p, q in zip(a, b, strict=True))


def _styles_in_order(shapes: list[tuple[tuple, list]]) -> list[tuple]:
    order: list[tuple] = []
    for key, _ in shapes:
        if not order or order[-1] != key:
            order.append(key)
    return order


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_compacted_chart_draws_the_same_shapes(fixture: Path) -> None:
    original = fixture.read_bytes()
    compacted = compact_svg(original)
    before, before_texts = drawn(original)
    after, after_texts = drawn(compacted)
    assert len(before) > 20 and len(before_texts) > 10  # a real chart, not an empty one
    # the same subpaths per style (counts and points), in the same order of styles
    assert Counter(k for k, _ in after) == Counter(k for k, _ in before)
    assert _styles_in_order(after) == _styles_in_order(before)
    for key in {k for k, _ in before}:
        mine = sorted(p for k, p in before if k == key)
        theirs = sorted(p for k, p in after if k == key)
        assert all(_close(a, b) for a, b in zip(mine, theirs, strict=True)), key
        assert svg_paths.bounds([q for p in mine for q in p]) == pytest.approx(
            svg_paths.bounds([q for p in theirs for q in p]), abs=0.011)
    assert after_texts == before_texts
    # and with far fewer elements and bytes
    count = lambda svg: len(ET.fromstring(svg).findall(".//*"))  # noqa: E731
    assert count(compacted) < 0.6 * count(original)
    assert len(compacted) < 0.75 * len(original)


def test_markers_and_grid_lines_become_one_path_each() -> None:
    original = (FIXTURES[0].parent / "plotly_trend_count.svg").read_bytes()
    compacted = ET.fromstring(compact_svg(original))
    points = [p for p in compacted.iter(NS + "path") if p.get("class") == "point"]
    assert 1 <= len(points) <= 2  # one per trace: 37 markers each
    assert all(p.get("transform") is None for p in points)
    assert sum(len(svg_paths.subpaths(p.get("d"))) for p in points) == \
        original.count(b'class="point"')
    assert not [e for e in compacted.iter() if e.get("style")]  # no CSS left to parse
    assert not [g for g in compacted.iter(NS + "g") if len(g) == 0]  # no empty groups


def _svg(body: str) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">{body}'
            "</svg>").encode()


def _paths(svg: bytes) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(NS + "path"))


@pytest.mark.parametrize("style", [
    "fill: none; stroke: red; stroke-dasharray: 3px, 3px",  # dashes restart per subpath
    "fill: none; stroke: red; stroke-opacity: 0.5",  # overlaps would darken differently
    "fill: red; fill-opacity: 0.4",
    "fill: red; stroke: blue; stroke-width: 2px",  # a fill may cover a stroke before it
])
def test_paths_whose_merging_could_change_a_pixel_are_kept_apart(style: str) -> None:
    body = "".join(f'<path transform="translate({x},0)" d="M0,0h5v5h-5Z" style="{style}"/>'
                   for x in (0, 3, 6))
    assert len(_paths(compact_svg(_svg(body)))) == 3


def test_filled_paths_merge_only_when_they_are_the_same_shape() -> None:
    circle = "M4,0A4,4 0 1,1 0,-4A4,4 0 0,1 4,0Z"
    same = "".join(f'<path transform="translate({x},1)" d="{circle}" style="fill: red"/>'
                   for x in (0, 10))
    merged = _paths(compact_svg(_svg(same)))
    assert len(merged) == 1
    assert svg_paths.subpaths(merged[0].get("d")) == (
        svg_paths.subpaths(circle, 0, 1) + svg_paths.subpaths(circle, 10, 1))
    assert merged[0].get("d") == "M4,1A4,4 0 1,1 0,-3A4,4 0 0,1 4,1ZM14,1A4,4 0 1,1 10,-3A4,4 0 0,1 14,1Z"
    different = ('<path d="M0,0h5v5Z" style="fill: red"/>'
                 '<path d="M0,0v5h5Z" style="fill: red"/>')
    assert len(_paths(compact_svg(_svg(different)))) == 2


def test_rotated_and_referenced_elements_are_left_alone() -> None:
    body = ('<path transform="rotate(90)" d="M0,0v5" style="stroke: red"/>'
            '<path transform="rotate(90)" d="M1,0v5" style="stroke: red"/>'
            '<path id="used" d="M0,0v5" style="stroke: red"/>'
            '<path d="M2,0v5" style="stroke: red"/>'
            '<use href="#used"/>')
    paths = _paths(compact_svg(_svg(body)))
    assert [p.get("transform") for p in paths] == ["rotate(90)", "rotate(90)", None, None]


def test_what_draws_nothing_is_dropped_and_the_rest_kept() -> None:
    body = ('<rect width="10" height="10" style="fill: rgb(0, 0, 0); fill-opacity: 0;"/>'
            '<path d="M0,0h5" style="fill: none; stroke: black; stroke-opacity: 0"/>'
            '<g style="opacity: 0"><path d="M0,0h5v5Z" style="fill: red"/></g>'
            '<g class="empty"><g/></g>'
            '<rect width="10" height="10" style="fill: none; stroke: blue"/>'
            '<text x="1" y="2" transform="translate(3,4)" style="fill: red">a  b</text>')
    root = ET.fromstring(compact_svg(_svg(body)))
    kept = [e.tag.removeprefix(NS) for e in root.iter()][1:]
    assert kept == ["rect", "text"]
    text = root.find(NS + "text")
    assert (text.get("x"), text.get("y"), text.get("transform"), text.text) == \
        ("4", "6", None, "a  b")


@pytest.mark.parametrize("svg", [b"not xml", b"<html><body/></html>",
                                 _svg('<switch><g class="a"><path d="M0,0h5" style="stroke: red"'
                                      '/></g><g/></switch>'),
                                 _svg('<path d="M0,0 X5" style="stroke: red"/>'
                                      '<path d="M0,0 X5" style="stroke: red"/>')])
def test_what_it_cannot_read_is_left_as_it_was(svg: bytes) -> None:
    out = compact_svg(svg)
    if b"X5" in svg:  # unreadable path data: the paths are not merged
        assert [p.get("d") for p in _paths(out)] == ["M0,0 X5", "M0,0 X5"]
    else:
        assert out == svg


def test_a_style_it_cannot_read_plainly_stays_a_style() -> None:
    body = '<path d="M0,0h5" style="stroke: red !important"/>'
    assert _paths(compact_svg(_svg(body)))[0].get("style") == "stroke: red !important"


def test_path_data_is_read_and_moved_as_the_svg_grammar_says() -> None:
    assert svg_paths.parse("M1 2 3 4l1-1a2,2 0 015,5z") == [
        ("M", (1.0, 2.0)), ("L", (3.0, 4.0)), ("l", (1.0, -1.0)),
        ("a", (2.0, 2.0, 0.0, 0.0, 1.0, 5.0, 5.0)), ("z", ())]
    # a leading relative moveto is absolute; the relative commands after it do not move
    assert svg_paths.translate("m1,1l2,0h3v4", 10, 20) == "M11,21l2,0h3v4"
    assert svg_paths.translate("M0,64V410H5", 118.8, 0.004) == "M118.8,64V410H123.8"
    assert svg_paths.subpaths("M0,0h5M1,1v2z") == [[(0, 0), (5, 0)], [(1, 1), (1, 3)]]
    assert svg_paths.encloses_nothing("M0,64v346M10,64v346")
    assert not svg_paths.encloses_nothing("M0,0h5v5")
    assert not svg_paths.encloses_nothing("M4,0A4,4 0 1,1 0,-4")
    with pytest.raises(svg_paths.PathError):
        svg_paths.parse("M0,0 X5")
