"""The over-signalling the issue measured, on the real 2017/18 charge rate (Home Office crime
outcomes open data, aggregated to force-quarters: tests/data/home_office/crime_outcomes), and
what the overdispersion-aware methods read instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from metrics.statistics import funnel, spc_limits

DATA = (Path(__file__).resolve().parents[1] / "data" / "statistics"
        / "charge_rate_force_quarters_2017-18_DERIVED.csv")


def _frame() -> pl.DataFrame:
    return pl.read_csv(DATA).sort("force_name", "financial_quarter")


def test_funnel_of_forces_is_overdispersed_and_the_adjusted_limits_say_so() -> None:
    year = _frame().group_by("force_name").agg(pl.col("charged").sum(),
                                               pl.col("outcomes_assigned").sum())
    x, n = year["charged"].to_numpy(), year["outcomes_assigned"].to_numpy()
    assert len(x) == 43 and x.sum() == 482_897 and n.sum() == 4_710_265
    p0 = x.sum() / n.sum()
    plain = funnel.funnel_position(x, n, p0)
    assert (np.char.find(plain, "99.8") >= 0).sum() == 37  # as the issue counted: 37 of 43
    adj = funnel.overdispersion(x, n, p0)
    assert adj.overdispersed and adj.phi > 100
    assert 0.015 < np.sqrt(adj.tau2) < 0.025  # about 2 points between forces
    adjusted = funnel.funnel_position(x, n, p0, adjustment=adj)
    assert (np.char.find(adjusted, "99.8") >= 0).sum() == 3
    assert (adjusted != "within").sum() == 9


def test_force_quarters_p_chart_flags_ordinary_variation_laney_does_not() -> None:
    outside_p = outside_laney = points = 0
    for (_,), g in _frame().group_by("force_name", maintain_order=True):
        x, n = g["charged"].to_numpy(), g["outcomes_assigned"].to_numpy()
        y = x / n
        p_lim, l_lim = spc_limits.p_chart_limits(x, n), spc_limits.laney_limits(x, n)
        outside_p += int(((y > p_lim.upper) | (y < p_lim.lower)).sum())
        outside_laney += int(((y > l_lim.upper) | (y < l_lim.lower)).sum())
        points += y.size
    assert points == 172
    assert outside_p == 91  # the 93 of 176 counted four more force-quarters
    assert outside_laney == 0


def test_national_quarters_every_one_outside_a_p_chart() -> None:
    q = _frame().group_by("financial_quarter").agg(pl.col("charged").sum(),
                                                   pl.col("outcomes_assigned").sum()
                                                   ).sort("financial_quarter")
    x, n = q["charged"].to_numpy(), q["outcomes_assigned"].to_numpy()
    y = x / n
    p_lim = spc_limits.p_chart_limits(x, n)
    assert ((y > p_lim.upper) | (y < p_lim.lower)).all()
    laney = spc_limits.laney_limits(x, n)
    assert laney.sigma_z is not None and laney.sigma_z[0] > 5
    assert not ((y > laney.upper) | (y < laney.lower)).any()


def test_charge_rate_reference_is_like_for_like() -> None:
    """The registry's reference for charge_rate is on the indicator's own basis (outcomes
    assigned in the year), read from the same real data."""
    from metrics.registry import default_registry

    reference = default_registry().get("charge_rate").national_reference
    year = _frame().select(pl.col("charged").sum(), pl.col("outcomes_assigned").sum())
    share = year["charged"][0] / year["outcomes_assigned"][0]
    assert reference.startswith(f"{share:.1%} (2017/18")
    assert "outcomes assigned in the year" in reference
