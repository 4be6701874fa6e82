"""Building blocks of the analysis views (SPC, comparison, baseline); no database here.

Tables are written as escaped HTML in one ``dcc.Markdown`` (as
:func:`layouts.components.figures_table`, for the same reason: Dash re-renders many small
components slowly), each with a caption and inside a keyboard-focusable scroll region. Every
chart's numbers sit one click away in a ``<details>`` block with the table and a CSV button.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from dash import dcc, html

from cjsdash.core.safe_text import count_of, markup, neutralise
from layouts import components as cx
from layouts import figure_draft, theme
from metrics.analysis import is_missing
from metrics.registry import Indicator
from metrics.views import format_value

Column = tuple[str, str, Callable[[Any, dict[str, Any]], str] | None]
"""(frame column, heading, formatter(value, row) or None for str())."""

CI_WORDS = {
    "wilson": "Wilson score 95% interval for a proportion",
    "poisson": "Poisson 95% interval for a count (Byar's approximation; exact below 10)",
    "byar_exact": "Byar's approximation for the count (exact Poisson below 10), over the "
                  "denominator",
    "katz": "Katz log 95% interval for a ratio of rates",
    "normal": "normal approximation",
    "none": "no confidence interval",
}


QUARTILE_WORDS = {1: "1st quartile (best)", 2: "2nd quartile", 3: "3rd quartile",
                  4: "4th quartile (worst)"}


def quartile_words(quartile: int, of: int) -> str:
    """'3rd quartile (of 41 areas)': a position, never read as a period ('third quarter')."""
    return f"{QUARTILE_WORDS[quartile]} (of {count_of(of, 'area')})"


def _text(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


esc = markup


def html_table(table_id: str, frame: pl.DataFrame, columns: Sequence[Column], *,
               caption: str, empty: str = "No figures.", links: str | None = None) -> str:
    """An escaped HTML table. ``links``: a column whose value is an href for the first cell."""
    shown = [c for c in columns if c[0] in frame.columns]
    head = "".join(f'<th scope="col">{esc(h)}</th>' for _, h, _ in shown)
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for i, (column, _, fmt) in enumerate(shown):
            text = esc(" ".join((fmt(row[column], row) if fmt else _text(row[column])).split()))
            if i == 0 and links and row.get(links):
                text = f'<a href="{esc(row[links])}">{text}</a>'
            tag = "th scope=\"row\"" if i == 0 else "td"
            cells.append(f'<{tag} class="cjs-col-{esc(column)}">{text}</{tag.split()[0]}>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    rows = "".join(body) or f'<tr><td colspan="{len(shown)}">{esc(empty)}</td></tr>'
    return (f'<table id="{esc(table_id)}" class="cjs-table cjs-figures">'
            f"<caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def table_block(table_id: str, frame: pl.DataFrame, columns: Sequence[Column], *,
                caption: str, empty: str = "No figures.", links: str | None = None
                ) -> html.Div:
    return html.Div(
        dcc.Markdown(html_table(table_id, frame, columns, caption=caption, empty=empty,
                                links=links),
                     dangerously_allow_html=True, className="cjs-figures-markdown"),
        className="cjs-table-scroll", tabIndex=0, role="region", **{"aria-label": caption},
    )


def frame_csv(frame: pl.DataFrame, columns: Sequence[str]) -> str:
    """CSV text of ``columns`` of ``frame`` (those present), formula-safe."""
    present = [c for c in columns if c in frame.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(present)
    for row in frame.select(present).iter_rows():
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return out.getvalue()


def figures_details(prefix: str, summary: str, table: Any) -> html.Details:
    """The numbers behind a chart, one click away: a table and its CSV download."""
    return html.Details([
        html.Summary(summary, className="cjs-details-summary"),
        cx.download_button(prefix),
        table,
    ], className="cjs-details", id=f"{prefix}-details",
        style={"margin": "0.75rem 0 1.75rem"})


def chart_block(graph_id: str, figure: Any, caption: Sequence[Any], *, description: str,
                wide: bool = False) -> html.Figure:
    """A chart with a visible caption (source, vintage, denominator, CI, suppression) and a
    text alternative for screen readers. ``wide``: a chart with a side legend that needs a
    minimum width; on a phone it keeps that width and scrolls sideways in its own box."""
    height = figure_draft.height(figure, 0)  # a spec (dict) or a go.Figure
    scroll = ({"tabIndex": 0, "role": "region", "aria-label": f"{description} Scrolls sideways "
               "on a narrow screen."} if wide else {})
    return html.Figure([
        dcc.Graph(id=graph_id, figure=figure, responsive=True,
                  config={"displaylogo": False, "responsive": True},
                  style={"height": f"{height}px"} if height else None),
        html.P(description, className="cjs-visually-hidden", id=f"{graph_id}-description"),
        html.Figcaption(list(caption), className="cjs-chart-caption",
                        style={"color": theme.SECONDARY_TEXT, "fontSize": "0.875rem",
                               "marginTop": "0.5rem"}),
    ], className="cjs-chart cjs-chart-wide" if wide else "cjs-chart",
        **{"aria-describedby": f"{graph_id}-description", **scroll})


def caption_parts(ind: Indicator, frames: Sequence[pl.DataFrame | None], *,
                  suppression_threshold: int, extra: str = "") -> list[Any]:
    """Source and vintage, denominator, CI method and suppression, as caption sentences."""
    sources = cx.vintages(*frames) or ["no figures shown"]
    denominator = (ind.denominator.title if ind.denominator else
                   "population, Census 2011 (per 1,000)" if ind.population_denominator
                   else "none (a count)")
    suppressed = sum(int(f["suppressed"].fill_null(False).sum()) for f in frames
                     if f is not None and f.height and "suppressed" in f.columns)
    threshold = ind.suppression_threshold or suppression_threshold
    parts = [
        html.Span(f"Source: {'; '.join(sources)}. "),
        html.Span(f"Denominator: {denominator}. "),
        html.Span(f"Confidence intervals: {CI_WORDS[ind.ci_method]}"
                  + (f" ({ind.ci_note})" if ind.ci_note else "") + ". "),
        html.Span(f"Suppression: counts below {threshold}, and figures built on them, are "
                  f"shown as {theme.SUPPRESSED_MARK}; {suppressed} figure(s) suppressed here. "),
    ]
    if extra:
        parts.append(html.Span(extra))
    return parts


def reading(label: str, text: str, *, element_id: str, code: str = "") -> html.Div:
    """A labelled reading (SPC assurance, RAG), its words always, colour never alone."""
    return html.Div([html.Strong(f"{label}: "), html.Span(text)], id=element_id,
                    className="cjs-reading", **{"data-code": code},
                    style={"borderLeft": f"5px solid {theme.SECONDARY_TEXT}",
                           "padding": "0.5rem 0.75rem", "margin": "0.5rem 0",
                           "background": "#f3f2f1", "maxWidth": "60em"})


def rules_list(rule_text: dict[str, str], rule_short: dict[str, str]) -> html.Ul:
    return html.Ul([html.Li([html.Strong(f"{rule_short[k]}: "), v])
                    for k, v in rule_text.items()], className="cjs-rules")


def rebase_dropdown(prefix: str, options: list[dict[str, str]], value: str) -> html.Div:
    """'Mark a rebase point': the first period of a new process (a known change)."""
    return html.Div([
        html.Label("Mark a rebase point (SPC)", htmlFor=f"{prefix}-rebase",
                   className="cjs-label"),
        html.Span("The first period after a known change; limits are never rebased "
                  "automatically", id=f"{prefix}-rebase-hint", className="cjs-hint"),
        dcc.Dropdown(id=f"{prefix}-rebase", options=options, value=value, clearable=False,
                     searchable=False, maxHeight=360),
    ], className="cjs-field cjs-field-period")


def fix_dropdown(prefix: str, options: list[dict[str, str]], value: str) -> html.Div:
    """'Limits from': the whole series (MDC's default) or fixed on the first N periods."""
    return html.Div([
        html.Label("SPC limits from", htmlFor=f"{prefix}-fix", className="cjs-label"),
        html.Span("The whole series, or fixed on the first N periods of each segment",
                  id=f"{prefix}-fix-hint", className="cjs-hint"),
        dcc.Dropdown(id=f"{prefix}-fix", options=options, value=value, clearable=False,
                     searchable=False, maxHeight=360),
    ], className="cjs-field cjs-field-period")


def value_text(ind: Indicator) -> Callable[[Any, dict[str, Any]], str]:
    """Formatter for a value column (suppressed rows show [c])."""
    def fmt(value: Any, row: dict[str, Any]) -> str:
        return format_value(value, ind, suppressed=bool(row.get("suppressed")))
    return fmt


def count_text(value: Any, _row: dict[str, Any]) -> str:
    if is_missing(value):
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def rank_text(value: Any, _row: dict[str, Any]) -> str:
    return "" if is_missing(value) else f"{value:g}"
