"""The words every format prints beside the figures: the synthetic-data warning, the
disclosure control applied, each indicator's definition and the pack-wide method notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cjsdash import OGL_ATTRIBUTION
from layouts import theme
from metrics.options import Options
from metrics.registry import Indicator, Registry
from metrics.views import format_value, unit_label
from metrics.wording import CI_WORDS, POLARITY_WORDS

if TYPE_CHECKING:
    from .content import PackContent

SYNTHETIC_TEXT = (f"{theme.SYNTHETIC_MARK} Synthetic demo data: figures marked "
                  f"{theme.SYNTHETIC_MARK} are generated, not real.")


def disclosure_text(options: Options, indicators: list[Indicator] | None = None) -> str:
    """The disclosure control applied, in words: the same rule as the pages."""
    own = sorted({i.suppression_threshold for i in indicators or []
                  if i.suppression_threshold and i.suppression_threshold
                  != options.suppression_threshold})
    text = (f"Disclosure control, as on the dashboard: counts below "
            f"{options.suppression_threshold}, and every rate, ratio and percentage built on "
            f"them, are suppressed and shown as {theme.SUPPRESSED_MARK}; " + (
                "secondary suppression is decided once over everything published (breakdowns "
                "within their total, areas within their region and England and Wales, months "
                "within quarters and years), so no hidden count can be worked out from any "
                "figures shown beside it." if options.disclosure == "whole_set" else
                "secondary suppression hides a further group wherever a hidden one could be "
                "worked out from the total."))
    if own:
        text += (" Some indicators set their own threshold ("
                 + ", ".join(str(t) for t in own) + "; see the notes).")
    if options.rounding:
        text += (f" Counts (numerators, denominators and the values of count indicators) "
                 f"are rounded to the nearest {options.rounding}; rates, percentages and "
                 "ratios and their intervals are computed from the unrounded counts, and "
                 "rounding does not replace suppression.")
    else:
        text += " Counts are not rounded."
    return text


def definition_rows(ind: Indicator, registry: Registry, options: Options) -> list[tuple[str, str]]:
    """The registry's definition and methods of one indicator, as (term, text)."""
    theme_ = registry.theme(ind.theme)
    threshold = ind.suppression_threshold or options.suppression_threshold
    denominator = (ind.denominator.title if ind.denominator else
                   "resident population (per 1,000)" if ind.population_denominator
                   else "none: a count")
    return [
        ("What it measures", ind.description),
        ("Numerator", ind.numerator.title),
        ("Denominator", denominator),
        ("Type and unit", f"{ind.type}; {unit_label(ind)}"),
        ("Polarity", POLARITY_WORDS[ind.polarity]),
        ("Confidence interval", CI_WORDS[ind.ci_method] + (f" ({ind.ci_note})"
                                                          if ind.ci_note else "")),
        ("Suppression", f"counts below {threshold} suppressed ({theme.SUPPRESSED_MARK})"),
        ("Theme", f"{theme_.title} ({ind.psa or theme_.psa})"),
        ("National reference", ind.national_reference or "–"),
        ("Targets", "; ".join(f"{t.kind} {format_value(t.value, ind)} ({t.source})"
                              for t in ind.targets) or "no default target"),
        ("Source notes", ind.source_notes or "–"),
    ]


def method_notes(content: PackContent) -> list[tuple[str, str]]:
    """The pack-wide notes: disclosure control, comparisons, synthetic data, licence."""
    notes = [
        ("Disclosure control", content.disclosure()),
        ("Comparisons", "England and Wales is the same indicator computed for K04000001 for "
                        "the same period. " + content.msg.describe()),
        ("Confidence intervals", f"{content.options.level:.0%} intervals; the method of each "
                                 "figure is in its 'method' column."),
        ("Period", f"{content.period_text}: each indicator's figure is for this period or, "
                   "where it has none, the latest period before it (its period is shown)."),
        ("Generated", f"{content.generated_text} by cjsdash from the warehouse's committed "
                      "data."),
        ("Data vintages", "; ".join(content.vintages) or "no figures"),
        ("Licence", OGL_ATTRIBUTION),
    ]
    if content.synthetic:
        notes.insert(0, ("Synthetic data", SYNTHETIC_TEXT))
    return notes
