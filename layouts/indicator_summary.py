"""The indicator page's lead sentence: is it changing, will we hit the target, how do we compare.

One plain-English sentence, built from figures the page already has (the area's series and
England and Wales's), so that the verdict sits above the charts rather than under the table:

    "Cumbria's ineffective trial rate was 8.6% in Jan–Mar 2026 (95% CI 4.5% to 15.8%): no sign
    of real change (common cause variation), no target set, similar to England and Wales
    (12.1%; 95% confidence intervals overlap)."

- *changing?* the SPC signal at the latest point against the whole series
  (:func:`metrics.analysis.latest_spc_reading`; improvement and concern are already worded by
  the indicator's polarity). The SPC section below honours a rebase or fixed limits; this
  sentence always reads the whole series (Making Data Count's default).
- *the target?* the latest figure's ``status`` against its ``target`` and, where limits
  exist, the SPC assurance (will the process meet it).
- *compare?* the latest figure's 95% CI against England and Wales's for the same period
  (:func:`metrics.analysis.position`: significant only when the intervals do not overlap).

Pure: frames in, a string out.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from layouts import theme
from metrics import analysis, views
from metrics.analysis import is_missing
from metrics.registry import Indicator
from metrics.statistics import spc_assurance, spc_signals

NATIONAL_NAME = "England and Wales"
CHANGE_WORDS = {
    spc_signals.COMMON: "no sign of real change (common cause variation)",
    spc_signals.IMPROVEMENT: "a sign of real improvement (special cause{why})",
    spc_signals.CONCERN: "a sign of real change for the worse (special cause: concern{why})",
    spc_signals.NEUTRAL_SIGNAL:
        "a sign of real change, neither better nor worse (special cause{why})",
}
ASSURANCE_TAIL = {
    spc_assurance.CONSISTENTLY_PASSES: "and the process will consistently meet it",
    spc_assurance.CONSISTENTLY_FAILS: "and the process will not meet it unless something changes",
    spc_assurance.INCONSISTENT:
        "and the process will meet it in some periods and miss it in others",
}


def _headline(frame: pl.DataFrame | None) -> pl.DataFrame:
    if frame is None or frame.height == 0:
        return pl.DataFrame()
    return analysis.headline_rows(frame)


def _lower_first(text: str) -> str:
    """'Ineffective trial rate' → 'ineffective trial rate'; a title opening with a name or an
    acronym ('Crown Court cases…', 'CPS convictions') is left as it is."""
    words = text.split()
    if not words or not words[0][1:].islower():
        return text
    if len(words) > 1 and words[1][:1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _figure(row: dict[str, Any], ind: Indicator) -> str:
    """'8.6% in Jan–Mar 2026 (95% CI 4.5% to 15.8%)'."""
    text = f"{views.format_value(row['value'], ind)} in {row['period_label']}"
    if not is_missing(row.get("lower")) and not is_missing(row.get("upper")):
        text += (f" ({(row.get('level') or 0.95):.0%} CI {views.format_value(row['lower'], ind)}"
                 f" to {views.format_value(row['upper'], ind)})")
    return text


def _changing(rows: pl.DataFrame, ind: Indicator) -> tuple[str, str]:
    """(words on change, assurance code) from the SPC reading at the latest figure."""
    signal, rules, assurance = analysis.latest_spc_reading(rows, ind)
    if not signal:
        return "too few figures to tell whether it is changing", ""
    why = (f": {rules}" if rules and signal != spc_signals.CONCERN
           else (f", {rules}" if rules else ""))
    return CHANGE_WORDS.get(signal, signal).format(why=why), assurance


def _target(row: dict[str, Any], ind: Indicator, assurance: str) -> str:
    words = views.target_text(row, ind)
    if not words:
        return "no target set"
    status = row.get("status") or ""
    if row.get("suppressed") or status in ("suppressed", "no data"):
        text = f"{_lower_first(words)}: not judged (no figure)"
    elif status == "not assessed":
        text = f"{_lower_first(words)}: not judged (a neutral indicator)"
    else:
        text = f"{_lower_first(words)} {status}"
    tail = ASSURANCE_TAIL.get(assurance)
    return f"{text}, {tail}" if tail else text


def _compare(row: dict[str, Any], national: pl.DataFrame, ind: Indicator) -> str:
    if national.height == 0:
        return f"no figure for {NATIONAL_NAME} to compare with"
    same = national.filter(pl.col("period_start") == row["period_start"])
    if same.height == 0:
        return f"no figure for {NATIONAL_NAME} in {row['period_label']}"
    other = same.row(0, named=True)
    if other.get("suppressed") or is_missing(other.get("value")):
        return f"no figure for {NATIONAL_NAME} in {row['period_label']}"
    where = f"{NATIONAL_NAME} ({views.format_value(other['value'], ind)}"

    def triple(r: dict[str, Any]) -> tuple[float, float, float]:
        return tuple(math.nan if is_missing(r.get(c)) else float(r[c])  # type: ignore[return-value]
                     for c in ("value", "lower", "upper"))

    pos = analysis.position(triple(row), triple(other), ind, NATIONAL_NAME)
    if pos.code in ("above", "below"):
        word = "higher" if pos.code == "above" else "lower"
        quality = "" if pos.better is None else (", better" if pos.better else ", worse")
        return (f"significantly {word} than {where}{quality}; 95% confidence intervals do "
                "not overlap)")
    if pos.code == "similar":
        return f"similar to {where}; 95% confidence intervals overlap)"
    if pos.code in ("higher", "lower", "the same"):
        prefix = "the same as" if pos.code == "the same" else f"{pos.code} than"
        return f"{prefix} {where}; no confidence interval, so not tested)"
    return f"no comparison with {NATIONAL_NAME}"


def summary_sentence(ind: Indicator, area_name: str, area_rows: pl.DataFrame | None,
                     national_rows: pl.DataFrame | None = None, *,
                     is_national: bool = False) -> str:
    """One sentence leading the indicator page (see the module docstring). ``area_rows`` and
    ``national_rows``: :func:`metrics.views.series` frames for the area and for England and
    Wales (``None`` or ``is_national`` when the area is England and Wales itself)."""
    rows = _headline(area_rows)
    # "Cumbria (LCJB), ineffective trial rate, Crown Court: 10.5% in …" — no possessive,
    # which reads badly after a bracketed area name
    title = _lower_first(ind.title) + ("," if "," in ind.title else "")
    if rows.height == 0:
        return f"There are no figures for {title.rstrip(',')} in {area_name} at this grain."
    last = rows.row(-1, named=True)
    mark = f"{theme.SYNTHETIC_MARK} " if last.get("synthetic") else ""
    changing, assurance = _changing(rows, ind)
    if last.get("suppressed") or is_missing(last.get("value")):
        shown = rows.filter(pl.col("value").is_not_null()
                            & ~pl.col("suppressed").fill_null(False))
        before = ""
        if shown.height:
            prior = shown.row(-1, named=True)
            before = f"; the latest published figure was {_figure(prior, ind)}"
        why = ("suppressed [c] (too few cases to publish)" if last.get("suppressed")
               else "not available")
        return (f"{mark}{area_name}, {title.rstrip(',')}, {last['period_label']}: "
                f"{why}{before} — "
                f"{changing}, {_target(last, ind, assurance)}.")
    parts = [changing, _target(last, ind, assurance)]
    if not is_national:
        parts.append(_compare(last, _headline(national_rows), ind))
    return f"{mark}{area_name}, {title.rstrip(',')}: {_figure(last, ind)} — {', '.join(parts)}."
