"""The latest SPC reading of many series at once, for the figure mart's baselines
(:mod:`metrics.mart_baselines`): each series' (signal, rules, assurance) exactly as
:func:`metrics.analysis.spc_readings.latest_spc_reading` gives it for that series alone,
computed for the series of one indicator and one length together as rows of 2-D arrays
(:mod:`metrics.statistics.spc_rows`; the rules and signals read every row at once).

Why: a refresh reads every area's series of every indicator at each grain (thousands of
series on the demo warehouse), and one series at a time is mostly numpy's and polars'
per-call overhead on a few dozen points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
import polars as pl

from metrics.analysis.areas import bool_column, float_column
from metrics.analysis.spc_readings import RULE_SHORT, p_chart_applies
from metrics.registry import Indicator
from metrics.statistics import spc_assurance, spc_rows, spc_rules, spc_signals

SERIES_COLUMNS = ("indicator", "area_code", "period_start", "numerator", "denominator",
                  "value", "suppressed", "target")
"""What a reading needs of a series' headline rows."""

Reading = tuple[str, str, str]
"""(signal, rules, assurance), as :func:`~metrics.analysis.spc_readings.latest_spc_reading`."""


def latest_readings(frame: pl.DataFrame, indicators: Mapping[str, Indicator]
                    ) -> dict[tuple[str, str], Reading]:
    """(area, indicator) → the latest SPC reading of each headline series in ``frame``
    (:data:`SERIES_COLUMNS` of one grain, sorted by indicator, area and period start)."""
    if frame.height == 0:
        return {}
    bounds = frame.with_row_index("_row").group_by(
        "indicator", "area_code", maintain_order=True).agg(
        pl.col("_row").first().alias("first"), pl.len().alias("length"))
    groups: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for ind, area, first, length in bounds.iter_rows():
        groups[(ind, length)].append((area, first))
    columns = {c: float_column(frame, c) for c in ("numerator", "denominator", "value", "target")}
    columns["suppressed"] = bool_column(frame, "suppressed")
    out: dict[tuple[str, str], Reading] = {}
    for (ind_id, length), members in groups.items():
        at = np.array([first for _, first in members])[:, None] + np.arange(length)
        readings = _group_readings({c: v[at] for c, v in columns.items()},
                                   indicators[ind_id])
        out.update(((area, ind_id), r) for (area, _), r in zip(members, readings, strict=True))
    return out


def _group_readings(series: dict[str, np.ndarray], ind: Indicator) -> list[Reading]:
    """The readings of series of one indicator and length (one per row)."""
    suppressed = series["suppressed"]
    value = np.where(suppressed, np.nan, series["value"])
    proportion = np.zeros(value.shape[0], dtype=bool)
    if p_chart_applies(ind):  # as chart_type: denominators present and not all the same
        n = series["denominator"]
        present = np.isfinite(n) & (n > 0)
        proportion = (present.sum(axis=1) >= 2) & (
            np.where(present, n, -np.inf).max(axis=1) > np.where(present, n, np.inf).min(axis=1))
    out: list[Reading] = [("", "", "")] * value.shape[0]
    for rows in (np.flatnonzero(~proportion), np.flatnonzero(proportion)):
        if rows.size == 0:
            continue
        if proportion[rows[0]]:
            x = np.where(suppressed[rows], np.nan, series["numerator"][rows])
            n = np.where(suppressed[rows], np.nan, series["denominator"][rows])
            laney = spc_rows.laney_rows(x, n)
            latest = laney.sigma_z[:, -1]  # type: ignore[index]
            limits = spc_rows.pick_rows(np.isfinite(latest) & (latest > 1.0), laney,
                                        spc_rows.p_rows(x, n))
            with np.errstate(invalid="ignore", divide="ignore"):
                y = np.where(n > 0, x / np.where(n > 0, n, 1.0), np.nan)
            scale = ind.multiplier
        else:
            y, scale = value[rows], 1.0
            limits = spc_rows.xmr_rows(y)
        readings = _read(y, limits, series["target"][rows], scale, ind)
        for k, row in enumerate(rows):
            out[row] = readings[k]
    return out


def _last_finite(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether any value is finite, and the index of the last that is."""
    finite = np.isfinite(values)
    return finite.any(axis=1), values.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)


def _read(y: np.ndarray, limits: spc_rows.SpcLimits, target: np.ndarray, scale: float,
          ind: Indicator) -> list[Reading]:
    flags = spc_rules.special_cause_flags(y, limits)
    signal = spc_signals.classify_flags(y, limits, flags, ind.polarity)
    known, last = _last_finite(y)
    targeted, target_at = _last_finite(target)
    out: list[Reading] = []
    for r in range(y.shape[0]):
        if not known[r]:
            out.append(("", "", ""))
            continue
        at = int(last[r])
        rules = ", ".join(RULE_SHORT[c] for c in spc_rules.RULES if flags[c][r, at])
        aim = float(target[r, target_at[r]]) / scale if targeted[r] else None
        out.append((str(signal[r, at]), rules, spc_assurance.assurance(
            aim, spc_rows.row_limits(limits, r), ind.polarity)))
    return out
