"""The indicator page's definition section (from the registry) and its "page not found"
list of indicators."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from layouts.context import get_context
from layouts.indicator_controls import PREFIX
from metrics import views
from metrics.registry import Indicator
from metrics.wording import CI_WORDS, POLARITY_WORDS


def not_found(indicator_id: str | None) -> html.Div:
    registry = get_context().registry
    groups = [html.Section([
        html.H2(theme_.title),
        html.Ul([html.Li(dcc.Link(f"{ind.title} ({ind.id})", href=f"/indicator/{ind.id}"))
                 for ind in members]),
    ]) for theme_, members in registry.by_theme()]
    return html.Div([
        html.H1("Page not found"),
        html.P([f"There is no indicator called ‘{indicator_id or ''}’. ",
                "These are the indicators:"], id=f"{PREFIX}-not-found"),
        *groups,
    ], className="cjs-page cjs-not-found")


def definition(ind: Indicator) -> html.Section:
    theme_ = get_context().registry.theme(ind.theme)
    items: list[tuple[str, Any]] = [
        ("What it measures", ind.description),
        ("Numerator", ind.numerator.title),
        ("Denominator", ind.denominator.title if ind.denominator else (
            "population (per 1,000)" if ind.population_denominator else "none: a count")),
        ("Polarity", POLARITY_WORDS[ind.polarity]),
        ("Confidence interval", CI_WORDS[ind.ci_method] + (f" ({ind.ci_note})"
                                                          if ind.ci_note else "")),
        ("Theme", f"{theme_.title} ({ind.psa or theme_.psa})"),
        ("NPCC 2030 objective", ind.npcc_objective),
        ("National reference", ind.national_reference or "–"),
        ("Targets", "; ".join(f"{t.kind} {views.format_value(t.value, ind)} ({t.source})"
                              for t in ind.targets) or "no default target"),
        ("Source notes", ind.source_notes or "–"),
    ]
    return html.Section([
        html.H2("Definition", id=f"{PREFIX}-definition-heading"),
        html.Dl([part for term, text in items for part in (html.Dt(term), html.Dd(text))],
                className="cjs-definition"),
    ], **{"aria-labelledby": f"{PREFIX}-definition-heading"})
