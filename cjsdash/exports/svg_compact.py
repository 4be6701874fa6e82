"""A plotly chart's SVG made cheaper to draw, drawing the same shapes: before the PDF embeds it.

kaleido hands out plotly's SVG as the browser holds it: a tree of about 300 elements per
chart, many of them empty groups, invisible hit areas (the legend's toggles, transparent
paths), and one element per marker, grid line and tick, each with its own ``style``
attribute and ``transform``. WeasyPrint draws every element separately (it parses each
``style`` with its CSS tokenizer, pushes a graphics state, parses the transform), which made
these charts half of a PDF pack's layout time. :func:`compact_svg`:

- turns ``style`` declarations into presentation attributes (the same values, read without
  a CSS parser; a declaration overrides an attribute of the same name, as in CSS);
- drops what draws nothing: shapes with neither a visible fill nor a visible stroke,
  elements or groups of zero opacity, ``display: none``, and groups left empty;
- draws each run of sibling paths of one style as one path, their ``translate`` folded into
  the coordinates (:mod:`.svg_paths`), where that cannot change a pixel: opaque, undashed
  strokes with no fill, or opaque fills with no stroke of one and the same shape (so every
  subpath winds the same way);
- moves a text's ``translate`` into its ``x`` and ``y``.

It never touches ``<defs>`` (clip paths draw nothing themselves), referenced elements, text
content, or anything inside a ``<style>``-styled SVG's classes. An SVG it cannot read, or
one with a ``<switch>`` (whose first fitting child alone is drawn), is returned unchanged. ``tests/unit/test_svg_compact.py`` shows, on real plotly charts, that the
compacted SVG draws the same subpaths with the same styles.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from .svg_paths import PathError, encloses_nothing, number, translate

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_S = f"{{{SVG_NS}}}"

SHAPES = frozenset(("path", "rect", "circle", "ellipse", "line", "polyline", "polygon"))
INHERITED = frozenset(("fill", "fill-opacity", "stroke", "stroke-opacity", "stroke-width",
                       "stroke-dasharray", "fill-rule", "visibility"))
# Declarations whose value is the initial one: dropped rather than written out.
INITIAL = {"vector-effect": "none"}
_TRANSLATE = re.compile(r"\s*translate\(\s*([-+\d.eE]+)(?:[\s,]+([-+\d.eE]+))?\s*\)\s*")
_DECLARATION = re.compile(r"""((?:[^;"'(]|"[^"]*"|'[^']*'|\([^)]*\))*)(?:;|$)""")
_NOT_MERGED = frozenset(("d", "transform", "class"))

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def compact_svg(svg: bytes | str) -> bytes:
    """``svg`` compacted as the module says (UTF-8 bytes); unchanged if it cannot be read."""
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return data
    if root.tag != _S + "svg" or root.find(f".//{_S}switch") is not None:
        return data  # not an SVG; or one whose <switch> draws only its first fitting child
    styled = root.find(f".//{_S}style") is not None  # classes then matter
    referenced = _referenced_ids(data)
    _styles_to_attributes(root)
    _prune(root, {}, referenced)
    _unwrap_groups(root, referenced, keep_class=styled)
    _drop_empty_groups(root, referenced)
    _merge_paths(root, {}, referenced, keep_class=styled)
    _fold_text_translate(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _local(tag: Any) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def _referenced_ids(data: bytes) -> frozenset[str]:
    text = data.decode("utf-8", "replace")
    return frozenset(re.findall(r"url\(\s*['\"]?#([^)'\"\s]+)", text)
                     + re.findall(r"href=\"#([^\"]+)\"", text))


def declarations(style: str) -> list[tuple[str, str]] | None:
    """``"fill: red; stroke-width: 0px"`` → ``[("fill", "red"), ("stroke-width", "0px")]``;
    None when a declaration is not a plain ``name: value`` (an ``!important``, a comment)."""
    out = []
    for match in _DECLARATION.finditer(style):
        text = match.group(1).strip()
        if not text:
            continue
        name, colon, value = text.partition(":")
        name, value = name.strip().lower(), value.strip()
        if (not colon or not re.fullmatch(r"[a-z-]+", name) or "!" in value
                or "/*" in value):
            return None
        out.append((name, value))
    return out


def _styles_to_attributes(root: ET.Element) -> None:
    for element in root.iter():
        style = element.get("style")
        if style is None:
            continue
        parsed = declarations(style)
        if parsed is None:
            continue
        del element.attrib["style"]
        for name, value in parsed:
            if INITIAL.get(name) == value:
                element.attrib.pop(name, None)
            else:
                element.set(name, value)


def _computed(element: ET.Element, inherited: dict[str, str]) -> dict[str, str]:
    return inherited | {k: v for k, v in element.attrib.items() if k in INHERITED}


def _opacity(value: str | None) -> float:
    if value is None:
        return 1.0
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        return 1.0


def _length(value: str | None, default: float = 1.0) -> float:
    if value is None:
        return default
    try:
        return float(value.removesuffix("px"))
    except ValueError:
        return default  # em, %, …: treated as visible


def _fill_visible(style: dict[str, str]) -> bool:
    return (style.get("fill", "black") not in ("none", "transparent")
            and _opacity(style.get("fill-opacity")) > 0)


def _stroke_visible(style: dict[str, str]) -> bool:
    return (style.get("stroke", "none") not in ("none", "transparent")
            and _opacity(style.get("stroke-opacity")) > 0
            and _length(style.get("stroke-width")) > 0)


def _draws_nothing(element: ET.Element, style: dict[str, str], referenced: frozenset[str]
                   ) -> bool:
    if element.get("id") in referenced:
        return False
    if _opacity(element.get("opacity")) == 0 or element.get("display") == "none":
        return True
    tag = _local(element.tag)
    if tag not in SHAPES or len(element) or any(k.startswith("marker") for k in element.attrib):
        return False
    if tag == "path" and not (element.get("d") or "").strip():
        return True
    return not _fill_visible(style) and not _stroke_visible(style)


def _prune(parent: ET.Element, inherited: dict[str, str], referenced: frozenset[str]) -> None:
    """Drop, depth first, what draws nothing and the groups it leaves empty."""
    for child in list(parent):
        tag = _local(child.tag)
        if tag in ("defs", "clipPath", "mask", "marker", "pattern", "symbol", "style",
                   "linearGradient", "radialGradient", "filter", "title", "desc", "metadata"):
            continue
        style = _computed(child, inherited)
        if _draws_nothing(child, style, referenced):
            parent.remove(child)
            continue
        _prune(child, style, referenced)
        if (tag == "g" and len(child) == 0 and not (child.text or "").strip()
                and child.get("id") not in referenced):
            parent.remove(child)


def _drop_empty_groups(parent: ET.Element, referenced: frozenset[str]) -> None:
    """Drop, depth first, every group with nothing in it (in ``<defs>`` too) that nothing
    refers to."""
    for child in list(parent):
        _drop_empty_groups(child, referenced)
        if (_local(child.tag) == "g" and len(child) == 0 and not (child.text or "").strip()
                and child.get("id") not in referenced):
            parent.remove(child)


def _unwrap_groups(parent: ET.Element, referenced: frozenset[str], *, keep_class: bool
                   ) -> None:
    """Replace each group that carries nothing a renderer uses (no attribute but a class)
    by its children, in place: they inherit nothing from it."""
    at = 0
    while at < len(parent):
        child = parent[at]
        if _local(child.tag) in ("defs", "clipPath", "mask", "marker", "pattern", "symbol"):
            at += 1
            continue
        _unwrap_groups(child, referenced, keep_class=keep_class)
        plain = (_local(child.tag) == "g" and not (child.text or "").strip()
                 and all(k == "class" and not keep_class for k in child.attrib))
        if plain:
            parent.remove(child)
            for k, grandchild in enumerate(list(child)):
                parent.insert(at + k, grandchild)
            at += len(child)
        else:
            at += 1


def _translation(element: ET.Element) -> tuple[float, float] | None:
    """(dx, dy) of the element's transform: (0, 0) for none, None for anything but a
    translate."""
    text = element.get("transform")
    if text is None or not text.strip():
        return 0.0, 0.0
    match = _TRANSLATE.fullmatch(text)
    if match is None:
        return None
    try:
        return float(match[1]), float(match[2] or 0)
    except ValueError:
        return None


def _mergeable(element: ET.Element, style: dict[str, str], referenced: frozenset[str]
               ) -> str | None:
    """How the path can join others: "stroke" (an opaque, undashed stroke and no fill),
    "fill" (an opaque fill and no stroke; only with paths of the same shape), or None."""
    if (_local(element.tag) != "path" or len(element) or element.get("id") in referenced
            or _opacity(element.get("opacity")) != 1 or _translation(element) is None
            or any(k.startswith(("marker", "clip", "mask", "filter")) for k in element.attrib)
            or style.get("visibility", "visible") != "visible"):
        return None
    stroke = _stroke_visible(style)
    fill = _fill_visible(style) and not encloses_nothing(element.get("d") or "")
    if stroke and not fill and _opacity(style.get("stroke-opacity")) == 1 and \
            style.get("stroke-dasharray", "none") in ("none", "0", "0px"):
        return "stroke"
    if fill and not stroke and _opacity(style.get("fill-opacity")) == 1 and \
            style.get("fill-rule", "nonzero") == "nonzero":
        return "fill"
    return None


def _merge_key(element: ET.Element, kind: str, keep_class: bool) -> tuple:
    attributes = tuple(sorted((k, v) for k, v in element.attrib.items()
                              if k not in _NOT_MERGED or (k == "class" and keep_class)))
    shape = element.get("d") if kind == "fill" else None
    return kind, attributes, shape


def _merge_paths(parent: ET.Element, inherited: dict[str, str], referenced: frozenset[str], *,
                 keep_class: bool) -> None:
    """Draw each run of sibling paths of one style as one path (see the module)."""
    run: list[ET.Element] = []
    key: tuple | None = None
    children = list(parent)
    for child in [*children, None]:
        if child is not None and _local(child.tag) in ("defs", "clipPath", "mask", "marker",
                                                       "pattern", "symbol"):
            kind = None
        elif child is not None:
            style = _computed(child, inherited)
            kind = _mergeable(child, style, referenced)
            if kind is None:
                _merge_paths(child, style, referenced, keep_class=keep_class)
        else:
            kind = None
        child_key = None if kind is None else _merge_key(child, kind, keep_class)
        if child_key is not None and child_key == key:
            run.append(child)
            continue
        _join(parent, run)
        run, key = ([child], child_key) if child_key is not None else ([], None)


def _join(parent: ET.Element, run: list[ET.Element]) -> None:
    if len(run) < 2:
        return
    try:
        moved = [translate(p.get("d") or "", *(_translation(p) or (0.0, 0.0))) for p in run]
    except PathError:
        return
    first = run[0]
    first.set("d", "".join(moved))
    first.attrib.pop("transform", None)
    for other in run[1:]:
        parent.remove(other)


def _fold_text_translate(root: ET.Element) -> None:
    """``<text x="0" y="432.8" transform="translate(118.8,0)">`` → ``x="118.8" y="432.8"``
    when the text has no child elements and single x and y."""
    for element in root.iter(_S + "text"):
        if len(element) or element.get("transform") is None:
            continue
        moved = _translation(element)
        if moved is None:
            continue
        try:
            x, y = float(element.get("x", "0")), float(element.get("y", "0"))
        except ValueError:
            continue  # lists or lengths with units
        element.set("x", number(x + moved[0]))
        element.set("y", number(y + moved[1]))
        del element.attrib["transform"]
