"""The change on last year and how it is read beside an SPC signal (METHODS.md, "Comparing
areas"; the overview, the baseline, packs and the CLI all word it here).

Two different questions, never to be run together:

- *change on last year*: the latest period against the same period a year before, called
  significant or not only where the registry declares a sampling model for the indicator
  (:attr:`metrics.registry.Indicator.sampling_model`); money, stock counts, complete
  administrative totals and means from totals say "not tested";
- *SPC signal*: the latest point against the process limits of the whole series (Making Data
  Count), which can say "improvement (shift)" while the figure is lower than a year ago —
  the latest run sits on the good side of the series mean, not above last year.

:func:`readings_agree` says whether a board may count an indicator as improving (or of
concern) from both readings at once; the baseline summary counts only those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metrics.analysis.areas import is_missing
from metrics.registry import Indicator
from metrics.statistics import spc_signals, targets
from metrics.views import format_value

NOT_TESTED_WHY = {
    "amount": "an amount of money, not a sample",
    "mean": "a mean from totals: no spread is recorded",
    "ratio": "a ratio of rates: see its confidence interval",
    "count": "a complete administrative count, not a sample",
    "proportion": "a proportion of money, not of counted cases",
    "rate": "no sampling model declared",
}
SPC_WORDS = {spc_signals.IMPROVEMENT: "improvement", spc_signals.CONCERN: "concern",
             spc_signals.NEUTRAL_SIGNAL: "special cause", spc_signals.COMMON: "common cause"}


def tested(ind: Indicator) -> bool:
    """Whether a change of this indicator is tested: the registry declares its sampling model."""
    return ind.sampling_model != "none"


def not_tested_reason(ind: Indicator) -> str:
    """Why a change is not tested: ``'not tested: an amount of money, not a sample'``…"""
    note = ind.ci_note if ind.type == "count" and ind.ci_note else NOT_TESTED_WHY[ind.type]
    return f"not tested: {note}"


@dataclass(frozen=True)
class Change:
    """The change on the same period last year, worded once for every output.

    ``code`` ``'up'``/``'down'``/``'flat'``/``'no data'``; ``significant`` True/False where
    tested, None where not; ``better`` by polarity (None when neutral, flat or no data);
    ``short`` the table cell (``'down 1.9 pts (significant)'``), ``text`` the sentence."""

    code: str
    short: str
    text: str
    significant: bool | None
    better: bool | None


def change_on_last_year(row: dict[str, Any] | None, ind: Indicator) -> Change:
    """Read the latest row's ``change`` and ``change_significant`` (from
    :func:`metrics.derive.attach_previous_year`, tested by the declared sampling model)."""
    change = None if row is None else row.get("change")
    if row is None or is_missing(change) or row.get("suppressed"):
        return Change("no data", "no figure a year before", "no figure for the same period "
                      "last year", None, None)
    code = "up" if change > 0 else ("down" if change < 0 else "flat")
    amount = (f"{abs(change):,.{ind.decimals}f} pts" if ind.unit == "percent"
              else format_value(abs(change), ind))
    significant = bool(row.get("change_significant")) if tested(ind) else None
    test = ({True: "significant", False: "not significant"}[significant]
            if significant is not None else not_tested_reason(ind))
    better = None
    if code != "flat" and ind.polarity != targets.NEUTRAL:
        better = (code == "up") == (ind.polarity == targets.HIGHER_IS_BETTER)
    if code == "flat":
        return Change(code, "no change", "no change on the same period last year",
                      significant, None)
    short = f"{code} {amount} ({test.split(':')[0]})"
    return Change(code, short, f"{code} {amount} on the same period last year ({test})",
                  significant, better)


def spc_reading(signal: str, rules: str) -> str:
    """The SPC signal worded as a reading of the whole series: ``'improvement (shift) against
    the whole series'``; '' when there is none."""
    if not signal:
        return ""
    if signal == spc_signals.COMMON:
        return "common cause variation against the whole series"
    why = f" ({rules})" if rules else ""
    return f"{SPC_WORDS.get(signal, signal)}{why} against the whole series"


def readings_agree(signal: str, change: Change) -> bool:
    """Whether the SPC signal and the change on last year point the same way: an SPC
    improvement (concern) with a change on last year that is not significantly the other
    way, and not the other way at all where it is untested."""
    if signal not in (spc_signals.IMPROVEMENT, spc_signals.CONCERN):
        return False
    want_better = signal == spc_signals.IMPROVEMENT
    if change.better is None:
        return True  # no change, or neutral: nothing against the signal
    if change.better == want_better:
        return True
    return change.significant is False  # the other way, but within chance


def paired_text(signal: str, rules: str, change: Change) -> str:
    """One sentence a board member can read in one row: both readings, and why they may
    differ when they point different ways."""
    spc_text = spc_reading(signal, rules)
    if not spc_text:
        return change.text[:1].upper() + change.text[1:] + "."
    out = f"{change.text[:1].upper() + change.text[1:]}; SPC: {spc_text}."
    if (signal in (spc_signals.IMPROVEMENT, spc_signals.CONCERN)
            and not readings_agree(signal, change)):
        out += (" The two differ because SPC compares the latest run of periods with the "
                "mean of the whole series, not with the same period last year.")
    return out
