"""PowerPoint (16:9): a title slide, a summary slide per section, a slide per indicator.

An indicator slide holds the chart — the indicator page's own figure
(:func:`layouts.charts.make_trend_figure`, or the breakdown figure) as a PNG from kaleido, or
the scorecard's sparkline (:func:`layouts.sparklines.make_sparkline_svg`) redrawn as native
lines, or a table — with the headline figure, its CI, target status (symbol and word, never
colour alone), England and Wales, the commentary placeholders, and a footer with source,
vintage and the synthetic mark. The notes field carries the commentary, the definition and
the methods. Slide titles sit in title placeholders, and pictures carry alt text, so the deck
reads in order with a screen reader. Fonts and colours come from :mod:`layouts.theme`.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from layouts import sparklines, theme
from metrics.views import format_value

from .content import NATIONAL_NAME, ItemContent, PackContent
from .images import render_images
from .pack_notes import SYNTHETIC_TEXT, definition_rows, method_notes
from .visuals import TREND_HEIGHT, TREND_WIDTH, describe, item_figure

FONT = "Arial"  # theme.FONT_FAMILY's first family that every Office install has
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
CHART_LEFT, CHART_TOP, CHART_W = MARGIN, Inches(1.35), Inches(8.4)
PANEL_LEFT, PANEL_W = Inches(9.2), Inches(3.63)
ROWS_PER_TABLE = 14
WARNING = "#b0281a"


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#").upper())


def _text(slide: Any, left: int, top: int, width: int, height: int,
          paragraphs: list[tuple[str, dict[str, Any]]], *, anchor: Any = MSO_ANCHOR.TOP) -> Any:
    """A text box of paragraphs, each (text, {size, bold, colour, align})."""
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    for i, (text, style) in enumerate(paragraphs):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.alignment = style.get("align", PP_ALIGN.LEFT)
        run = para.add_run()
        run.text = text
        _font(run.font, style)
    return box


def _font(font: Any, style: dict[str, Any]) -> None:
    font.name = FONT
    font.size = Pt(style.get("size", 14))
    font.bold = style.get("bold", False)
    font.color.rgb = _rgb(style.get("colour", theme.TEXT_COLOUR))


def _title(slide: Any, text: str, subtitle: str) -> None:
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = MARGIN, Inches(0.3), Inches(12.3), \
        Inches(0.65)
    shape.text_frame.text = text
    shape.text_frame.word_wrap = True
    shape.text_frame.vertical_anchor = MSO_ANCHOR.TOP
    para = shape.text_frame.paragraphs[0]
    para.alignment = PP_ALIGN.LEFT
    for run in para.runs:
        _font(run.font, {"size": 26, "bold": True})
    _text(slide, MARGIN, Inches(0.9), Inches(12.3), Inches(0.4),
          [(subtitle, {"size": 14, "colour": theme.SECONDARY_TEXT})])


def _footer(slide: Any, content: PackContent, text: str, number: int) -> None:
    parts = [text, f"Generated {content.generated_text}"]
    if content.synthetic:
        parts.append(f"{theme.SYNTHETIC_MARK} synthetic demo data")
    _text(slide, MARGIN, Inches(6.95), Inches(11.3), Inches(0.4),
          [(" · ".join(p for p in parts if p), {"size": 9, "colour": theme.SECONDARY_TEXT})])
    _text(slide, Inches(11.9), Inches(6.95), Inches(0.93), Inches(0.4),
          [(str(number), {"size": 9, "colour": theme.SECONDARY_TEXT, "align": PP_ALIGN.RIGHT})])


def _table(slide: Any, left: int, top: int, width: int, header: list[str],
           rows: list[list[str]], *, size: int = 11, widths: list[float] | None = None) -> Any:
    shape = slide.shapes.add_table(len(rows) + 1, len(header), left, top, width,
                                   Inches(0.3) * (len(rows) + 1))
    table = shape.table
    if widths:
        total = sum(widths)
        for j, w in enumerate(widths):
            table.columns[j].width = Emu(int(width * w / total))
    for i, cells in enumerate([header, *rows]):
        table.rows[i].height = Inches(0.3)
        for j, value in enumerate(cells):
            cell = table.cell(i, j)
            cell.text = value
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            for para in cell.text_frame.paragraphs:
                para.alignment = PP_ALIGN.LEFT if j == 0 else PP_ALIGN.RIGHT
                for run in para.runs:
                    _font(run.font, {"size": size, "bold": i == 0,
                                     "colour": "#ffffff" if i == 0 else theme.TEXT_COLOUR})
    return shape


def _value_text(row: dict[str, Any]) -> str:
    mark = f" {theme.SYNTHETIC_MARK}" if row.get("synthetic") else ""
    return f"{row.get('display_value') or '–'}{mark}"


# --- slides -----------------------------------------------------------------------------------

def _title_slide(prs: Any, content: PackContent) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, Inches(0.35), HEIGHT)
    bar.fill.solid()
    bar.fill.fore_color.rgb = _rgb(theme.AREA_COLOUR)
    bar.line.fill.background()
    title, sub = slide.shapes.title, slide.placeholders[1]
    title.left, title.top, title.width, title.height = Inches(0.9), Inches(1.2), Inches(11.5), \
        Inches(1.4)
    title.text_frame.text = content.pack.title
    title.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
    for run in title.text_frame.paragraphs[0].runs:
        _font(run.font, {"size": 36, "bold": True})
    sub.left, sub.top, sub.width, sub.height = Inches(0.9), Inches(2.7), Inches(11.5), \
        Inches(0.8)
    sub.text_frame.text = content.subtitle
    sub.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
    for run in sub.text_frame.paragraphs[0].runs:
        _font(run.font, {"size": 22, "colour": theme.SECONDARY_TEXT})
    paragraphs: list[tuple[str, dict[str, Any]]] = []
    if content.synthetic:
        paragraphs.append((SYNTHETIC_TEXT, {"size": 16, "bold": True, "colour": WARNING}))
    paragraphs += [
        (content.pack.description, {"size": 14}),
        (content.disclosure(), {"size": 12, "colour": theme.SECONDARY_TEXT}),
        (f"Generated {content.generated_text} by cjsdash. Data vintages: "
         + ("; ".join(content.vintages) or "no figures"),
         {"size": 12, "colour": theme.SECONDARY_TEXT}),
    ]
    _text(slide, Inches(0.9), Inches(3.6), Inches(11.5), Inches(3.2), paragraphs)
    slide.notes_slide.notes_text_frame.text = "\n".join(
        f"{term}: {text}" for term, text in method_notes(content))


def _summary_rows(items: list[ItemContent]) -> list[list[str]]:
    rows = []
    for item in items:
        for r in item.rows.iter_rows(named=True):
            name = item.indicator.short_title + (f": {r['breakdown']}" if r["breakdown"] else "")
            rows.append([name, r["period_label"] or "", _value_text(r),
                         theme.status_style(r["status"]).text if r["status"] else "",
                         r["national_display"] or ""])
    return rows


def _section_slides(prs: Any, content: PackContent, index: int, number: int) -> int:
    section = content.sections[index]
    rows = _summary_rows(list(section.items))
    pages = [rows[i:i + ROWS_PER_TABLE] for i in range(0, len(rows), ROWS_PER_TABLE)] or [[]]
    for page, chunk in enumerate(pages, start=1):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        more = f" ({page} of {len(pages)})" if len(pages) > 1 else ""
        _title(slide, section.section.title + more,
               f"{content.subtitle} · {section.section.intro}".rstrip(" ·"))
        if chunk:
            _table(slide, MARGIN, Inches(1.45), Inches(12.3),
                   ["Indicator", "Period", "Value", "Status", NATIONAL_NAME], chunk,
                   widths=[5, 1.6, 1.6, 2.4, 1.7])
        _footer(slide, content, f"{theme.SUPPRESSED_MARK} suppressed (small numbers)", number)
        number += 1
    return number


def _panel(slide: Any, item: ItemContent, content: PackContent) -> None:
    """The right-hand panel: headline figure, CI, target and status, England and Wales."""
    row = item.headline
    paragraphs: list[tuple[str, dict[str, Any]]] = []
    if row is None:  # broken down: one line per group
        paragraphs.append((f"{item.rows['period_label'][0] or ''}, by {item.item.by}",
                           {"size": 12, "colour": theme.SECONDARY_TEXT}))
        for r in item.rows.iter_rows(named=True):
            paragraphs.append((f"{r['breakdown'] or 'All'}: {_value_text(r)}"
                               f"  (E&W {r['national_display'] or '–'})", {"size": 14}))
    else:
        status = theme.status_style(row["status"])
        paragraphs += [
            (f"{row['period_label'] or ''}", {"size": 12, "colour": theme.SECONDARY_TEXT}),
            (_value_text(row), {"size": 40, "bold": True, "colour": theme.AREA_COLOUR}),
            (_ci_line(row, item), {"size": 12, "colour": theme.SECONDARY_TEXT}),
            ("" if row["target"] is None else
             f"Target {format_value(row['target'], item.indicator)}", {"size": 14}),
            (status.text, {"size": 16, "bold": True, "colour": status.colour}),
            (f"{NATIONAL_NAME}: {row['national_display'] or '–'}", {"size": 14}),
        ]
        if content.msg_available:
            paragraphs.append((f"MSG average: {_msg(row, item)}", {"size": 14}))
    _text(slide, PANEL_LEFT, CHART_TOP, PANEL_W, Inches(4.0),
          [(t, s) for t, s in paragraphs if t])


def _ci_line(row: dict[str, Any], item: ItemContent) -> str:
    if row["suppressed"]:
        return f"suppressed {theme.SUPPRESSED_MARK}: {row['suppression_rule']}"
    if row["display_ci"]:
        return f"{(row['level'] or 0.95):.0%} CI {row['display_ci']}"
    ind = item.indicator
    return f"no CI: {ind.ci_note}" if ind.ci_method == "none" and ind.ci_note else "no CI"


def _msg(row: dict[str, Any], item: ItemContent) -> str:
    return "–" if row.get("msg_value") is None else format_value(row["msg_value"],
                                                                  item.indicator)


def _history_rows(item: ItemContent) -> tuple[list[str], list[list[str]], list[float]]:
    """The last periods (or the groups) as a table for table and sparkline slides."""
    if item.item.by:
        header = ["Group", "Period", "Value", "95% CI", NATIONAL_NAME]
        rows = [[r["breakdown"] or "All", r["period_label"] or "", _value_text(r),
                 r["display_ci"] or "", r["national_display"] or ""]
                for r in item.rows.iter_rows(named=True)]
        return header, rows, [1.6, 1.4, 1.4, 2.2, 1.6]
    recent = item.history.sort("period_start").tail(8) if item.has_figures else item.history
    national = {}
    if item.national_history is not None and item.national_history.height:
        national = {r["period_label"]: r["display_value"]
                    for r in item.national_history.iter_rows(named=True)}
    rows = [[r["period_label"], _value_text(r), r["display_ci"] or "",
             national.get(r["period_label"], "–")] for r in recent.iter_rows(named=True)]
    return ["Period", "Value", "95% CI", NATIONAL_NAME], rows, [1.6, 1.4, 2.4, 1.6]


_POINTS = re.compile(r'points="([^"]+)"')
_CIRCLE = re.compile(r'cx="([\d.]+)" cy="([\d.]+)"')


def _sparkline(slide: Any, item: ItemContent, left: int, top: int, width: int, height: int
               ) -> None:
    """The scorecard's sparkline (the same SVG the overview page shows), as native lines."""
    w_px, h_px = 840, 200
    svg = sparklines.make_sparkline_svg(item.history, item.indicator, width=w_px, height=h_px)
    sx, sy = width / w_px, height / h_px
    for match in _POINTS.finditer(svg):
        points = [tuple(float(v) for v in p.split(",")) for p in match.group(1).split()]
        builder = slide.shapes.build_freeform(left + points[0][0] * sx, top + points[0][1] * sy)
        builder.add_line_segments([(left + x * sx, top + y * sy) for x, y in points[1:]],
                                  close=False)
        shape = builder.convert_to_shape()
        shape.fill.background()
        shape.line.color.rgb = _rgb(theme.AREA_COLOUR)
        shape.line.width = Pt(2.5)
    for cx, cy in _CIRCLE.findall(svg):
        r = Inches(0.08)
        dot = slide.shapes.add_shape(MSO_SHAPE.OVAL, int(left + float(cx) * sx - r),
                                     int(top + float(cy) * sy - r), 2 * r, 2 * r)
        dot.fill.solid()
        dot.fill.fore_color.rgb = _rgb(theme.AREA_COLOUR)
        dot.line.fill.background()
    caption = sparklines.describe_series(item.history, item.indicator)
    _text(slide, left, top + height + Inches(0.05), width, Inches(0.35),
          [(caption, {"size": 10, "colour": theme.SECONDARY_TEXT})])


def _chart_area(slide: Any, item: ItemContent, content: PackContent, png: bytes | None) -> None:
    if png is not None:
        pic = slide.shapes.add_picture(io.BytesIO(png), CHART_LEFT, CHART_TOP, width=CHART_W)
        pic._element.nvPicPr.cNvPr.set("descr", describe(item, content))
        return
    header, rows, widths = _history_rows(item)
    top = CHART_TOP
    if item.item.chart == "sparkline" and item.has_figures and not item.item.by:
        _sparkline(slide, item, CHART_LEFT, top, CHART_W, Inches(1.3))
        top += Inches(1.85)
    if not rows:
        _text(slide, CHART_LEFT, top, CHART_W, Inches(0.5),
              [("No figures for this area and grain up to this period.", {"size": 14})])
        return
    room = 6 if top > CHART_TOP else 12  # rows that fit above the commentary box
    _table(slide, CHART_LEFT, top, CHART_W, header, rows[-room:], size=11, widths=widths)


def _commentary(slide: Any, item: ItemContent) -> None:
    if not item.commentary:
        return
    paragraphs = []
    for placeholder, text in item.commentary:
        shown = text or f"[{placeholder.prompt or 'to be written'}]"
        paragraphs.append((f"{placeholder.label}: {shown}",
                           {"size": 12, "colour": theme.TEXT_COLOUR if text
                            else theme.SECONDARY_TEXT}))
    box = _text(slide, MARGIN, Inches(5.5), Inches(12.3), Inches(1.35), paragraphs)
    box.line.color.rgb = _rgb(theme.GRID_COLOUR)


def _notes_text(item: ItemContent, content: PackContent) -> str:
    lines = [f"{p.label}: {text or '[' + (p.prompt or 'to be written') + ']'}"
             for p, text in item.commentary]
    lines.append("")
    lines += [f"{term}: {text}" for term, text in definition_rows(
        item.indicator, content.registry, content.options)]
    notes = [r["note"] for r in item.rows.iter_rows(named=True) if r["note"]]
    if notes:
        lines.append("Notes on the figures: " + "; ".join(sorted(set(notes))))
    lines.append(content.disclosure())
    return "\n".join(lines)


def _indicator_slide(prs: Any, item: ItemContent, content: PackContent, png: bytes | None,
                     number: int) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    theme_ = content.registry.theme(item.indicator.theme)
    _title(slide, item.title, f"{content.subtitle} · {theme_.short_title}")
    _chart_area(slide, item, content, png)
    _panel(slide, item, content)
    _commentary(slide, item)
    sources = sorted({f"{r['source']} ({r['vintage']})" for r in item.rows.iter_rows(named=True)
                      if r["source"]})
    suppressed = bool(item.rows["suppressed"].fill_null(False).any())
    _footer(slide, content, " · ".join(
        [("Source: " + "; ".join(sources)) if sources else "No figures"]
        + ([f"{theme.SUPPRESSED_MARK} suppressed: small numbers"] if suppressed else [])),
        number)
    slide.notes_slide.notes_text_frame.text = _notes_text(item, content)


def render_pptx(content: PackContent) -> bytes:
    """The deck's bytes."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    prs.core_properties.title = content.pack.title
    prs.core_properties.subject = content.subtitle
    prs.core_properties.author = "cjsdash"
    items = content.items
    figures = {i: fig for i, item in enumerate(items)
               if (fig := item_figure(item, content)) is not None}
    pngs = dict(zip(figures, render_images(list(figures.values()), fmt="png",
                                           width=TREND_WIDTH, height=TREND_HEIGHT, scale=2),
                    strict=True))
    _title_slide(prs, content)
    number, k = 2, 0
    for index, section in enumerate(content.sections):
        number = _section_slides(prs, content, index, number)
        for item in section.items:
            _indicator_slide(prs, item, content, pngs.get(k), number)
            number, k = number + 1, k + 1
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()

