"""The indicator page's controls and their choices: area, grain, breakdown, the SPC rebase
point and the period the limits are fixed at."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from dash import dcc, html

from layouts import analysis_components as ax
from layouts import components as cx
from metrics import analysis, views
from metrics.registry import Indicator

PREFIX = "indicator"
NO_REBASE = "none"
WHOLE_SERIES = "whole"
FIX_CHOICES = [{"label": "Whole series (Making Data Count's default)", "value": WHOLE_SERIES},
               *({"label": f"Fix at period {n}", "value": str(n)} for n in (12, 16, 20, 24))]


def rebase_options(area_rows: pl.DataFrame) -> list[dict[str, str]]:
    """'No rebase', then every period but the first (a rebase starts a new segment)."""
    rows = analysis.headline_rows(area_rows)
    options = [{"label": "No rebase", "value": NO_REBASE}]
    if rows.height > 1:
        options += [{"label": f"From {label}", "value": start.isoformat()}
                    for start, label in rows.select("period_start", "period_label")
                    .rows()[1:]]
    return options


def pick_rebase(rebase: str | None, area_rows: pl.DataFrame) -> str:
    """The rebase option for ``rebase`` (a date): itself if a period starts on it, else the
    first period starting after it (another grain), else no rebase."""
    if not rebase or rebase == NO_REBASE:
        return NO_REBASE
    try:
        when = date.fromisoformat(rebase)
    except ValueError:
        return NO_REBASE
    rows = analysis.headline_rows(area_rows)
    starts = rows["period_start"].to_list()[1:] if rows.height else []
    return next((s.isoformat() for s in starts if s >= when), NO_REBASE)


def controls(ind: Indicator, areas: list[views.AreaChoice], area: str, grain: str,
              by: str | None, rebase_options: list[dict[str, str]], rebase: str,
              fix: int | None = None) -> html.Div:
    controls: list[Any] = [cx.area_dropdown(PREFIX, areas, area), cx.grain_radio(PREFIX, grain)]
    if "ethnicity" in ind.breakdowns:
        controls.append(html.Fieldset([
            html.Legend("Breakdown", className="cjs-label"),
            dcc.RadioItems(id=f"{PREFIX}-by", value=by or "", inline=True,
                           options=[{"label": "All people", "value": ""},
                                    {"label": "By ethnicity", "value": "ethnicity"}],
                           className="cjs-radios"),
        ], className="cjs-field cjs-field-by"))
    else:
        controls.append(dcc.Input(id=f"{PREFIX}-by", type="hidden", value=""))
    controls.append(ax.rebase_dropdown(PREFIX, rebase_options, rebase))
    controls.append(ax.fix_dropdown(PREFIX, FIX_CHOICES, WHOLE_SERIES if fix is None
                                    else str(fix)))
    return html.Div(controls, className="cjs-controls", role="group",
                    **{"aria-label": "Choose what to show"})


def pick_fix(fix: str | int | None) -> int | None:
    """The 'fix the limits at period N' choice: a whole number of periods >= 2, else None
    (the whole series)."""
    try:
        n = int(fix) if fix not in (None, "", WHOLE_SERIES) else None
    except (TypeError, ValueError):
        return None
    return n if n is not None and n >= 2 else None
