"""PDF: the pack's content paginated by WeasyPrint from HTML, charts as vector SVG.

A4 portrait: a cover (title, area and period, the synthetic notice, the disclosure rule,
contents), then each section on a new page — a summary table with the scorecard's sparklines,
then one block per indicator (the indicator page's chart as SVG from kaleido, or the
sparkline, or a table; the headline figure, CI, target status, England and Wales; the
commentary placeholders; source and notes) — and the notes (definitions and methods).
Every page carries, in its margin boxes, the pack and area, the generated date, the data
vintages, the synthetic mark where it applies, and "Page n of N". Every text is HTML-escaped;
the running header and footer are running elements, so no text is ever put into CSS.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from layouts import sparklines, theme
from metrics.views import format_value, target_text

from .content import NATIONAL_NAME, ItemContent, PackContent, SectionContent
from .images import render_images
from .pack_notes import SYNTHETIC_TEXT, definition_rows, method_notes
from .pdf_layout import layout_pdf
from .svg_compact import compact_svg
from .visuals import TREND_HEIGHT, TREND_WIDTH, describe, item_figure

CSS = f"""
@page {{
  size: A4; margin: 20mm 14mm 20mm 14mm;
  @top-left {{ content: element(header-left); width: 55%; vertical-align: bottom; }}
  @top-right {{ content: element(header-right); width: 45%; vertical-align: bottom; }}
  @bottom-left {{ content: element(footer-left); width: 78%; vertical-align: top; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); width: 22%;
                  vertical-align: top; text-align: right; font-size: 8pt;
                  color: {theme.SECONDARY_TEXT}; font-family: "Liberation Sans", Arial; }}
}}
html {{ font-family: "Liberation Sans", Arial, Helvetica, "DejaVu Sans", sans-serif;
        font-size: 9.5pt; color: {theme.TEXT_COLOUR}; line-height: 1.35; }}
.run {{ font-size: 8pt; color: {theme.SECONDARY_TEXT}; }}
.header-left {{ position: running(header-left); }}
.header-right {{ position: running(header-right); text-align: right; }}
.footer-left {{ position: running(footer-left); }}
.synthetic-mark {{ color: #b0281a; font-weight: bold; }}
h1 {{ font-size: 24pt; margin: 12mm 0 3mm; }}
h2 {{ font-size: 16pt; margin: 0 0 2mm; break-before: page; border-bottom: 2pt solid
      {theme.AREA_COLOUR}; padding-bottom: 1mm; }}
h3 {{ font-size: 12pt; margin: 0 0 1mm; }}
.lead {{ font-size: 14pt; color: {theme.SECONDARY_TEXT}; margin: 0 0 6mm; }}
.banner {{ border: 1.5pt solid #b0281a; color: #b0281a; padding: 2mm 3mm; font-weight: bold;
           margin: 4mm 0; }}
.muted {{ color: {theme.SECONDARY_TEXT}; }}
table {{ border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; }}
th, td {{ border-bottom: 0.5pt solid {theme.GRID_COLOUR}; padding: 1.2mm 1.5mm;
          vertical-align: top; text-align: left; }}
th {{ background: #f3f2f1; font-weight: bold; border-bottom: 1pt solid {theme.TEXT_COLOUR}; }}
td.num {{ text-align: right; white-space: nowrap; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
.item {{ break-inside: avoid; margin: 0 0 6mm; padding-top: 2mm;
         border-top: 0.5pt solid {theme.GRID_COLOUR}; }}
.chart {{ width: 100%; height: auto; display: block; margin: 1mm 0; }}
.spark {{ width: 32mm; height: 8mm; }}
.spark-large {{ width: 120mm; height: 22mm; }}
.figures {{ display: table; width: 100%; table-layout: fixed; margin: 1mm 0 2mm; }}
.figure {{ display: table-cell; padding-right: 4mm; vertical-align: top; }}
.figure .big {{ font-size: 18pt; font-weight: bold; color: {theme.AREA_COLOUR}; }}
.label {{ font-size: 8pt; color: {theme.SECONDARY_TEXT}; text-transform: uppercase; }}
.commentary {{ border: 0.75pt solid {theme.GRID_COLOUR}; padding: 1.5mm 2.5mm; margin: 2mm 0; }}
.commentary p {{ margin: 0.5mm 0; }}
.prompt {{ color: {theme.SECONDARY_TEXT}; font-style: italic; }}
.source {{ font-size: 8pt; color: {theme.SECONDARY_TEXT}; }}
dl {{ margin: 0 0 4mm; }}
dt {{ font-weight: bold; margin-top: 1.5mm; }}
dd {{ margin: 0 0 0 4mm; }}
.notes h3 {{ margin-top: 5mm; break-after: avoid; }}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _data_uri(svg: bytes | str, mime: str = "image/svg+xml") -> str:
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _value(row: dict[str, Any]) -> str:
    mark = (f' <span class="synthetic-mark" title="synthetic demo data">'
            f'{theme.SYNTHETIC_MARK}</span>' if row.get("synthetic") else "")
    return esc(row.get("display_value") or "–") + mark


def _status(row: dict[str, Any]) -> str:
    if not row.get("status"):
        return ""
    style = theme.status_style(row["status"])
    return f'<span style="color:{style.colour};font-weight:bold">{esc(style.text)}</span>'


def _running(content: PackContent) -> str:
    synthetic = (f' · <span class="synthetic-mark">{theme.SYNTHETIC_MARK} synthetic demo '
                 "data</span>" if content.synthetic else "")
    vintages = "; ".join(content.vintages) or "no figures"
    return (
        f'<div class="run header-left">{esc(content.pack.title)} · {esc(content.area_label)}'
        f" · {esc(content.period.label)}</div>"
        f'<div class="run header-right">Generated {esc(content.generated_text)}{synthetic}'
        f"</div>"
        f'<div class="run footer-left">Data vintages: {esc(vintages)} · '
        f"{esc(theme.SUPPRESSED_MARK)} suppressed (small numbers)</div>"
    )


def _cover(content: PackContent) -> str:
    parts = [f"<h1>{esc(content.pack.title)}</h1>",
             f'<p class="lead">{esc(content.subtitle)}</p>']
    if content.synthetic:
        parts.append(f'<p class="banner">{esc(SYNTHETIC_TEXT)}</p>')
    parts += [f"<p>{esc(content.pack.description)}</p>",
              f"<p>{esc(content.disclosure())}</p>",
              f'<p class="muted">Generated {esc(content.generated_text)} by cjsdash. '
              f"Data vintages: {esc('; '.join(content.vintages) or 'no figures')}.</p>",
              "<h3>At a glance</h3><table><thead><tr><th>Section</th><th>Indicators</th>"
              f"<th>With figures</th><th>{esc(theme.status_style('met').text)}</th>"
              f"<th>{esc(theme.status_style('not met').text)}</th>"
              f"<th>{esc(theme.SUPPRESSED_MARK)} suppressed</th></tr></thead><tbody>"]
    parts += [_glance(s) for s in content.sections]
    parts.append("</tbody></table><p class=\"muted\">Targets met and not met count the "
                 "headline figures that have a target; each section's pages follow, then the "
                 "notes (definitions and methods).</p>")
    return "".join(parts)


def _glance(section: SectionContent) -> str:
    rows = [r for item in section.items for r in item.rows.iter_rows(named=True)]
    counts = [
        len(section.items),
        sum(1 for item in section.items if item.has_figures),
        sum(1 for r in rows if r["status"] == "met"),
        sum(1 for r in rows if r["status"] == "not met"),
        sum(1 for r in rows if r["suppressed"]),
    ]
    return (f"<tr><td>{esc(section.section.title)}</td>"
            + "".join(f'<td class="num">{n}</td>' for n in counts) + "</tr>")


def _summary(section: SectionContent) -> str:
    rows = []
    for item in section.items:
        spark = ""
        if item.has_figures and not item.item.by:
            svg = sparklines.make_sparkline_svg(item.history, item.indicator)
            spark = (f'<img class="spark" src="{_data_uri(svg)}" '
                     f'alt="{esc(sparklines.describe_series(item.history, item.indicator))}">')
        for r in item.rows.iter_rows(named=True):
            name = item.indicator.title + (f": {r['breakdown']}" if r["breakdown"] else "")
            rows.append(
                f"<tr><td>{esc(name)}</td><td>{esc(r['period_label'])}</td>"
                f'<td class="num">{_value(r)}</td><td class="num">{esc(r["display_ci"])}</td>'
                f"<td>{_status(r)}</td><td class=\"num\">{esc(r['national_display'])}</td>"
                f"<td>{spark if not r['breakdown'] else ''}</td></tr>")
    return ("<table><thead><tr><th>Indicator</th><th>Period</th><th>Value</th><th>95% CI</th>"
            f"<th>Status</th><th>{NATIONAL_NAME}</th><th>Trend</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _figures(item: ItemContent, content: PackContent) -> str:
    row = item.headline
    if row is None:
        return ""
    ind = item.indicator
    ci = (f"suppressed: {row['suppression_rule']}" if row["suppressed"]
          else f"{(row['level'] or 0.95):.0%} CI {row['display_ci']}" if row["display_ci"]
          else (f"no CI: {ind.ci_note}" if ind.ci_note else "no CI"))
    target = target_text(row, ind)
    cells = [
        ("Latest", f'<div class="big">{_value(row)}</div>{esc(row["period_label"])}'),
        ("Interval", esc(ci)),
        ("Target and status", f"{esc(target)}<br>{_status(row)}"),
        (NATIONAL_NAME, esc(row["national_display"] or "–")),
    ]
    if content.msg_available:
        msg = "–" if row["msg_value"] is None else format_value(row["msg_value"], ind)
        cells.append(("MSG average", esc(msg)))
    return '<div class="figures">' + "".join(
        f'<div class="figure"><div class="label">{esc(label)}</div>{body}</div>'
        for label, body in cells) + "</div>"


def _table(item: ItemContent) -> str:
    if item.item.by:
        rows = [f"<tr><td>{esc(r['breakdown'] or 'All')}</td><td>{esc(r['period_label'])}</td>"
                f'<td class="num">{_value(r)}</td><td class="num">{esc(r["display_ci"])}</td>'
                f'<td class="num">{esc(r["national_display"])}</td></tr>'
                for r in item.rows.iter_rows(named=True)]
        head = "<th>Group</th><th>Period</th>"
    else:
        national = {}
        if item.national_history is not None and item.national_history.height:
            national = {r["period_label"]: r["display_value"]
                        for r in item.national_history.iter_rows(named=True)}
        recent = item.history.sort("period_start").tail(8) if item.has_figures else item.history
        rows = [f"<tr><td>{esc(r['period_label'])}</td><td class=\"num\">{_value(r)}</td>"
                f'<td class="num">{esc(r["display_ci"])}</td>'
                f'<td class="num">{esc(national.get(r["period_label"], "–"))}</td></tr>'
                for r in recent.iter_rows(named=True)]
        head = "<th>Period</th>"
    if not rows:
        return '<p class="muted">No figures for this area and grain up to this period.</p>'
    return (f"<table><thead><tr>{head}<th>Value</th><th>95% CI</th><th>{NATIONAL_NAME}</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _commentary(item: ItemContent) -> str:
    if not item.commentary:
        return ""
    lines = "".join(
        f"<p><strong>{esc(p.label)}:</strong> "
        + (esc(text) if text else
           f'<span class="prompt">[{esc(p.prompt or "to be written")}]</span>')
        + "</p>" for p, text in item.commentary)
    return f'<div class="commentary">{lines}</div>'


def _item(item: ItemContent, content: PackContent, svg: bytes | None) -> str:
    parts = [f'<section class="item"><h3>{esc(item.title)}</h3>', _figures(item, content)]
    if svg is not None:
        parts.append(f'<img class="chart" src="{_data_uri(svg)}" '
                     f'alt="{esc(describe(item, content))}">')
    elif item.item.chart == "sparkline" and item.has_figures and not item.item.by:
        svg_text = sparklines.make_sparkline_svg(item.history, item.indicator, width=480, height=90)
        words = sparklines.describe_series(item.history, item.indicator)
        parts.append(f'<img class="spark-large" src="{_data_uri(svg_text)}" alt="{esc(words)}">'
                     f'<p class="source">{esc(words)}</p>')
    if item.item.chart == "table" or (item.item.by and svg is None):
        parts.append(_table(item))
    parts.append(_commentary(item))
    sources = sorted({f"{r['source']} ({r['vintage']})" for r in item.rows.iter_rows(named=True)
                      if r["source"]})
    notes = sorted({r["note"] for r in item.rows.iter_rows(named=True) if r["note"]})
    parts.append(f'<p class="source">Source: {esc("; ".join(sources) or "no figures")}'
                 + (f" · Notes: {esc('; '.join(notes))}" if notes else "") + "</p></section>")
    return "".join(parts)


def _notes(content: PackContent) -> str:
    parts = ['<section class="notes"><h2>Notes: definitions and methods</h2><dl>']
    parts += [f"<dt>{esc(t)}</dt><dd>{esc(x)}</dd>" for t, x in method_notes(content)]
    parts.append("</dl>")
    for ind in content.indicators:
        parts.append(f"<h3>{esc(ind.title)} ({esc(ind.id)})</h3><dl>")
        parts += [f"<dt>{esc(t)}</dt><dd>{esc(x)}</dd>"
                  for t, x in definition_rows(ind, content.registry, content.options)]
        parts.append("</dl>")
    parts.append("</section>")
    return "".join(parts)


def render_html(content: PackContent, svgs: dict[int, bytes] | None = None) -> str:
    """The pack as one HTML document (what WeasyPrint paginates)."""
    svgs = svgs or {}
    body = [_running(content), _cover(content)]
    k = 0
    for section in content.sections:
        body.append(f"<h2>{esc(section.section.title)}</h2>")
        if section.section.intro:
            body.append(f'<p class="muted">{esc(section.section.intro)}</p>')
        body.append(_summary(section))
        for item in section.items:
            body.append(_item(item, content, svgs.get(k)))
            k += 1
    body.append(_notes(content))
    return (f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
            f"<title>{esc(content.pack.title)}: {esc(content.subtitle)}</title>"
            f'<meta name="author" content="cjsdash">'
            f'<meta name="description" content="{esc(content.disclosure())}">'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")


def chart_svgs(content: PackContent) -> dict[int, bytes]:
    """Each charted item's figure (by its index in ``content.items``) drawn by kaleido as SVG,
    all in one batch on the process's one browser, then compacted for WeasyPrint
    (:func:`.svg_compact.compact_svg`: the same shapes, about a fifth less layout time)."""
    figures = {i: fig for i, item in enumerate(content.items)
               if (fig := item_figure(item, content)) is not None}
    drawn = render_images(list(figures.values()), fmt="svg", width=TREND_WIDTH,
                          height=TREND_HEIGHT)
    return {i: compact_svg(svg) for i, svg in zip(figures, drawn, strict=True)}


def pdf_html(content: PackContent) -> str:
    """The pack's HTML with its charts drawn: all :func:`.pdf_layout.layout_pdf` needs, so a
    batch can lay packs out in other processes."""
    return render_html(content, chart_svgs(content))


def render_pdf(content: PackContent) -> bytes:
    """The PDF's bytes."""
    return layout_pdf(pdf_html(content))
