"""Every series' latest SPC reading at once (metrics.analysis.spc_latest, what the figure
mart's baselines store) against latest_spc_reading of each series alone (what the baseline
page computes): equal for counted proportions (p and Laney p′ charts), for proportions of
money and for counts, of each polarity, with gaps, suppressed periods and targets."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from metrics.analysis.spc_latest import SERIES_COLUMNS, latest_readings
from metrics.analysis.spc_readings import latest_spc_reading
from metrics.registry import default_registry
from metrics.statistics import spc_assurance, spc_signals

REG = default_registry()
INDICATORS = {i.id: i for i in (
    REG.get("witness_attendance"),  # counted proportion, higher is better
    REG.get("ineffective_trial_rate_crown"),  # counted proportion, lower is better
    REG.get("fine_payment_rate"),  # proportion of money: XmR
    REG.get("stop_search_rate"),  # neutral rate
    *[i for i in REG.indicators if i.type == "count" and i.polarity == "lower_is_better"][:1],
)}


def _series(rng: np.random.Generator, ind: str, area: str, length: int) -> list[dict]:
    big = rng.random() < 0.5
    n = rng.integers(10**5, 10**6, length) if big else rng.integers(20, 80, length)
    if rng.random() < 0.15:
        n = np.full(length, n[0])  # denominators all the same: XmR
    drift = np.linspace(0, rng.choice([0.0, 0.25, -0.25]), length)
    p = np.clip(rng.uniform(0.2, 0.7) + drift + rng.normal(0, 0.04, length), 0, 1)
    x = np.round(n * p)
    value = 100 * x / n if INDICATORS[ind].type == "proportion" else x + rng.normal(0, 3, length)
    target = rng.choice([None, 40.0, 60.0, 90.0]) if rng.random() < 0.6 else None
    rows = []
    for k in range(length):
        gap, hidden = rng.random() < 0.07, rng.random() < 0.05
        rows.append({
            "indicator": ind, "area_code": area, "period_start": date(2010 + k // 12, k % 12 + 1, 1),
            "numerator": None if gap else float(x[k]), "denominator": float(n[k]),
            "value": None if gap or hidden else float(value[k]), "suppressed": hidden,
            "target": target if k >= length // 2 else None})
    return rows


def test_every_series_reads_as_it_does_alone() -> None:
    rng = np.random.default_rng(14)
    rows = [r for ind in INDICATORS for a in range(60)
            for r in _series(rng, ind, f"A{a:02d}", int(rng.choice([1, 4, 12, 13, 44])))]
    frame = pl.DataFrame(rows, schema={
        "indicator": pl.String, "area_code": pl.String, "period_start": pl.Date,
        "numerator": pl.Float64, "denominator": pl.Float64, "value": pl.Float64,
        "suppressed": pl.Boolean, "target": pl.Float64}).select(SERIES_COLUMNS)
    got = latest_readings(frame, INDICATORS)
    expected = {(area, ind): latest_spc_reading(series, INDICATORS[ind])
                for (ind, area), series in frame.partition_by(
                    "indicator", "area_code", as_dict=True).items()}
    assert got == expected
    signals = {s for s, _, _ in expected.values()}
    assurances = {a for _, _, a in expected.values()}
    assert {spc_signals.IMPROVEMENT, spc_signals.CONCERN, spc_signals.COMMON} <= signals
    assert {spc_assurance.CONSISTENTLY_FAILS, spc_assurance.INCONSISTENT,
            spc_assurance.NO_TARGET} <= assurances
    assert latest_readings(frame.clear(), INDICATORS) == {}
